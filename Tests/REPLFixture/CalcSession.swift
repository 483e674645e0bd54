import Foundation
import RunbookLanguage
import RunbookREPL
import RunbookRuntime
import Synchronization

/// A `REPLSession` over a tiny language, enough to test the REPL for real:
///
///     let name = expr            step "name" { statements }
///     expr: + - * / on ints, + on strings, names, "strings", [lists],
///           {field: value} maps, x.field, calls print(x) len(x) sleep(ms) fail(msg)
///
/// Statements end at a newline or `;`. Syntax errors fail with status 65,
/// runtime errors with 70.
final class CalcSession: REPLSession {
  static let keywords = ["let", "step", "true", "false", "nil"]
  static let builtins: [String: String] = [
    "print": "print(value): writes a value",
    "len": "len(value): the length of a string, list or map",
    "sleep": "sleep(ms): waits, printing \"sleeping\" first; Ctrl-C interrupts it",
    "fail": "fail(message): fails with a runtime error",
  ]

  private(set) var names: [String: Value] = [:]
  private(set) var changes: [String] = []
  private var entryNumber = 0
  private let cancelRequested = Atomic<Bool>(false)

  func isIncomplete(_ text: String) -> Bool {
    let tokens: [Token]
    do { tokens = try Lexer(SourceFile(path: "<input>", text: text)).tokens() } catch {
      return error.isIncompleteInput
    }
    var depth = 0
    for token in tokens {
      if case .punct(let c) = token.kind {
        if "([{".contains(c) { depth += 1 } else if ")]}".contains(c) { depth -= 1 }
      }
    }
    return depth > 0
  }

  func evaluate(_ text: String) -> REPLEvaluation {
    entryNumber += 1
    return run(SourceFile(path: "<repl:\(entryNumber)>", text: text))
  }

  private func run(_ file: SourceFile) -> REPLEvaluation {
    cancelRequested.store(false, ordering: .sequentiallyConsistent)
    do {
      let tokens = try Lexer(file).tokens()
      var interpreter = CalcInterpreter(tokens: tokens, file: file, session: self)
      return .succeeded(try interpreter.program())
    } catch let error as CalcError {
      return .failed([error.diagnostic], status: error.isRuntime ? 70 : 65)
    } catch {
      return .failed([.error("\(error)", at: nil)])
    }
  }

  var completionNames: [String] { CalcSession.keywords + CalcSession.builtins.keys + names.keys }

  func fields(ofExpression expression: String) -> [String]? {
    let path = expression.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard let first = path.first, var value = names[first] else { return nil }
    for field in path.dropFirst() {
      guard let next = value[field] else { return nil }
      value = next
    }
    return value.asMap.map { $0.keys.map(Value.keyRepr) }
  }

  func cancel() { cancelRequested.store(true, ordering: .sequentiallyConsistent) }

  var isCancelled: Bool { cancelRequested.exchange(false, ordering: .sequentiallyConsistent) }

  func define(_ name: String, _ value: Value) {
    changes.append("+ \(name) = \(value.repr)")
    names[name] = value
  }

  func help(_ name: String?) -> String {
    guard let name else { return "calc: let, step, arithmetic, lists, maps. Built-ins: :builtins" }
    return CalcSession.builtins[name] ?? "no help for \(name)"
  }

  func builtinsListing() -> String {
    CalcSession.builtins.keys.sorted().map { CalcSession.builtins[$0]! }.joined(separator: "\n")
  }

  func load(path: String) -> REPLEvaluation {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      return .failed([.error("cannot read \(path)", at: nil)])
    }
    var result = run(SourceFile(path: path, text: text))
    result.value = nil
    return result
  }

  func paramsDescription() -> String { "no parameters" }

  func planDescription() -> String {
    changes.isEmpty ? "no changes" : changes.joined(separator: "\n")
  }

  func stateDescription(query: String?) -> String {
    let world = ["vm-1 (running)", "vm-2 (stopped)", "storage-1"]
    return world.filter { query == nil || $0.contains(query!) }.joined(separator: "\n")
  }

  func reset() {
    names = [:]
    changes = []
  }
}

// MARK: - Lexer

struct CalcError: Error {
  var diagnostic: Diagnostic
  var isRuntime: Bool
  var isIncompleteInput: Bool { diagnostic.isIncompleteInput }
}

extension Error {
  var isIncompleteInput: Bool { (self as? CalcError)?.isIncompleteInput ?? false }
}

struct Token {
  enum Kind: Equatable { case name(String), int(Int), string(String), punct(Character), newline, end }
  var kind: Kind
  var range: SourceRange
}

