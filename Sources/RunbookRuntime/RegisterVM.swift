import RunbookLanguage

/// One instruction of the register machine. Registers are the slots of the
/// frame the code runs in (its locals, then its temporaries). An operand is a
/// register when it is 0 or more, else the constant `~operand`; `range`
/// indexes the source range an error there is reported at.
enum Instruction {
  case move(dst: Int32, src: Int32)
  case loadGlobal(dst: Int32, global: Int32)
  case storeGlobal(global: Int32, src: Int32)
  /// `dst = a op b` for arithmetic, `in` and the comparisons (as a bool).
  case binary(op: BinaryOp, dst: Int32, a: Int32, b: Int32, range: Int32)
  /// `target op= src`, in place: on a register, or on a global when `global`.
  case compound(op: BinaryOp, target: Int32, global: Bool, src: Int32, range: Int32)
  /// `target = target + src`, where `old` holds target's value read before
  /// `src` was evaluated: in place when target still holds that list or string.
  case selfAdd(target: Int32, global: Bool, old: Int32, src: Int32, range: Int32)
  /// Sets `count` registers from `from` to nil, so their values are not kept alive.
  case clear(from: Int32, count: Int32)
  case negate(dst: Int32, src: Int32, range: Int32)
  case not(dst: Int32, src: Int32)
  case jump(to: Int32)
  /// Jumps unless `a op b` holds (a comparison).
  case jumpUnless(op: BinaryOp, a: Int32, b: Int32, to: Int32, range: Int32)
  case jumpIfFalsy(src: Int32, to: Int32)
  case jumpIfTruthy(src: Int32, to: Int32)
  /// The start of each loop iteration: cancellation and the step budget.
  case loopCheck
  /// Before a call's arguments are evaluated: the checks of a call and the
  /// callee's frame reserved (its base kept in register `base`).
  case enter(callee: Int32, base: Int32, range: Int32)
  /// Runs the callee entered at `base` on `count` arguments from register
  /// `arguments` on; its result goes to register `base`.
  case call(callee: Int32, base: Int32, arguments: Int32, count: Int32)
  /// `dst = callee(a)`, or `dst = callee(a op b)` when `op` is set: a call of
  /// one simple argument as one instruction, in the order of `enter`, the
  /// argument and `call` (the call's checks come before the argument's errors).
  case callOne(callee: Int32, dst: Int32, op: BinaryOp?, a: Int32, b: Int32, range: Int32, operationRange: Int32)
  case returnValue(src: Int32)
  /// The end of the code: it finishes without `return`.
  case end
}

/// Code for the register machine: a function body, or a loop of one.
final class RegisterCode {
  /// Ends with `.end`.
  let instructions: UnsafeMutablePointer<Instruction>
  let instructionCount: Int
  let constants: UnsafeMutablePointer<Value>
  let constantCount: Int
  let ranges: [SourceRange]
  /// The functions called, kept alive here; `calleePointers` reads them
  /// without retaining (a retain and release per call was a quarter of fib).
  let callees: [CompiledFunction]
  let calleePointers: UnsafeMutablePointer<Unmanaged<CompiledFunction>>
  /// Registers from here on are temporaries: cleared when the code leaves.
  let temporaries: Range<Int>
  /// Held as the compiled closures hold it: a function value may outlive the code that made it.
  let interp: Interpreter

  init(
    instructions: [Instruction], constants: [Value], ranges: [SourceRange], callees: [CompiledFunction],
    temporaries: Range<Int>, interpreter: Interpreter
  ) {
    self.instructions = .allocate(capacity: max(instructions.count, 1))
    self.instructions.initialize(from: instructions, count: instructions.count)
    instructionCount = instructions.count
    self.constants = .allocate(capacity: max(constants.count, 1))
    self.constants.initialize(from: constants, count: constants.count)
    self.constantCount = constants.count
    self.ranges = ranges; self.callees = callees; self.temporaries = temporaries
    calleePointers = .allocate(capacity: max(callees.count, 1))
    calleePointers.initialize(from: callees.map { Unmanaged.passUnretained($0) }, count: callees.count)
    self.interp = interpreter
  }

  deinit {
    instructions.deinitialize(count: instructionCount)
    instructions.deallocate()
    constants.deinitialize(count: constantCount)
    constants.deallocate()
    calleePointers.deallocate()
  }

  /// Runs the code in frame `f`: `.returned` (the value in
  /// `interp.returnValue`) or `.normal` when it ends without `return`.
  func run(_ f: Frame) throws -> Flow {
    let interp = self.interp
    let savedTop = interp.stackTop, savedDepth = interp.callDepth
    defer {
      // A call whose arguments failed leaves its reserved frame: undo it.
      interp.stackTop = savedTop
      interp.callDepth = savedDepth
      for r in temporaries { f.slots[r] = .null }
    }
    guard let v = try execute(f) else { return .normal }
    interp.returnValue = v
    return .returned
  }

