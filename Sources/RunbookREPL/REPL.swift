import Foundation
import RunbookLanguage
import RunbookRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a `REPL` reads, prompts and prints.
public struct REPLOptions: Sendable {
  /// nil: interactive when both standard input and output are terminals.
  public var interactive: Bool?
  /// The history file; nil disables persistent history. Defaults to
  /// `HistoryPolicy.historyPath(environment:)` of the process environment.
  public var historyPath: String?
  public var historyPolicy: HistoryPolicy
  public var prompt: String
  public var continuationPrompt: String
  /// Printed once when interactive (e.g. the mode and how to get help).
  public var banner: String?
  /// nil: colour diagnostics when interactive, `TERM` is not `dumb` and
  /// `NO_COLOR` is unset.
  public var color: Bool?
  /// When not interactive, stop at the first failing entry instead of
  /// running the rest (the exit status is non-zero either way).
  public var stopOnError: Bool

  public init(
    interactive: Bool? = nil,
    historyPath: String? = HistoryPolicy.historyPath(environment: ProcessInfo.processInfo.environment),
    historyPolicy: HistoryPolicy = HistoryPolicy(),
    prompt: String = "runbook> ",
    continuationPrompt: String = "...> ",
    banner: String? = nil,
    color: Bool? = nil,
    stopOnError: Bool = false
  ) {
    self.interactive = interactive
    self.historyPath = historyPath
    self.historyPolicy = historyPolicy
    self.prompt = prompt
    self.continuationPrompt = continuationPrompt
    self.banner = banner
    self.color = color
    self.stopOnError = stopOnError
  }
}

/// The read-eval-print loop: reads entries (continuing unfinished ones on
/// the continuation prompt), runs them in a `REPLSession`, prints results
/// and diagnostics, handles meta commands, and remembers successful entries
/// for `:save`.
///
///     let status = REPL(session: session, options: REPLOptions(banner: "…")).run()
///     exit(status)
public final class REPL {
  private let session: REPLSession
  private let options: REPLOptions
  private let isInteractive: Bool
  private let useColor: Bool
  /// Successful entries (and loaded files), in order, for `:save`.
  public private(set) var transcript: [String] = []

