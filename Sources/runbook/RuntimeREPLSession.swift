import Foundation
import RunbookLanguage
import RunbookREPL
import RunbookRuntime

/// What the REPL shows of the world the session runs against: the changes
/// made so far and the (simulated) state. Provided by the dry-run backend.
protocol WorldView: AnyObject {
  func planDescription() -> String
  func stateDescription(query: String?) -> String
}

/// A session with the built-ins and world it runs against.
struct REPLContext {
  let session: Session
  let registry: BuiltinRegistry
  let world: WorldView?
}

/// Connects the REPL to a real interpreter session.
final class RuntimeREPLSession: REPLSession {
  private let makeContext: () -> REPLContext
  private var context: REPLContext
  private var session: Session { context.session }
  private var registry: BuiltinRegistry { context.registry }
  private var world: WorldView? { context.world }
  private var loadedParams: [ParamInfo] = []

  /// `makeContext` is called again by `:reset` for a fresh session and world.
  init(makeContext: @escaping () -> REPLContext) {
    self.makeContext = makeContext
    self.context = makeContext()
  }

  func isIncomplete(_ text: String) -> Bool { Session.isIncomplete(text) }

  func evaluate(_ text: String) -> REPLEvaluation {
    let outcome = session.evaluate(text)
    return evaluation(diagnostics: outcome.diagnostics, error: outcome.error, value: outcome.value)
  }

  private func evaluation(diagnostics: [Diagnostic], error: RuntimeError?, value: Value?) -> REPLEvaluation {
    if diagnostics.contains(where: { $0.severity == .error }) {
      return .failed(diagnostics, status: ExitStatus.invalidRunbook.rawValue)
    }
    if let error {
      return .failed(diagnostics + [error.diagnostic],
                     status: error.code == "interrupted" ? ExitStatus.interrupted.rawValue : ExitStatus.runbookFailed.rawValue)
    }
    return .succeeded(value, warnings: diagnostics)
  }

  var completionNames: [String] {
    Keyword.allCases.map(\.rawValue) + registry.builtins.keys.sorted() + session.globalNames
  }

  /// Fields of a map reached from a top-level name through `.field` steps;
  /// nothing is evaluated, so completion has no side effects.
  func fields(ofExpression expression: String) -> [String]? {
    let parts = expression.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard let first = parts.first, var value = session.global(first) else { return nil }
    for part in parts.dropFirst() {
      guard case .map(let m) = value, let next = m[part] else { return nil }
      value = next
    }
    guard case .map(let m) = value else { return nil }
    return m.keys.compactMap { if case .string(let s) = $0.storage { return s }; return nil }
  }

  func cancel() { session.cancel() }

  func help(_ name: String?) -> String {
    guard let name, !name.isEmpty else {
      return """
        Type runbook statements and expressions; an unfinished block continues on the next line.
        Meta commands:
          :help [name]    this text, or the signature and doc of a built-in
          :builtins       list every built-in
          :load FILE      run a runbook in this session (its names stay defined)
          :params         the params of the runbooks loaded so far
          :plan           the changes made so far in this session
          :state [query]  inspect the simulated world (e.g. :state groups)
          :reset          forget all names and restore the world
          :save FILE      write this session's successful entries as a runbook
          :quit           leave (Ctrl-D does too)
        """
    }
    if let b = registry[name] { return "\(b.signature)\n  \(b.doc)\n  category: \(b.category), effect: \(b.effect.rawValue)" }
    if let k = Keyword(rawValue: name) { return "`\(k.rawValue)` is a keyword; see docs/language.md" }
    if let v = session.global(name) { return "\(name): \(v.typeName) = \(v.repr)" }
    return "no built-in, keyword or name called `\(name)`"
  }

  func builtinsListing() -> String {
    registry.all.map { "\($0.signature)\n    \($0.doc)" }.joined(separator: "\n")
  }

  func load(path: String) -> REPLEvaluation {
    let (program, diagnostics) = session.compile(path: path)
    guard let program else { return .failed(diagnostics, status: ExitStatus.invalidRunbook.rawValue) }
    let problems = session.bindParams(program, strings: [:])
    if !problems.isEmpty { return .failed(diagnostics + problems, status: ExitStatus.usage.rawValue) }
    loadedParams += program.params
    let outcome = session.run(program)
    return evaluation(diagnostics: outcome.diagnostics, error: outcome.error, value: nil)
  }

  func paramsDescription() -> String {
    if loadedParams.isEmpty { return "no params: load a runbook with :load FILE to see its params" }
    return loadedParams.map { p in
      let value = session.global(p.name).map { " = \($0.repr)" } ?? ""
      return "\(p.name): \(p.type.rawValue)\(value)\(p.doc.map { "    # \($0)" } ?? "")"
    }.joined(separator: "\n")
  }

  func planDescription() -> String { world?.planDescription() ?? "no services in this session: nothing is planned" }

  func stateDescription(query: String?) -> String {
    world?.stateDescription(query: query) ?? "no simulated world in this session"
  }

  func reset() {
    context = makeContext()
    loadedParams = []
  }
}