struct Lexer {
  let file: SourceFile
  init(_ file: SourceFile) { self.file = file }

  func tokens() throws -> [Token] {
    let bytes = file.bytes
    var out: [Token] = []
    var i = 0
    func range(_ start: Int, _ end: Int) -> SourceRange { SourceRange(file: file, start: start, end: end) }
    while i < bytes.count {
      let c = Character(UnicodeScalar(bytes[i]))
      let start = i
      if c == "\n" || c == ";" {
        out.append(Token(kind: .newline, range: range(i, i + 1)))
        i += 1
      } else if c == " " || c == "\t" || c == "\r" {
        i += 1
      } else if c == "#" {
        while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
      } else if c.isNumber {
        while i < bytes.count, Character(UnicodeScalar(bytes[i])).isNumber { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let value = Int(text) else {
          throw CalcError(diagnostic: .error("integer literal is too large", at: range(start, i)), isRuntime: false)
        }
        out.append(Token(kind: .int(value), range: range(start, i)))
      } else if c.isLetter || c == "_" {
        while i < bytes.count, bytes[i] < 0x80,
          Character(UnicodeScalar(bytes[i])).isLetter || Character(UnicodeScalar(bytes[i])).isNumber
            || bytes[i] == UInt8(ascii: "_")
        {
          i += 1
        }
        out.append(Token(kind: .name(String(decoding: bytes[start..<i], as: UTF8.self)), range: range(start, i)))
      } else if c == "\"" {
        i += 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\n") { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
          let diagnostic = Diagnostic(.error, "unterminated string", at: range(start, i), isIncompleteInput: i >= bytes.count)
          throw CalcError(diagnostic: diagnostic, isRuntime: false)
        }
        i += 1
        out.append(Token(kind: .string(String(decoding: bytes[(start + 1)..<(i - 1)], as: UTF8.self)), range: range(start, i)))
      } else if "+-*/()[]{},:.=".contains(c) {
        out.append(Token(kind: .punct(c), range: range(i, i + 1)))
        i += 1
      } else {
        throw CalcError(diagnostic: .error("unexpected character `\(c)`", at: range(i, i + 1)), isRuntime: false)
      }
    }
    out.append(Token(kind: .end, range: range(bytes.count, bytes.count)))
    return out
  }
}

// MARK: - Interpreter (evaluates while parsing)

struct CalcInterpreter {
  var tokens: [Token]
  var position = 0
  let file: SourceFile
  let session: CalcSession

  init(tokens: [Token], file: SourceFile, session: CalcSession) {
    self.tokens = tokens
    self.file = file
    self.session = session
  }

  private var current: Token { tokens[position] }

  private func syntaxError(_ message: String, _ token: Token? = nil) -> CalcError {
    let token = token ?? current
    return CalcError(
      diagnostic: Diagnostic(.error, message, at: token.range, isIncompleteInput: token.kind == .end), isRuntime: false)
  }

  private func runtimeError(_ message: String, _ range: SourceRange) -> CalcError {
    CalcError(diagnostic: .error(message, at: range), isRuntime: true)
  }

  private mutating func advance() -> Token {
    defer { position = min(position + 1, tokens.count - 1) }
    return current
  }

  private func isPunct(_ c: Character) -> Bool { current.kind == .punct(c) }

  private mutating func expect(_ c: Character) throws {
    guard isPunct(c) else { throw syntaxError("expected `\(c)`") }
    _ = advance()
  }

  private mutating func skipNewlines() { while current.kind == .newline { _ = advance() } }

  /// program -> { statement (newline | end) }
  mutating func program() throws -> Value? {
    var last: Value?
    skipNewlines()
    while current.kind != .end {
      last = try statement()
      guard current.kind == .newline || current.kind == .end else { throw syntaxError("expected end of statement") }
      skipNewlines()
    }
    return last
  }

  /// statement -> "let" name "=" expr | "step" string "{" { statement } "}" | expr
  private mutating func statement() throws -> Value? {
    if current.kind == .name("let") {
      _ = advance()
      guard case .name(let name) = current.kind else { throw syntaxError("expected a name after `let`") }
      _ = advance()
      try expect("=")
      let value = try expression()
      session.define(name, value)
      return nil
    }
    if current.kind == .name("step") {
      _ = advance()
      guard case .string = current.kind else { throw syntaxError("expected the step's name") }
      _ = advance()
      try expect("{")
      var last: Value?
      skipNewlines()
      while !isPunct("}") {
        guard current.kind != .end else { throw syntaxError("expected `}` to close the step") }
        last = try statement()
        skipNewlines()
      }
      _ = advance()
      return last ?? .null
    }
    return try expression()
  }

