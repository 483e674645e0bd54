import RunbookLanguage

/// What a name is bound to, as far as the checker cares.
enum BindingKind {
  case variable
  case parameter
  /// A `param` declaration of the runbook.
  case runbookParam
  /// A `fn name` declaration: calls to it are checked against its signature.
  case function(FunctionSignature)
}

struct FunctionSignature {
  var name: String
  /// (name, hasDefault)
  var parameters: [(String, Bool)]
}

/// One name declared in a scope.
struct Binding {
  var slot: Int
  var isMutable: Bool
  var kind: BindingKind
  var range: SourceRange
  var isCelled: Bool
  var isUsed = false
  /// False until the declaring statement has been compiled (main program only).
  var isDeclared = true
  var staticType: ValueType?
  /// The declared shape of a `let`'s value (a built-in's result), for field checks.
  var staticShape: Shape? = nil
  /// The code of a top-level `fn`: it captures nothing, so calls need no closure.
  var functionCode: CompiledFunction? = nil
}

/// The top-level names of a session: shared by every file and REPL line it runs.
final class GlobalScope {
  var bindings: [String: Binding] = [:]
  var nextSlot = 0
  let capacity: Int
  /// Makes a slot ready for use (the interpreter initializes its storage).
  let prepare: (Int) -> Void
  init(capacity: Int, prepare: @escaping (Int) -> Void) { self.capacity = capacity; self.prepare = prepare }

  func allocate() -> Int? {
    guard nextSlot < capacity else { return nil }
    prepare(nextSlot)
    defer { nextSlot += 1 }
    return nextSlot
  }
}

/// The locals of a function being compiled: every binding of the open
/// scopes in declaration order, and where each scope starts. A function
/// has few locals, so a search from the innermost end beats a dictionary
/// per scope (making, hashing into and dropping those was a quarter of
/// checking a large file).
struct LocalScopes {
  private(set) var names: [String] = []
  /// Parallel to `names`; changed in place through `subscript`.
  private var bindings: [Binding] = []
  /// Index in `names` of the first binding of each open scope, outermost first.
  private var starts: [Int] = []

  init() {
    // Room for a typical function's locals and nesting, made once.
    names.reserveCapacity(8)
    bindings.reserveCapacity(8)
    starts.reserveCapacity(4)
  }

  private init(withoutStorage: Void) {}

  /// This value's storage, emptied, for another function's scopes; this
  /// value is left with none (so the storage handed over is not shared).
  mutating func handOver() -> LocalScopes {
    var storage = self
    self = LocalScopes(withoutStorage: ())
    storage.names.removeAll(keepingCapacity: true)
    storage.bindings.removeAll(keepingCapacity: true)
    storage.starts.removeAll(keepingCapacity: true)
    return storage
  }

  /// Whether no scope is open.
  var isEmpty: Bool { starts.isEmpty }

  // Yielded in place: a binding is large, and copying one in and out to
  // set `isUsed` was most of the cost of resolving a name.
  subscript(index: Int) -> Binding {
    _read { yield bindings[index] }
    _modify { yield &bindings[index] }
  }

  /// The indices of the innermost scope's bindings, in declaration order.
  var innermost: Range<Int> { (starts.last ?? 0)..<names.count }

  mutating func push() { starts.append(names.count) }

  /// Closes the innermost scope (read its bindings through `innermost` first).
  mutating func pop() {
    let start = starts.removeLast()
    names.removeSubrange(start...)
    bindings.removeSubrange(start...)
  }

  /// Declares `name` in the innermost scope.
  mutating func append(_ name: String, _ binding: Binding) {
    names.append(name)
    bindings.append(binding)
  }

  /// The index of the innermost binding of `name` in any open scope.
  func find(_ name: String) -> Int? {
    var i = names.count - 1
    while i >= 0 {
      if names[i] == name { return i }
      i -= 1
    }
    return nil
  }

  /// The index of `name`'s binding in the innermost scope only.
  func findInInnermost(_ name: String) -> Int? {
    guard let start = starts.last, let i = find(name), i >= start else { return nil }
    return i
  }
}

