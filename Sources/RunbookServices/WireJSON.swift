import Foundation

/// A WireJSON document as the REST APIs send it: what the live clients parse and
/// the emulator writes. Numbers are kept as text-faithful doubles (every
/// integer these APIs use is exact in a double).
public enum WireJSON: Sendable, Equatable, Codable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([WireJSON])
  case object([String: WireJSON])

  public init(stringLiteral value: String) { self = .string(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(integerLiteral value: Int) { self = .number(Double(value)) }
  public init(arrayLiteral elements: WireJSON...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, WireJSON)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
  }
  public init(_ s: String?) { self = s.map(WireJSON.string) ?? .null }
  public init(_ i: Int) { self = .number(Double(i)) }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null }
    else if let b = try? c.decode(Bool.self) { self = .bool(b) }
    else if let d = try? c.decode(Double.self) { self = .number(d) }
    else if let s = try? c.decode(String.self) { self = .string(s) }
    else if let a = try? c.decode([WireJSON].self) { self = .array(a) }
    else { self = .object(try c.decode([String: WireJSON].self)) }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .number(let d):
      if d.rounded() == d, abs(d) < 9e15 { try c.encode(Int(d)) } else { try c.encode(d) }
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// Parses a WireJSON text; nil when it is not WireJSON.
  public static func parse(_ data: some Sequence<UInt8>) -> WireJSON? {
    let bytes = Data(data)
    guard !bytes.isEmpty else { return nil }
    return try? JSONDecoder().decode(WireJSON.self, from: bytes)
  }

  /// Compact WireJSON text with sorted keys.
  public var text: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(self) else { return "null" }
    return String(decoding: data, as: UTF8.self)
  }

  public subscript(key: String) -> WireJSON? {
    if case .object(let o) = self { return o[key] }
    return nil
  }
  public var string: String? { if case .string(let s) = self { return s }; return nil }
  public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
  public var int: Int? {
    if case .number(let d) = self, d.rounded() == d, abs(d) < 9e15 { return Int(d) }
    return nil
  }
  public var double: Double? { if case .number(let d) = self { return d }; return nil }
  public var array: [WireJSON]? { if case .array(let a) = self { return a }; return nil }
  public var object: [String: WireJSON]? { if case .object(let o) = self { return o }; return nil }

  /// A Dataverse column value as WireJSON, and back.
  public init(_ f: FieldValue) {
    switch f {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .number(Double(i))
    case .double(let d): self = .number(d)
    case .string(let s): self = .string(s)
    }
  }
  public var fieldValue: FieldValue? {
    switch self {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number(let d): return d.rounded() == d && abs(d) < 9e15 ? .int(Int(d)) : .double(d)
    case .string(let s): return .string(s)
    case .array, .object: return nil
    }
  }
}
