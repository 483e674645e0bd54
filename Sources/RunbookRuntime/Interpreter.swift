import RunbookLanguage
import Synchronization

/// Where a running program's effects go: printed text and step boundaries.
/// The CLI prints; the dry-run planner groups built-in results by step; tests capture.
public protocol InterpreterHost: AnyObject {
  func write(_ text: String)
  func stepStarted(_ name: String, range: SourceRange?)
  func stepFinished(_ name: String, error: RuntimeError?)
}

/// A variable captured by a closure: shared between the frame that declared
/// it and every closure that captured it.
final class Cell {
  var value: Value
  init(_ value: Value) { self.value = value }
}

/// The registers a piece of compiled code sees: its value slots, the cells of
/// its captured locals (same indexes), and the closure it runs in.
struct Frame {
  let slots: UnsafeMutablePointer<Value>
  let cells: UnsafeMutablePointer<Cell?>
  let closure: Closure?
}

/// How a statement finished.
enum Flow { case normal, breakLoop, continueLoop, returned }

typealias ExprCode = (Frame) throws -> Value
/// Compiled code kept in arrays is boxed as soon as it is made: a closure
/// stored directly in a generic container is called through a
/// reabstraction thunk on every call.
final class StmtBox {
  let run: StmtCode
  init(_ run: @escaping StmtCode) { self.run = run }
}
final class ExprBox {
  let run: ExprCode
  init(_ run: @escaping ExprCode) { self.run = run }
}
typealias CondCode = (Frame) throws -> Bool
typealias StmtCode = (Frame) throws -> Flow

/// Where a closure gets each captured variable from when it is created.
enum UpvalueSource {
  case enclosingCell(Int)
  case enclosingUpvalue(Int)
}

/// A compiled function body, shared by all closures made from one `fn`.
public final class CompiledFunction: @unchecked Sendable {
  public let name: String
  let parameters: [String]
  /// Code evaluating each parameter's default in the callee's frame, or nil if required.
  var defaults: [ExprCode?]
  var frameSize = 0
  /// Parameters whose slots must be wrapped in cells on entry (captured).
  var celledParameters: [Int] = []
  /// Whether the body keeps locals in cells (it contains a nested function).
  var usesCells = false
  var body: StmtCode = { _ in .normal }
  /// The body as register-machine code, when it could be compiled so (then
  /// `body` runs it): calls from register code run it directly.
  var registerCode: RegisterCode? = nil {
    didSet { unretainedRegisterCode = registerCode.map { Unmanaged.passUnretained($0) } }
  }
  /// The same, read without a retain on every call (`registerCode` keeps it alive).
  var unretainedRegisterCode: Unmanaged<RegisterCode>? = nil
  var upvalueSources: [UpvalueSource] = []
  let range: SourceRange?

  init(name: String, parameters: [String], range: SourceRange?) {
    self.name = name; self.parameters = parameters; self.range = range
    self.defaults = Array(repeating: nil, count: parameters.count)
  }
}

/// A function value: code plus captured variables.
public final class Closure: @unchecked Sendable {
  public let code: CompiledFunction
  let upvalues: [Cell]
  init(code: CompiledFunction, upvalues: [Cell]) { self.code = code; self.upvalues = upvalues }
}

/// Runs compiled programs. One interpreter per session; a REPL keeps one alive
/// across lines so names defined earlier stay visible.
public final class Interpreter: @unchecked Sendable {
  public let host: InterpreterHost
  public let registry: BuiltinRegistry
  public let environment: EnvironmentVariables
  /// Size caps on values (`RUNBOOK_MAX_VALUE_BYTES` in `environment`).
  public let limits: ResourceLimits
  /// Why the environment's limit setting was refused, reported by `Session.compile`.
  public let limitsProblem: String?
  public internal(set) var currentStep: String?
  /// Character counts and positions of long strings, for `len` and `s[i]`.
  public let characterIndex = CharacterIndex()
  private let cancelled = Atomic<Bool>(false)

