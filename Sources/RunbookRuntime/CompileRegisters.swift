import RunbookLanguage

/// What the closure compiler resolved while compiling code the register
/// compiler may take over, by source position: the register compiler reuses
/// these decisions (and the diagnostics made with them) instead of resolving
/// names again.
struct RegisterHints {
  struct Position: Hashable {
    let file: ObjectIdentifier
    let offset: Int
    init(_ range: SourceRange) { file = ObjectIdentifier(range.file); offset = range.start }
  }
  /// Name expressions read.
  var names: [Position: Resolution] = [:]
  /// `let` and `var` names declared.
  var declarations: [Position: Resolution] = [:]
  /// Names assigned to.
  var targets: [Position: Resolution] = [:]
  /// Calls of top-level functions whose arguments are the parameters in order.
  var calls: [Position: CompiledFunction] = [:]
}

/// Which code the register machine runs: function bodies and `while` loops
/// made only of literals, names, operators, calls of top-level functions with
/// positional arguments, `let`/`var`, assignment to names, `if`, `while`,
/// `break`, `continue` and `return`. Everything else (built-in calls, lists,
/// maps, strings with interpolation, indexing, `for`, `try`, steps, nested
/// functions, captured variables) keeps its compiled closures.
enum RegisterEligibility {
  static func statements(_ statements: [Stmt]) -> Bool { statements.allSatisfy(statement) }

  static func statement(_ s: Stmt) -> Bool {
    switch s.kind {
    case .expression(let e): return expression(e)
    case .binding(_, _, let value): return expression(value)
    case .assign(let target, _, let value):
      guard case .name = target.kind else { return false }
      return expression(value)
    case .ifElse(let branches, let elseBody):
      return branches.allSatisfy { expression($0.condition) && statements($0.body.statements) }
        && (elseBody.map { statements($0.statements) } ?? true)
    case .whileLoop(let condition, let body): return expression(condition) && statements(body.statements)
    case .breakLoop, .continueLoop: return true
    case .returnValue(let value): return value.map(expression) ?? true
    default: return false
    }
  }

  static func expression(_ e: Expr) -> Bool {
    switch e.kind {
    case .nilLiteral, .boolLiteral, .intLiteral, .floatLiteral, .durationLiteral, .stringLiteral, .name: return true
    case .unary(_, let operand): return expression(operand)
    case .binary(_, let lhs, let rhs): return expression(lhs) && expression(rhs)
    case .call(let callee, let arguments):
      guard case .name = callee.kind else { return false }
      return arguments.allSatisfy { $0.label == nil && expression($0.value) }
    default: return false
    }
  }

  /// Whether evaluating `e` may run a function (which may assign globals).
  static func callsFunction(_ e: Expr) -> Bool {
    switch e.kind {
    case .call: return true
    case .unary(_, let operand): return callsFunction(operand)
    case .binary(_, let lhs, let rhs): return callsFunction(lhs) || callsFunction(rhs)
    default: return false
    }
  }
}

/// Lowers eligible statements to register-machine code, with the closure
/// compiler's resolutions; throws `Unsupported` where a resolution is one the
/// machine does not handle (a captured variable, a built-in as a value), and
/// the closures are kept.
struct RegisterCompiler {
  struct Unsupported: Error {}

  let hints: RegisterHints
  let interp: Interpreter
  private var instructions: [Instruction] = []
  private var constants: [Value] = []
  private var ranges: [SourceRange] = []
  private var callees: [CompiledFunction] = []
  private var calleeIndex: [ObjectIdentifier: Int32] = [:]
  let firstTemporary: Int
  private var nextTemporary: Int
  /// One past the highest temporary used.
  private(set) var temporaryEnd: Int
  /// One past the highest temporary written since the last clear.
  private var statementHigh: Int
  /// The temporaries some instruction may leave a reference in (a string,
  /// list or map): only those need clearing. The others only ever hold
  /// ints, floats, durations or bools, and clearing them was an
  /// instruction per statement of a loop for nothing.
  private var referenceTemporaries = Set<Int32>()
  /// Each enclosing loop's start and the `break` jumps to patch to its end.
  private var loops: [(start: Int, breaks: [Int])] = []

  /// Whether the code runs in the main program's frame, whose slots are the
  /// top-level names: then a top-level name is read and written as a register.
  let globalsAreRegisters: Bool

  init(hints: RegisterHints, interpreter: Interpreter, firstTemporary: Int, globalsAreRegisters: Bool = false) {
    self.hints = hints; self.interp = interpreter; self.globalsAreRegisters = globalsAreRegisters
    self.firstTemporary = firstTemporary; nextTemporary = firstTemporary; temporaryEnd = firstTemporary
    statementHigh = firstTemporary
  }

