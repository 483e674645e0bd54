import RunbookLanguage

/// A runbook value. Lists and maps live in class boxes so that appends and
/// element writes are in place; they still behave as values, because every
/// mutation copies a box that is shared (copy on write, see `Mutation`).
public enum Value: Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case float(Double)
  case string(String)
  /// Milliseconds.
  case duration(Int)
  case list(ListBox)
  case map(MapBox)
  case range(RangeBox)
  case function(FunctionBox)
  /// Text that must never be shown: a `secret` param, `secret(x)`, or text
  /// built from one. It prints as `(sensitive)` everywhere; services get
  /// its real text (`Arguments.string`).
  case secret(Secret)
}

/// The text of a secret value. Its descriptions are `(sensitive)`, so even
/// `String(describing:)` and debug output cannot show it; only `revealed`
/// reads it.
public final class Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
  public let revealed: String
  public init(_ text: String) { revealed = text }
  public static let shown = "(sensitive)"
  public var description: String { Secret.shown }
  public var debugDescription: String { Secret.shown }
  public var customMirror: Mirror { Mirror(self, children: []) }

  /// `text` with every occurrence of the `secrets`' texts shown as `(sensitive)`.
  public static func scrub(_ text: String, _ secrets: [String]) -> String {
    var t = text
    for s in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) where t.contains(s) {
      t = t.replacingOccurrences(of: s, with: shown)
    }
    return t
  }
}

// MARK: - Boxes

public final class ListBox: @unchecked Sendable {
  public var items: [Value]
  public init(_ items: [Value] = []) { self.items = items }
}

/// An arithmetic progression of ints. Its length can exceed `Int.max`
/// (`range(-9223372036854775807 - 1, 9223372036854775807)` has 2^64 - 1
/// elements), so lengths and positions are unsigned and every computation is
/// exact: nothing here can trap, whatever the start, end and step.
public final class RangeBox: Sendable {
  public let start: Int, end: Int, step: Int
  /// The exact number of elements (always representable: at most 2^64 - 1).
  public let unsignedCount: UInt
  public init(start: Int, end: Int, step: Int) {
    self.start = start; self.end = end; self.step = step
    // The distance between two ints and the magnitude of a step both fit in UInt.
    let distance: UInt
    if step > 0 { distance = start < end ? UInt(bitPattern: end &- start) : 0 }
    else if step < 0 { distance = start > end ? UInt(bitPattern: start &- end) : 0 }
    else { distance = 0 }
    unsignedCount = distance == 0 ? 0 : (distance - 1) / step.magnitude + 1
  }
  /// The number of elements, or nil when it exceeds `Int.max`.
  public var count: Int? { unsignedCount <= UInt(Int.max) ? Int(unsignedCount) : nil }
  /// The element at position `i` (`i < unsignedCount`). The result lies
  /// between start and end, so wrapping arithmetic gives it exactly.
  public func element(_ i: UInt) -> Int { start &+ Int(bitPattern: i &* UInt(bitPattern: step)) }
  public func element(_ i: Int) -> Int { element(UInt(bitPattern: i)) }
  /// Whether `i` is one of the elements.
  public func contains(_ i: Int) -> Bool {
    let offset: UInt
    if step > 0 {
      guard i >= start, i < end else { return false }
      offset = UInt(bitPattern: i &- start)
    } else {
      guard i <= start, i > end else { return false }
      offset = UInt(bitPattern: start &- i)
    }
    return offset % step.magnitude == 0
  }
  /// The position of a possibly negative index, or nil when it is outside.
  public func position(ofIndex i: Int) -> UInt? {
    if i >= 0 { return UInt(i) < unsignedCount ? UInt(i) : nil }
    return i.magnitude <= unsignedCount ? unsignedCount - i.magnitude : nil
  }
  /// The elements as values, refused past the list limit.
  public func elements(limits: ResourceLimits, range: SourceRange? = nil) throws -> [Value] {
    guard let n = count, n <= limits.maxListElements else {
      throw limits.listTooLarge(unsignedCount.description, range)
    }
    return (0..<n).map { .int(element($0)) }
  }
}