  /// The value stack: each call's frame is a window into it.
  let stack: UnsafeMutablePointer<Value>
  let stackCells: UnsafeMutablePointer<Cell?>
  let stackCapacity = 1 << 20
  var stackTop = 0
  /// Stack slots below this index are initialized.
  var initializedTop = 0
  /// Slots of the main program (top-level and REPL names).
  let globals: UnsafeMutablePointer<Value>
  let globalCells: UnsafeMutablePointer<Cell?>
  /// How many top-level names a session can hold. The areas are reserved,
  /// not touched: only the slots in use are initialized (and paged in), so a
  /// cap no runbook meets costs address space, not memory.
  let globalCapacity: Int
  public static let defaultGlobalCapacity = 1 << 22
  /// Global slots below this index are initialized. The compiler prepares
  /// each slot as it allocates it (`prepareGlobal`), so a run initializes
  /// (and its exit tears down) the globals it has, not the whole area:
  /// 2 MB of it cost a `check` about 1 ms of page faults.
  private(set) var preparedGlobals = 0
  var callDepth = 0
  public var maxCallDepth = 3_000
  /// Calls of register code in flight, where their callers resume
  /// (RegisterVM.swift): one stack for every run of the machine, grown as
  /// calls nest deeper.
  var pendingReturns = UnsafeMutablePointer<PendingReturn>.allocate(capacity: 64)
  var pendingCapacity = 64
  var pendingCount = 0
  /// The value of the last `return` (or a function's last expression).
  var returnValue: Value = .null
  /// Whether eligible functions and loops are compiled to register code
  /// (RegisterVM.swift); off, everything runs as closures (tests compare the two).
  var usesRegisterMachine = true

  public convenience init(host: InterpreterHost, registry: BuiltinRegistry, environment: EnvironmentVariables) {
    self.init(host: host, registry: registry, environment: environment, globalCapacity: Interpreter.defaultGlobalCapacity)
  }

  init(host: InterpreterHost, registry: BuiltinRegistry, environment: EnvironmentVariables, globalCapacity: Int) {
    self.host = host; self.registry = registry; self.environment = environment
    self.globalCapacity = globalCapacity
    do {
      limits = try ResourceLimits(environment: environment)
      limitsProblem = nil
    } catch {
      limits = .standard
      limitsProblem = "\(error)"
    }
    stack = .allocate(capacity: stackCapacity)
    stackCells = .allocate(capacity: stackCapacity)
    globals = .allocate(capacity: globalCapacity)
    globalCells = .allocate(capacity: globalCapacity)
  }

  /// Initializes the global slots up to `slot` (and a few beyond, so that
  /// preparing is rare), leaving those already prepared as they are.
  func prepareGlobal(_ slot: Int) {
    guard slot >= preparedGlobals else { return }
    let end = min(globalCapacity, max(slot + 1, preparedGlobals + 256))
    (globals + preparedGlobals).initialize(repeating: .null, count: end - preparedGlobals)
    (globalCells + preparedGlobals).initialize(repeating: nil, count: end - preparedGlobals)
    preparedGlobals = end
  }

  deinit {
    globals.deinitialize(count: preparedGlobals)
    globals.deallocate()
    globalCells.deinitialize(count: preparedGlobals)
    globalCells.deallocate()
    stack.deinitialize(count: initializedTop)
    stackCells.deinitialize(count: initializedTop)
    stack.deallocate()
    stackCells.deallocate()
    pendingReturns.deinitialize(count: pendingCount)
    pendingReturns.deallocate()
  }

  var mainFrame: Frame { Frame(slots: globals, cells: globalCells, closure: nil) }

  /// Loop iterations and calls left before the run stops with a
  /// `step_budget` error; unlimited unless set (fuzzing bounds every input).
  public var stepBudget = Int.max

  /// Asks a running program to stop at the next loop iteration or call.
  public func cancel() { cancelled.store(true, ordering: .relaxed) }
  public func clearCancellation() { cancelled.store(false, ordering: .relaxed) }
  /// Whether `cancel` was called (for built-ins that wait or work long, to stop early).
  public var isCancellationRequested: Bool { cancelled.load(ordering: .relaxed) }
  @inline(__always) public func checkCancelled() throws {
    stepBudget &-= 1
    if stepBudget < 0 || cancelled.load(ordering: .relaxed) { try stop() }
  }

  @inline(never) private func stop() throws {
    if stepBudget < 0 {
      // Stays spent: a `catch` that swallows this error fails again at its next step.
      stepBudget = -1
      throw RuntimeError("the run used up its step budget (loop iterations and calls)", code: "step_budget")
    }
    cancelled.store(false, ordering: .relaxed)
    throw RuntimeError("interrupted", code: "interrupted")
  }

  // MARK: Calls

