import RunbookLanguage

extension Compiler {
  func compileStatement(_ stmt: Stmt) -> StmtCode {
    let range = stmt.range
    switch stmt.kind {
    case .expression(let e):
      let c = compileExpr(e)
      return made { { f in _ = try c(f); return .normal } }

    case .binding(let name, let isMutable, let value):
      let c = compileExpr(value)
      guard let r = declareLocal(name, isMutable: isMutable, kind: .variable, type: staticType(value)) else {
        return made { { _ in .normal } }
      }
      if !isMutable { recordShape(staticShape(value), of: name) }
      let store = storeCode(r)
      return made { { f in try store(f, c(f)); return .normal } }

    case .assign(let target, let op, let value):
      return compileAssignment(target: target, op: op, value: value, range: range)

    case .ifElse(let branches, let elseBody):
      for branch in branches { checkCondition(branch.condition) }
      if branches.count == 1 {
        let c = compileCondition(branches[0].condition)
        let b = compileBlock(branches[0].body)
        if let elseBody {
          let o = compileBlock(elseBody)
          return made { { f in try c(f) ? try b(f) : try o(f) } }
        }
        return made { { f in try c(f) ? try b(f) : .normal } }
      }
      // else-if chains: the first branch whose condition holds runs, else the
      // else block. A loop over the branches, not one closure per branch
      // wrapping the next: a chain of 100,000 `else if` would nest that deep
      // and overflow the stack when run or freed.
      let elseCode: StmtCode = elseBody.map { compileBlock($0) } ?? { _ in .normal }
      let compiled = branches.map { (condition: compileCondition($0.condition), body: compileBlock($0.body)) }
      return made { { f in
        for branch in compiled where try branch.condition(f) { return try branch.body(f) }
        return try elseCode(f)
      } }

    case .forIn(let first, let second, let iterable, let body):
      return compileFor(first: first, second: second, iterable: iterable, body: body, range: range)

    case .whileLoop(let condition, let body):
      // Inside a function that may become register code as a whole, the loop goes with it.
      let registerEligible = interp.usesRegisterMachine && registerRecording == 0 && RegisterEligibility.statement(stmt)
      if registerEligible { registerRecording += 1 }
      checkCondition(condition)
      let c = compileCondition(condition)
      fn.loopDepth += 1
      let b = compileBlock(body)
      fn.loopDepth -= 1
      if registerEligible {
        registerRecording -= 1
        if let unit = registerUnit(stmt) { return unit }
      }
      let interp = self.interp
      return made { { f in
        while try c(f) {
          try interp.checkCancelled()
          switch try b(f) {
          case .breakLoop: return .normal
          case .returned: return .returned
          default: continue
          }
        }
        return .normal
      } }

    case .breakLoop:
      if fn.stepDepth > 0 && fn.loopDepth == 0 {
        error("`break` cannot leave a step; end the loop inside the step instead", range)
      } else if fn.loopDepth == 0 { error("`break` outside of a loop; it can only appear inside `for` or `while`", range) }
      return made { { _ in .breakLoop } }

    case .continueLoop:
      if fn.stepDepth > 0 && fn.loopDepth == 0 {
        error("`continue` cannot leave a step; a step's value is its last expression", range)
      } else if fn.loopDepth == 0 { error("`continue` outside of a loop; it can only appear inside `for` or `while`", range) }
      return made { { _ in .continueLoop } }

    case .returnValue(let value):
      if fn.stepDepth > 0 {
        error("`return` cannot leave a step; a step's value is its last expression", range)
      } else if fn.isMain { error("`return` outside of a function", range) }
      let interp = self.interp
      guard let value else { return made { { _ in interp.returnValue = .null; return .returned } } }
      let c = compileExpr(value)
      return made { { f in interp.returnValue = try c(f); return .returned } }

    case .function(let decl):
      if decl.name != nil, let code = hoistedCode.removeValue(forKey: decl.range.start) {
        compileFunctionBody(decl, into: code)
      }
      return made { { _ in .normal } }

    case .param(let p):
      return compileParam(p, range: range)

    case .require(let condition, let message):
      let c = compileCondition(condition)
      let m = message.map { compileExpr($0) }
      let text = "requirement failed: \(condition.range.text)"
      return made { { f in
        if try c(f) { return .normal }
        let msg = try m.map { try $0(f).displayString } ?? text
        throw RuntimeError(msg, code: "requirement_failed", range: condition.range)
      } }

    case .fail(let message, let code):
      let m = compileExpr(message)
      let c = code.map { compileExpr($0) }
      return made { { f in
        let msg = try m(f).displayString
        let codeText = try c.map { try $0(f).displayString } ?? "failed"
        throw RuntimeError(msg, code: codeText, range: range)
      } }

    case .tryCatch(let body, let errorName, let handler):
      let b = compileBlock(body)
      var prelude: [StmtBox] = []
      var bindError: ((Frame, Value) throws -> Void)? = nil
      pushScope()
      if let errorName, let r = declareLocal(errorName, isMutable: false, kind: .variable) {
        bindError = storeCode(r)
        if case .cell(let s) = r { prelude.append(StmtBox { f in f.cells[s] = Cell(.null); return .normal }) }
      }
      let h = compileBlock(handler)
      popScope()
      let interp = self.interp
      return made { { f in
        let savedStep = interp.currentStep
        do {
          return try b(f)
        } catch var e as RuntimeError where e.code != "interrupted" {
          if e.stepName == nil { e.stepName = interp.currentStep }
          interp.currentStep = savedStep
          for p in prelude { _ = try p.run(f) }
          try bindError?(f, e.asValue)
          return try h(f)
        }
      } }

    case .output(let name, let value):
      if !(fn.isMain && fn.scopes.isEmpty) { error("`output` can only appear at the top level of a runbook", range) }
      if let previous = outputNames[name.name] {
        error("output `\(name.name)` is already defined at line \(previous.startLocation.line)", name.range)
      }
      outputNames[name.name] = name.range
      let c = compileExpr(value)
      outputShapes.append((name.name, staticShape(value) ?? .type(staticType(value) ?? .any)))
      let io = self.io, key = name.name
      return made { { f in
        let v = try c(f)
        if let i = io.outputs.firstIndex(where: { $0.name == key }) { io.outputs[i].value = v } else { io.outputs.append((key, v)) }
        return .normal
      } }

    case .importFile:
      // Imports are loaded by the session before the importing file runs.
      if !(fn.isMain && fn.scopes.isEmpty) { error("`import` can only appear at the top level of a runbook", range) }
      return made { { _ in .normal } }
    }
  }

