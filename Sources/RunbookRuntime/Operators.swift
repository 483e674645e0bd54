import RunbookLanguage

/// The meaning of operators, indexing and member access on values. The
/// compiler emits fast paths for ints; everything else comes here.
enum Operators {
  static func typeError(_ op: String, _ a: Value, _ b: Value, _ range: SourceRange?) -> RuntimeError {
    RuntimeError("cannot apply `\(op)` to \(a.typeName) and \(b.typeName)", code: "type_error", range: range)
  }

  /// A result outside the 64-bit range of ints (and of durations, which count milliseconds in an int).
  public static func overflow(_ op: String, _ range: SourceRange?) -> RuntimeError {
    RuntimeError("integer overflow in `\(op)`: the result is outside -9223372036854775808...9223372036854775807",
                 code: "overflow", range: range)
  }

  static func durationOverflow(_ op: String, _ range: SourceRange?) -> RuntimeError {
    RuntimeError("duration overflow in `\(op)`: the result is outside about ±106751991167 days (64-bit milliseconds)",
                 code: "overflow", range: range)
  }

  /// A float turned into an int or a duration, refused when it is not finite or out of range.
  static func exactInt(_ d: Double, _ op: String, duration: Bool, _ range: SourceRange?) throws -> Int {
    // 2^63 is exactly representable; every finite double below it in magnitude converts without trapping.
    guard d.isFinite, d >= -9_223_372_036_854_775_808.0, d < 9_223_372_036_854_775_808.0 else {
      if d.isNaN {
        throw RuntimeError("`\(op)` gives nan, which is not \(duration ? "a duration" : "an int")", code: "overflow", range: range)
      }
      throw duration ? durationOverflow(op, range) : overflow(op, range)
    }
    return Int(d)
  }