  /// Runs the code in frame `f`: the value it returns, or nil when it ends
  /// without `return`. A call reserved but not made (its arguments failed)
  /// is left for the caller to undo (`run`, `runReserved`).
  @inline(__always)
  func execute(_ f: Frame) throws -> Value? {
    // Read without a retain: a retain and release of the interpreter (and
    // of this code) per call was a sixth of a call-heavy program.
    try Unmanaged.passUnretained(interp)._withUnsafeGuaranteedRef { interp throws -> Value? in
      try execute(f, interp)
    }
  }

  @inline(__always)
  private func execute(_ f: Frame, _ interp: Interpreter) throws -> Value? {
    let regs = f.slots
    let code = instructions, consts = constants
    let limits = interp.limits
    @inline(__always) func value(_ o: Int32) -> Value { o >= 0 ? regs[Int(o)] : consts[Int(~o)] }
    var pc = 0
    while true {
      switch code[pc] {
      case .move(let dst, let src):
        regs[Int(dst)] = value(src)
      case .loadGlobal(let dst, let g):
        regs[Int(dst)] = interp.globals[Int(g)]
      case .storeGlobal(let g, let src):
        interp.globals[Int(g)] = value(src)
      case .binary(let op, let dst, let a, let b, let r):
        let x = value(a), y = value(b)
        if case .int(let i) = x, case .int(let j) = y, let v = RegisterCode.intBinary(op, i, j) {
          regs[Int(dst)] = v
        } else {
          regs[Int(dst)] = try Operators.binary(op, x, y, range: ranges[Int(r)], limits: limits)
        }
      case .compound(let op, let target, let isGlobal, let src, let r):
        let slot = isGlobal ? interp.globals + Int(target) : regs + Int(target)
        let v = value(src)
        if case .int(let a) = slot.pointee, case .int(let b) = v, let sum = RegisterCode.intBinary(op, a, b) {
          slot.pointee = sum
        } else {
          try Compiler.combine(op, &slot.pointee, v, ranges[Int(r)], limits)
        }
      case .selfAdd(let target, let isGlobal, let old, let src, let r):
        let slot = isGlobal ? interp.globals + Int(target) : regs + Int(target)
        let added = value(src)
        if case .int(let a) = regs[Int(old)], case .int(let b) = added, let sum = RegisterCode.intBinary(.add, a, b) {
          slot.pointee = sum
        } else {
          try Compiler.addToSelf(&slot.pointee, old: &regs[Int(old)], added, ranges[Int(r)], limits)
        }
      case .clear(let from, let count):
        for r in Int(from)..<Int(from + count) { regs[r] = .null }
      case .negate(let dst, let src, let r):
        let v = value(src)
        if case .int(let i) = v, i != .min {
          regs[Int(dst)] = .int(-i)
        } else {
          regs[Int(dst)] = try Operators.negate(v, ranges[Int(r)])
        }
      case .not(let dst, let src):
        regs[Int(dst)] = .bool(!value(src).isTruthy)
      case .jump(let to):
        pc = Int(to)
        continue
      case .jumpUnless(let op, let a, let b, let to, let r):
        let x = value(a), y = value(b)
        let holds: Bool
        if case .int(let i) = x, case .int(let j) = y {
          holds = RegisterCode.intCompare(op, i, j)
        } else {
          holds = try RegisterCode.compare(op, x, y, ranges[Int(r)])
        }
        if !holds {
          pc = Int(to)
          continue
        }
      case .jumpIfFalsy(let src, let to):
        if !value(src).isTruthy {
          pc = Int(to)
          continue
        }
      case .jumpIfTruthy(let src, let to):
        if value(src).isTruthy {
          pc = Int(to)
          continue
        }
      case .loopCheck:
        try interp.checkCancelled()
      case .enter(let callee, let base, let r):
        try interp.checkCancelled()
        guard let frameBase = interp.reserveFrame(calleePointers[Int(callee)]._withUnsafeGuaranteedRef { $0.frameSize }) else {
          throw interp.recursionError(ranges[Int(r)])
        }
        regs[Int(base)] = .int(frameBase)
      case .call(let callee, let base, let arguments, let count):
        guard case .int(let frameBase) = regs[Int(base)] else { preconditionFailure("a call without its frame") }
        regs[Int(base)] = try calleePointers[Int(callee)]._withUnsafeGuaranteedRef {
          try interp.runReserved($0, base: frameBase, arguments: regs + Int(arguments), count: Int(count))
        }
      case .callOne(let callee, let dst, let op, let a, let b, let r, let opRange):
        try interp.checkCancelled()
        let function = calleePointers[Int(callee)]
        guard let frameBase = interp.reserveFrame(function._withUnsafeGuaranteedRef { $0.frameSize }) else {
          throw interp.recursionError(ranges[Int(r)])
        }
        var argument: Value
        if let op {
          let x = value(a), y = value(b)
          if case .int(let i) = x, case .int(let j) = y, let v = RegisterCode.intBinary(op, i, j) {
            argument = v
          } else {
            argument = try Operators.binary(op, x, y, range: ranges[Int(opRange)], limits: limits)
          }
        } else {
          argument = value(a)
        }
        regs[Int(dst)] = try function._withUnsafeGuaranteedRef {
          try interp.runReserved($0, base: frameBase, arguments: &argument, count: 1)
        }
      case .returnValue(let src):
        return value(src)
      case .end:
        return nil
      }
      pc += 1
    }
  }

