import Foundation
import RunbookLanguage

/// The language's own built-ins: text, collections, conversion and environment.
public enum CoreBuiltins {
  /// A registry holding the core built-ins.
  public static func makeRegistry() -> BuiltinRegistry {
    let registry = BuiltinRegistry()
    registry.register(all)
    return registry
  }

  static func valueError(_ message: String) -> RuntimeError { RuntimeError(message, code: "value_error") }

  public static let all: [Builtin] = (output + collections + text + conversion + functional + environment + secrets)
    .map { b in
      var b = b
      if computesOnText.contains(b.name) { b.secrets = .computed }
      return b
    }

  /// Built-ins that compute on text: given a secret they work on its real
  /// text and their result is a secret (`upper(s)`, `format("Bearer {0}", s)`).
  static let computesOnText: Set<String> = [
    "len", "contains", "split", "join", "upper", "lower", "trim", "starts_with", "ends_with", "replace", "format",
    "to_string", "to_int", "to_float",
  ]

  /// `texts` with `separator` between them, measured first and copied once
  /// into a string of the joined size. Appending them one by one to a
  /// growing string was most of the time of joining many short ones, and
  /// the generic `joined` looks up a protocol conformance at its first use,
  /// a scan of the whole binary (a tenth of a small run's start-up).
  static func joined(_ texts: [String], separator: String) -> String {
    var separator = separator
    var total = 0
    for (i, text) in texts.enumerated() { total += text.utf8.count + (i > 0 ? separator.utf8.count : 0) }
    return String(unsafeUninitializedCapacity: total) { buffer in
      guard let destination = buffer.baseAddress else { return 0 }
      var at = 0
      func copy(_ text: inout String) {
        text.withUTF8 { bytes in
          guard let source = bytes.baseAddress else { return }
          (destination + at).update(from: source, count: bytes.count)
          at += bytes.count
        }
      }
      for (i, text) in texts.enumerated() {
        if i > 0 { copy(&separator) }
        var text = text
        copy(&text)
      }
      return at
    }
  }

  // MARK: Output

  static let output: [Builtin] = [
    Builtin("print", [.init("values", .any, variadic: true), .init("separator", .string, default: .value(.string(" ")))],
            returns: .null, category: "core", doc: "Prints values separated by `separator` (strings without quotes), then a newline.") { args, ctx in
      // The separator as shown too: a secret separator prints as (sensitive).
      ctx.print(CoreBuiltins.joined(try args.rest.map { try $0.displayString(limits: args.limits, ctx.range) },
                                    separator: try args["separator"].displayString(limits: args.limits, ctx.range)))
      return .null
    },
  ]

  // MARK: Collections