  // MARK: - Params

  private func compileParam(_ p: ParamDecl, range: SourceRange) -> StmtCode {
    guard fn.isMain && fn.scopes.isEmpty else {
      error("`param` can only appear at the top level of a runbook", range)
      return made { { _ in .normal } }
    }
    let type = ValueType(declared: p.type.name)
    if type == nil {
      error("unknown type `\(p.type.name)`; use string, int, float, bool, duration, list, map, any or secret", p.type.range)
    }
    if type == .string || type == .any, SecretNames.looksSecret(p.name.name) {
      warning(
        "param `\(p.name.name)` looks like a secret; declare it `param \(p.name.name): secret` so its value shows as (sensitive) in output, plans, journals and errors",
        p.type.range)
    }
    var defaultCode: ExprCode? = nil
    if let d = p.defaultValue {
      if let type, let st = staticType(d), !type.acceptsStatic(st) {
        error("the default value of `\(p.name.name)` must be \(type.article) \(type.rawValue), not \(st.rawValue)", d.range)
      }
      defaultCode = compileExpr(d)
    }
    declaredParams.append(p)
    guard let r = declareLocal(p.name, isMutable: false, kind: .runbookParam, type: type) else { return made { { _ in .normal } } }
    let store = storeCode(r)
    let io = self.io, name = p.name.name
    let howToPass = isREPL ? "give it a default here, or declare it in a file and :load FILE \(name)=VALUE" : "pass it with --param \(name)=VALUE"
    return made { { f in
      if let supplied = io.paramValues[name] {
        try store(f, supplied)
      } else if let defaultCode {
        let value = try defaultCode(f)
        if type == .secret, case .string(let text) = value { try store(f, .secret(text)) } else { try store(f, value) }
      } else {
        throw RuntimeError("missing value for param `\(name)`; \(howToPass)", code: "param_error", range: p.name.range)
      }
      return .normal
    } }
  }