/// Caps on the size of one value, so that a runaway program fails with a
/// clear `limit` error instead of exhausting memory. One value (a string's
/// UTF-8 bytes, or a list's or map's elements at `MemoryLayout<Value>.stride`
/// bytes each) may take at most `maxValueBytes`, 1 GiB unless the
/// environment variable `RUNBOOK_MAX_VALUE_BYTES` says otherwise.
public struct ResourceLimits: Sendable {
  public static let environmentVariable = "RUNBOOK_MAX_VALUE_BYTES"
  public static let defaultMaxValueBytes = 1 << 30
  public static let standard = ResourceLimits(maxValueBytes: defaultMaxValueBytes)

  public let maxValueBytes: Int
  public var maxListElements: Int { maxValueBytes / MemoryLayout<Value>.stride }

  public init(maxValueBytes: Int) { self.maxValueBytes = max(1, maxValueBytes) }

  /// The limits an environment asks for; a malformed value is an error, not ignored.
  public init(environment: EnvironmentVariables) throws {
    guard let text = environment[Self.environmentVariable] else { self = .standard; return }
    guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n > 0 else {
      throw RuntimeError("\(Self.environmentVariable) must be a positive number of bytes, not \(Value.quote(text))", code: "limit")
    }
    self.init(maxValueBytes: n)
  }

  public func checkString(byteCount: Int, _ range: SourceRange?) throws {
    if byteCount > maxValueBytes {
      throw RuntimeError(
        "a string of \(byteCount) bytes is over the limit of \(maxValueBytes) bytes per value (set \(Self.environmentVariable) to change it)",
        code: "limit", range: range)
    }
  }
  public func checkList(count: Int, _ range: SourceRange?) throws {
    if count > maxListElements { throw listTooLarge(String(count), range) }
  }
  /// Checks the size of `a` combined with `b` (both strings, lists or maps) before building it.
  public func checkSum(_ a: Int, _ b: Int, isString: Bool, _ range: SourceRange?) throws {
    let (total, o) = a.addingReportingOverflow(b)
    if isString { try checkString(byteCount: o ? Int.max : total, range) } else { try checkList(count: o ? Int.max : total, range) }
  }
  func listTooLarge(_ count: String, _ range: SourceRange?) -> RuntimeError {
    RuntimeError(
      "a collection of \(count) elements is over the limit of \(maxListElements) elements per value (\(maxValueBytes) bytes; set \(Self.environmentVariable) to change it)",
      code: "limit", range: range)
  }
}

/// A map key: strings, ints and bools. The FNV-1a hash is computed once and
/// fed to the hash table directly, bypassing SipHash (the measured bottleneck
/// of map-heavy programs).
public struct MapKey: Hashable, Sendable {
  public enum Storage: Hashable, Sendable { case string(String), int(Int), bool(Bool) }
  public let storage: Storage
  public let hash: Int

  public init(_ s: String) {
    storage = .string(s)
    var text = s
    hash = text.withUTF8 { bytes in
      var h: UInt64 = 0xcbf2_9ce4_8422_2325
      for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
      return Int(bitPattern: UInt(h))
    }
  }
  public init(_ i: Int) {
    storage = .int(i)
    var x = UInt64(bitPattern: Int64(i)) &* 0x9E37_79B9_7F4A_7C15
    x ^= x >> 29
    hash = Int(bitPattern: UInt(x))
  }
  public init(_ b: Bool) { storage = .bool(b); hash = b ? 0x51ed_270b : 0x2f6b_3a1d }

  public static func == (a: MapKey, b: MapKey) -> Bool { a.hash == b.hash && a.storage == b.storage }
  public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
  public func _rawHashValue(seed: Int) -> Int { hash ^ seed }

  public var value: Value {
    switch storage {
    case .string(let s): return .string(s)
    case .int(let i): return .int(i)
    case .bool(let b): return .bool(b)
    }
  }
}

/// An insertion-ordered map. Small maps (records) are searched linearly; an
/// index is built once a map grows past `indexThreshold` entries.
///
/// The index is an open-addressing table of positions into `keys` (4 bytes
/// a slot, at most half full, probed linearly from the key's hash mixed by
/// Fibonacci hashing), not a `Dictionary<MapKey, Int>`: that one held a
/// second copy of every key and cost 32 bytes a bucket, which made a map of
/// 200,000 keys take more memory than CPython's (bench/README.md, "maps").
public final class MapBox: @unchecked Sendable {
  public internal(set) var keys: [MapKey]
  public internal(set) var values: [Value]
  /// Position + 1 of a key in each slot, 0 where empty; empty while the map is small.
  private var slots: [Int32] = []
  /// 64 minus log2 of `slots.count`: a mixed hash shifted right by this is a slot.
  private var slotShift = 64
  private static let indexThreshold = 8