/// Compile-time state of one function being compiled (or of the main program).
final class FunctionState {
  let parent: FunctionState?
  let isMain: Bool
  /// Whether locals live in cells, because a nested function may capture them.
  let usesCells: Bool
  var scopes: LocalScopes
  var nextSlot = 0
  var maxSlots = 0
  var upvalues: [(name: String, source: UpvalueSource)] = []
  var loopDepth = 0
  /// Steps being compiled in this function: `return`, `break` and `continue` cannot leave one.
  var stepDepth = 0

  init(parent: FunctionState?, isMain: Bool, usesCells: Bool, scopes: LocalScopes = LocalScopes()) {
    self.parent = parent; self.isMain = isMain; self.usesCells = usesCells; self.scopes = scopes
  }

  /// The innermost local binding of `name`, with its index in `scopes`.
  func lookupLocal(_ name: String) -> (index: Int, binding: Binding)? {
    guard let i = scopes.find(name) else { return nil }
    return (i, scopes[i])
  }

  func addUpvalue(_ name: String, _ source: UpvalueSource) -> Int {
    for (i, u) in upvalues.enumerated() where u.name == name { return i }
    upvalues.append((name, source))
    return upvalues.count - 1
  }
}

/// Where compiled code finds a name's value.
enum Resolution {
  case slot(Int)
  case cell(Int)
  case upvalue(Int)
  case global(Int)
  case builtin(Builtin)
}

// MARK: - Capture analysis

/// Whether any function literal or declaration occurs in these statements
/// (at any depth). Locals of code that contains one are kept in cells.
func containsFunction(_ statements: [Stmt]) -> Bool {
  statements.contains(where: containsFunction)
}

func containsFunction(_ stmt: Stmt) -> Bool {
  switch stmt.kind {
  case .expression(let e): return containsFunction(e)
  case .binding(_, _, let e), .output(_, let e), .returnValue(let e?): return containsFunction(e)
  case .assign(let t, _, let v): return containsFunction(t) || containsFunction(v)
  case .ifElse(let branches, let elseBody):
    return branches.contains { containsFunction($0.condition) || containsFunction($0.body.statements) }
      || (elseBody.map { containsFunction($0.statements) } ?? false)
  case .forIn(_, _, let it, let body): return containsFunction(it) || containsFunction(body.statements)
  case .whileLoop(let c, let body): return containsFunction(c) || containsFunction(body.statements)
  case .function: return true
  case .param(let p): return p.defaultValue.map(containsFunction) ?? false
  case .require(let c, let m): return containsFunction(c) || (m.map(containsFunction) ?? false)
  case .fail(let m, let c): return containsFunction(m) || (c.map(containsFunction) ?? false)
  case .tryCatch(let body, _, let handler): return containsFunction(body.statements) || containsFunction(handler.statements)
  case .breakLoop, .continueLoop, .returnValue(nil), .importFile: return false
  }
}

func containsFunction(_ expr: Expr) -> Bool {
  switch expr.kind {
  case .function: return true
  case .nilLiteral, .boolLiteral, .intLiteral, .floatLiteral, .durationLiteral, .stringLiteral, .name, .runbookFile, .invalid:
    return false
  case .interpolation(let parts):
    return parts.contains { if case .expression(let e) = $0 { return containsFunction(e) }; return false }
  case .list(let items): return items.contains(where: containsFunction)
  case .map(let entries): return entries.contains { containsFunction($0.value) }
  case .unary(_, let e), .member(let e, _): return containsFunction(e)
  case .binary(_, let a, let b), .index(let a, let b): return containsFunction(a) || containsFunction(b)
  case .call(let callee, let args): return containsFunction(callee) || args.contains { containsFunction($0.value) }
  case .step(let name, let body): return containsFunction(name) || containsFunction(body.statements)
  }
}

/// Whether the main program's nested locals (loop variables, step locals)
/// may be captured: true if a function occurs anywhere but as a top-level
/// declaration or a function bound directly by a top-level `let`/`var`,
/// which can only capture top-level names (globals need no cells).
func mainProgramNeedsCells(_ statements: [Stmt]) -> Bool {
  statements.contains { stmt in
    switch stmt.kind {
    case .function: return false
    case .binding(_, _, let value):
      if case .function = value.kind { return false }
      return containsFunction(stmt)
    default: return containsFunction(stmt)
    }
  }
}
