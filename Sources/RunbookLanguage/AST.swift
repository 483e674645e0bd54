/// The syntax tree the parser produces. Value types, checked exhaustively by
/// `switch`; every node carries the source range it came from.

public struct Identifier: Sendable, Hashable {
  public var name: String
  public var range: SourceRange
  public init(_ name: String, _ range: SourceRange) { self.name = name; self.range = range }
}

/// A parsed source file: its statements in order.
public struct SourceUnit: Sendable {
  public var file: SourceFile
  public var statements: [Stmt]
  public init(file: SourceFile, statements: [Stmt]) { self.file = file; self.statements = statements }
}

public struct Block: Sendable {
  public var statements: [Stmt]
  /// From the opening `{` to the closing `}`.
  public var range: SourceRange
  public init(statements: [Stmt], range: SourceRange) { self.statements = statements; self.range = range }
}

// MARK: - Statements

public struct Stmt: Sendable {
  public var kind: Kind
  public var range: SourceRange
  public init(_ kind: Kind, _ range: SourceRange) { self.kind = kind; self.range = range }

  public indirect enum Kind: Sendable {
    /// An expression evaluated for its effect (or, last in a block, its value).
    case expression(Expr)
    /// `let name = value` or `var name = value`.
    case binding(name: Identifier, isMutable: Bool, value: Expr)
    /// `target = value`, `target += value`, ...; target is a name, index or member.
    case assign(target: Expr, op: AssignOp, value: Expr)
    /// `if c { } else if c { } else { }`
    case ifElse(branches: [ConditionalBranch], elseBody: Block?)
    /// `for x in xs { }` or `for k, v in m { }`
    case forIn(first: Identifier, second: Identifier?, iterable: Expr, body: Block)
    case whileLoop(condition: Expr, body: Block)
    case breakLoop
    case continueLoop
    case returnValue(Expr?)
    /// `fn name(params) { body }`
    case function(FunctionDecl)
    /// `param name: type = default "doc"` (top level only).
    case param(ParamDecl)
    /// `require condition, "message"`
    case require(condition: Expr, message: Expr?)
    /// `fail message` or `fail message, code`
    case fail(message: Expr, code: Expr?)
    /// `try { } catch e { }`
    case tryCatch(body: Block, errorName: Identifier?, handler: Block)
    /// `output name = value` (top level only).
    case output(name: Identifier, value: Expr)
    /// `import "other.runbook"` (top level only).
    case importFile(path: String, pathRange: SourceRange)
  }
}

public struct ConditionalBranch: Sendable {
  public var condition: Expr
  public var body: Block
  public init(condition: Expr, body: Block) { self.condition = condition; self.body = body }
}

public enum AssignOp: String, Sendable {
  case assign = "=", add = "+=", subtract = "-=", multiply = "*=", divide = "/="
}

public struct FunctionDecl: Sendable {
  /// nil for an anonymous function expression.
  public var name: Identifier?
  public var parameters: [FunctionParam]
  public var body: Block
  public var range: SourceRange
  /// Whether another function (a declaration or a `fn` expression) occurs
  /// in the body or a parameter's default, at any depth: then the body's
  /// locals may be captured. Known to the parser, so nothing walks the
  /// body again to find out.
  public var containsFunction: Bool
  public init(name: Identifier?, parameters: [FunctionParam], body: Block, range: SourceRange, containsFunction: Bool) {
    self.name = name; self.parameters = parameters; self.body = body; self.range = range
    self.containsFunction = containsFunction
  }
}

public struct FunctionParam: Sendable {
  public var name: Identifier
  public var defaultValue: Expr?
  public init(name: Identifier, defaultValue: Expr?) { self.name = name; self.defaultValue = defaultValue }
}

public struct TypeRef: Sendable {
  /// One of: string, int, float, bool, duration, list, map, any, secret.
  public var name: String
  public var range: SourceRange
  public init(name: String, range: SourceRange) { self.name = name; self.range = range }
}

public struct ParamDecl: Sendable {
  public var name: Identifier
  public var type: TypeRef
  public var defaultValue: Expr?
  public var doc: String?
  public init(name: Identifier, type: TypeRef, defaultValue: Expr?, doc: String?) {
    self.name = name; self.type = type; self.defaultValue = defaultValue; self.doc = doc
  }
}

// MARK: - Expressions

public struct Expr: Sendable {
  public var kind: Kind
  public var range: SourceRange
  public init(_ kind: Kind, _ range: SourceRange) { self.kind = kind; self.range = range }

  // Only the cases that hold other expressions (or large payloads) are
  // boxed: names and literals, about half of all expressions, are stored
  // inline, so parsing them allocates nothing.
  public enum Kind: Sendable {
    case nilLiteral
    case boolLiteral(Bool)
    case intLiteral(Int)
    case floatLiteral(Double)
    /// A duration in milliseconds: `30s`, `10m`, `2h`, `500ms`, `1d`.
    case durationLiteral(milliseconds: Int)
    /// A string with no interpolation.
    case stringLiteral(String)
    /// `"text ${expr} text"`
    case interpolation([StringPart])
    case name(String)
    case list([Expr])
    /// `{key: value, "other key": value}`
    case map([MapEntry])
    indirect case unary(UnaryOp, Expr)
    indirect case binary(BinaryOp, Expr, Expr)
    indirect case call(callee: Expr, arguments: [Argument])
    /// `value.name`
    indirect case member(Expr, name: Identifier)
    /// `value[index]`
    indirect case index(Expr, Expr)
    /// `fn(params) { body }`
    indirect case function(FunctionDecl)
    /// `step "name" { body }`: value of the body's last expression.
    indirect case step(name: Expr, body: Block)
    /// `runbook "other.runbook"`: another runbook, called as a unit with its
    /// params as labelled arguments: `runbook "setup.runbook"(region: "x")`.
    indirect case runbookFile(path: String, pathRange: SourceRange)
    /// Stands in for an expression that failed to parse (after a reported error).
    case invalid
  }
}

public enum StringPart: Sendable {
  case text(String)
  case expression(Expr)
}

public struct MapEntry: Sendable {
  public var key: String
  public var keyRange: SourceRange
  public var value: Expr
  public init(key: String, keyRange: SourceRange, value: Expr) {
    self.key = key; self.keyRange = keyRange; self.value = value
  }
}

public struct Argument: Sendable {
  public var label: Identifier?
  public var value: Expr
  public init(label: Identifier?, value: Expr) { self.label = label; self.value = value }
}

public enum UnaryOp: String, Sendable {
  case negate = "-"
  case not = "not"
}

/// Binary operators, by precedence (lowest first):
/// `or`; `and`; `== != < <= > >= in` and `not in`; `+ -`; `* / %`.
public enum BinaryOp: String, Sendable {
  case or, and
  case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
  case contains = "in", notContains = "not in"
  case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
}
