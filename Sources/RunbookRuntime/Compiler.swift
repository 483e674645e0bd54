import RunbookLanguage

/// Values the compiled program reads from and writes to its session:
/// supplied `param` values and recorded `output`s.
final class ProgramIO {
  var paramValues: [String: Value] = [:]
  var outputs: [(name: String, value: Value)] = []
}

/// Lowers checked syntax to Swift closures over resolved slots, and reports
/// every static finding on the way: undefined names, unknown functions, bad
/// argument labels and counts, assignment to `let`, visible type mismatches,
/// misplaced `break`/`return`, unused variables and unreachable code.
final class Compiler {
  unowned(unsafe) let interp: Interpreter
  let registry: BuiltinRegistry
  let globals: GlobalScope
  let io: ProgramIO
  let isREPL: Bool
  var diagnostics: [Diagnostic] = []
  var fn: FunctionState
  /// `param` declarations seen, in order.
  var declaredParams: [ParamDecl] = []
  var outputNames: [String: SourceRange] = [:]
  /// Each `output`'s shape as far as known, in declaration order: the result of calling this runbook.
  var outputShapes: [(name: String, shape: Shape)] = []
  /// Compiles the runbook a `runbook "path"(...)` call names, relative to
  /// this file (set by the session; nil where runbooks cannot be called).
  var runbookLoader: ((_ relativePath: String, _ range: SourceRange) -> (CalledRunbook?, [Diagnostic]))? = nil
  /// Runbooks called from this file, by the path written in the call.
  var calledRunbooks: [String: CalledRunbook] = [:]
  /// REPL redeclarations of top-level names, installed when their statement is compiled.
  var replacedInREPL: [String: Binding] = [:]
  /// Resolutions kept for the register compiler while code it may take over is compiled.
  var registerHints = RegisterHints()
  /// How many enclosing units being compiled may become register code (hints are kept while above 0).
  var registerRecording = 0
  /// The emptied scopes of the last function compiled, for the next one:
  /// making each function's three arrays anew cost three allocations and
  /// three frees per function of a check.
  var spareScopes: LocalScopes? = nil
  /// False when only diagnostics are wanted (`Session.check`): the syntax
  /// is walked and checked as for a run, but no code is made (`made`), and
  /// no register code.
  var makesCode = true

  // What compiled code stands for when none is made (nothing runs it).
  // A closure that captures nothing allocates nothing.
  static var noValue: ExprCode { { _ in .null } }
  static var noFlow: StmtCode { { _ in .normal } }
  static var noCondition: CondCode { { _ in false } }
  static var noStore: (Frame, Value) throws -> Void { { _, _ in } }
  static var noBinding: (Frame, Value) -> Void { { _, _ in } }
  static var noUpdate: (Frame, (inout Value) throws -> Void) throws -> Void { { _, _ in } }

  /// The code `make` returns, or a stand-in when no code is made: making a
  /// closure allocates its context, and making and freeing the closures of
  /// a large file was a third of checking it.
  @inline(__always) func made(_ make: () -> ExprCode) -> ExprCode { makesCode ? make() : Compiler.noValue }
  @inline(__always) func made(_ make: () -> StmtCode) -> StmtCode { makesCode ? make() : Compiler.noFlow }
  @inline(__always) func made(_ make: () -> CondCode) -> CondCode { makesCode ? make() : Compiler.noCondition }
  @inline(__always) func made(_ make: () -> (Frame, Value) throws -> Void) -> (Frame, Value) throws -> Void {
    makesCode ? make() : Compiler.noStore
  }
  @inline(__always) func made(_ make: () -> (Frame, Value) -> Void) -> (Frame, Value) -> Void { makesCode ? make() : Compiler.noBinding }
  @inline(__always) func made(
    _ make: () -> (Frame, (inout Value) throws -> Void) throws -> Void
  ) -> (Frame, (inout Value) throws -> Void) throws -> Void {
    makesCode ? make() : Compiler.noUpdate
  }

  init(interpreter: Interpreter, globals: GlobalScope, io: ProgramIO, isREPL: Bool, mainUsesCells: Bool) {
    self.interp = interpreter
    self.registry = interpreter.registry
    self.globals = globals
    self.io = io
    self.isREPL = isREPL
    self.fn = FunctionState(parent: nil, isMain: true, usesCells: mainUsesCells)
  }

