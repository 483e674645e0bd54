import RunbookLanguage

/// The static type of a built-in's parameter or result, as shown in
/// signatures and used by the checker for literal arguments.
public enum ValueType: String, Sendable, CaseIterable {
  case any, string, int, float, number, bool, duration, list, map, function, secret, null = "nil"

  /// Whether a runtime value is acceptable where this type is expected.
  public func accepts(_ value: Value) -> Bool {
    switch (self, value) {
    case (.any, _): return true
    case (.string, .string), (.int, .int), (.float, .float), (.float, .int), (.bool, .bool),
      (.duration, .duration), (.list, .list), (.list, .range), (.map, .map), (.function, .function),
      (.number, .int), (.number, .float), (.null, .null), (.secret, .secret), (.secret, .string):
      return true
    // A built-in that takes text takes a secret too, and gets its real text.
    case (.string, .secret):
      return true
    default: return false
    }
  }

  /// A value of this type, for checking what an operator accepts; nil for
  /// types without one representative (`any`, `number`, `function`).
  static func sample(_ type: ValueType) -> Value? {
    switch type {
    case .string: return .string("a")
    case .int: return .int(1)
    case .float: return .float(1.5)
    case .bool: return .bool(true)
    case .duration: return .duration(1_000)
    case .list: return .list(ListBox([]))
    case .map: return .map(MapBox(fields: []))
    case .null: return .null
    case .any, .number, .function, .secret: return nil
    }
  }

  /// The type named in a `param` declaration, if it is one.
  public init?(declared name: String) {
    switch name {
    case "string", "int", "float", "bool", "duration", "list", "map", "any", "secret": self.init(rawValue: name)
    default: return nil
    }
  }
}

/// One labelled parameter of a built-in.
public struct BuiltinParameter: Sendable {
  public enum Default: Sendable { case required, value(Value) }
  public var name: String
  public var type: ValueType
  /// nil is accepted besides `type` (the parameter is optional).
  public var isOptional: Bool
  public var defaultValue: Default
  /// Collects all remaining positional arguments (`print(a, b, c)`).
  public var isVariadic: Bool

  public init(_ name: String, _ type: ValueType, default defaultValue: Default = .required,
              optional: Bool = false, variadic: Bool = false) {
    self.name = name; self.type = type; self.defaultValue = defaultValue
    self.isOptional = optional; self.isVariadic = variadic
  }
  public var isRequired: Bool { if case .required = defaultValue { return !isVariadic }; return false }
}

/// How a built-in sees secret arguments.
public enum SecretHandling: Sendable {
  /// A secret arrives as a secret value: it shows as `(sensitive)` in the
  /// call's arguments and plans; `Arguments.string` gives its real text
  /// (what a service must receive).
  case opaque
  /// The built-in computes on text (`upper`, `format`, `join`): it sees every
  /// secret's real text, its result is a secret when any argument held one,
  /// and the texts are scrubbed from its error messages.
  case computed
}

/// What a built-in does to the world, shown in `runbook builtins` and used by
/// the REPL and live runs to decide on confirmation.
public enum BuiltinEffect: String, Sendable {
  case pure, reads, changes, destructive
}

/// A built-in function: name, labelled parameters, types, doc line and
/// implementation, kept together so the checker, completion, `runbook
/// builtins` and the docs all read one place.
public struct Builtin: Sendable {
  public typealias Implementation = @Sendable (inout Arguments, CallContext) throws -> Value

  public var name: String
  public var parameters: [BuiltinParameter]
  public var returns: ValueType
  public var doc: String
  public var category: String
  public var effect: BuiltinEffect
  public var secrets: SecretHandling = .opaque
  /// What it returns: fields and their types for records (`returns` is its type).
  public var result: Shape
  public var implementation: Implementation

  public init(_ name: String, _ parameters: [BuiltinParameter], returns: ValueType, result: Shape? = nil, category: String,
              effect: BuiltinEffect = .pure, doc: String, _ implementation: @escaping Implementation) {
    precondition(result == nil || result!.valueType == returns, "built-in \(name): result shape and type differ")
    self.name = name; self.parameters = parameters; self.returns = returns; self.doc = doc
    self.category = category; self.effect = effect; self.result = result ?? .type(returns); self.implementation = implementation
  }

  /// `split(text: string, separator: string = " ") -> list`
  public var signature: String {
    let ps = parameters.map { p -> String in
      var s = (p.isVariadic ? "..." : "") + p.name + ": " + p.type.rawValue + (p.isOptional ? "?" : "")
      if case .value(let v) = p.defaultValue { s += " = " + v.repr }
      return s
    }
    return "\(name)(\(ps.joined(separator: ", "))) -> \(returns.rawValue)"
  }
}

