import Foundation
import RunbookLanguage
import RunbookLive
import RunbookRuntime
import RunbookServices

/// A run's output as it happens, for `run`, `plan`, `apply` and `snapshot`:
/// as text, each step's line when it starts and when it ends, each call's
/// result as it completes and `print` output in its place, with a progress
/// line for long built-ins when stdout is a terminal; or, with `--format
/// json`, the event stream of docs/events.md (a `start` event with the
/// schema, events with their time, a final `summary`). Every byte passes the
/// redactor. Safe from any thread (progress comes from worker threads).
final class RunOutput: @unchecked Sendable {
  let json: Bool
  private let color: Bool
  private let drawsProgress: Bool
  private let redactor: Redactor?
  private let lock = NSLock()
  private var renderer: PlanTextRenderer
  private var progressShown = false
  private var progressToldAt: UInt64 = 0
  /// The time of each event (milliseconds since the epoch).
  private let clock: @Sendable () -> Int

  init(json: Bool, redactor: Redactor? = nil,
       clock: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970 * 1000) }) {
    self.json = json
    self.redactor = redactor
    self.clock = clock
    let terminal = isatty(STDOUT_FILENO) != 0
    color = !json && terminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    drawsProgress = !json && terminal
    renderer = PlanTextRenderer(color: color)
  }

  /// The first event: what runs, and the schema of the events that follow.
  func start(command: String, mode: String, runbook: String?, _ more: [(String, JSON)] = []) {
    guard json else { return }
    emit([("event", .string("start")), ("schema", .string(RunEvents.schema)), ("command", .string(command)),
          ("mode", .string(mode)), ("runbook", runbook.map(JSON.string) ?? .null)] + more)
  }

  /// The milliseconds of a plan's `created_at` (`2026-12-01T21:30:05Z`).
  static func milliseconds(iso8601 text: String) -> Int? {
    ISO8601DateFormatter().date(from: text).map { Int($0.timeIntervalSince1970 * 1000) }
  }

  /// A recorder's event: rendered at once.
  func handle(_ event: PlanEvent) {
    if case .progress(let report) = event {
      progress(report)
      return
    }
    if json {
      emit(RunEvents.fields(event))
    } else {
      lock.withLock { writeLocked(renderer.render(event)) }
    }
  }

  /// What the runbook printed, in its place among the steps.
  func print(_ text: String) {
    if json {
      for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        emit([("event", .string("print")), ("text", .string(String(line)))])
      }
    } else {
      lock.withLock { writeLocked(text) }
    }
  }

  /// A line for people (text only): headings, where a plan was saved.
  func say(_ text: String) {
    guard !json else { return }
    lock.withLock { writeLocked(text) }
  }

  /// An event of the command itself (JSON only): `phase`, `approval`, `saved`.
  func event(_ name: String, _ fields: [(String, JSON)]) {
    guard json else { return }
    emit([("event", .string(name))] + fields)
  }

  /// The end: the summary lines (text) or the `output`, `error` and
  /// `summary` events (JSON). `applied` words the counts as done, not planned.
  func finish(summary: PlanSummary, outcome: RunOutcome, applied: Bool, exit: ExitStatus) {
    finish(summary: summary, outputs: outcome.outputs.map { ($0.name, $0.value) }, error: outcome.error, applied: applied,
           exit: exit)
  }

  func finish(summary: PlanSummary, outputs: [(String, Value)], error: RuntimeError?, applied: Bool, exit: ExitStatus) {
    if json {
      for (name, value) in outputs { emit([("event", .string("output")), ("name", .string(name)), ("value", JSON(value))]) }
      if let error { emit([("event", .string("error"))] + errorFields(error)) }
      emit([("event", .string("summary")), ("applied", .bool(applied))] + RunEvents.counts(summary) + [
        ("outputs", .object(outputs.map { ($0.0, JSON($0.1)) })), ("succeeded", .bool(error == nil)),
        ("exit_status", .int(Int(exit.rawValue))),
        ("error", error.map { .object(errorFields($0)) } ?? .null),
      ])
      return
    }
    let text = "\n" + (applied ? summary.appliedLine : summary.planLine) + "\n" + summary.stepsLine + "\n"
      + outputsText(outputs.map { (name: $0.0, value: $0.1) })
    lock.withLock { writeLocked(text) }
  }

  private func errorFields(_ e: RuntimeError) -> [(String, JSON)] {
    guard case .object(let fields) = RunEvents.error(e) else { return [] }
    return fields
  }

  // MARK: Progress

  /// A progress line on a terminal (redrawn in place, at most five times a
  /// second) or a `progress` event (at most four a second); nothing otherwise.
  private func progress(_ report: ProgressReport) {
    guard json || drawsProgress else { return }
    let now = DispatchTime.now().uptimeNanoseconds
    let interval: UInt64 = json ? 250_000_000 : 200_000_000
    let due = lock.withLock { () -> Bool in
      guard progressToldAt == 0 || now &- progressToldAt >= interval else { return false }
      progressToldAt = now
      return true
    }
    guard due else { return }
    if json {
      emit(RunEvents.fields(.progress(report)))
      return
    }
    let indent = String(repeating: "  ", count: report.depth)
    var line = "\(indent)  ... \(redactor?.redact(report.message) ?? report.message)"
    let width = Self.terminalColumns()
    if line.count >= width { line = String(line.prefix(max(10, width - 2))) + "…" }
    lock.withLock {
      Console.out("\r\u{1B}[K" + line)
      progressShown = true
    }
  }

  /// Writes text below the progress line, which goes away first.
  private func writeLocked(_ text: String) {
    guard !text.isEmpty else { return }
    let clear = progressShown ? "\r\u{1B}[K" : ""
    progressShown = false
    progressToldAt = 0
    Console.out(clear + (redactor?.redact(text) ?? text))
  }

  private func emit(_ fields: [(String, JSON)]) {
    let line = RunEvents.line(fields, time: clock())
    lock.withLock { Console.out((redactor?.redact(line) ?? line) + "\n") }
  }

  static func terminalColumns() -> Int {
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
  }
}