  static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, range: SourceRange?, limits: ResourceLimits) throws -> Value {
    switch op {
    case .add: return try add(a, b, range, limits: limits)
    case .subtract, .multiply, .divide, .remainder: return try arithmetic(op, a, b, range)
    case .equal: return .bool(a == b)
    case .notEqual: return .bool(a != b)
    case .less, .lessEqual, .greater, .greaterEqual:
      let c = try compare(a, b, op: op.rawValue, range: range)
      switch op {
      case .less: return .bool(c < 0)
      case .lessEqual: return .bool(c <= 0)
      case .greater: return .bool(c > 0)
      default: return .bool(c >= 0)
      }
    case .contains: return .bool(try contains(b, a, range))
    case .notContains: return .bool(!(try contains(b, a, range)))
    case .and, .or: preconditionFailure("logical operators are compiled as short-circuits")
    }
  }

  static func add(_ a: Value, _ b: Value, _ range: SourceRange?, limits: ResourceLimits) throws -> Value {
    switch (a, b) {
    case let (.int(x), .int(y)):
      let (r, o) = x.addingReportingOverflow(y)
      if o { throw overflow("+", range) }
      return .int(r)
    case let (.float(x), .float(y)): return .float(x + y)
    case let (.int(x), .float(y)): return .float(Double(x) + y)
    case let (.float(x), .int(y)): return .float(x + Double(y))
    case let (.string(x), .string(y)):
      try limits.checkSum(x.utf8.count, y.utf8.count, isString: true, range)
      return .string(x + y)
    // Text joined to a secret is a secret.
    case let (.secret(x), .string(y)):
      try limits.checkSum(x.revealed.utf8.count, y.utf8.count, isString: true, range)
      return .secret(x.revealed + y)
    case let (.string(x), .secret(y)):
      try limits.checkSum(x.utf8.count, y.revealed.utf8.count, isString: true, range)
      return .secret(x + y.revealed)
    case let (.secret(x), .secret(y)):
      try limits.checkSum(x.revealed.utf8.count, y.revealed.utf8.count, isString: true, range)
      return .secret(x.revealed + y.revealed)
    case let (.duration(x), .duration(y)):
      let (r, o) = x.addingReportingOverflow(y)
      if o { throw durationOverflow("+", range) }
      return .duration(r)
    case let (.list(x), .list(y)):
      try limits.checkSum(x.items.count, y.items.count, isString: false, range)
      return .list(ListBox(x.items + y.items))
    case let (.map(x), .map(y)):
      try limits.checkSum(x.count, y.count, isString: false, range)
      let merged = x.copy()
      for (i, k) in y.keys.enumerated() { merged[k] = y.values[i] }
      return .map(merged)
    case (.string, _), (_, .string):
      throw RuntimeError(
        "cannot apply `+` to \(a.typeName) and \(b.typeName); use interpolation (\"${x}\") or to_string() to build text",
        code: "type_error", range: range)
    default: throw typeError("+", a, b, range)
    }
  }

  static func arithmetic(_ op: BinaryOp, _ a: Value, _ b: Value, _ range: SourceRange?) throws -> Value {
    let sym = op.rawValue
    switch (a, b) {
    case let (.int(x), .int(y)):
      switch op {
      case .subtract:
        let (r, o) = x.subtractingReportingOverflow(y)
        if o { throw overflow(sym, range) }
        return .int(r)
      case .multiply:
        let (r, o) = x.multipliedReportingOverflow(by: y)
        if o { throw overflow(sym, range) }
        return .int(r)
      case .divide:
        if y == 0 { throw RuntimeError("division by zero", code: "arithmetic_error", range: range) }
        let (r, o) = x.dividedReportingOverflow(by: y)
        if o { throw overflow(sym, range) }
        return .int(r)
      default:
        if y == 0 { throw RuntimeError("remainder by zero (`%` with 0)", code: "arithmetic_error", range: range) }
        // Int.min % -1 is 0; only the hardware division behind it overflows.
        if y == -1 { return .int(0) }
        return .int(x % y)
      }
    case (.int, .float), (.float, .int), (.float, .float):
      guard let x = a.numeric, let y = b.numeric else { throw typeError(sym, a, b, range) }
      switch op {
      case .subtract: return .float(x - y)
      case .multiply: return .float(x * y)
      case .divide:
        if y == 0 { throw RuntimeError("division by zero", code: "arithmetic_error", range: range) }
        return .float(x / y)
      default:
        if y == 0 { throw RuntimeError("remainder by zero (`%` with 0)", code: "arithmetic_error", range: range) }
        return .float(x.truncatingRemainder(dividingBy: y))
      }
    case let (.duration(x), .duration(y)) where op == .subtract:
      let (r, o) = x.subtractingReportingOverflow(y)
      if o { throw durationOverflow(sym, range) }
      return .duration(r)
    case let (.duration(x), .duration(y)) where op == .divide:
      if y == 0 { throw RuntimeError("division by zero", code: "arithmetic_error", range: range) }
      return .float(Double(x) / Double(y))
    case let (.duration(x), .int(y)) where op == .multiply, let (.int(y), .duration(x)) where op == .multiply:
      let (r, o) = x.multipliedReportingOverflow(by: y)
      if o { throw durationOverflow(sym, range) }
      return .duration(r)
    case let (.duration(x), .float(y)) where op == .multiply, let (.float(y), .duration(x)) where op == .multiply:
      return .duration(try exactInt((Double(x) * y).rounded(), sym, duration: true, range))
    case let (.duration(x), .int(y)) where op == .divide:
      if y == 0 { throw RuntimeError("division by zero", code: "arithmetic_error", range: range) }
      let (r, o) = x.dividedReportingOverflow(by: y)
      if o { throw durationOverflow(sym, range) }
      return .duration(r)
    default: throw typeError(sym, a, b, range)
    }
  }

  /// -1, 0 or 1; numbers with numbers, strings with strings, durations with durations.
  static func compare(_ a: Value, _ b: Value, op: String, range: SourceRange?) throws -> Int {
    switch (a, b) {
    case let (.int(x), .int(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.string(x), .string(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.duration(x), .duration(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.int, .float), (.float, .int), (.float, .float):
      guard let x = a.numeric, let y = b.numeric else { return 0 }
      return x < y ? -1 : (x == y ? 0 : 1)
    case let (.list(x), .list(y)):
      for (l, r) in zip(x.items, y.items) {
        let c = try compare(l, r, op: op, range: range)
        if c != 0 { return c }
      }
      return x.items.count < y.items.count ? -1 : (x.items.count == y.items.count ? 0 : 1)
    default:
      throw RuntimeError("cannot compare \(a.typeName) with \(b.typeName) using `\(op)`", code: "type_error", range: range)
    }
  }

  /// `element in container`
  static func contains(_ container: Value, _ element: Value, _ range: SourceRange?) throws -> Bool {
    switch container {
    case .list(let l): return l.items.contains(element)
    case .map(let m):
      guard let key = mapKey(element) else { return false }
      return m[key] != nil
    case .string(let s):
      guard case .string(let sub) = element else {
        throw RuntimeError("`in` on a string needs a string on the left, not \(element.typeName)", code: "type_error", range: range)
      }
      return sub.isEmpty || s.contains(sub)
    case .range(let r):
      guard case .int(let i) = element else { return false }
      return r.contains(i)
    default:
      throw RuntimeError("`in` needs a list, map, string or range on the right, not \(container.typeName)",
                         code: "type_error", range: range)
    }
  }

  static func mapKey(_ v: Value) -> MapKey? {
    switch v {
    case .string(let s): return MapKey(s)
    case .int(let i): return MapKey(i)
    case .bool(let b): return MapKey(b)
    default: return nil
    }
  }

  static func requireMapKey(_ v: Value, _ range: SourceRange?) throws -> MapKey {
    guard let k = mapKey(v) else {
      throw RuntimeError("a map key must be a string, int or bool, not \(v.typeName)", code: "type_error", range: range)
    }
    return k
  }

  static func negate(_ v: Value, _ range: SourceRange?) throws -> Value {
    switch v {
    case .int(let i):
      if i == Int.min { throw overflow("-", range) }
      return .int(-i)
    case .float(let d): return .float(-d)
    case .duration(let ms):
      if ms == Int.min { throw durationOverflow("-", range) }
      return .duration(-ms)
    default: throw RuntimeError("cannot negate \(v.typeName)", code: "type_error", range: range)
    }
  }

  /// Resolves a possibly negative index against a count.
  static func listIndex(_ index: Value, count: Int, _ range: SourceRange?) throws -> Int {
    guard case .int(let i) = index else {
      throw RuntimeError("a list index must be an int, not \(index.typeName)", code: "type_error", range: range)
    }
    // count + i cannot overflow: count >= 0 and i < 0.
    let resolved = i < 0 ? count + i : i
    guard resolved >= 0, resolved < count else {
      throw RuntimeError("index \(i) out of range for a list of \(count) element\(count == 1 ? "" : "s")",
                         code: "index_error", range: range)
    }
    return resolved
  }

  static func index(_ base: Value, _ index: Value, characters: CharacterIndex, range: SourceRange?) throws -> Value {
    switch base {
    case .list(let l): return l.items[try listIndex(index, count: l.items.count, range)]
    case .map(let m):
      let key = try requireMapKey(index, range)
      guard let v = m[key] else {
        throw RuntimeError("key \(index.repr) not found in map\(keysHint(m))", code: "key_error", range: range)
      }
      return v
    case .string(let s):
      return .string(characters.character(of: s, at: try listIndex(index, count: characters.count(of: s), range)))
    case .range(let r):
      guard case .int(let i) = index else { return .int(r.element(try listIndex(index, count: 0, range))) }
      guard let position = r.position(ofIndex: i) else {
        throw RuntimeError("index \(i) out of range for a range of \(r.unsignedCount) element\(r.unsignedCount == 1 ? "" : "s")",
                           code: "index_error", range: range)
      }
      return .int(r.element(position))
    default:
      throw RuntimeError("cannot index into \(base.typeName) with `[]`", code: "type_error", range: range)
    }
  }

  static func keysHint(_ m: MapBox) -> String {
    if m.count == 0 { return " (the map is empty)" }
    let shown = m.keys.prefix(6).map { Value.keyRepr($0) }.joined(separator: ", ")
    return " (keys: \(shown)\(m.count > 6 ? ", ..." : ""))"
  }

  static func member(_ base: Value, _ key: MapKey, name: String, range: SourceRange?) throws -> Value {
    guard case .map(let m) = base else {
      throw RuntimeError("cannot read field `\(name)` of \(base.typeName); only maps have fields", code: "type_error", range: range)
    }
    guard let v = m[key] else {
      let keys = m.keys.compactMap { key -> String? in if case .string(let s) = key.storage { return s }; return nil }
      throw RuntimeError("no field `\(name)` in this map\(didYouMean(name, in: keys))\(keysHint(m))", code: "key_error", range: range)
    }
    return v
  }

  /// The elements a `for` loop walks: list items, map (key, value) pairs, range ints.
  static func iterationError(_ v: Value, _ range: SourceRange?) -> RuntimeError {
    RuntimeError("cannot loop over \(v.typeName); `for` needs a list, map, range or string", code: "type_error", range: range)
  }
}

extension Value {
  var numeric: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .float(let d): return d
    default: return nil
    }
  }
}