  // MARK: - Functions

  /// Compiles an anonymous function expression into code that makes a closure.
  func compileFunctionExpression(_ decl: FunctionDecl) -> ExprCode {
    let code = CompiledFunction(name: decl.name?.name ?? "fn", parameters: decl.parameters.map(\.name.name), range: decl.range)
    compileFunctionBody(decl, into: code)
    return closureMaker(code)
  }

  func compileFunctionBody(_ decl: FunctionDecl, into code: CompiledFunction) {
    let state = FunctionState(
      parent: fn, isMain: false,
      usesCells: decl.containsFunction, scopes: spareScopes.take() ?? LocalScopes())
    let saved = fn
    fn = state
    pushScope()
    for (i, p) in decl.parameters.enumerated() {
      if let prev = decl.parameters[..<i].last(where: { $0.name.name == p.name.name }) {
        error("parameter `\(p.name.name)` is declared twice (first at column \(prev.name.range.startLocation.column))", p.name.range)
      }
      let slot = state.nextSlot
      state.nextSlot += 1
      state.maxSlots = max(state.maxSlots, state.nextSlot)
      state.scopes.append(p.name.name, Binding(
        slot: slot, isMutable: true, kind: .parameter, range: p.name.range, isCelled: state.usesCells, isUsed: true))
    }
    // Defaults see the parameters before them, evaluated in the callee's frame.
    for (i, p) in decl.parameters.enumerated() {
      if let d = p.defaultValue { code.defaults[i] = compileExpr(d) }
    }
    let registerEligible = makesCode && interp.usesRegisterMachine && decl.parameters.allSatisfy { $0.defaultValue == nil }
      && RegisterEligibility.statements(decl.body.statements)
    if registerEligible { registerRecording += 1 }
    let body = compileBlock(decl.body, tail: .returnValue)
    if makesCode { code.body = body }
    if registerEligible { registerRecording -= 1 }
    popScope()
    spareScopes = state.scopes.handOver()
    code.frameSize = max(state.maxSlots, 1)
    code.celledParameters = state.usesCells ? Array(0..<decl.parameters.count) : []
    code.usesCells = state.usesCells
    code.upvalueSources = state.upvalues.map(\.source)
    fn = saved
    if registerEligible, !state.usesCells, state.upvalues.isEmpty {
      var compiler = RegisterCompiler(hints: registerHints, interpreter: interp, firstTemporary: state.maxSlots)
      if let registers = try? compiler.function(decl.body.statements) {
        code.registerCode = registers
        code.frameSize = max(compiler.temporaryEnd, 1)
        code.body = { f in try registers.run(f) }
      }
    }
    if registerRecording == 0 { registerHints = RegisterHints() }
  }

  /// A `while` statement as register code running in the current frame, or
  /// nil where the register machine cannot run it (the closures are used).
  /// Its temporaries are slots of the frame past those in use.
  func registerUnit(_ stmt: Stmt) -> StmtCode? {
    defer { if registerRecording == 0 { registerHints = RegisterHints() } }
    let first = fn.isMain ? globals.nextSlot : fn.maxSlots
    // The main program runs in a frame whose slots are the top-level names (`Interpreter.mainFrame`).
    var compiler = RegisterCompiler(hints: registerHints, interpreter: interp, firstTemporary: first, globalsAreRegisters: fn.isMain)
    guard let registers = try? compiler.unit([stmt]) else { return nil }
    if fn.isMain {
      for _ in first..<compiler.temporaryEnd where globals.allocate() == nil { return nil }
    } else {
      fn.maxSlots = max(fn.maxSlots, compiler.temporaryEnd)
    }
    return made { { f in try registers.run(f) } }
  }

  // MARK: - Loops