  public init() { keys = []; values = [] }
  public init(keys: [MapKey], values: [Value]) {
    self.keys = keys; self.values = values
    if keys.count > MapBox.indexThreshold { rebuildIndex() }
  }
  /// A record from string-keyed fields, in order.
  public convenience init(_ fields: KeyValuePairs<String, Value>) {
    self.init()
    for (k, v) in fields { self[MapKey(k)] = v }
  }
  public convenience init(fields: [(String, Value)]) {
    self.init()
    for (k, v) in fields { self[MapKey(k)] = v }
  }

  public var count: Int { keys.count }

  public func copy() -> MapBox { MapBox(keys: keys, values: values) }

  @inline(__always) private func home(_ hash: Int) -> Int {
    Int(truncatingIfNeeded: (UInt(bitPattern: hash) &* 0x9E37_79B9_7F4A_7C15) >> UInt(slotShift))
  }

  private func rebuildIndex() {
    var size = 16
    while size < keys.count * 2 { size <<= 1 }
    slots = Array(repeating: 0, count: size)
    slotShift = 64 - size.trailingZeroBitCount
    for position in keys.indices { place(position) }
  }

  /// Puts `keys[position]` in the first empty slot from its home.
  private func place(_ position: Int) {
    let mask = slots.count - 1
    var slot = home(keys[position].hash)
    while slots[slot] != 0 { slot = (slot + 1) & mask }
    slots[slot] = Int32(truncatingIfNeeded: position + 1)
  }

  public func position(of key: MapKey) -> Int? {
    if slots.isEmpty {
      for i in 0..<keys.count where keys[i] == key { return i }
      return nil
    }
    let mask = slots.count - 1
    var slot = home(key.hash)
    while true {
      let entry = Int(slots[slot])
      if entry == 0 { return nil }
      if keys[entry - 1] == key { return entry - 1 }
      slot = (slot + 1) & mask
    }
  }

  public subscript(key: MapKey) -> Value? {
    get { position(of: key).map { values[$0] } }
    set {
      if let i = position(of: key) {
        if let newValue { values[i] = newValue } else { remove(at: i) }
        return
      }
      guard let newValue else { return }
      keys.append(key)
      values.append(newValue)
      if slots.isEmpty {
        if keys.count > MapBox.indexThreshold { rebuildIndex() }
      } else if keys.count * 2 > slots.count {
        rebuildIndex()
      } else {
        place(keys.count - 1)
      }
    }
  }

  public subscript(field: String) -> Value? {
    get { self[MapKey(field)] }
    set { self[MapKey(field)] = newValue }
  }

  private func remove(at i: Int) {
    keys.remove(at: i)
    values.remove(at: i)
    if !slots.isEmpty { rebuildIndex() }
  }
}

/// A callable value: a user closure or a built-in.
public final class FunctionBox: @unchecked Sendable {
  public enum Kind { case closure(Closure), builtin(Builtin) }
  /// Set for user closures (read directly on the call path, no enum copy).
  public let closure: Closure?
  public let builtin: Builtin?
  public init(_ kind: Kind) {
    switch kind {
    case .closure(let c): closure = c; builtin = nil
    case .builtin(let b): closure = nil; builtin = b
    }
  }
  public var kind: Kind { closure.map { .closure($0) } ?? .builtin(builtin!) }
  public var name: String { closure?.code.name ?? builtin!.name }
}

// MARK: - Convenience

extension Value {
  public static func record(_ fields: KeyValuePairs<String, Value>) -> Value { .map(MapBox(fields)) }
  public static func record(fields: [(String, Value)]) -> Value { .map(MapBox(fields: fields)) }
  public static func list(_ items: [Value]) -> Value { .list(ListBox(items)) }
  public static func optionalString(_ s: String?) -> Value { s.map { .string($0) } ?? .null }

  public var typeName: String {
    switch self {
    case .null: return "nil"
    case .bool: return "bool"
    case .int: return "int"
    case .float: return "float"
    case .string: return "string"
    case .duration: return "duration"
    case .list: return "list"
    case .map: return "map"
    case .range: return "range"
    case .function: return "function"
    case .secret: return "secret"
    }
  }