/// The interpreter's host for runs that report: prints go to the output in
/// their place, step boundaries to the plan recorder.
final class ReportingHost: InterpreterHost {
  let recorder: PlanRecorder
  let output: RunOutput
  init(recorder: PlanRecorder, output: RunOutput) { self.recorder = recorder; self.output = output }

  func write(_ text: String) { output.print(text) }
  func stepStarted(_ name: String, range: SourceRange?) { recorder.beginStep(name) }
  func stepFinished(_ name: String, error: RuntimeError?) { recorder.endStep(name, error: error) }
}

/// Ctrl-C for a running command: the first asks the current phase to stop
/// cleanly (`first`), a second ends the process at once (`second`, which
/// must not return). Handlers run on a dispatch queue, never in a signal
/// handler, so they may take locks and write files.
final class Interruption: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  private var onFirst: @Sendable () -> Void = {}
  private var onSecond: @Sendable () -> Void = { terminate(.interrupted) }
  private let source: DispatchSourceSignal

  init() {
    signal(SIGINT, SIG_IGN)
    source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    // Signals that arrive together are merged into one event: count each.
    source.setEventHandler { [unowned self] in
      for _ in 0..<max(1, Int(self.source.data)) { self.interrupted() }
    }
    source.resume()
  }

  /// What Ctrl-C does from now on.
  func handle(first: @escaping @Sendable () -> Void, second: @escaping @Sendable () -> Void) {
    lock.withLock {
      onFirst = first
      onSecond = second
      count = 0
    }
  }

  private func interrupted() {
    let (n, first, second) = lock.withLock { () -> (Int, @Sendable () -> Void, @Sendable () -> Void) in
      count += 1
      return (count, onFirst, onSecond)
    }
    if n == 1 { first() } else if n == 2 { second(); terminate(.interrupted) }
  }
}