  /// A function body: its last expression statement is its value.
  mutating func function(_ body: [Stmt]) throws(Unsupported) -> RegisterCode {
    try statements(body, valueOfLast: true)
    emit(.end)
    return make(clearing: 0..<0)  // the caller clears the whole frame
  }

  /// Statements run in the frame of the code around them (a loop of the main program or of a function).
  mutating func unit(_ body: [Stmt]) throws(Unsupported) -> RegisterCode {
    try statements(body, valueOfLast: false)
    emit(.end)
    return make(clearing: firstTemporary..<temporaryEnd)
  }

  private func make(clearing: Range<Int>) -> RegisterCode {
    RegisterCode(
      instructions: instructions, constants: constants, ranges: ranges, callees: callees, temporaries: clearing,
      interpreter: interp)
  }

  // MARK: Emitting

  @discardableResult
  private mutating func emit(_ i: Instruction) -> Int {
    instructions.append(i)
    switch i {
    case .move(let dst, _), .loadGlobal(let dst, _), .call(_, let dst, _, _), .callOne(_, let dst, _, _, _, _, _):
      referenceTemporaries.insert(dst)
    case .binary(let op, let dst, _, _, _):
      // Only `+` can make a reference (joined lists or maps); the other
      // operators give numbers, durations or bools, or fail. (`and` and
      // `or` give an operand, but compile to jumps and moves, not here.)
      if op == .add || op == .and || op == .or { referenceTemporaries.insert(dst) }
    case .compound(_, let target, let isGlobal, _, _):
      if !isGlobal { referenceTemporaries.insert(target) }
    case .selfAdd(let target, let isGlobal, let old, _, _):
      if !isGlobal { referenceTemporaries.insert(target) }
      referenceTemporaries.insert(old)
    case .storeGlobal, .clear, .negate, .not, .jump, .jumpUnless, .jumpIfFalsy, .jumpIfTruthy, .loopCheck, .enter,
      .returnValue, .returnBinary, .end:
      // Write no register, or only a number or a bool (`enter` a frame's base).
      break
    }
    return instructions.count - 1
  }

  private mutating func range(_ r: SourceRange) -> Int32 {
    ranges.append(r)
    return Int32(ranges.count - 1)
  }

  private mutating func constant(_ v: Value) -> Int32 {
    constants.append(v)
    return ~Int32(constants.count - 1)
  }

  private mutating func temporary() -> Int32 {
    let t = nextTemporary
    nextTemporary += 1
    temporaryEnd = max(temporaryEnd, nextTemporary)
    statementHigh = max(statementHigh, nextTemporary)
    return Int32(t)
  }

  private mutating func callee(_ code: CompiledFunction) -> Int32 {
    if let i = calleeIndex[ObjectIdentifier(code)] { return i }
    callees.append(code)
    let i = Int32(callees.count - 1)
    calleeIndex[ObjectIdentifier(code)] = i
    return i
  }

  /// Points the jump at `at` to `target`.
  private mutating func patch(_ at: Int, to target: Int) {
    let t = Int32(target)
    switch instructions[at] {
    case .jump: instructions[at] = .jump(to: t)
    case .jumpUnless(let op, let a, let b, _, let r): instructions[at] = .jumpUnless(op: op, a: a, b: b, to: t, range: r)
    case .jumpIfFalsy(let s, _): instructions[at] = .jumpIfFalsy(src: s, to: t)
    case .jumpIfTruthy(let s, _): instructions[at] = .jumpIfTruthy(src: s, to: t)
    default: preconditionFailure("patching an instruction that does not jump")
    }
  }

  private func register(_ r: Resolution?) throws(Unsupported) -> (index: Int32, isGlobal: Bool) {
    switch r {
    case .slot(let s)?: return (Int32(s), false)
    case .global(let g)?: return (Int32(g), !globalsAreRegisters)
    default: throw Unsupported()
    }
  }

  // MARK: Statements

  private mutating func statements(_ body: [Stmt], valueOfLast: Bool) throws(Unsupported) {
    for (i, s) in body.enumerated() {
      if valueOfLast, i == body.count - 1, case .expression(let e) = s.kind {
        try returnValue(e)
        nextTemporary = firstTemporary
        continue
      }
      try statement(s)
    }
  }