  public var isTruthy: Bool {
    switch self {
    case .null: return false
    case .bool(let b): return b
    default: return true
    }
  }

  public var asString: String? { if case .string(let s) = self { return s }; return nil }
  public var asInt: Int? { if case .int(let i) = self { return i }; return nil }
  public var asBool: Bool? { if case .bool(let b) = self { return b }; return nil }
  public var asMap: MapBox? { if case .map(let m) = self { return m }; return nil }
  public var asList: [Value]? {
    switch self {
    case .list(let l): return l.items
    case .range(let r): return try? r.elements(limits: .standard)
    default: return nil
    }
  }

  /// A field of a map value, or nil.
  public subscript(field: String) -> Value? { asMap?[field] }
}

// MARK: - Secrets

extension Value {
  public static func secret(_ text: String) -> Value { .secret(Secret(text)) }

  /// Whether a secret is in this value (in a list or map at any depth).
  public var containsSecret: Bool {
    anyLeaf { if case .secret = $0 { return true } else { return false } }
  }

  /// The value with every secret replaced by its text (new boxes; the
  /// original is untouched), for built-ins that compute on text.
  public var revealingSecrets: Value {
    guard containsSecret else { return self }
    return mapLeaves { if case .secret(let s) = $0 { return .string(s.revealed) } else { return $0 } }
  }

  /// The value with every string made a secret: the result of computing on
  /// a secret is a secret.
  public var keptSecret: Value {
    mapLeaves { if case .string(let s) = $0 { return .secret(s) } else { return $0 } }
  }

  /// The value with every string that contains one of `secrets` made a
  /// secret: what a service answers about a secret stays one.
  public func markingSecrets(_ secrets: [String]) -> Value {
    mapLeaves { v in
      if case .string(let s) = v, secrets.contains(where: { !$0.isEmpty && s.contains($0) }) { return .secret(s) }
      return v
    }
  }

  /// Every secret's text in this value.
  public var secretTexts: [String] {
    var texts: [String] = []
    _ = anyLeaf { v in
      if case .secret(let s) = v { texts.append(s.revealed) }
      return false
    }
    return texts
  }

  /// Whether `test` holds for a value that is not a list or map, in this
  /// value at any depth. Each list or map is looked at once however often it
  /// is held: `x = [x, x]` forty times is forty boxes, not 2^40 paths.
  func anyLeaf(_ test: (Value) -> Bool) -> Bool {
    var seen: Set<ObjectIdentifier> = []
    func walk(_ v: Value) -> Bool {
      switch v {
      case .list(let l):
        guard seen.insert(ObjectIdentifier(l)).inserted else { return false }
        return l.items.contains { walk($0) }
      case .map(let m):
        guard seen.insert(ObjectIdentifier(m)).inserted else { return false }
        return m.values.contains { walk($0) }
      default: return test(v)
      }
    }
    return walk(self)
  }

  /// The value with `leaf` applied to every value that is not a list or map
  /// (new boxes; a box held twice becomes one new box held twice).
  func mapLeaves(_ leaf: (Value) -> Value) -> Value {
    var done: [ObjectIdentifier: Value] = [:]
    func walk(_ v: Value) -> Value {
      switch v {
      case .list(let l):
        if let d = done[ObjectIdentifier(l)] { return d }
        let r = Value.list(ListBox(l.items.map { walk($0) }))
        done[ObjectIdentifier(l)] = r
        return r
      case .map(let m):
        if let d = done[ObjectIdentifier(m)] { return d }
        let r = Value.map(MapBox(keys: m.keys, values: m.values.map { walk($0) }))
        done[ObjectIdentifier(m)] = r
        return r
      default: return leaf(v)
      }
    }
    return walk(self)
  }
}

// MARK: - Equality and ordering

extension Value: Equatable {
  public static func == (a: Value, b: Value) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.int(x), .int(y)): return x == y
    case let (.float(x), .float(y)): return x == y
    case let (.int(x), .float(y)): return Double(x) == y
    case let (.float(x), .int(y)): return x == Double(y)
    case let (.string(x), .string(y)): return x == y
    case let (.duration(x), .duration(y)): return x == y
    case let (.list(x), .list(y)): return x === y || x.items == y.items
    case let (.map(x), .map(y)):
      if x === y { return true }
      guard x.count == y.count else { return false }
      for (i, k) in x.keys.enumerated() { guard let v = y[k], v == x.values[i] else { return false } }
      return true
    case let (.range(x), .range(y)): return x.start == y.start && x.end == y.end && x.step == y.step
    case let (.function(x), .function(y)): return x === y
    case let (.secret(x), .secret(y)): return x.revealed == y.revealed
    case let (.secret(x), .string(y)), let (.string(y), .secret(x)): return x.revealed == y
    default: return false
    }
  }
}