  private func compileFor(first: Identifier, second: Identifier?, iterable: Expr, body: Block, range: SourceRange) -> StmtCode {
    let iter = compileExpr(iterable)
    pushScope()
    let r1 = declareLocal(first, isMutable: false, kind: .variable)
    let r2 = second.flatMap { declareLocal($0, isMutable: false, kind: .variable) }
    // Loop variables count as used: `for _ in` is not required.
    for name in [first.name] + (second.map { [$0.name] } ?? []) {
      if let i = fn.scopes.findInInnermost(name) { fn.scopes[i].isUsed = true }
      if fn.isMain && fn.scopes.isEmpty { globals.bindings[name]?.isUsed = true }
    }
    fn.loopDepth += 1
    let b = compileBlock(body)
    fn.loopDepth -= 1
    popScope()
    guard let r1 else { return made { { _ in .normal } } }
    let interp = self.interp
    let iterRange = iterable.range
    let two = second != nil

    // The common case, an int range into a plain slot, runs without allocation.
    if !two, case .slot(let s) = r1 {
      return made { { f in
        let seq = try iter(f)
        if case .range(let r) = seq {
          var i = r.start
          let end = r.end, step = r.step
          while step > 0 ? i < end : i > end {
            try interp.checkCancelled()
            f.slots[s] = .int(i)
            switch try b(f) {
            case .breakLoop: return .normal
            case .returned: return .returned
            default: break
            }
            // Stepping past the largest or smallest int means stepping past the end.
            let (next, o) = i.addingReportingOverflow(step)
            if o { break }
            i = next
          }
          return .normal
        }
        return try Compiler.iterate(seq, two: false, range: iterRange, interp: interp) { a, _ in
          f.slots[s] = a
          return try b(f)
        }
      } }
    }
    let store1 = bindLoopVariable(r1)
    let store2 = r2.map { bindLoopVariable($0) }
    return made { { f in
      let seq = try iter(f)
      return try Compiler.iterate(seq, two: two, range: iterRange, interp: interp) { a, bValue in
        store1(f, a)
        if let store2 { store2(f, bValue) }
        return try b(f)
      }
    } }
  }

  /// Loop variables get a fresh cell per iteration when captured, so each
  /// closure made in the loop sees its own value.
  private func bindLoopVariable(_ r: Resolution) -> (Frame, Value) -> Void {
    switch r {
    case .cell(let s): return made { { f, v in f.cells[s] = Cell(v) } }
    case .slot(let s): return made { { f, v in f.slots[s] = v } }
    default: return made { { _, _ in } }
    }
  }

  static func iterate(_ seq: Value, two: Bool, range: SourceRange, interp: Interpreter, _ body: (Value, Value) throws -> Flow) throws -> Flow {
    func run(_ a: Value, _ b: Value) throws -> Flow? {
      try interp.checkCancelled()
      switch try body(a, b) {
      case .breakLoop: return .normal
      case .returned: return .returned
      default: return nil
      }
    }
    switch seq {
    case .range(let r):
      var i: UInt = 0
      while i < r.unsignedCount {
        let v = Value.int(r.element(i))
        // Past Int.max positions the index cannot be an int; such a loop would not end in practice anyway.
        if two && i > UInt(Int.max) { throw Operators.overflow("for", range) }
        if let flow = try (two ? run(.int(Int(i)), v) : run(v, .null)) { return flow }
        i += 1
      }
    case .list(let l):
      let items = l.items
      for (i, item) in items.enumerated() {
        if let flow = try (two ? run(.int(i), item) : run(item, .null)) { return flow }
      }
    case .map(let m):
      let keys = m.keys, values = m.values
      for i in 0..<keys.count {
        if let flow = try run(keys[i].value, values[i]) { return flow }
      }
    case .string(let s):
      for (i, ch) in s.enumerated() {
        if let flow = try (two ? run(.int(i), .string(String(ch))) : run(.string(String(ch)), .null)) { return flow }
      }
    default:
      throw Operators.iterationError(seq, range)
    }
    return .normal
  }
}

extension ValueType {
  var article: String { [.int, .any].contains(self) ? "an" : "a" }

  /// Whether a statically known type fits where this type is expected.
  func acceptsStatic(_ t: ValueType) -> Bool {
    switch (self, t) {
    case (.any, _), (_, .any): return true
    case (.float, .int), (.number, .int), (.number, .float), (.secret, .string), (.string, .secret): return true
    default: return self == t
    }
  }
}
