import RunbookLanguage
import RunbookRuntime

/// What the REPL needs from an interpreter session. The runtime's `Session`
/// conforms to it; tests use a small fake language (`repl-fixture`).
///
/// Every requirement is called on the thread that called `REPL.run()`,
/// except `cancel()`, which is called from a watcher thread while
/// `evaluate` or `load` runs and must therefore be thread-safe.
public protocol REPLSession: AnyObject {
  /// Whether `text` ends inside an unfinished construct (open brace,
  /// bracket or string), so the REPL should read another line. This is the
  /// parser's `Diagnostic.isIncompleteInput`; it must not run anything.
  func isIncomplete(_ text: String) -> Bool

  /// Runs one complete entry (one or more lines). Names it defines stay
  /// visible to later entries. Program output (`print`) is written by the
  /// session itself to standard output; the REPL flushes it afterwards.
  func evaluate(_ text: String) -> REPLEvaluation

  /// Keywords, built-in names and the names defined so far, for Tab.
  var completionNames: [String] { get }

  /// The field names of the map that `expression` (a name or a path such
  /// as `acct.tags`) evaluates to, for completion after `.`; nil when the
  /// value is unknown or not a map. Must have no side effects.
  func fields(ofExpression expression: String) -> [String]?

  /// Asks the running `evaluate` or `load` to stop soon (Ctrl-C). Called
  /// from another thread. A session should drop a pending request when the
  /// next evaluation starts.
  func cancel()

  // MARK: Meta commands

  /// `:help [name]`: help on a built-in, keyword or topic; an overview of
  /// the language when `name` is nil.
  func help(_ name: String?) -> String
  /// `:builtins`: every built-in with its signature and doc line.
  func builtinsListing() -> String
  /// `:load FILE`: runs a runbook file in this session.
  func load(path: String) -> REPLEvaluation
  /// `:load FILE name=value ...`: runs a runbook file with its params bound
  /// from the given texts. The default refuses params it cannot bind.
  func load(path: String, params: [String: String]) -> REPLEvaluation
  /// `:params`: the declared parameters and their current values.
  func paramsDescription() -> String
  /// `:plan`: the changes the session has made (or planned) so far.
  func planDescription() -> String
  /// `:state [query]`: the simulated (or live) world, optionally filtered.
  func stateDescription(query: String?) -> String
  /// `:reset`: forget all names, parameters and planned changes.
  func reset()
  /// After `:save`: the findings of a static check of the saved file, so a
  /// session whose failed entries left names behind does not silently save a
  /// runbook that cannot run.
  func check(savedFile path: String) -> [Diagnostic]
  /// The text of every secret value the session holds: an entry quoting
  /// one is never written to history.
  var secretTexts: [String] { get }
}

extension REPLSession {
  /// Sessions with no static checker find nothing to report.
  public func check(savedFile path: String) -> [Diagnostic] { [] }
  /// Sessions without secret values hold none.
  public var secretTexts: [String] { [] }

  public func load(path: String, params: [String: String]) -> REPLEvaluation {
    guard params.isEmpty else {
      return .failed([.error(":load: this session does not take params (\(params.keys.sorted().joined(separator: ", ")))", at: nil)])
    }
    return load(path: path)
  }
}

/// The outcome of one REPL entry or `:load`.
public struct REPLEvaluation: Sendable {
  /// False when the entry failed (syntax, check or runtime error).
  public var success: Bool
  /// The value to print: an expression's result. nil for statements such
  /// as `let x = 1`, which print nothing (a `nil` result is `.null`).
  public var value: Value?
  /// Errors and warnings, printed with `Diagnostic.render()`.
  public var diagnostics: [Diagnostic]
  /// The exit status a non-interactive run ends with when this entry
  /// failed (e.g. 65 for syntax errors, 70 for runtime errors).
  public var failureStatus: Int32

  public init(success: Bool, value: Value? = nil, diagnostics: [Diagnostic] = [], failureStatus: Int32 = 1) {
    self.success = success
    self.value = value
    self.diagnostics = diagnostics
    self.failureStatus = failureStatus
  }

  public static func succeeded(_ value: Value? = nil, warnings: [Diagnostic] = []) -> REPLEvaluation {
    REPLEvaluation(success: true, value: value, diagnostics: warnings)
  }

  public static func failed(_ diagnostics: [Diagnostic], status: Int32 = 1) -> REPLEvaluation {
    REPLEvaluation(success: false, diagnostics: diagnostics, failureStatus: status)
  }
}