  static let collections: [Builtin] = [
    Builtin("len", [.init("value", .any)], returns: .int, category: "core",
            doc: "Number of elements of a list, map or range, or characters of a string.") { args, ctx in
      switch args["value"] {
      case .list(let l): return .int(l.items.count)
      case .map(let m): return .int(m.count)
      case .string(let s): return .int(ctx.interpreter.characterIndex.count(of: s))
      case .range(let r):
        guard let n = r.count else {
          throw RuntimeError("the range has \(r.unsignedCount) elements, more than the largest int", code: "overflow")
        }
        return .int(n)
      case let v: throw args.typeError("value", expected: "a list, map, string or range", got: v)
      }
    },
    Builtin("keys", [.init("map", .map)], returns: .list, category: "core", doc: "The keys of a map, in insertion order.") { args, _ in
      .list(ListBox(try args.map("map").keys.map(\.value)))
    },
    Builtin("values", [.init("map", .map)], returns: .list, category: "core", doc: "The values of a map, in insertion order.") { args, _ in
      .list(ListBox(try args.map("map").values))
    },
    Builtin("contains", [.init("collection", .any), .init("element", .any)], returns: .bool, category: "core",
            doc: "Whether a list holds an element, a map has a key, or a string contains a substring (same as `in`).") { args, ctx in
      .bool(try Operators.contains(args["collection"], args["element"], ctx.range))
    },
    Builtin("get", [.init("collection", .any), .init("key", .any), .init("default", .any, default: .value(.null))],
            returns: .any, category: "core", doc: "The element at a map key or list index, or `default` when absent.") { args, _ in
      switch args["collection"] {
      case .map(let m):
        guard let k = Operators.mapKey(args["key"]) else { return args["default"] }
        return m[k] ?? args["default"]
      case .list(let l):
        guard case .int(let i) = args["key"] else { return args["default"] }
        let j = i < 0 ? l.items.count + i : i
        return j >= 0 && j < l.items.count ? l.items[j] : args["default"]
      case let v: throw args.typeError("collection", expected: "a map or list", got: v)
      }
    },
    Builtin("append", [.init("list", .list), .init("value", .any)], returns: .list, category: "core",
            doc: "A new list with `value` added at the end (the original is unchanged).") { args, _ in
      .list(ListBox(try args.list("list") + [args["value"]]))
    },
    Builtin("range", [.init("start", .int), .init("end", .int, default: .value(.null), optional: true), .init("step", .int, default: .value(.int(1)))],
            returns: .list, category: "core",
            doc: "Integers from `start` up to (not including) `end`; `range(n)` counts 0..n-1. `step` may be negative.") { args, _ in
      var start = try args.int("start")
      let end: Int
      if let e = try args.optionalInt("end") { end = e } else { end = start; start = 0 }
      let step = try args.int("step")
      if step == 0 { throw valueError("the step of `range` cannot be 0") }
      return .range(RangeBox(start: start, end: end, step: step))
    },
    Builtin("sort", [.init("list", .list), .init("by", .function, default: .value(.null), optional: true), .init("descending", .bool, default: .value(.bool(false)))],
            returns: .list, category: "core",
            doc: "A sorted copy of a list of numbers, strings or durations; `by` maps each element to the key to sort on.") { args, ctx in
      let items = try args.list("list")
      var keyed: [(Value, Value)] = []
      if case .function(let f) = args["by"] {
        for item in items { keyed.append((try ctx.call(f, [item]), item)) }
      } else {
        keyed = items.map { ($0, $0) }
      }
      var failure: RuntimeError? = nil
      let sorted = keyed.enumerated().sorted { a, b in
        if failure != nil { return false }
        do {
          let c = try Operators.compare(a.element.0, b.element.0, op: "sort", range: ctx.range)
          return c == 0 ? a.offset < b.offset : c < 0
        } catch let e as RuntimeError { failure = e; return false } catch { return false }
      }
      if let failure { throw RuntimeError("cannot sort: " + failure.message, code: "type_error") }
      let result = sorted.map(\.element.1)
      return .list(ListBox(try args.bool("descending") ? result.reversed() : result))
    },
    Builtin("reverse", [.init("list", .list)], returns: .list, category: "core", doc: "A copy of a list in reverse order.") { args, _ in
      .list(ListBox(try args.list("list").reversed()))
    },
    Builtin("sum", [.init("list", .list)], returns: .number, category: "core", doc: "The sum of a list of numbers or durations (0 for an empty list).") { args, ctx in
      var total: Value = .int(0)
      for (i, v) in try args.list("list").enumerated() {
        if case .string = v { throw args.typeError("list", expected: "a list of numbers", got: v) }
        total = i == 0 ? v : try Operators.add(total, v, ctx.range, limits: args.limits)
      }
      return total
    },
    Builtin("min", [.init("values", .any, variadic: true)], returns: .any, category: "core",
            doc: "The smallest of the arguments, or of a single list argument.") { args, ctx in
      try extreme(args, ctx, smallest: true)
    },
    Builtin("max", [.init("values", .any, variadic: true)], returns: .any, category: "core",
            doc: "The largest of the arguments, or of a single list argument.") { args, ctx in
      try extreme(args, ctx, smallest: false)
    },
  ]

  static func extreme(_ args: Arguments, _ ctx: CallContext, smallest: Bool) throws -> Value {
    var values = args.rest
    if values.count == 1, case .range(let r) = values[0] {
      // The ends of a range are known without listing it.
      guard r.unsignedCount > 0 else { throw valueError("`\(args.builtin.name)` needs at least one value") }
      let first = r.start, last = r.element(r.unsignedCount - 1)
      return .int(smallest == (r.step > 0) ? first : last)
    }
    if values.count == 1, case .list(let l) = values[0] { values = l.items }
    guard var best = values.first else { throw valueError("`\(args.builtin.name)` needs at least one value") }
    for v in values.dropFirst() {
      let c = try Operators.compare(v, best, op: args.builtin.name, range: ctx.range)
      if smallest ? c < 0 : c > 0 { best = v }
    }
    return best
  }