  private mutating func statement(_ s: Stmt) throws(Unsupported) {
    let mark = nextTemporary, enclosingHigh = statementHigh
    defer { nextTemporary = mark }
    switch s.kind {
    case .expression(let e):
      _ = try operand(e)
    case .binding(let name, _, let value):
      let (slot, isGlobal) = try register(hints.declarations[.init(name.range)])
      guard !isGlobal else { throw Unsupported() }
      try evaluate(value, into: slot)
    case .assign(let target, let op, let value):
      let (slot, isGlobal) = try register(hints.targets[.init(target.range)])
      switch op {
      case .assign:
        if case .binary(.add, let lhs, let rhs) = value.kind, case .name(let n) = lhs.kind, case .name(let t) = target.kind, n == t {
          // `x = x + y`: in place when nothing else holds x's list or string (as compiled closures do).
          let old = temporary()
          try evaluate(lhs, into: old)
          let added = try operand(rhs)
          emit(.selfAdd(target: slot, global: isGlobal, old: old, src: added, range: range(value.range)))
        } else if isGlobal {
          emit(.storeGlobal(global: slot, src: try operand(value)))
        } else {
          try evaluate(value, into: slot)
        }
      case .add, .subtract, .multiply, .divide:
        let binary: BinaryOp = op == .add ? .add : op == .subtract ? .subtract : op == .multiply ? .multiply : .divide
        let v = try operand(value)
        emit(.compound(op: binary, target: slot, global: isGlobal, src: v, range: range(s.range)))
      }
    case .ifElse(let branches, let elseBody):
      var ends: [Int] = []
      for (i, branch) in branches.enumerated() {
        let skips = try condition(branch.condition)
        nextTemporary = mark
        clearTemporaries(from: mark)
        try statements(branch.body.statements, valueOfLast: false)
        if i < branches.count - 1 || elseBody != nil { ends.append(emit(.jump(to: -1))) }
        for j in skips { patch(j, to: instructions.count) }
      }
      if let elseBody { try statements(elseBody.statements, valueOfLast: false) }
      for j in ends { patch(j, to: instructions.count) }
    case .whileLoop(let c, let body):
      let start = instructions.count
      let exits = try condition(c)
      nextTemporary = mark
      emit(.loopCheck)
      clearTemporaries(from: mark)
      loops.append((start, []))
      try statements(body.statements, valueOfLast: false)
      emit(.jump(to: Int32(start)))
      let loop = loops.removeLast()
      for j in exits + loop.breaks { patch(j, to: instructions.count) }
    case .breakLoop:
      guard !loops.isEmpty else { throw Unsupported() }
      loops[loops.count - 1].breaks.append(emit(.jump(to: -1)))
    case .continueLoop:
      guard let loop = loops.last else { throw Unsupported() }
      emit(.jump(to: Int32(loop.start)))
    case .returnValue(let value):
      if let value { try returnValue(value) } else { emit(.returnValue(src: constant(.null))) }
    default:
      throw Unsupported()
    }
    clearTemporaries(from: mark)
    // An enclosing condition's temporaries are still to be cleared on the paths that skip this statement.
    statementHigh = max(enclosingHigh, mark)
  }

  /// Returns `e`'s value; `return a op b` is one instruction.
  private mutating func returnValue(_ e: Expr) throws(Unsupported) {
    if case .binary(let op, let lhs, let rhs) = e.kind, op != .and, op != .or {
      let (a, b) = try operands(lhs, rhs)
      emit(.returnBinary(op: op, a: a, b: b, range: range(e.range)))
    } else {
      emit(.returnValue(src: try operand(e)))
    }
  }

  /// Clears the temporaries from `mark` that may have been written (they
  /// may hold lists or strings), so that none makes a value look shared to a
  /// later in-place append.
  private mutating func clearTemporaries(from mark: Int) {
    guard statementHigh > mark, (mark..<statementHigh).contains(where: { referenceTemporaries.contains(Int32($0)) }) else {
      return
    }
    emit(.clear(from: Int32(mark), count: Int32(statementHigh - mark)))
  }
  // MARK: Conditions

  /// Code that falls through when `e` holds; returns the jumps to patch to where it does not.
  private mutating func condition(_ e: Expr) throws(Unsupported) -> [Int] {
    if case .binary(let op, let lhs, let rhs) = e.kind {
      switch op {
      case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual:
        let (a, b) = try operands(lhs, rhs)
        return [emit(.jumpUnless(op: op, a: a, b: b, to: -1, range: range(e.range)))]
      case .and:
        return try condition(lhs) + condition(rhs)
      default: break
      }
    }
    return [emit(.jumpIfFalsy(src: try operand(e), to: -1))]
  }

  // MARK: Expressions

