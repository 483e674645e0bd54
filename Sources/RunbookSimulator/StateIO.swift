import Foundation
import RunbookServices

/// Why a state file could not be loaded: the file, the line and column, the
/// JSON path of the offending value, and what is wrong.
public struct StateFileError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var column: Int?
  public var jsonPath: String?
  public var message: String

  /// `runbooks/state/x.json:12:7: error: at $.azure.storage_accounts[0].name: …`
  public var description: String {
    var s = file
    if let line { s += ":\(line)" + (column.map { ":\($0)" } ?? "") }
    s += ": error: "
    if let jsonPath { s += "at \(jsonPath): " }
    return s + message
  }
}

extension World {
  /// Loads a world from a state file.
  public static func load(path: String) throws(StateFileError) -> World {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw StateFileError(file: path, message: "cannot read the state file (missing or unreadable)")
    }
    return try load(data: data, file: path)
  }

  /// Loads a world from state-file JSON; `file` names it in errors.
  public static func load(data: Data, file: String) throws(StateFileError) -> World {
    guard let text = String(data: data, encoding: .utf8) else {
      throw StateFileError(file: file, message: "the state file is not UTF-8 text")
    }
    let locations: [String: (Int, Int)]
    do {
      locations = try JSONLocator.locate(text)
    } catch {
      throw StateFileError(file: file, line: error.line, column: error.column, message: error.message)
    }
    func located(_ path: String, _ message: String) -> StateFileError {
      // Fall back to the nearest located ancestor.
      var p = path
      while locations[p] == nil, let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) { p = String(p[..<cut]) }
      let loc = locations[p]
      return StateFileError(file: file, line: loc?.0, column: loc?.1, jsonPath: path, message: message)
    }
    if let unknown = JSONLocator.unknownKey(text) {
      let hint = unknown.suggestion.map { " (did you mean \"\($0)\"?)" } ?? ""
      throw located(unknown.path, "unknown key \"\(unknown.key)\"\(hint)")
    }
    let decoder = JSONDecoder()
    let state: StateFile
    do {
      state = try decoder.decode(StateFile.self, from: data)
    } catch let error as DecodingError {
      // Foundation's own wording ("Expected to decode Dictionary<String, Any>…") is
      // replaced by what the file holds at the located position.
      func found(_ path: String) -> String {
        guard let location = locations[path] else { return "something else" }
        return JSONLocator.kind(in: text, line: location.0, column: location.1)
      }
      switch error {
      case .typeMismatch(let type, let ctx):
        let path = jsonPath(ctx.codingPath)
        throw located(path, "expected \(typeName(String(describing: type))), found \(found(path))")
      case .valueNotFound(let type, let ctx):
        throw located(jsonPath(ctx.codingPath), "expected \(typeName(String(describing: type))), found null")
      case .keyNotFound(let key, let ctx):
        throw located(jsonPath(ctx.codingPath), "missing key \"\(snake(key.stringValue))\"")
      case .dataCorrupted(let ctx):
        let path = jsonPath(ctx.codingPath)
        let what = found(path)
        // Our own decoders word their messages for users ("expected a string, number, bool or null").
        if ctx.debugDescription.hasPrefix("expected ") { throw located(path, ctx.debugDescription + ", found " + what) }
        throw located(path, what.hasPrefix("the number")
          ? "\(what) does not fit in a 64-bit integer (-9223372036854775808...9223372036854775807)"
          : "invalid value (\(what))")
      @unknown default:
        throw StateFileError(file: file, message: "the state file does not match the expected structure")
      }
    } catch {
      throw StateFileError(file: file, message: "the state file does not match the expected structure")
    }
    do {
      return try World(state: state)
    } catch {
      throw located(error.path, error.message)
    }
  }

  /// The state as pretty-printed JSON with sorted keys (diff-friendly).
  public func stateJSON() -> String { World.stateJSON(of: snapshot()) }

  /// A state file as pretty-printed JSON with sorted keys.
  public static func stateJSON(of state: StateFile) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(state)) ?? Data()
    var text = String(data: data, encoding: .utf8) ?? ""
    // Foundation on Linux writes `"key" : value` and empty lists over three
    // lines; normalise to `"key": value` and `[]` (no raw newlines occur in strings).
    text = text.replacingOccurrences(of: #"(?<!\\)" : "#, with: "\": ", options: .regularExpression)
    text = text.replacingOccurrences(of: #"\[\n\s*\n\s*\]"#, with: "[]", options: .regularExpression)
    text = text.replacingOccurrences(of: #"\{\n\s*\n\s*\}"#, with: "{}", options: .regularExpression)
    return text + "\n"
  }

  /// Writes the state file.
  public func save(path: String) throws {
    try stateJSON().write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// Writes a state file.
  public static func save(_ state: StateFile, path: String) throws {
    try stateJSON(of: state).write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// A fresh copy of this world (same state, independent).
  public func copy() -> World {
    (try? World(state: snapshot())) ?? self
  }
}

private func typeName(_ s: String) -> String {
  switch s {
  case "String": return "a string"
  case "Int": return "an integer"
  case "Bool": return "a bool"
  case "Double": return "a number"
  default:
    if s.hasPrefix("Array") { return "a list" }
    if s.hasPrefix("Dictionary") { return "an object" }
    return "an object (\(s))"
  }
}

private func snake(_ s: String) -> String {
  var out = ""
  for ch in s {
    if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
  }
  return out
}

private func jsonPath(_ path: [CodingKey]) -> String {
  var s = "$"
  for k in path {
    if let i = k.intValue { s += "[\(i)]" } else { s += "." + snake(k.stringValue) }
  }
  return s
}

/// A small JSON scanner that records where each value starts (JSON path →
/// line and column), reports syntax errors with their position, and knows
/// the keys the state format allows.
enum JSONLocator {
  struct SyntaxError: Error { var line: Int, column: Int, message: String }

  /// What the JSON value at a 1-based line and column is, in words.
  static func kind(in text: String, line: Int, column: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard line >= 1, line <= lines.count else { return "something else" }
    let rest = lines[line - 1].utf8.dropFirst(column - 1)
    switch rest.first {
    case UInt8(ascii: "{"): return "an object"
    case UInt8(ascii: "["): return "a list"
    case UInt8(ascii: "\""): return "a string"
    case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a bool"
    case UInt8(ascii: "n"): return "null"
    default:
      let number = rest.prefix { !($0 == 0x2C || $0 == 0x5D || $0 == 0x7D || $0 <= 0x20) }
      return "the number \(String(decoding: number.prefix(40), as: UTF8.self))"
    }
  }

  static func locate(_ text: String) throws(SyntaxError) -> [String: (Int, Int)] {
    var p = Parser(Array(text.utf8))
    try p.value("$")
    p.skipSpace()
    if p.i < p.u.count { throw p.error("unexpected text after the JSON value") }
    return p.locations
  }

  /// The first key (with its path) that the state format does not define.
  static func unknownKey(_ text: String) -> (path: String, key: String, suggestion: String?)? {
    var p = Parser(Array(text.utf8))
    try? p.value("$")
    // In document order, so the first unknown key in the file is reported.
    let position = { (path: String) -> Int in p.locations[path].map { $0.0 * 100_000 + $0.1 } ?? 0 }
    for (path, keys) in p.objectKeys.sorted(by: { position($0.key) < position($1.key) }) {
      let pattern = path.replacingOccurrences(of: #"\[\d+\]"#, with: "[]", options: .regularExpression)
      guard let allowed = schema[pattern] else { continue }
      for k in keys where !allowed.contains(k) {
        let missing = allowed.subtracting(keys).sorted()
        let best = missing.map { ($0, editDistance($0, k)) }.filter { $0.1 <= 3 }.min { $0.1 < $1.1 }?.0
        return (path + "." + k, k, best)
      }
    }
    return nil
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
      var prev = row[0]
      row[0] = i
      for j in stride(from: 1, through: b.count, by: 1) {
        let cur = row[j]
        row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
        prev = cur
      }
    }
    return a.isEmpty ? b.count : row[b.count]
  }

  static let schema: [String: Set<String>] = [
    "$": ["format", "tenant", "directory", "azure", "power_platform", "customer_insights", "faults"],
    "$.tenant": ["id", "domain", "seed", "id_counter", "now", "signed_in_user", "group_creation_allowed",
                 "role_propagation_seconds"],
    "$.directory": ["users", "service_principals", "groups"],
    "$.directory.users[]": ["id", "user_principal_name", "display_name"],
    "$.directory.service_principals[]": ["id", "app_id", "display_name"],
    "$.directory.groups[]": ["id", "display_name", "mail_nickname", "security_enabled", "description", "owners", "members"],
    "$.azure": ["subscriptions", "storage_accounts", "role_assignments"],
    "$.azure.subscriptions[]": ["id", "name", "resource_groups"],
    "$.azure.storage_accounts[]": ["name", "subscription_id", "resource_group", "location", "kind", "is_hns_enabled",
                                   "private_endpoint_only", "blob_soft_delete", "blob_storage_events", "filesystems"],
    "$.azure.storage_accounts[].filesystems[]": ["name", "owner", "group", "acl", "paths", "generate"],
    "$.azure.storage_accounts[].filesystems[].generate[]": ["prefix", "folders", "files_per_folder", "directory_acl",
                                                            "file_acl"],
    "$.azure.storage_accounts[].filesystems[].paths[]": ["path", "type", "owner", "group", "acl", "acl_failure"],
    "$.azure.role_assignments[]": ["name", "scope", "role_definition_id", "principal_id", "principal_type", "created_at"],
    "$.power_platform": ["environments"],
    "$.power_platform.environments[]": ["id", "name", "url", "region", "organization_id", "linked_storage_account",
                                        "attached_customer_insights", "users", "solutions", "dependencies", "tables"],
    "$.power_platform.environments[].users[]": ["object_id", "roles", "licensed"],
    "$.power_platform.environments[].solutions[]": ["id", "unique_name", "friendly_name", "version", "is_managed", "publisher"],
    "$.power_platform.environments[].dependencies[]": ["dependency_type", "required_solution", "required_component_type",
                                                       "required_component", "dependent_solution",
                                                       "dependent_component_type", "dependent_component"],
    "$.power_platform.environments[].tables[]": ["name", "entity_set", "solution", "columns", "rows"],
    "$.power_platform.environments[].tables[].rows[]": ["id", "version", "columns"],
    "$.customer_insights": ["environments"],
    "$.customer_insights.environments[]": ["id", "name", "region", "profile_count", "account_count", "is_b2b",
                                           "dataverse_environment_id", "permission_identifier"],
    "$.faults[]": ["operation", "status", "code", "message", "times"],
  ]

  struct Parser {
    let u: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0
    var locations: [String: (Int, Int)] = [:]
    var objectKeys: [String: [String]] = [:]

    init(_ u: [UInt8]) { self.u = u }

    func error(_ message: String) -> SyntaxError {
      SyntaxError(line: line, column: i - lineStart + 1, message: message)
    }

    mutating func skipSpace() {
      while i < u.count {
        switch u[i] {
        case 0x20, 0x09, 0x0D: i += 1
        case 0x0A: i += 1; line += 1; lineStart = i
        default: return
        }
      }
    }

    mutating func value(_ path: String, depth: Int = 0) throws(SyntaxError) {
      skipSpace()
      guard i < u.count else { throw error("unexpected end of file (a value is missing)") }
      // No state file nests this deep; refusing it keeps the recursion off the end of the stack.
      if depth >= 64 { throw error("nested more than 64 levels deep") }
      locations[path] = (line, i - lineStart + 1)
      switch u[i] {
      case UInt8(ascii: "{"):
        i += 1
        var keys: [String] = []
        skipSpace()
        if i < u.count, u[i] == UInt8(ascii: "}") { i += 1; objectKeys[path] = keys; return }
        while true {
          skipSpace()
          guard i < u.count, u[i] == UInt8(ascii: "\"") else { throw error("expected a key in double quotes") }
          let key = try string()
          if keys.contains(key) { throw error("duplicate key \"\(key)\"") }
          keys.append(key)
          skipSpace()
          guard i < u.count, u[i] == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
          i += 1
          try value(path + "." + key, depth: depth + 1)
          skipSpace()
          guard i < u.count else { throw error("unexpected end of file (an object is not closed)") }
          if u[i] == UInt8(ascii: ",") { i += 1; continue }
          if u[i] == UInt8(ascii: "}") { i += 1; break }
          throw error("expected ',' or '}' in an object")
        }
        objectKeys[path] = keys
      case UInt8(ascii: "["):
        i += 1
        skipSpace()
        if i < u.count, u[i] == UInt8(ascii: "]") { i += 1; return }
        var n = 0
        while true {
          try value(path + "[\(n)]", depth: depth + 1)
          n += 1
          skipSpace()
          guard i < u.count else { throw error("unexpected end of file (a list is not closed)") }
          if u[i] == UInt8(ascii: ",") { i += 1; continue }
          if u[i] == UInt8(ascii: "]") { i += 1; break }
          throw error("expected ',' or ']' in a list")
        }
      case UInt8(ascii: "\""):
        _ = try string()
      default:
        let start = i
        while i < u.count, !(u[i] == 0x2C || u[i] == 0x5D || u[i] == 0x7D || u[i] == 0x20 || u[i] == 0x0A || u[i] == 0x0D || u[i] == 0x09) {
          i += 1
        }
        let word = String(decoding: u[start..<i], as: UTF8.self)
        if word == "true" || word == "false" || word == "null" { return }
        // Foundation reports an int past 64 bits without a location; say where it is.
        if word.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 45 }), word.contains(where: \.isNumber), Int(word) == nil {
          i = start
          throw error("the number \(word.prefix(40)) does not fit in a 64-bit integer (-9223372036854775808...9223372036854775807)")
        }
        if Double(word) != nil, let f = word.first, f == "-" || f.isNumber { return }
        i = start
        throw error(word.isEmpty ? "expected a value" : "invalid value \(word) (strings need double quotes)")
      }
    }

    mutating func string() throws(SyntaxError) -> String {
      i += 1
      var bytes: [UInt8] = []
      while i < u.count {
        let c = u[i]
        if c == UInt8(ascii: "\"") { i += 1; return String(decoding: bytes, as: UTF8.self) }
        if c == 0x0A { throw error("a string is not closed before the end of the line") }
        if c == UInt8(ascii: "\\") {
          guard i + 1 < u.count else { break }
          bytes.append(c)
          bytes.append(u[i + 1])
          i += 2
          continue
        }
        bytes.append(c)
        i += 1
      }
      throw error("unexpected end of file (a string is not closed)")
    }
  }
}