/// The set of built-ins visible to a program. Built by the runtime (core
/// built-ins) and extended by the services layer (domain built-ins).
public final class BuiltinRegistry: @unchecked Sendable {
  public private(set) var builtins: [String: Builtin] = [:]

  public init() {}

  public func register(_ builtin: Builtin) {
    precondition(builtins[builtin.name] == nil, "built-in \(builtin.name) registered twice")
    builtins[builtin.name] = builtin
  }
  public func register(_ list: [Builtin]) { list.forEach(register) }

  public subscript(name: String) -> Builtin? { builtins[name] }

  /// All built-ins sorted by category, then name.
  public var all: [Builtin] {
    builtins.values.sorted { ($0.category, $0.name) < ($1.category, $1.name) }
  }

  /// The reference in docs/builtins.md: every built-in's signature, effect and doc line, by category.
  public func markdownReference() -> String {
    var text = """
      # Built-ins

      Generated from the built-in registry (`RUNBOOK_WRITE_GOLDEN=1 swift test --filter BuiltinReferenceTests` \
      rewrites it); `runbook builtins [NAME]` prints the same. Effects: `pure` touches no service; `reads` \
      looks only; `changes` creates or updates (idempotent: ok when already so); `destructive` deletes.

      """
    var category = ""
    for b in all {
      if b.category != category {
        category = b.category
        text += "\n## \(category)\n\n"
      }
      text += "- `\(b.signature)` *(\(b.effect.rawValue))*: \(b.doc)\n"
      if b.result.fields != nil || { if case .list = b.result { return true }; return false }() {
        text += "  Returns `\(b.result.description)`.\n"
      }
    }
    return text
  }
}

/// Arguments bound to a built-in's parameters, in declaration order; absent
/// optional parameters hold their default. Accessors throw a typed error that
/// names the parameter.
public struct Arguments {
  public var values: [Value]
  /// Extra positional values collected by a variadic parameter.
  public var rest: [Value]
  public let builtin: Builtin
  /// The size caps of the run, for built-ins that build values.
  public var limits: ResourceLimits

  public init(values: [Value], rest: [Value], builtin: Builtin, limits: ResourceLimits = .standard) {
    self.values = values; self.rest = rest; self.builtin = builtin; self.limits = limits
  }

  private func index(_ name: String) -> Int {
    guard let i = builtin.parameters.firstIndex(where: { $0.name == name }) else {
      preconditionFailure("built-in \(builtin.name) has no parameter \(name)")
    }
    return i
  }

  public subscript(name: String) -> Value { values[index(name)] }

  public func typeError(_ name: String, expected: String, got value: Value) -> RuntimeError {
    RuntimeError(
      "argument `\(name)` of `\(builtin.name)` must be \(expected), not \(value.typeName)", code: "type_error")
  }

  /// Text, or a secret's real text.
  public func string(_ name: String) throws -> String {
    let v = self[name]
    switch v {
    case .string(let s): return s
    case .secret(let s): return s.revealed
    default: throw typeError(name, expected: "a string", got: v)
    }
  }
  public func optionalString(_ name: String) throws -> String? {
    if case .null = self[name] { return nil }
    return try string(name)
  }
  public func int(_ name: String) throws -> Int {
    let v = self[name]
    guard case .int(let i) = v else { throw typeError(name, expected: "an int", got: v) }
    return i
  }
  public func optionalInt(_ name: String) throws -> Int? {
    if case .null = self[name] { return nil }
    return try int(name)
  }
  public func bool(_ name: String) throws -> Bool {
    let v = self[name]
    guard case .bool(let b) = v else { throw typeError(name, expected: "a bool", got: v) }
    return b
  }
  public func durationMilliseconds(_ name: String) throws -> Int {
    let v = self[name]
    guard case .duration(let ms) = v else { throw typeError(name, expected: "a duration", got: v) }
    return ms
  }
  public func list(_ name: String) throws -> [Value] {
    switch self[name] {
    case .list(let l): return l.items
    case .range(let r): return try r.elements(limits: limits)
    case let v: throw typeError(name, expected: "a list", got: v)
    }
  }
  public func map(_ name: String) throws -> MapBox {
    let v = self[name]
    guard case .map(let m) = v else { throw typeError(name, expected: "a map", got: v) }
    return m
  }
  public func function(_ name: String) throws -> FunctionBox {
    let v = self[name]
    guard case .function(let f) = v else { throw typeError(name, expected: "a function", got: v) }
    return f
  }
  public func stringList(_ name: String) throws -> [String] {
    try list(name).map { v in
      switch v {
      case .string(let s): return s
      case .secret(let s): return s.revealed
      default: throw typeError(name, expected: "a list of strings", got: v)
      }
    }
  }
}