  /// Calls user code whose arguments `bind` writes into the callee's
  /// parameter slots; `defaulted` lists the parameters that take their default.
  @inline(__always)
  func invoke(
    _ code: CompiledFunction, closure: Closure?, range: SourceRange?, defaulted: [Int],
    bind: (UnsafeMutablePointer<Value>) throws -> Void
  ) throws -> Value {
    try checkCancelled()
    let base = stackTop
    let size = code.frameSize
    if base + size > stackCapacity || callDepth >= maxCallDepth { throw recursionError(range) }
    // Slots above the high-water mark are initialized once; below it they
    // hold nil between calls, so a call only resets what it used.
    if base + size > initializedTop {
      (stack + initializedTop).initialize(repeating: .null, count: base + size - initializedTop)
      (stackCells + initializedTop).initialize(repeating: nil, count: base + size - initializedTop)
      initializedTop = base + size
    }
    let slots = stack + base
    let cells = stackCells + base
    stackTop = base + size
    callDepth += 1
    defer {
      Interpreter.release(slots, count: size)
      if code.usesCells { for i in 0..<size { cells[i] = nil } }
      stackTop = base
      callDepth -= 1
    }
    try bind(slots)
    let frame = Frame(slots: slots, cells: cells, closure: closure)
    if code.celledParameters.isEmpty {
      for i in defaulted { slots[i] = try code.defaults[i]!(frame) }
    } else {
      // Captured parameters live in cells; a default may read earlier ones.
      for p in code.celledParameters {
        if defaulted.contains(p) { slots[p] = try code.defaults[p]!(frame) }
        cells[p] = Cell(slots[p])
      }
    }
    switch try code.body(frame) {
    case .returned:
      let v = returnValue
      returnValue = .null
      return v
    default: return .null
    }
  }

  @inline(never) func recursionError(_ range: SourceRange?) -> RuntimeError {
    RuntimeError(
      "recursion is too deep (more than \(maxCallDepth) nested calls); check for a function that calls itself without end",
      code: "recursion_limit", range: range)
  }

  /// Runs a built-in on argument values bound to its parameters: the same
  /// type checks for direct calls and calls through a function value
  /// (`map(xs, abs)` rejects text as `abs("x")` does), and errors located at the call.
  func runBuiltin(_ builtin: Builtin, binding: ArgumentBinding, values: [Value], range: SourceRange?) throws -> Value {
    var args = builtin.boundArguments(binding: binding, values: values)
    args.limits = limits
    try builtin.checkTypes(args, range: range)
    if builtin.secrets == .computed, args.values.contains(where: \.containsSecret) || args.rest.contains(where: \.containsSecret) {
      return try runRevealingSecrets(builtin, args, range: range)
    }
    do {
      let result = try builtin.implementation(&args, CallContext(interpreter: self, range: range))
      // A built-in may build a large value in one go (`join`, `replace`, `format`); it is refused once made.
      switch result {
      case .string(let s): try limits.checkString(byteCount: s.utf8.count, range)
      case .list(let l): try limits.checkList(count: l.items.count, range)
      default: break
      }
      return result
    } catch var e as RuntimeError {
      if e.range == nil { e.range = range }
      throw e
    }
  }

  /// A `computed` built-in on secret arguments: it works on their text, its
  /// result stays secret, and no error it raises quotes the text.
  private func runRevealingSecrets(_ builtin: Builtin, _ given: Arguments, range: SourceRange?) throws -> Value {
    let texts = (given.values + given.rest).flatMap(\.secretTexts)
    var args = Arguments(values: given.values.map(\.revealingSecrets), rest: given.rest.map(\.revealingSecrets), builtin: builtin)
    do {
      return try builtin.implementation(&args, CallContext(interpreter: self, range: range)).keptSecret
    } catch var e as RuntimeError {
      if e.range == nil { e.range = range }
      e.message = Secret.scrub(e.message, texts)
      e.details = .null
      throw e
    }
  }