  /// Both operands of a binary operation, left first; the left is copied
  /// first when the right may run a function that changes it.
  private mutating func operands(_ lhs: Expr, _ rhs: Expr) throws(Unsupported) -> (Int32, Int32) {
    var a = try operand(lhs)
    if a >= 0, a < Int32(firstTemporary), RegisterEligibility.callsFunction(rhs) {
      let copy = temporary()
      emit(.move(dst: copy, src: a))
      a = copy
    }
    return (a, try operand(rhs))
  }

  /// `e`'s value in register `dst`.
  private mutating func evaluate(_ e: Expr, into dst: Int32) throws(Unsupported) {
    let direct: Bool
    switch e.kind {
    case .binary(.and, _, _), .binary(.or, _, _), .call: direct = false
    // One instruction that reads its operands before it writes (or a load): straight into `dst`.
    case .name, .unary, .binary: direct = true
    default: direct = false
    }
    let o = try operand(e, into: direct ? dst : nil)
    if o != dst { emit(.move(dst: dst, src: o)) }
  }

  /// An argument read in one step: a local, a constant, or an operator on
  /// two of them (nil for anything else, which is evaluated before the call).
  private mutating func simpleArgument(_ e: Expr) throws(Unsupported) -> (BinaryOp?, Int32, Int32, Int32)? {
    func simple(_ x: Expr) -> Bool {
      switch x.kind {
      case .nilLiteral, .boolLiteral, .intLiteral, .floatLiteral, .durationLiteral, .stringLiteral: return true
      case .name: if case .slot = hints.names[.init(x.range)] { return true } else { return false }
      default: return false
      }
    }
    if simple(e) { return (nil, try operand(e), 0, 0) }
    guard case .binary(let op, let lhs, let rhs) = e.kind, op != .and, op != .or, simple(lhs), simple(rhs) else { return nil }
    return (op, try operand(lhs), try operand(rhs), range(e.range))
  }

  /// Where `e`'s value is: a register (a local, or a temporary it was
  /// computed into) or a constant.
  private mutating func operand(_ e: Expr, into target: Int32? = nil) throws(Unsupported) -> Int32 {
    let mark = nextTemporary
    switch e.kind {
    case .nilLiteral: return constant(.null)
    case .boolLiteral(let b): return constant(.bool(b))
    case .intLiteral(let i): return constant(.int(i))
    case .floatLiteral(let d): return constant(.float(d))
    case .durationLiteral(let ms): return constant(.duration(ms))
    case .stringLiteral(let s): return constant(.string(s))
    case .name:
      let (slot, isGlobal) = try register(hints.names[.init(e.range)])
      guard isGlobal else { return slot }
      let t = target ?? temporary()
      emit(.loadGlobal(dst: t, global: slot))
      return t
    case .unary(let op, let x):
      let t = target ?? temporary()
      let o = try operand(x)
      emit(op == .negate ? .negate(dst: t, src: o, range: range(e.range)) : .not(dst: t, src: o))
      nextTemporary = max(mark, target == nil ? Int(t) + 1 : mark)
      return t
    case .binary(let op, let lhs, let rhs):
      let t = target ?? temporary()
      switch op {
      case .and, .or:
        try evaluate(lhs, into: t)
        let skip = emit(op == .and ? .jumpIfFalsy(src: t, to: -1) : .jumpIfTruthy(src: t, to: -1))
        try evaluate(rhs, into: t)
        patch(skip, to: instructions.count)
      default:
        let (a, b) = try operands(lhs, rhs)
        emit(.binary(op: op, dst: t, a: a, b: b, range: range(e.range)))
      }
      nextTemporary = max(mark, target == nil ? Int(t) + 1 : mark)
      return t
    case .call(_, let arguments):
      guard let code = hints.calls[.init(e.range)] else { throw Unsupported() }
      let index = callee(code)
      if arguments.count == 1, let (op, a, b, operationRange) = try simpleArgument(arguments[0].value) {
        let t = target ?? temporary()
        emit(.callOne(callee: index, dst: t, op: op, a: a, b: b, range: range(e.range), operationRange: operationRange))
        nextTemporary = max(mark, target == nil ? Int(t) + 1 : mark)
        return t
      }
      let base = temporary()
      emit(.enter(callee: index, base: base, range: range(e.range)))
      let first = nextTemporary
      for argument in arguments {
        let t = temporary()
        try evaluate(argument.value, into: t)
      }
      emit(.call(callee: index, base: base, arguments: Int32(first), count: Int32(arguments.count)))
      nextTemporary = Int(base) + 1
      if let target {
        emit(.move(dst: target, src: base))
        nextTemporary = mark
        return target
      }
      return base
    default:
      throw Unsupported()
    }
  }
}