  public init(session: REPLSession, options: REPLOptions = REPLOptions()) {
    self.session = session
    self.options = options
    let interactive = options.interactive ?? (isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0)
    self.isInteractive = interactive
    let environment = ProcessInfo.processInfo.environment
    self.useColor =
      options.color ?? (interactive && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb")
  }

  /// Runs until end of input or `:quit`. Returns the exit status: 0 when
  /// interactive; when not, the failure status of the first failed entry
  /// (or 0 if all succeeded).
  public func run() -> Int32 {
    let reader: LineReader =
      isInteractive
      ? LineEditor(historyPath: options.historyPath, policy: options.historyPolicy) : PipedLineReader()
    defer { reader.close() }
    let box = UncheckedSendableBox(session)
    reader.setCompletion { word, before in
      let session = box.value
      return Completer(names: session.completionNames, fields: session.fields(ofExpression:))
        .candidates(for: word, lineBeforeWord: before)
    }
    if isInteractive, let banner = options.banner { writeOut(banner) }

    var pending: [String] = []
    var status: Int32 = 0
    func noteFailure(_ failureStatus: Int32) -> Bool {
      if status == 0 { status = failureStatus == 0 ? 1 : failureStatus }
      return !isInteractive && options.stopOnError
    }

    /// History skips an entry quoting the text of a secret the session holds
    /// (besides what `HistoryPolicy` skips).
    func recordHistory(_ entry: String) {
      let secrets = session.secretTexts
      guard !secrets.contains(where: { entry.contains($0) }) else { return }
      reader.recordHistory(entry)
    }

    loop: while true {
      let baseline = reader.interruptCount
      switch reader.read(prompt: pending.isEmpty ? options.prompt : options.continuationPrompt) {
      case .interrupted:
        pending = []
      case .endOfInput:
        // Ctrl-D inside an unfinished entry drops it; at the end of a
        // script the unfinished entry still runs, to report its error.
        if isInteractive, !pending.isEmpty {
          pending = []
          continue loop
        }
        if !pending.isEmpty {
          let result = run(pending.joined(separator: "\n"), baseline: baseline)
          if !result.success { _ = noteFailure(result.failureStatus) }
        }
        break loop
      case .line(let line):
        if pending.isEmpty, line.trimmingWhitespace().hasPrefix(":") {
          // Recorded after it ran: `:load FILE name=value` may have just made
          // one of its values a secret.
          let outcome = perform(line, baseline: baseline)
          recordHistory(line)
          switch outcome {
          case .continue: continue loop
          case .quit: break loop
          case .failed(let failureStatus): if noteFailure(failureStatus) { break loop }
          }
          continue loop
        }
        pending.append(line)
        let text = pending.joined(separator: "\n")
        if text.trimmingWhitespace().isEmpty {
          pending = []
          continue loop
        }
        if session.isIncomplete(text) { continue loop }
        pending = []
        let result = run(text, baseline: baseline)
        recordHistory(text)
        if result.success {
          transcript.append(text)
        } else if noteFailure(result.failureStatus) {
          break loop
        }
      }
    }
    return isInteractive ? 0 : status
  }

  // MARK: - Evaluation

  /// Runs `text`, printing its result and diagnostics. While it runs,
  /// Ctrl-C (a change of the reader's interrupt count since `baseline`)
  /// calls `session.cancel()`.
  private func run(_ text: String, baseline: Int?) -> REPLEvaluation {
    let result = whileWatchingInterrupts(baseline: baseline) { session.evaluate(text) }
    report(result)
    return result
  }

  private func report(_ result: REPLEvaluation) {
    fflush(nil)  // the session's own output first
    if !result.diagnostics.isEmpty {
      writeErr(result.diagnostics.map { $0.render(color: useColor) }.joined())
    }
    if let value = result.value {
      let width = isInteractive ? LineEditor.terminalColumns() : 80
      writeOut(ValueFormatter(width: width).format(value))
    }
  }

  private func whileWatchingInterrupts<T>(baseline: Int?, _ body: () -> T) -> T {
    guard let baseline, let count = currentInterruptSource() else { return body() }
    let box = UncheckedSendableBox(session)
    let watcher = InterruptWatcher(baseline: baseline, count: count) { box.value.cancel() }
    let result = body()
    watcher.stop()
    // The terminal echoed ^C without a newline; start the report on a fresh line.
    if count() != baseline { writeOut("\n") }
    return result
  }

  private func currentInterruptSource() -> (@Sendable () -> Int)? {
    guard isInteractive else { return nil }
    return { lineEditorCallbackState.interrupts.load(ordering: .sequentiallyConsistent) }
  }

  // MARK: - Meta commands

  private enum MetaOutcome { case `continue`, quit, failed(Int32) }

  private func perform(_ line: String, baseline: Int?) -> MetaOutcome {
    let command: MetaCommand
    switch MetaCommand.parse(line) {
    case .success(let parsed): command = parsed
    case .failure(.unknown(let name)):
      let suggestion = closestName(to: name, in: MetaCommand.allNames).map { "did you mean :\($0)? " } ?? ""
      writeErr("error: unknown command :\(name) (\(suggestion)try :help)\n")
      return .failed(1)
    case .failure(.missingArgument(let name)):
      writeErr("error: :\(name) needs a file name\n")
      return .failed(1)
    case .failure(.badArgument(let message)):
      writeErr("error: \(message)\n")
      return .failed(1)
    }
    switch command {
    case .help(let name):
      if let name {
        writeOut(MetaCommand.help(for: name) ?? session.help(name))
      } else {
        writeOut(session.help(nil))
        writeOut(MetaCommand.summary)
      }
    case .builtins: writeOut(session.builtinsListing())
    case .params: writeOut(session.paramsDescription())
    case .plan: writeOut(session.planDescription())
    case .state(let query): writeOut(session.stateDescription(query: query))
    case .reset:
      session.reset()
      transcript = []
      writeOut("Session reset.")
    case .quit:
      return .quit
    case .load(let file, let params):
      let path = (file as NSString).expandingTildeInPath
      let result = whileWatchingInterrupts(baseline: baseline) { session.load(path: path, params: params) }
      report(result)
      guard result.success else { return .failed(result.failureStatus) }
      let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      // The saved runbook declares the file's params again: note the values used.
      let given = params.keys.sorted().map { "--param \($0)=\(params[$0]!)" }.joined(separator: " ")
      let header = "# :load \(path)" + (given.isEmpty ? "" : "\n# (run the saved runbook with \(given))")
      transcript.append(header + "\n" + text.trimmingWhitespace() + "\n# end of \(path)")
    case .save(let file):
      let path = (file as NSString).expandingTildeInPath
      let header = "# Saved from a runbook REPL session.\n"
      let body = transcript.joined(separator: "\n") + (transcript.isEmpty ? "" : "\n")
      do {
        try (header + body).write(toFile: path, atomically: true, encoding: .utf8)
        writeOut("Saved \(transcript.count) entr\(transcript.count == 1 ? "y" : "ies") to \(path).")
        let findings = session.check(savedFile: path).filter { $0.severity == .error }
        if !findings.isEmpty {
          writeErr("warning: the saved runbook does not check cleanly (an entry that failed may have defined a name it uses):\n"
            + findings.map { $0.render(color: useColor) }.joined())
        }
      } catch {
        writeErr("error: cannot write \(path): \(error.localizedDescription)\n")
        return .failed(1)
      }
    }
    return .continue
  }

  // MARK: - Output

  /// Writes `text` (unless empty) to standard output, ending it with a newline, flushed.
  private func writeOut(_ text: String) {
    guard !text.isEmpty else { return }
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    fflush(nil)
  }

  private func writeErr(_ text: String) {
    fflush(nil)
    FileHandle.standardError.write(Data(text.utf8))
  }
}

/// Carries a non-`Sendable` reference into a `@Sendable` closure. Used for
/// the session in the completion provider (called inside `readline`, on the
/// REPL's own thread) and for `cancel()`, which sessions must make
/// thread-safe (see `REPLSession`).
final class UncheckedSendableBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// While an entry runs, polls the Ctrl-C count and calls `onInterrupt` for
/// each new press. A third press during one entry restores the default
/// SIGINT action and re-raises it, so a session that ignores `cancel()`
/// cannot trap the user.
final class InterruptWatcher: Sendable {
  private let stopped = Atomic<Bool>(false)
  private let finished = DispatchSemaphore(value: 0)

  init(baseline: Int, count: @escaping @Sendable () -> Int, onInterrupt: @escaping @Sendable () -> Void) {
    Thread.detachNewThread { [self] in
      var seen = baseline
      while !stopped.load(ordering: .sequentiallyConsistent) {
        let now = count()
        if now != seen {
          seen = now
          if now - baseline >= 3 {
            signal(SIGINT, SIG_DFL)
            kill(getpid(), SIGINT)
          }
          onInterrupt()
        }
        usleep(20_000)
      }
      finished.signal()
    }
  }

  func stop() {
    stopped.store(true, ordering: .sequentiallyConsistent)
    finished.wait()
  }
}