  // MARK: Text

  static let text: [Builtin] = [
    Builtin("split", [.init("text", .string), .init("separator", .string, default: .value(.null), optional: true)],
            returns: .list, category: "text",
            doc: "Splits text at each `separator`; without one, at runs of whitespace (dropping empty parts).") { args, _ in
      let text = try args.string("text")
      guard let sep = try args.optionalString("separator") else {
        return .list(ListBox(text.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) }))
      }
      if sep.isEmpty { throw valueError("the separator of `split` cannot be empty") }
      return .list(ListBox(text.components(separatedBy: sep).map { .string($0) }))
    },
    Builtin("join", [.init("list", .list), .init("separator", .string, default: .value(.string("")))],
            returns: .string, category: "text", doc: "Joins the elements of a list into text, with `separator` between them.") { args, _ in
      let items = try args.list("list")
      let sep = try args.string("separator")
      var texts: [String] = []
      texts.reserveCapacity(items.count)
      var total = 0
      for (i, item) in items.enumerated() {
        let text = try item.displayString(limits: args.limits, nil)
        total += text.utf8.count + (i > 0 ? sep.utf8.count : 0)
        try args.limits.checkString(byteCount: total, nil)
        texts.append(text)
      }
      return .string(CoreBuiltins.joined(texts, separator: sep))
    },
    Builtin("upper", [.init("text", .string)], returns: .string, category: "text", doc: "Text in upper case.") { args, _ in
      .string(try args.string("text").uppercased())
    },
    Builtin("lower", [.init("text", .string)], returns: .string, category: "text", doc: "Text in lower case.") { args, _ in
      .string(try args.string("text").lowercased())
    },
    Builtin("trim", [.init("text", .string)], returns: .string, category: "text", doc: "Text without leading and trailing whitespace.") { args, _ in
      .string(try args.string("text").trimmingCharacters(in: .whitespacesAndNewlines))
    },
    Builtin("starts_with", [.init("text", .string), .init("prefix", .string)], returns: .bool, category: "text",
            doc: "Whether text begins with `prefix`.") { args, _ in
      .bool(try args.string("text").hasPrefix(try args.string("prefix")))
    },
    Builtin("ends_with", [.init("text", .string), .init("suffix", .string)], returns: .bool, category: "text",
            doc: "Whether text ends with `suffix`.") { args, _ in
      .bool(try args.string("text").hasSuffix(try args.string("suffix")))
    },
    Builtin("replace", [.init("text", .string), .init("old", .string), .init("new", .string)], returns: .string, category: "text",
            doc: "Text with every occurrence of `old` replaced by `new`.") { args, ctx in
      let old = try args.string("old")
      if old.isEmpty { throw valueError("the `old` text of `replace` cannot be empty") }
      let text = try args.string("text"), new = try args.string("new")
      if new.utf8.count > old.utf8.count {
        // The size of the result, before building it: each occurrence grows the text.
        let occurrences = text.components(separatedBy: old).count - 1
        let (growth, o1) = occurrences.multipliedReportingOverflow(by: new.utf8.count - old.utf8.count)
        try args.limits.checkSum(text.utf8.count, o1 ? Int.max : growth, isString: true, ctx.range)
      }
      return .string(text.replacingOccurrences(of: old, with: new))
    },
    Builtin("format", [.init("template", .string), .init("values", .any, variadic: true)], returns: .string, category: "text",
            doc: "Fills `{}` (next value) and `{0}`, `{1}` (by position) in a template; `{{` and `}}` are literal braces.") { args, _ in
      try format(try args.string("template"), args.rest, limits: args.limits)
    },
  ]

  static func format(_ template: String, _ values: [Value], limits: ResourceLimits) throws -> Value {
    var out = ""
    var next = 0
    var chars = Array(template)[...]
    while let c = chars.popFirst() {
      if c == "{" {
        if chars.first == "{" { chars.removeFirst(); out.append("{"); continue }
        let spec = chars.prefix { $0 != "}" }
        guard chars.count > spec.count else { throw valueError("unclosed `{` in format template") }
        chars = chars.dropFirst(spec.count + 1)
        let index: Int
        if spec.isEmpty { index = next; next += 1 } else if let i = Int(String(spec)), i >= 0 { index = i } else {
          throw valueError("bad placeholder `{\(String(spec))}` in format template; use `{}` or `{0}`")
        }
        guard index < values.count else {
          throw valueError("format template needs a value for placeholder \(index), but only \(values.count) \(values.count == 1 ? "was" : "were") given")
        }
        out += try values[index].displayString(limits: limits, nil)
        try limits.checkString(byteCount: out.utf8.count, nil)
      } else if c == "}" {
        if chars.first == "}" { chars.removeFirst() }
        out.append("}")
      } else {
        out.append(c)
      }
    }
    return .string(out)
  }

  // MARK: Conversion

  static let conversion: [Builtin] = [
    Builtin("to_string", [.init("value", .any)], returns: .string, category: "core",
            doc: "The value as text, as `print` shows it.") { args, ctx in
      .string(try args["value"].displayString(limits: args.limits, ctx.range))
    },
    Builtin("to_int", [.init("value", .any)], returns: .int, category: "core",
            doc: "An int from text (\"42\"), a float (truncated) or a bool.") { args, _ in
      switch args["value"] {
      case .int(let i): return .int(i)
      case .float(let d):
        guard d.isFinite, abs(d) < 9.2e18 else { throw valueError("\(Value.formatFloat(d)) is too large for an int") }
        return .int(Int(d))
      case .bool(let b): return .int(b ? 1 : 0)
      case .string(let s):
        guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else {
          throw valueError("cannot convert \"\(s)\" to an int")
        }
        return .int(i)
      case .duration(let ms): return .int(ms)
      case let v: throw args.typeError("value", expected: "text, a number or a bool", got: v)
      }
    },
    Builtin("to_float", [.init("value", .any)], returns: .float, category: "core",
            doc: "A float from text (\"1.5\") or a number.") { args, _ in
      switch args["value"] {
      case .int(let i): return .float(Double(i))
      case .float(let d): return .float(d)
      case .string(let s):
        guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else { throw valueError("cannot convert \"\(s)\" to a float") }
        return .float(d)
      case let v: throw args.typeError("value", expected: "text or a number", got: v)
      }
    },
    Builtin("type_of", [.init("value", .any)], returns: .string, category: "core",
            doc: "The type name of a value: nil, bool, int, float, string, duration, list, map, range, function or secret.") { args, _ in
      .string(args["value"].typeName)
    },
    Builtin("abs", [.init("value", .number)], returns: .number, category: "core", doc: "The absolute value of a number.") { args, ctx in
      switch args["value"] {
      case .int(let i):
        if i == Int.min { throw Operators.overflow("abs", ctx.range) }
        return .int(abs(i))
      case .float(let d): return .float(abs(d))
      case let v: return v
      }
    },
  ]

  // MARK: Functional

  static let functional: [Builtin] = [
    Builtin("map", [.init("list", .list), .init("function", .function)], returns: .list, category: "core",
            doc: "A list of `function(element)` for each element.") { args, ctx in
      let f = try args.function("function")
      var out: [Value] = []
      for item in try args.list("list") { out.append(try ctx.call(f, [item])) }
      return .list(ListBox(out))
    },
    Builtin("filter", [.init("list", .list), .init("function", .function)], returns: .list, category: "core",
            doc: "The elements for which `function(element)` is true.") { args, ctx in
      let f = try args.function("function")
      var out: [Value] = []
      for item in try args.list("list") where try ctx.call(f, [item]).isTruthy { out.append(item) }
      return .list(ListBox(out))
    },
  ]

  // MARK: Secrets

  static let secrets: [Builtin] = [
    Builtin("secret", [.init("value", .string)], returns: .secret, category: "core",
            doc: "The text as a secret (e.g. `secret(env(\"APP_KEY\"))`): shown as `(sensitive)` in output, plans, journals and errors, and so is text built from it; services get the real text.") { args, _ in
      if case .secret = args["value"] { return args["value"] }
      return .secret(try args.string("value"))
    },
  ]

  // MARK: Environment

  static let environment: [Builtin] = [
    Builtin("env", [.init("name", .string), .init("default", .string, default: .value(.null), optional: true)],
            returns: .string, category: "core", effect: .reads,
            doc: "An environment variable's value, or `default` (nil if none is given) when it is not set.") { args, ctx in
      let name = try args.string("name")
      if let v = ctx.interpreter.environment[name] { return .string(v) }
      return args["default"]
    },
  ]
}