  func error(_ message: String, _ range: SourceRange, code: String = "check") {
    diagnostics.append(.error(message, at: range, code: code))
  }
  func warning(_ message: String, _ range: SourceRange, code: String = "check") {
    diagnostics.append(.warning(message, at: range, code: code))
  }

  // MARK: - Units

  /// Compiles a whole file (or REPL entry) as a continuation of the main program.
  func compileUnit(_ unit: SourceUnit, isImported: Bool) -> StmtCode {
    let hoisted = beginUnit(declarations: unit, isImported: isImported)
    let body = compileStatements(unit.statements)
    endUnit(declarations: unit)
    return made { { f in
      for h in hoisted { _ = try h.run(f) }
      for c in body {
        let flow = try c.run(f)
        if flow != .normal { return flow }
      }
      return .normal
    } }
  }

  /// What compiling a unit's statements needs first: its top-level names
  /// declared, its top-level functions hoisted. `declarations` may be the
  /// unit parsed without its function bodies (`Parser.parseDeclarations`).
  func beginUnit(declarations unit: SourceUnit, isImported: Bool) -> [StmtBox] {
    predeclareGlobals(unit.statements, isImported: isImported)
    return hoistFunctions(unit.statements, atTopLevel: true)
  }

  /// What follows a unit's statements: warnings about unused top-level names.
  func endUnit(declarations unit: SourceUnit) {
    if !isREPL { warnUnusedGlobals(unit) }
  }

  /// Top-level `let`/`var`/`param` names are known to function bodies from
  /// the start, so a helper function may be declared above the values it uses.
  private func predeclareGlobals(_ statements: [Stmt], isImported: Bool) {
    // Room for every statement's name at once: growing the table one
    // rehash at a time was a twentieth of checking a file of 10,000 functions.
    globals.bindings.reserveCapacity(globals.bindings.count + statements.count)
    for stmt in statements {
      let decl: (Identifier, Bool, BindingKind, ValueType?)?
      switch stmt.kind {
      case .binding(let name, let mutable, let value): decl = (name, mutable, .variable, staticType(value))
      case .param(let p): decl = (p.name, false, .runbookParam, ValueType(declared: p.type.name))
      case .function(let d) where d.name != nil:
        decl = (d.name!, false, .function(signature(d)), .function)
      default: decl = nil
      }
      guard let (name, mutable, kind, type) = decl else { continue }
      if let existing = globals.bindings[name.name], !(isREPL && existing.isDeclared) {
        if existing.range != name.range {
          error("`\(name.name)` is already defined at line \(existing.range.startLocation.line)\(existing.range.file !== name.range.file ? " of \(existing.range.file.path)" : "")", name.range)
        }
        continue
      }
      if registry[name.name] != nil, case .function = kind {
        error("`\(name.name)` is the name of a built-in; choose another name for this function", name.range)
      }
      guard let slot = globals.allocate() else {
        error("too many top-level names (more than \(globals.capacity))", name.range)
        continue
      }
      var isDeclared = false
      if case .function = kind { isDeclared = true }
      let binding = Binding(
        slot: slot, isMutable: mutable, kind: kind, range: name.range, isCelled: false,
        isUsed: isImported, isDeclared: isDeclared, staticType: type)
      if !replacedInREPL.isEmpty, let pending = replacedInREPL[name.name] {
        error("`\(name.name)` is already defined at line \(pending.range.startLocation.line)", name.range)
        continue
      }
      if isREPL, !isDeclared, globals.bindings[name.name]?.isDeclared == true {
        // `let x = x + 1` at the prompt: the old `x` stays visible until the new one is declared.
        replacedInREPL[name.name] = binding
      } else {
        globals.bindings[name.name] = binding
      }
    }
  }

  private func warnUnusedGlobals(_ unit: SourceUnit) {
    for stmt in unit.statements {
      guard case .binding(let name, _, _) = stmt.kind, let b = globals.bindings[name.name],
        b.range == name.range, !b.isUsed, !name.name.hasPrefix("_")
      else { continue }
      warning("`\(name.name)` is never used; remove it or name it `_\(name.name)`", name.range, code: "unused")
    }
  }

