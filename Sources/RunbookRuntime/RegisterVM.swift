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
  /// Returns `a op b` (as `binary` computes it).
  case returnBinary(op: BinaryOp, a: Int32, b: Int32, range: Int32)
  /// The end of the code: it finishes without `return`.
  case end
}

/// Register code running in a frame: what `RegisterCode.execute` reads at
/// every instruction, read without retaining (the code keeps its callees alive).
struct Activation {
  let unit: Unmanaged<RegisterCode>
  let registers: UnsafeMutablePointer<Value>
  let code: UnsafeMutablePointer<Instruction>
  let constants: UnsafeMutablePointer<Value>
  let callees: UnsafeMutablePointer<Unmanaged<CompiledFunction>>

  @inline(__always) init(_ unit: Unmanaged<RegisterCode>, registers: UnsafeMutablePointer<Value>) {
    self.unit = unit
    self.registers = registers
    (code, constants, callees) = unit._withUnsafeGuaranteedRef { ($0.instructions, $0.constants, $0.calleePointers) }
  }

  /// An operand: a register when it is 0 or more, else the constant `~operand`.
  @inline(__always) func value(_ o: Int32) -> Value { o >= 0 ? registers[Int(o)] : constants[Int(~o)] }
  /// The int an operand holds, read where it is: copying the value out (and
  /// destroying the copy) was most of an int operation.
  @inline(__always) func int(_ o: Int32) -> Int? {
    let p = o >= 0 ? registers + Int(o) : constants + Int(~o)
    if case .int(let i) = p.pointee { return i }
    return nil
  }
  /// Stores a value that holds no reference (an int or a bool) in a register.
  @inline(__always) func storePlain(_ dst: Int32, _ v: Value) { Interpreter.overwrite(registers + Int(dst), withPlain: v) }
  @inline(__always) func range(_ r: Int32) -> SourceRange { unit._withUnsafeGuaranteedRef { $0.ranges[Int(r)] } }
}

/// A call of register code in flight inside `RegisterCode.execute`: where
/// its caller resumes, and the callee's frame to release when it returns.
struct PendingReturn {
  let caller: Activation
  /// The caller's instruction after the call.
  let resume: Int
  /// The caller's register that receives the result.
  let result: Int32
  /// The callee's frame in the value stack, and the call depth before it.
  let base: Int, size: Int, depth: Int
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
      Interpreter.release(f.slots + temporaries.lowerBound, count: temporaries.count)
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

  /// Runs the code in frame `f`. A call of a function that is register code
  /// runs in this same loop, as Lua's interpreter runs its calls: the
  /// caller's place is pushed on the interpreter's pending returns and the
  /// callee's code and frame take over until it returns. A Swift call per
  /// runbook call (its prologue, its optional result, its error check) was a
  /// third of a call-heavy program.
  @inline(__always)
  private func execute(_ f: Frame, _ interp: Interpreter) throws -> Value? {
    // Runs of the machine nest (register code calls closures that call
    // register code); each owns the pending returns above where it started.
    let outermost = interp.pendingCount
    do {
      return try execute(f, interp, above: outermost)
    } catch {
      // The frames of the calls in flight are released as their own
      // returns would have: cleared, and the stack and depth of the outermost.
      let pending = interp.pendingReturns
      for i in (outermost..<interp.pendingCount).reversed() {
        Interpreter.release(interp.stack + pending[i].base, count: pending[i].size)
      }
      if interp.pendingCount > outermost {
        interp.stackTop = pending[outermost].base
        interp.callDepth = pending[outermost].depth
        interp.pendingCount = outermost
      }
      throw error
    }
  }