/// A runtime failure. Built-ins throw it without a location; the interpreter
/// attaches the call's range and the enclosing step as the error unwinds.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
  public var message: String
  /// A stable machine-readable code, e.g. `type_error`, `RoleAssignmentExists`.
  public var code: String
  public var range: SourceRange?
  public var stepName: String?
  /// Extra data a `catch` block can read (`e.details`).
  public var details: Value

  public init(_ message: String, code: String = "error", range: SourceRange? = nil, details: Value = .null) {
    self.message = message; self.code = code; self.range = range; self.details = details
  }

  public var description: String { message }

  /// The diagnostic a user sees: names the step the error happened in.
  public var diagnostic: Diagnostic {
    let text = stepName.map { "in step \"\($0)\": \(message)" } ?? message
    return Diagnostic(.error, text, at: range)
  }

  /// The record a `catch e` block receives.
  public var asValue: Value {
    .record(fields: [
      ("message", .string(message)), ("code", .string(code)),
      ("step", .optionalString(stepName)),
      ("line", range.map { .int($0.startLocation.line) } ?? .null),
      ("details", details),
    ])
  }
}

/// Everything a built-in may use from the interpreter that called it.
public struct CallContext {
  public let interpreter: Interpreter
  /// The range of the call expression.
  public let range: SourceRange?

  public init(interpreter: Interpreter, range: SourceRange?) {
    self.interpreter = interpreter; self.range = range
  }

  /// Calls a runbook function value (a closure passed to `map`, say).
  public func call(_ function: FunctionBox, _ arguments: [Value]) throws -> Value {
    try interpreter.call(function, arguments: arguments, range: range)
  }
  public func print(_ text: String) { interpreter.host.write(text + "\n") }
  public var currentStep: String? { interpreter.currentStep }
  public func checkCancelled() throws { try interpreter.checkCancelled() }
}

/// What a built-in returns, as precisely as it is known before running: the
/// fields of a record (with their types), the element of a list, or only a
/// type. Declared in the registry with the built-in; `check` uses it for
/// unknown fields (`sp.idd`) and `runbook builtins NAME` lists it.
public indirect enum Shape: Sendable {
  case type(ValueType)
  /// A map with these fields. `isOpen`: it may also hold other fields (a
  /// Dataverse row's columns), so an unknown name is not an error.
  case record(kind: String?, fields: [ShapeField], isOpen: Bool = false)
  case list(of: Shape)

  /// A closed record: `.record("user", [("id", .string), ...])`.
  public static func record(_ kind: String?, _ fields: [(String, Shape)], optional: Set<String> = []) -> Shape {
    .record(kind: kind, fields: fields.map { ShapeField(name: $0.0, shape: $0.1, isOptional: optional.contains($0.0)) })
  }
  public static let string = Shape.type(.string), int = Shape.type(.int), bool = Shape.type(.bool)
  public static let float = Shape.type(.float), number = Shape.type(.number), duration = Shape.type(.duration)
  public static let any = Shape.type(.any), map = Shape.type(.map)

  public var valueType: ValueType {
    switch self {
    case .type(let t): return t
    case .record: return .map
    case .list: return .list
    }
  }

  /// The record's fields, when this is one.
  public var fields: [ShapeField]? {
    if case .record(_, let fields, _) = self { return fields }
    return nil
  }

  /// `{id: string, display_name: string, description: string?}`, `list of {…}`, or the type.
  public var description: String {
    switch self {
    case .type(let t): return t.rawValue
    case .list(let element): return "list of " + element.description
    case .record(_, let fields, let isOpen):
      let listed = fields.map { $0.name + ": " + $0.shape.description + ($0.isOptional ? "?" : "") }
      return "{" + (listed + (isOpen ? ["…"] : [])).joined(separator: ", ") + "}"
    }
  }

  /// Whether a value has this shape (a built-in keeps its declaration; checked in debug builds).
  public func describes(_ value: Value) -> Bool {
    switch (self, value) {
    case (.type(let t), _): return t.accepts(value)
    case (.list(let element), .list(let l)): return l.items.allSatisfy(element.describes)
    case (.record(_, let fields, let isOpen), .map(let m)):
      for f in fields {
        guard let v = m[MapKey(f.name)] else { return false }
        if case .null = v, f.isOptional { continue }
        if !f.shape.describes(v) { return false }
      }
      return isOpen || m.count == fields.count
    default: return false
    }
  }
}

public struct ShapeField: Sendable {
  public var name: String
  public var shape: Shape
  /// The field is always present but may be nil.
  public var isOptional: Bool
  public init(name: String, shape: Shape, isOptional: Bool = false) {
    self.name = name; self.shape = shape; self.isOptional = isOptional
  }
}
