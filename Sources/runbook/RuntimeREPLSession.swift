import Foundation
import RunbookLanguage
import RunbookREPL
import RunbookRuntime
import RunbookServices

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
  /// The file and params of a `:load` that stopped at missing or bad params.
  private var unboundPath: String?
  private var unboundParams: [ParamInfo] = []

  /// `makeContext` is called again by `:reset` for a fresh session and world.
  init(makeContext: @escaping () -> REPLContext) {
    self.makeContext = makeContext
    self.context = makeContext()
  }

  func isIncomplete(_ text: String) -> Bool { Session.isIncomplete(text) }

  /// Entries evaluated so far; diagnostics name the entry they point into
  /// (`<entry 3>:2:5`: line 2 of the third entry), so an error inside a
  /// function typed earlier is not mistaken for a line of the current entry.
  private var entryCount = 0

  func evaluate(_ text: String) -> REPLEvaluation {
    entryCount += 1
    let outcome = session.evaluate(text, path: "<entry \(entryCount)>")
    var value: Value? = outcome.value
    // `print(x)` and `wait_for(1m)` return nil; echoing `nil` after their effect is noise.
    if case .null? = value, endsWithCallToNilBuiltin(text) { value = nil }
    return evaluation(diagnostics: outcome.diagnostics, error: outcome.error, value: value)
  }

  /// Whether the entry's last statement calls a built-in declared `-> nil`.
  private func endsWithCallToNilBuiltin(_ text: String) -> Bool {
    let unit = Parser.parse(SourceFile(path: "<repl>", text: text)).unit
    guard case .expression(let e)? = unit.statements.last?.kind else { return false }
    guard case .call(let callee, _) = e.kind, case .name(let name) = callee.kind else { return false }
    guard session.global(name) == nil, let builtin = registry[name] else { return false }
    return builtin.returns == .null
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
  var secretTexts: [String] { session.secretTexts }

  func help(_ name: String?) -> String {
    guard let name, !name.isEmpty else {
      return """
        Type runbook statements and expressions; names stay defined between entries, and an
        unfinished block (`step "name" {`) continues on the `...>` prompt. Built-ins that call
        services run against the simulated world: nothing real changes.
        Tab completes names, and fields after `.` (acct.<Tab>). :help NAME shows a built-in.
        """
    }
    if let b = registry[name] { return "\(b.signature)\n  \(b.doc)\n  category: \(b.category), effect: \(b.effect.rawValue)" }
    if let k = Keyword(rawValue: name) { return "keyword `\(k.rawValue)`: \(k.help)" }
    if let v = session.global(name) { return "\(name): \(v.typeName) = \(v.repr)" }
    let known = registry.builtins.keys.sorted() + Keyword.allCases.map(\.rawValue) + session.globalNames
    return "no built-in, keyword or name called `\(name)`\(didYouMean(name, in: known))"
  }

  func builtinsListing() -> String {
    registry.all.map { "\($0.signature)\n    \($0.doc)" }.joined(separator: "\n")
  }

  func load(path: String) -> REPLEvaluation { load(path: path, params: [:]) }

  func load(path: String, params: [String: String]) -> REPLEvaluation {
    // Params are checked in a scratch session first: compiling in the REPL's
    // session marks the file loaded and declares its names, so a `:load`
    // refused for missing params could not be retried with them.
    let probe = Session(registry: registry, host: SilentHost())
    let (probeProgram, probeDiagnostics) = probe.compile(path: path)
    guard let probeProgram else { return .failed(probeDiagnostics, status: ExitStatus.invalidRunbook.rawValue) }
    var problems: [Diagnostic] = probe.bindParams(probeProgram, strings: params)
    if !problems.isEmpty {
      let program = probeProgram
      let diagnostics: [Diagnostic] = []
      unboundPath = path
      unboundParams = program.params
      // The runtime's advice is for the command line; in the REPL, params follow the file name.
      for i in problems.indices {
        let message: String = problems[i].message
        problems[i].message = message.replacingOccurrences(of: "; pass it with --param ", with: "; pass it as :load FILE ")
      }
      var usage: [String] = [RuntimeREPLSession.displayPath(path)]
      for p in program.params where p.isRequired && params[p.name] == nil { usage.append(p.name + "=VALUE") }
      let hint: String = ":load " + usage.joined(separator: " ") + " runs it with its params (:params lists them)"
      problems.append(Diagnostic.error(hint, at: nil))
      return .failed(diagnostics + problems, status: ExitStatus.usage.rawValue)
    }
    unboundPath = nil
    unboundParams = []
    let (compiled, diagnostics) = session.compile(path: path)
    guard let program = compiled else { return .failed(diagnostics, status: ExitStatus.invalidRunbook.rawValue) }
    let bindProblems = session.bindParams(program, strings: params)
    if !bindProblems.isEmpty { return .failed(diagnostics + bindProblems, status: ExitStatus.usage.rawValue) }
    loadedParams += program.params
    let outcome = session.run(program)
    return evaluation(diagnostics: outcome.diagnostics, error: outcome.error, value: nil)
  }

  func paramsDescription() -> String {
    var lines: [String] = []
    for p in loadedParams {
      let value: String = session.global(p.name).map { " = " + $0.repr } ?? ""
      let doc: String = p.doc.map { "    # " + $0 } ?? ""
      lines.append(p.name + ": " + p.type.rawValue + value + doc)
    }
    if let path = unboundPath {
      lines.append(RuntimeREPLSession.displayPath(path) + " did not run; its params (give them as :load FILE name=value ...):")
      for p in unboundParams {
        let requirement: String = p.defaultText.map { "= " + $0 } ?? "(required)"
        let doc: String = p.doc.map { "    # " + $0 } ?? ""
        lines.append("  " + p.name + ": " + p.type.rawValue + " " + requirement + doc)
      }
    }
    if lines.isEmpty { return "no params: load a runbook with :load FILE to see its params" }
    return lines.joined(separator: "\n")
  }

  /// `path` relative to the working directory when it is inside it.
  private static func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath + "/"
    return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
  }

  func check(savedFile path: String) -> [Diagnostic] {
    Session(registry: registry, host: REPLHost(recorder: PlanRecorder())).compile(path: path).diagnostics
  }

  func planDescription() -> String { world?.planDescription() ?? "no services in this session: nothing is planned" }

  func stateDescription(query: String?) -> String {
    world?.stateDescription(query: query) ?? "no simulated world in this session"
  }

  func reset() {
    context = makeContext()
    entryCount = 0
    loadedParams = []
    unboundPath = nil
    unboundParams = []
  }
}

/// Discards output: for compiling a file only to check its params.
private final class SilentHost: InterpreterHost {
  func write(_ text: String) {}
  func stepStarted(_ name: String, range: SourceRange?) {}
  func stepFinished(_ name: String, error: RuntimeError?) {}
}