  @inline(__always)
  private func execute(_ f: Frame, _ interp: Interpreter, above outermost: Int) throws -> Value? {
    // The code running and its frame are one value, replaced as a whole at
    // a call and a return: captured by nested functions, they were kept in
    // memory and every instruction paid for it.
    var here = Activation(Unmanaged.passUnretained(self), registers: f.slots)
    let limits = interp.limits
    var pc = 0
    while true {
      switch here.code[pc] {
      case .move(let dst, let src):
        here.registers[Int(dst)] = here.value(src)
      case .loadGlobal(let dst, let g):
        here.registers[Int(dst)] = interp.globals[Int(g)]
      case .storeGlobal(let g, let src):
        interp.globals[Int(g)] = here.value(src)
      case .binary(let op, let dst, let a, let b, let r):
        if let i = here.int(a), let j = here.int(b), let v = RegisterCode.intBinary(op, i, j) {
          here.storePlain(dst, v)
        } else {
          here.registers[Int(dst)] = try Operators.binary(op, here.value(a), here.value(b), range: here.range(r), limits: limits)
        }
      case .compound(let op, let target, let isGlobal, let src, let r):
        let slot = isGlobal ? interp.globals + Int(target) : here.registers + Int(target)
        if case .int(let a) = slot.pointee, let b = here.int(src), let sum = RegisterCode.intBinary(op, a, b) {
          // The old value is an int: nothing to destroy.
          slot.initialize(to: sum)
        } else {
          try Compiler.combine(op, &slot.pointee, here.value(src), here.range(r), limits)
        }
      case .selfAdd(let target, let isGlobal, let old, let src, let r):
        let slot = isGlobal ? interp.globals + Int(target) : here.registers + Int(target)
        let added = here.value(src)
        if case .int(let a) = here.registers[Int(old)], case .int(let b) = added, let sum = RegisterCode.intBinary(.add, a, b) {
          slot.pointee = sum
        } else {
          try Compiler.addToSelf(&slot.pointee, old: &here.registers[Int(old)], added, here.range(r), limits)
        }
      case .clear(let from, let count):
        Interpreter.release(here.registers + Int(from), count: Int(count))
      case .negate(let dst, let src, let r):
        let v = here.value(src)
        if case .int(let i) = v, i != .min {
          here.registers[Int(dst)] = .int(-i)
        } else {
          here.registers[Int(dst)] = try Operators.negate(v, here.range(r))
        }
      case .not(let dst, let src):
        here.registers[Int(dst)] = .bool(!here.value(src).isTruthy)
      case .jump(let to):
        pc = Int(to)
        continue
      case .jumpUnless(let op, let a, let b, let to, let r):
        let holds: Bool
        if let i = here.int(a), let j = here.int(b) {
          holds = RegisterCode.intCompare(op, i, j)
        } else {
          holds = try RegisterCode.compare(op, here.value(a), here.value(b), here.range(r))
        }
        if !holds {
          pc = Int(to)
          continue
        }
      case .jumpIfFalsy(let src, let to):
        if !here.value(src).isTruthy {
          pc = Int(to)
          continue
        }
      case .jumpIfTruthy(let src, let to):
        if here.value(src).isTruthy {
          pc = Int(to)
          continue
        }
      case .loopCheck:
        try interp.checkCancelled()
      case .enter(let callee, let base, let r):
        try interp.checkCancelled()
        guard let frameBase = interp.reserveFrame(here.callees[Int(callee)]._withUnsafeGuaranteedRef({ $0.frameSize })) else {
          throw interp.recursionError(here.range(r))
        }
        here.registers[Int(base)] = .int(frameBase)
      case .call(let callee, let base, let arguments, let count):
        guard case .int(let frameBase) = here.registers[Int(base)] else { preconditionFailure("a call without its frame") }
        let function = here.callees[Int(callee)]
        if let target = function._withUnsafeGuaranteedRef({ $0.unretainedRegisterCode }) {
          // Moved, not copied: an argument left in a temporary would make its list look shared.
          let slots = interp.stack + frameBase
          for i in 0..<Int(count) { swap(&slots[i], &here.registers[Int(arguments) + i]) }
          let size = function._withUnsafeGuaranteedRef { $0.frameSize }
          interp.pushPendingReturn(PendingReturn(caller: here, resume: pc + 1, result: base, base: frameBase, size: size, depth: interp.callDepth &- 1))
          here = Activation(target, registers: slots)
          pc = 0
          continue
        }
        here.registers[Int(base)] = try function._withUnsafeGuaranteedRef {
          try interp.runReserved($0, base: frameBase, arguments: here.registers + Int(arguments), count: Int(count))
        }
      case .callOne(let callee, let dst, let op, let a, let b, let r, let opRange):
        try interp.checkCancelled()
        let function = here.callees[Int(callee)]
        let size = function._withUnsafeGuaranteedRef { $0.frameSize }
        guard let frameBase = interp.reserveFrame(size) else {
          throw interp.recursionError(here.range(r))
        }
        var argument: Value
        if let op {
          if let i = here.int(a), let j = here.int(b), let v = RegisterCode.intBinary(op, i, j) {
            argument = v
          } else {
            argument = try Operators.binary(op, here.value(a), here.value(b), range: here.range(opRange), limits: limits)
          }
        } else {
          argument = here.value(a)
        }
        if let target = function._withUnsafeGuaranteedRef({ $0.unretainedRegisterCode }) {
          let slots = interp.stack + frameBase
          swap(&slots[0], &argument)
          interp.pushPendingReturn(PendingReturn(caller: here, resume: pc + 1, result: dst, base: frameBase, size: size, depth: interp.callDepth &- 1))
          here = Activation(target, registers: slots)
          pc = 0
          continue
        }
        here.registers[Int(dst)] = try function._withUnsafeGuaranteedRef {
          try interp.runReserved($0, base: frameBase, arguments: &argument, count: 1)
        }
      case .returnValue(let src):
        let result = here.value(src)
        if interp.pendingCount == outermost { return result }
        pc = RegisterCode.leave(&here, interp, result)
        continue
      case .returnBinary(let op, let a, let b, let r):
        let result: Value
        if let i = here.int(a), let j = here.int(b), let v = RegisterCode.intBinary(op, i, j) {
          result = v
        } else {
          result = try Operators.binary(op, here.value(a), here.value(b), range: here.range(r), limits: limits)
        }
        if interp.pendingCount == outermost { return result }
        pc = RegisterCode.leave(&here, interp, result)
        continue
      case .end:
        if interp.pendingCount == outermost { return nil }
        pc = RegisterCode.leave(&here, interp, .null)
        continue
      }
      pc += 1
    }
  }