  /// expr -> term { ("+" | "-") term }
  private mutating func expression() throws -> Value {
    var left = try term()
    while isPunct("+") || isPunct("-") {
      let op = advance()
      let right = try term()
      switch (left, right, op.kind) {
      case let (.int(a), .int(b), .punct("+")): left = .int(a &+ b)
      case let (.int(a), .int(b), _): left = .int(a &- b)
      case let (.string(a), .string(b), .punct("+")): left = .string(a + b)
      default: throw runtimeError("cannot apply `\(op.range.text)` to \(left.typeName) and \(right.typeName)", op.range)
      }
    }
    return left
  }

  /// term -> postfix { ("*" | "/") postfix }
  private mutating func term() throws -> Value {
    var left = try postfix()
    while isPunct("*") || isPunct("/") {
      let op = advance()
      let right = try postfix()
      guard case .int(let a) = left, case .int(let b) = right else {
        throw runtimeError("cannot apply `\(op.range.text)` to \(left.typeName) and \(right.typeName)", op.range)
      }
      if op.kind == .punct("/") {
        guard b != 0 else { throw runtimeError("division by zero", op.range) }
        left = .int(a / b)
      } else {
        left = .int(a &* b)
      }
    }
    return left
  }

  /// postfix -> primary { "." name }
  private mutating func postfix() throws -> Value {
    var value = try primary()
    while isPunct(".") {
      _ = advance()
      let token = advance()
      guard case .name(let field) = token.kind else { throw syntaxError("expected a field name", token) }
      guard let next = value[field] else { throw runtimeError("no field `\(field)` in \(value.typeName)", token.range) }
      value = next
    }
    return value
  }

  /// primary -> int | string | name [ "(" args ")" ] | "-" primary | "(" expr ")" | list | map
  private mutating func primary() throws -> Value {
    let token = advance()
    switch token.kind {
    case .int(let i): return .int(i)
    case .string(let s): return .string(s)
    case .punct("-"):
      guard case .int(let i) = try postfix() else { throw runtimeError("`-` needs an int", token.range) }
      return .int(-i)
    case .punct("("):
      skipNewlines()
      let value = try expression()
      skipNewlines()
      try expect(")")
      return value
    case .punct("["):
      return .list(try sequence(closing: "]") { try $0.expression() })
    case .punct("{"):
      var fields: [(String, Value)] = []
      _ = try sequence(closing: "}") { parser -> Value in
        let key = parser.advance()
        guard case .name(let name) = key.kind else { throw parser.syntaxError("expected a field name", key) }
        try parser.expect(":")
        fields.append((name, try parser.expression()))
        return .null
      }
      return .record(fields: fields)
    case .name("true"): return .bool(true)
    case .name("false"): return .bool(false)
    case .name("nil"): return .null
    case .name(let name):
      if isPunct("(") {
        _ = advance()
        let arguments = try sequence(closing: ")") { try $0.expression() }
        return try call(name, arguments, token.range)
      }
      guard let value = session.names[name] else { throw runtimeError("unknown name `\(name)`", token.range) }
      return value
    default:
      throw syntaxError("expected an expression", token)
    }
  }

  private mutating func sequence(closing: Character, _ element: (inout CalcInterpreter) throws -> Value) throws -> [Value] {
    var items: [Value] = []
    skipNewlines()
    while !isPunct(closing) {
      items.append(try element(&self))
      skipNewlines()
      if isPunct(",") { _ = advance(); skipNewlines() } else { break }
    }
    try expect(closing)
    return items
  }

  private func call(_ name: String, _ arguments: [Value], _ range: SourceRange) throws -> Value {
    switch (name, arguments.count) {
    case ("print", _):
      print(arguments.map(\.displayString).joined(separator: " "))
      return .null
    case ("len", 1):
      switch arguments[0] {
      case .string(let s): return .int(s.count)
      case .list(let l): return .int(l.items.count)
      case .map(let m): return .int(m.count)
      default: throw runtimeError("len needs a string, list or map", range)
      }
    case ("sleep", 1):
      guard case .int(let ms) = arguments[0] else { throw runtimeError("sleep needs an int", range) }
      print("sleeping")
      fflush(nil)
      let deadline = Date().addingTimeInterval(Double(ms) / 1000)
      while Date() < deadline {
        if session.isCancelled { throw runtimeError("interrupted", range) }
        usleep(10_000)
      }
      return .null
    case ("fail", 1):
      throw runtimeError(arguments[0].displayString, range)
    default:
      if CalcSession.builtins[name] != nil { throw runtimeError("wrong number of arguments to \(name)", range) }
      throw runtimeError("unknown function `\(name)`", range)
    }
  }
}
