/// A strict JSON reader for params (files and `--param` lists and maps):
/// keeps map keys in file order, keeps ints and floats apart, and reports
/// every fault with its line and column, including what Foundation's decoder
/// accepts silently (a duplicate key, where the last one would win) or traps
/// on (an int past 64 bits, nesting deep enough to exhaust the stack).
public struct JSONReader {
  public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "\(line):\(column): \(message)" }
    public init(line: Int, column: Int, message: String) { self.line = line; self.column = column; self.message = message }
  }

  /// Deeper nesting is refused rather than recursed into.
  public static let maxDepth = 256

  private let u: [UInt8]
  private var i = 0
  private var line = 1
  private var lineStart = 0
  private let limits: ResourceLimits

  private init(_ text: String, limits: ResourceLimits) { u = Array(text.utf8); self.limits = limits }

  /// The value a JSON text holds, or the first fault in it.
  public static func parse(_ text: String, limits: ResourceLimits = .standard) throws(Failure) -> Value {
    var r = JSONReader(text, limits: limits)
    let v = try r.value(depth: 0)
    r.skipSpace()
    if r.i < r.u.count { throw r.fail("unexpected text after the JSON value") }
    return v
  }

  private func fail(_ message: String) -> Failure { Failure(line: line, column: i - lineStart + 1, message: message) }

  private mutating func skipSpace() {
    while i < u.count {
      switch u[i] {
      case 0x20, 0x09, 0x0D: i += 1
      case 0x0A: i += 1; line += 1; lineStart = i
      default: return
      }
    }
  }

  private mutating func expect(_ byte: UInt8) -> Bool {
    skipSpace()
    guard i < u.count, u[i] == byte else { return false }
    i += 1
    return true
  }

  // value = object | array | string | number | "true" | "false" | "null"
  private mutating func value(depth: Int) throws(Failure) -> Value {
    skipSpace()
    guard i < u.count else { throw fail("unexpected end of file (a value is missing)") }
    if depth >= Self.maxDepth { throw fail("nested more than \(Self.maxDepth) levels deep") }
    switch u[i] {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    default: return try scalar()
    }
  }

  // object = "{" [ string ":" value { "," string ":" value } ] "}"
  private mutating func object(depth: Int) throws(Failure) -> Value {
    i += 1
    let map = MapBox()
    if expect(UInt8(ascii: "}")) { return .map(map) }
    while true {
      skipSpace()
      guard i < u.count, u[i] == UInt8(ascii: "\"") else { throw fail("expected a key in double quotes") }
      let keyStart = (line, i - lineStart + 1)
      let key = try string()
      if map[key] != nil {
        throw Failure(line: keyStart.0, column: keyStart.1, message: "duplicate key \(Value.quote(key))")
      }
      guard expect(UInt8(ascii: ":")) else { throw fail("expected ':' after the key \(Value.quote(key))") }
      map[key] = try value(depth: depth + 1)
      if map.count > limits.maxListElements { throw fail("more than \(limits.maxListElements) keys in one object") }
      if expect(UInt8(ascii: ",")) { continue }
      if expect(UInt8(ascii: "}")) { return .map(map) }
      throw fail(i < u.count ? "expected ',' or '}' in an object" : "unexpected end of file (an object is not closed)")
    }
  }

  // array = "[" [ value { "," value } ] "]"
  private mutating func array(depth: Int) throws(Failure) -> Value {
    i += 1
    var items: [Value] = []
    if expect(UInt8(ascii: "]")) { return .list(items) }
    while true {
      items.append(try value(depth: depth + 1))
      if items.count > limits.maxListElements { throw fail("more than \(limits.maxListElements) elements in one list") }
      if expect(UInt8(ascii: ",")) { continue }
      if expect(UInt8(ascii: "]")) { return .list(items) }
      throw fail(i < u.count ? "expected ',' or ']' in a list" : "unexpected end of file (a list is not closed)")
    }
  }

  // string = '"' { char | escape } '"'
  private mutating func string() throws(Failure) -> String {
    i += 1
    var bytes: [UInt8] = []
    while i < u.count {
      let c = u[i]
      switch c {
      case UInt8(ascii: "\""):
        i += 1
        return String(decoding: bytes, as: UTF8.self)
      case 0x00..<0x20:
        throw fail(c == 0x0A ? "a string is not closed before the end of the line" : "a control character in a string must be escaped")
      case UInt8(ascii: "\\"):
        i += 1
        guard i < u.count else { break }
        let e = u[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar), i + 1 < u.count, u[i] == UInt8(ascii: "\\"), u[i + 1] == UInt8(ascii: "u") {
            i += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("an unpaired surrogate in a \\u escape") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let s = Unicode.Scalar(scalar) else { throw fail("an unpaired surrogate in a \\u escape") }
          bytes.append(contentsOf: Array(String(Character(s)).utf8))
        default:
          i -= 2
          throw fail("invalid escape in a string")
        }
      default:
        bytes.append(c)
        i += 1
      }
    }
    throw fail("unexpected end of file (a string is not closed)")
  }

  private mutating func hex4() throws(Failure) -> UInt32 {
    var v: UInt32 = 0
    for _ in 0..<4 {
      guard i < u.count else { throw fail("a \\u escape needs four hex digits") }
      let c = u[i]
      let digit: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("a \\u escape needs four hex digits")
      }
      v = v * 16 + digit
      i += 1
    }
    return v
  }

  // number = [ "-" ] int [ frac ] [ exp ]; or a literal name
  private mutating func scalar() throws(Failure) -> Value {
    let start = i
    while i < u.count, !(u[i] == 0x2C || u[i] == 0x5D || u[i] == 0x7D || u[i] == 0x3A || u[i] <= 0x20) { i += 1 }
    let word = String(decoding: u[start..<i], as: UTF8.self)
    switch word {
    case "true": return .bool(true)
    case "false": return .bool(false)
    case "null": return .null
    default: break
    }
    let isInteger = word.utf8.enumerated().allSatisfy { k, c in (c >= 0x30 && c <= 0x39) || (k == 0 && c == 0x2D) }
    if isInteger, word.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
      guard let n = Int(word) else {
        i = start
        throw fail("the number \(word) does not fit in a 64-bit int (-9223372036854775808...9223372036854775807)")
      }
      return .int(n)
    }
    if let first = word.utf8.first, first == 0x2D || (first >= 0x30 && first <= 0x39), let d = Double(word), d.isFinite {
      return .float(d)
    }
    i = start
    throw fail(word.isEmpty ? "expected a value" : "invalid value \(word) (strings need double quotes)")
  }
}