  /// Back in the caller of the innermost call in flight, with `result` in
  /// its register; returns where the caller resumes.
  @inline(__always)
  private static func leave(
    _ a: inout Activation, _ interp: Interpreter, _ result: Value
  ) -> Int {
    interp.pendingCount &-= 1
    let call = interp.pendingReturns[interp.pendingCount]
    Interpreter.release(a.registers, count: call.size)
    interp.stackTop = call.base
    interp.callDepth = call.depth
    a = call.caller
    a.registers[Int(call.result)] = result
    return call.resume
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
  @inline(__always)
  func pushPendingReturn(_ call: PendingReturn) {
    if pendingCount == pendingCapacity { growPendingReturns() }
    (pendingReturns + pendingCount).initialize(to: call)
    pendingCount &+= 1
  }

  @inline(never)
  func growPendingReturns() {
    let grown = UnsafeMutablePointer<PendingReturn>.allocate(capacity: pendingCapacity * 2)
    grown.moveInitialize(from: pendingReturns, count: pendingCount)
    pendingReturns.deallocate()
    pendingReturns = grown
    pendingCapacity *= 2
  }

  /// Sets `count` slots to nil, so that their values are not kept alive: a
  /// slot holding nothing counted (nil, a bool, a number) is overwritten
  /// without the outlined destroy of a value.
  @inline(__always)
  static func release(_ slots: UnsafeMutablePointer<Value>, count: Int) {
    for i in 0..<count {
      if case .null = slots[i] { continue }
      overwrite(slots + i, withPlain: .null)
    }
  }

  /// Puts `v`, which holds no reference (nil, a bool, a number), in `slot`;
  /// the old value is destroyed only when it holds one (the outlined
  /// destroy of a value was a large part of an int operation).
  @inline(__always)
  static func overwrite(_ slot: UnsafeMutablePointer<Value>, withPlain v: Value) {
    switch slot.pointee {
    case .null, .bool, .int, .float, .duration: slot.initialize(to: v)
    default: slot.pointee = v
    }
  }

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
      Interpreter.release(slots, count: size)
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