  func signature(_ d: FunctionDecl) -> FunctionSignature {
    FunctionSignature(name: d.name?.name ?? "fn", parameters: d.parameters.map { ($0.name.name, $0.defaultValue != nil) })
  }

  // MARK: - Declarations

  /// Code objects of `fn` declarations that were hoisted but not yet compiled,
  /// keyed by the declaration's start offset.
  var hoistedCode: [Int: CompiledFunction] = [:]

  /// Declares a block's `fn` names up front and creates their closures when
  /// the block is entered, so they can be called before their declaration.
  /// Bodies are compiled later, at the declaration, where the names they use
  /// are in scope.
  private func hoistFunctions(_ statements: [Stmt], atTopLevel: Bool) -> [StmtBox] {
    var codes: [StmtBox] = []
    let declaresGlobals = atTopLevel && fn.isMain
    if declaresGlobals { hoistedCode.reserveCapacity(hoistedCode.count + statements.count) }
    for stmt in statements {
      guard case .function(let d) = stmt.kind, let name = d.name else { continue }
      let resolution: Resolution
      // The global's place in the table, found once for reading and updating.
      var globalIndex: Dictionary<String, Binding>.Index? = nil
      if declaresGlobals {
        guard let i = globals.bindings.index(forKey: name.name), globals.bindings.values[i].range == name.range else { continue }
        globalIndex = i
        resolution = .slot(globals.bindings.values[i].slot)
      } else {
        if registry[name.name] != nil {
          error("`\(name.name)` is the name of a built-in; choose another name for this function", name.range)
        }
        guard let r = declareLocal(name, isMutable: false, kind: .function(signature(d)), type: .function) else { continue }
        resolution = r
      }
      let code = CompiledFunction(name: name.name, parameters: d.parameters.map(\.name.name), range: d.range)
      hoistedCode[d.range.start] = code
      if let globalIndex { globals.bindings.values[globalIndex].functionCode = code }
      guard makesCode else { continue }
      let make = closureMaker(code)
      let store = storeCode(resolution)
      codes.append(StmtBox { f in try store(f, make(f)); return .normal })
    }
    return codes
  }

  func closureMaker(_ code: CompiledFunction) -> ExprCode {
    return made { { f in
      let sources = code.upvalueSources
      var cells: [Cell] = []
      cells.reserveCapacity(sources.count)
      for source in sources {
        switch source {
        case .enclosingCell(let i): cells.append(f.cells[i]!)
        case .enclosingUpvalue(let u): cells.append(f.closure!.upvalues[u])
        }
      }
      return .function(FunctionBox(.closure(Closure(code: code, upvalues: cells))))
    } }
  }

  /// Declares a name in the innermost scope; nil after reporting a duplicate.
  @discardableResult
  func declareLocal(_ name: Identifier, isMutable: Bool, kind: BindingKind, type: ValueType? = nil) -> Resolution? {
    if fn.isMain && fn.scopes.isEmpty {
      // A top-level statement of the main program: predeclared as a global.
      // predeclareGlobals made the binding; a duplicate was reported there.
      if let replacement = replacedInREPL.removeValue(forKey: name.name), replacement.range == name.range {
        globals.bindings[name.name] = replacement
      }
      guard var b = globals.bindings[name.name], b.range == name.range else { return nil }
      b.isDeclared = true
      globals.bindings[name.name] = b
      if registerRecording > 0 { registerHints.declarations[.init(name.range)] = .slot(b.slot) }
      return .slot(b.slot)
    }
    if let existing = fn.scopes.findInInnermost(name.name).map({ fn.scopes[$0] }) {
      error("`\(name.name)` is already defined in this scope at line \(existing.range.startLocation.line)", name.range)
      return nil
    }
    let slot: Int
    if fn.isMain {
      guard let s = globals.allocate() else {
        error("too many names in the main program (more than \(globals.capacity))", name.range)
        return nil
      }
      slot = s
    } else {
      slot = fn.nextSlot
      fn.nextSlot += 1
      fn.maxSlots = max(fn.maxSlots, fn.nextSlot)
    }
    fn.scopes.append(name.name, Binding(
      slot: slot, isMutable: isMutable, kind: kind, range: name.range, isCelled: fn.usesCells, staticType: type))
    let resolution: Resolution = fn.usesCells ? .cell(slot) : .slot(slot)
    if registerRecording > 0 { registerHints.declarations[.init(name.range)] = resolution }
    return resolution
  }

