import RunbookLanguage
import Synchronization

/// Where a running program's effects go: printed text and step boundaries.
/// The CLI prints; the dry-run planner groups built-in results by step; tests capture.
public protocol InterpreterHost: AnyObject {
  func write(_ text: String)
  func stepStarted(_ name: String, range: SourceRange?)
  func stepFinished(_ name: String, error: RuntimeError?)
}

/// A compiled function body (shared by all closures made from one `fn`).
public final class CompiledFunction: @unchecked Sendable {
  public let name: String
  init(name: String) { self.name = name }
}

/// A function value: code plus captured variables.
public final class Closure: @unchecked Sendable {
  public let code: CompiledFunction
  init(code: CompiledFunction) { self.code = code }
}

/// Runs compiled programs. One interpreter per session; a REPL keeps one alive
/// across lines so names defined earlier stay visible.
public final class Interpreter: @unchecked Sendable {
  public let host: InterpreterHost
  public let registry: BuiltinRegistry
  public let environment: [String: String]
  public internal(set) var currentStep: String?
  private let cancelled = Atomic<Bool>(false)

  public init(host: InterpreterHost, registry: BuiltinRegistry, environment: [String: String]) {
    self.host = host; self.registry = registry; self.environment = environment
  }

  /// Asks a running program to stop at the next loop iteration or call.
  public func cancel() { cancelled.store(true, ordering: .relaxed) }
  public func checkCancelled() throws {
    if cancelled.load(ordering: .relaxed) {
      cancelled.store(false, ordering: .relaxed)
      throw RuntimeError("interrupted", code: "interrupted")
    }
  }

  public func call(_ function: FunctionBox, arguments: [Value], range: SourceRange?) throws -> Value {
    throw RuntimeError("not implemented yet", code: "internal")
  }
}