  /// An int operation's result when it is an int (no overflow, no error): the
  /// operators' own fast paths; anything else goes to `Operators`.
  @inline(__always) static func intBinary(_ op: BinaryOp, _ a: Int, _ b: Int) -> Value? {
    switch op {
    case .add:
      let (s, o) = a.addingReportingOverflow(b)
      return o ? nil : .int(s)
    case .subtract:
      let (s, o) = a.subtractingReportingOverflow(b)
      return o ? nil : .int(s)
    case .multiply:
      let (s, o) = a.multipliedReportingOverflow(by: b)
      return o ? nil : .int(s)
    case .remainder: return b > 0 && a >= 0 ? .int(a % b) : nil
    case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual: return .bool(intCompare(op, a, b))
    default: return nil
    }
  }

  @inline(__always) static func intCompare(_ op: BinaryOp, _ a: Int, _ b: Int) -> Bool {
    switch op {
    case .less: return a < b
    case .lessEqual: return a <= b
    case .greater: return a > b
    case .greaterEqual: return a >= b
    case .equal: return a == b
    default: return a != b
    }
  }

  /// A comparison of any two values, as `if` and `while` judge it.
  static func compare(_ op: BinaryOp, _ a: Value, _ b: Value, _ range: SourceRange) throws -> Bool {
    switch op {
    case .equal: return a == b
    case .notEqual: return a != b
    default:
      let c = try Operators.compare(a, b, op: op.rawValue, range: range)
      switch op {
      case .less: return c < 0
      case .lessEqual: return c <= 0
      case .greater: return c > 0
      default: return c >= 0
      }
    }
  }
}

extension Interpreter {
  /// A call's frame of `size` slots reserved before its arguments are
  /// evaluated (as `invoke` does, after `checkCancelled`); returns the
  /// frame's base, or nil when the call would be too deep (`recursionError`).
  @inline(__always)
  func reserveFrame(_ size: Int) -> Int? {
    let base = stackTop
    if base + size > stackCapacity || callDepth >= maxCallDepth { return nil }
    if base + size > initializedTop {
      (stack + initializedTop).initialize(repeating: .null, count: base + size - initializedTop)
      (stackCells + initializedTop).initialize(repeating: nil, count: base + size - initializedTop)
      initializedTop = base + size
    }
    stackTop = base + size
    callDepth += 1
    return base
  }

  /// Runs a function in the frame `reserveFrame` made, on `count` arguments;
  /// the frame is released however the call ends.
  @inline(__always)
  func runReserved(_ code: CompiledFunction, base: Int, arguments: UnsafeMutablePointer<Value>, count: Int) throws -> Value {
    let slots = stack + base
    let cells = stackCells + base
    let size = code.frameSize
    let depth = callDepth - 1
    defer {
      for i in 0..<size { slots[i] = .null }
      if code.usesCells { for i in 0..<size { cells[i] = nil } }
      // Absolute, not relative: a failed call inside may have left a reservation.
      stackTop = base
      callDepth = depth
    }
    // Moved, not copied: an argument left in a temporary would make its list look shared.
    for i in 0..<count { swap(&slots[i], &arguments[i]) }
    let frame = Frame(slots: slots, cells: cells, closure: nil)
    let flow: Flow
    if let registers = code.unretainedRegisterCode {
      return try registers._withUnsafeGuaranteedRef { try $0.execute(frame) } ?? .null
    } else {
      for p in code.celledParameters { cells[p] = Cell(slots[p]) }
      flow = try code.body(frame)
    }
    guard flow == .returned else { return .null }
    let v = returnValue
    returnValue = .null
    return v
  }
}