  /// Calls any function value with positional (and optionally labelled) arguments.
  public func call(_ function: FunctionBox, arguments: [Value], labels: [String?]? = nil, range: SourceRange?) throws -> Value {
    let labels = labels ?? Array(repeating: nil, count: arguments.count)
    switch function.kind {
    case .builtin(let builtin):
      let binding = try ArgumentBinding.bind(
        parameters: builtin.bindingParameters, labels: labels, functionName: builtin.name)
      return try runBuiltin(builtin, binding: binding, values: arguments, range: range)
    case .closure(let closure):
      let code = closure.code
      let binding = try ArgumentBinding.bind(
        parameters: code.parameters.enumerated().map { ($1, code.defaults[$0] != nil, false) },
        labels: labels, functionName: code.name)
      return try invoke(code, closure: closure, range: range, defaulted: binding.defaulted) { slots in
        for (p, source) in binding.sources.enumerated() {
          if case .argument(let a) = source { slots[p] = arguments[a] }
        }
      }
    }
  }
}

/// How call arguments map to parameters, decided once per call site when
/// the callee is known statically, or per call otherwise.
struct ArgumentBinding {
  enum Source { case argument(Int), defaultValue, variadic([Int]) }
  var sources: [Source]
  /// Parameters that take their default value.
  var defaulted: [Int] {
    sources.indices.filter { if case .defaultValue = sources[$0] { return true }; return false }
  }

  struct Failure: Error { let message: String; let argumentIndex: Int? }

  /// parameters: (name, hasDefault, isVariadic); labels: one per argument.
  static func bind(parameters: [(String, Bool, Bool)], labels: [String?], functionName: String) throws -> ArgumentBinding {
    var sources: [Source?] = Array(repeating: nil, count: parameters.count)
    var nextPositional = 0
    var variadic: [Int] = []
    let variadicIndex = parameters.firstIndex { $0.2 }
    var seenLabel = false
    for (a, label) in labels.enumerated() {
      if let label {
        seenLabel = true
        guard let p = parameters.firstIndex(where: { $0.0 == label }) else {
          let names = parameters.map { "`\($0.0)`" }.joined(separator: ", ")
          throw RuntimeError(
            "`\(functionName)` has no parameter `\(label)`\(didYouMean(label, in: parameters.map(\.0)))"
              + (parameters.isEmpty ? "" : " (its parameters: \(names))"),
            code: "argument_error", details: .int(a))
        }
        if sources[p] != nil {
          throw RuntimeError("argument `\(label)` of `\(functionName)` is given twice", code: "argument_error", details: .int(a))
        }
        sources[p] = .argument(a)
      } else {
        if seenLabel {
          throw RuntimeError("positional arguments must come before labelled ones in the call to `\(functionName)`",
                             code: "argument_error", details: .int(a))
        }
        while nextPositional < parameters.count, sources[nextPositional] != nil, nextPositional != variadicIndex {
          nextPositional += 1
        }
        if let v = variadicIndex, nextPositional >= v {
          variadic.append(a)
          continue
        }
        guard nextPositional < parameters.count else {
          throw RuntimeError(
            "`\(functionName)` takes \(parameters.count == 0 ? "no" : "at most \(parameters.count)") argument\(parameters.count == 1 ? "" : "s"), but \(labels.count) \(labels.count == 1 ? "was" : "were") given",
            code: "argument_error", details: .int(a))
        }
        sources[nextPositional] = .argument(a)
        nextPositional += 1
      }
    }
    var result: [Source] = []
    for (p, param) in parameters.enumerated() {
      if p == variadicIndex { result.append(.variadic(variadic)); continue }
      if let s = sources[p] { result.append(s); continue }
      guard param.1 else {
        throw RuntimeError("missing argument `\(param.0)` in the call to `\(functionName)`", code: "argument_error")
      }
      result.append(.defaultValue)
    }
    return ArgumentBinding(sources: result)
  }
}

extension Builtin {
  /// Parameters as argument binding sees them: (name, has a default, variadic).
  var bindingParameters: [(String, Bool, Bool)] { parameters.map { ($0.name, !$0.isRequired, $0.isVariadic) } }

  /// Arranges evaluated argument values into parameter order.
  func boundArguments(binding: ArgumentBinding, values: [Value]) -> Arguments {
    var ordered: [Value] = []
    ordered.reserveCapacity(parameters.count)
    var rest: [Value] = []
    for (p, source) in binding.sources.enumerated() {
      switch source {
      case .argument(let a): ordered.append(values[a])
      case .defaultValue:
        if case .value(let v) = parameters[p].defaultValue { ordered.append(v) } else { ordered.append(.null) }
      case .variadic(let idx):
        rest = idx.map { values[$0] }
        ordered.append(.null)
      }
    }
    return Arguments(values: ordered, rest: rest, builtin: self)
  }
}