  func pushScope() {
    fn.scopes.push()
  }

  /// Pops a scope, warning about unused variables; returns its celled slots.
  @discardableResult
  func popScope() -> [Int] {
    var celled: [Int] = []
    var lowest = fn.nextSlot
    for i in fn.scopes.innermost {
      let name = fn.scopes.names[i]
      let (slot, isCelled, isUsed) = (fn.scopes[i].slot, fn.scopes[i].isCelled, fn.scopes[i].isUsed)
      lowest = min(lowest, slot)
      if isCelled { celled.append(slot) }
      if !isUsed, !name.hasPrefix("_") {
        switch fn.scopes[i].kind {
        case .variable: warning("`\(name)` is never used; remove it or name it `_\(name)`", fn.scopes[i].range, code: "unused")
        case .function: warning("function `\(name)` is never used", fn.scopes[i].range, code: "unused")
        default: break
        }
      }
    }
    fn.scopes.pop()
    if !fn.isMain { fn.nextSlot = lowest }
    return celled
  }

  // MARK: - Name resolution

  struct ResolvedName {
    var resolution: Resolution
    var binding: Binding?
  }

  /// Finds what a name refers to; marks it used when `forReading`.
  func resolve(_ name: String, range: SourceRange, forReading: Bool = true, preferCallable: Bool = false) -> ResolvedName? {
    if let found = resolveBinding(name, in: fn, range: range, forReading: forReading) {
      // `storage_account(...)` calls the built-in even where a `param
      // storage_account: string` is in scope: a name whose value is known not
      // to be a function gives way to the built-in of that name.
      if preferCallable, let builtin = registry[name], let type = found.binding?.staticType,
        type != .function, type != .any
      {
        return ResolvedName(resolution: .builtin(builtin), binding: nil)
      }
      return found
    }
    if let builtin = registry[name] { return ResolvedName(resolution: .builtin(builtin), binding: nil) }
    return nil
  }

  private func resolveBinding(_ name: String, in state: FunctionState, range: SourceRange, forReading: Bool) -> ResolvedName? {
    if let (index, b) = state.lookupLocal(name) {
      if forReading { state.scopes[index].isUsed = true }
      return ResolvedName(resolution: b.isCelled ? .cell(b.slot) : .slot(b.slot), binding: b)
    }
    if state.isMain {
      guard let b = globals.bindings[name] else { return nil }
      if forReading { globals.bindings[name]!.isUsed = true }
      if state === fn && !b.isDeclared {
        error("`\(name)` is used before its declaration at line \(b.range.startLocation.line)", range)
      }
      return ResolvedName(resolution: state === fn ? .slot(b.slot) : .global(b.slot), binding: b)
    }
    guard let parent = state.parent, let outer = resolveBinding(name, in: parent, range: range, forReading: forReading) else {
      return nil
    }
    switch outer.resolution {
    case .global, .builtin: return outer
    case .slot(let s) where parent.isMain: return ResolvedName(resolution: .global(s), binding: outer.binding)
    case .cell(let s): return ResolvedName(resolution: .upvalue(state.addUpvalue(name, .enclosingCell(s))), binding: outer.binding)
    case .upvalue(let u): return ResolvedName(resolution: .upvalue(state.addUpvalue(name, .enclosingUpvalue(u))), binding: outer.binding)
    case .slot:
      // Unreachable: a function enclosing another keeps its locals in cells.
      error("internal error: `\(name)` cannot be captured here", range)
      return nil
    }
  }

  func loadCode(_ r: Resolution) -> ExprCode {
    switch r {
    case .slot(let s): return made { { f in f.slots[s] } }
    case .cell(let s): return made { { f in f.cells[s]!.value } }
    case .upvalue(let u): return made { { f in f.closure!.upvalues[u].value } }
    case .global(let g):
      let globals = interp.globals
      return made { { _ in globals[g] } }
    case .builtin(let b):
      let v = Value.function(FunctionBox(.builtin(b)))
      return made { { _ in v } }
    }
  }