// MARK: - Rendering

extension Value {
  /// How `print` and interpolation show a value: strings bare.
  public var displayString: String {
    if case .string(let s) = self { return s }
    return repr
  }

  /// How a value appears inside a list or map: strings quoted.
  public var repr: String {
    var out = ""
    _ = appendRepr(to: &out, maxBytes: Int.max)
    return out
  }

  /// `displayString` refused past the value limit: a list holding itself
  /// twice, forty levels deep, would otherwise print 2^40 elements.
  public func displayString(limits: ResourceLimits, _ range: SourceRange?) throws -> String {
    switch self {
    case .string(let s): return s
    case .int(let i): return String(i)
    default: break
    }
    var out = ""
    guard appendRepr(to: &out, maxBytes: limits.maxValueBytes) else {
      throw RuntimeError(
        "the text of this \(typeName) is over the limit of \(limits.maxValueBytes) bytes per value (set \(ResourceLimits.environmentVariable) to change it)",
        code: "limit", range: range)
    }
    return out
  }

  /// Appends the repr, stopping once `out` passes `maxBytes` (then false).
  func appendRepr(to out: inout String, maxBytes: Int) -> Bool {
    switch self {
    case .list(let l):
      out += "["
      for (i, item) in l.items.enumerated() {
        if i > 0 { out += ", " }
        guard item.appendRepr(to: &out, maxBytes: maxBytes) else { return false }
      }
      out += "]"
    case .map(let m):
      if m.count == 0 { out += "{}"; break }
      out += "{"
      for (i, k) in m.keys.enumerated() {
        if i > 0 { out += ", " }
        out += Value.keyRepr(k) + ": "
        guard m.values[i].appendRepr(to: &out, maxBytes: maxBytes) else { return false }
      }
      out += "}"
    default: out += scalarRepr
    }
    return out.utf8.count <= maxBytes
  }

  private var scalarRepr: String {
    switch self {
    case .null: return "nil"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .float(let d): return Value.formatFloat(d)
    case .string(let s): return Value.quote(s)
    case .duration(let ms): return Value.formatDuration(ms)
    case .list, .map: return repr
    case .range(let r):
      return r.step == 1 ? "range(\(r.start), \(r.end))" : "range(\(r.start), \(r.end), \(r.step))"
    case .function(let f):
      switch f.kind {
      case .closure: return "<fn \(f.name)>"
      case .builtin: return "<builtin \(f.name)>"
      }
    case .secret: return Secret.shown
    }
  }

  public static func keyRepr(_ k: MapKey) -> String {
    switch k.storage {
    case .string(let s): return isIdentifier(s) ? s : quote(s)
    case .int(let i): return String(i)
    case .bool(let b): return b ? "true" : "false"
    }
  }

  public static func isIdentifier(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
      return false
    }
    return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
  }

  public static func quote(_ s: String) -> String { quotedStringLiteral(s) }
  /// The text `quote` spelled as `literal`, or nil when it is not a quoted string.
  public static func unquote(_ literal: String) -> String? { unquotedStringLiteral(literal) }

  public static func formatFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    return "\(d)"
  }

  public static func formatDuration(_ ms: Int) -> String {
    if ms == 0 { return "0s" }
    // The magnitude, not abs(): the smallest duration has no positive Int counterpart.
    var rest = ms.magnitude
    var out = ms < 0 ? "-" : ""
    let units: [(String, UInt)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
    for (suffix, size) in units where rest >= size {
      out += "\(rest / size)\(suffix)"
      rest %= size
    }
    return out
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The name rule that predates the `secret` type: a param whose name looks
/// like a credential. `check` warns on it (suggesting the type) and live runs
/// still redact such params by name, as a second line of defence.
public enum SecretNames {
  public static func looksSecret(_ name: String) -> Bool {
    let n = name.lowercased()
    return ["secret", "password", "passwd", "passphrase", "token", "credential"].contains { n.contains($0) }
      || n.hasSuffix("key")
  }
}