  func storeCode(_ r: Resolution) -> (Frame, Value) throws -> Void {
    switch r {
    case .slot(let s): return made { { f, v in f.slots[s] = v } }
    case .cell(let s): return made { { f, v in f.cells[s]!.value = v } }
    case .upvalue(let u): return made { { f, v in f.closure!.upvalues[u].value = v } }
    case .global(let g):
      let globals = interp.globals
      return made { { _, v in globals[g] = v } }
    case .builtin: return made { { _, _ in } }
    }
  }

  /// In-place access to a variable's storage, for element updates.
  func withStorage(_ r: Resolution) -> (Frame, (inout Value) throws -> Void) throws -> Void {
    switch r {
    case .slot(let s): return made { { f, body in try body(&f.slots[s]) } }
    case .cell(let s): return made { { f, body in try body(&f.cells[s]!.value) } }
    case .upvalue(let u): return made { { f, body in try body(&f.closure!.upvalues[u].value) } }
    case .global(let g):
      let globals = interp.globals
      return made { { _, body in try body(&globals[g]) } }
    case .builtin: return made { { _, _ in } }
    }
  }

  // MARK: - Blocks and statements

  enum Tail {
    case discard
    /// The last expression statement's value becomes the function's result.
    case returnValue
    /// The last expression statement's value is stored (a step's value).
    case store((Frame, Value) throws -> Void)
  }

  /// Compiles a block in a new scope; cells for its captured locals are made fresh on each entry.
  func compileBlock(_ block: Block, tail: Tail = .discard, prelude: [StmtBox] = []) -> StmtCode {
    pushScope()
    let hoisted = hoistFunctions(block.statements, atTopLevel: false)
    let compiled = compileStatements(block.statements, tail: tail)
    let codes = prelude.isEmpty && hoisted.isEmpty ? compiled : prelude + hoisted + compiled
    let celled = popScope()
    if celled.isEmpty {
      switch codes.count {
      case 0: return made { { _ in .normal } }
      case 1: return codes[0].run
      case 2:
        let a = codes[0].run, b = codes[1].run
        return made { { f in
          let r = try a(f)
          if r != .normal { return r }
          return try b(f)
        } }
      default:
        return made { { f in
          for c in codes {
            let r = try c.run(f)
            if r != .normal { return r }
          }
          return .normal
        } }
      }
    }
    return made { { f in
      for s in celled { f.cells[s] = Cell(.null) }
      for c in codes {
        let r = try c.run(f)
        if r != .normal { return r }
      }
      return .normal
    } }
  }

  func compileStatements(_ statements: [Stmt], tail: Tail = .discard) -> [StmtBox] {
    var codes: [StmtBox] = []
    codes.reserveCapacity(statements.count)
    var sequence = StatementSequence()
    for (i, stmt) in statements.enumerated() {
      compileNext(stmt, in: &sequence, isLast: i == statements.count - 1, tail: tail, into: &codes)
    }
    return codes
  }

  /// Where a run of statements is: whether one before leaves it
  /// (then the rest is never reached, which is reported once).
  struct StatementSequence {
    var exited = false
    var reportedUnreachable = false
  }

  /// Compiles the next statement of a sequence, appending its code.
  func compileNext(
    _ stmt: Stmt, in sequence: inout StatementSequence, isLast: Bool, tail: Tail, into codes: inout [StmtBox]
  ) {
    if sequence.exited && !sequence.reportedUnreachable {
      warning("this code is never reached", stmt.range, code: "unreachable")
      sequence.reportedUnreachable = true
    }
    if isLast, case .expression(let e) = stmt.kind {
      switch tail {
      case .discard: break
      case .returnValue:
        let c = compileExpr(e)
        let interp = self.interp
        codes.append(StmtBox { f in interp.returnValue = try c(f); return .returned })
        return
      case .store(let store):
        let c = compileExpr(e)
        codes.append(StmtBox { f in try store(f, c(f)); return .normal })
        return
      }
    }
    if case .function = stmt.kind { _ = compileStatement(stmt); return }
    let code = compileStatement(stmt)
    // In a check nothing runs the codes: no box for each statement.
    if makesCode { codes.append(StmtBox(code)) }
    switch stmt.kind {
    case .returnValue, .breakLoop, .continueLoop, .fail: sequence.exited = true
    default: break
    }
  }
}
