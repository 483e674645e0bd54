import Foundation
import RunbookLanguage
import RunbookLive
import RunbookRuntime
import RunbookServices

/// `runbook run --live`: the same runbook against the real REST APIs (or the
/// emulator), every change journaled, destructive built-ins confirmed.
struct LiveRun {
  var file: String?
  var strings: [String: String]
  var values: [String: Value]
  var paramsFile: String?
  var yes: Bool
  var journalPath: String?
  var resumePath: String?
  var json: Bool

  func run() -> Never {
    var file = self.file
    var strings = self.strings
    var history: JournalHistory?
    if let resumePath {
      do { history = JournalHistory(entries: try Journal.read(path: resumePath)) } catch {
        Console.err("error: \(error)\n")
        terminate(.usage)
      }
      guard let recorded = history?.runbook else {
        Console.err("error: `\(resumePath)` is not a runbook journal (no run header)\n")
        terminate(.usage)
      }
      if let file, URL(fileURLWithPath: file).standardizedFileURL.path != recorded {
        Console.err("error: the journal records a run of `\(recorded)`, not `\(file)`\n")
        terminate(.usage)
      }
      file = recorded
      do { strings = try history?.resumeParams(given: strings) ?? strings } catch {
        Console.err("error: \(error)\n")
        terminate(.usage)
      }
    }
    guard let file else {
      Console.err("error: give the runbook file (or --resume JOURNAL)\n")
      terminate(.usage)
    }

    let env = ProcessInfo.processInfo.environment
    var options = LiveServices.Options()
    options.timeScale = Double(env["RUNBOOK_TIME_SCALE"] ?? "") ?? 1
    if options.timeScale > 1 { options.sleeper = ScaledSleeper(scale: options.timeScale) }
    if env["RUNBOOK_TRACE"] == "1" { options.trace = { Console.err("  http: \($0)\n") } }
    let live: LiveServices
    do { live = try LiveServices(environment: env, options: options) } catch {
      Console.err("error: \(error)\n")
      terminate(.usage)
    }
    for (k, v) in strings where SecretNames.looksSecret(k) { live.redactor.add(v) }
    for id in history?.createdIDs ?? [] { live.rest.noteCreated(id) }

    let path = resumePath ?? journalPath ?? Self.defaultJournalPath()
    let journal: Journal
    do { journal = try Journal(path: path, redactor: live.redactor) } catch {
      Console.err("error: \(error)\n")
      terminate(.usage)
    }
    Console.err("journal: \(path)\n")
    if let history, !history.inDoubt.isEmpty {
      Console.err("resuming: \(history.inDoubt.count) change(s) were sent but never answered; the run checks them by natural key:\n")
      for d in history.inDoubt { Console.err("  ? \(d.op) \(d.key)\n") }
    }

    let journaled = JournaledServices(live.services, journal: journal, resuming: history)
    let registry = CoreBuiltins.makeRegistry()
    let recorder = PlanRecorder()
    let redactor = live.redactor
    registerDomainBuiltins(into: registry, services: journaled.services, recorder: recorder, sensitive: { redactor.add($0) })
    let guarded = confirmDestructive(registry)
    if json { recorder.onEvent = { Console.out(PlanRecorder.json($0) + "\n") } }
    let session = Session(registry: guarded, host: DryRunHost(recorder: recorder, json: json))

    let program = compileAndBind(session, file: file, strings: strings, values: values)
    let secrets = Journal.secretParams(of: program)
    for name in secrets {
      if let v = strings[name] { live.redactor.add(v) }
      if case .string(let v)? = values[name] { live.redactor.add(v) }
    }
    journal.append(resumePath == nil ? "run" : "resume", [
      "runbook": .string(URL(fileURLWithPath: file).standardizedFileURL.path),
      "params": Journal.headerParams(strings, secrets: secrets), "params_file": WireJSON(paramsFile),
    ])
    // Ctrl-C stops after the change in flight is answered and journaled; a
    // second Ctrl-C ends the process at once (the journal still resumes).
    nonisolated(unsafe) let running = session
    signal(SIGINT, SIG_IGN)
    let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    interrupt.setEventHandler {
      Console.err("\ninterrupted: stopping after the current change (Ctrl-C again to stop at once)\n")
      running.cancel()
      signal(SIGINT, SIG_DFL)
    }
    interrupt.resume()
    let outcome = withExtendedLifetime(interrupt) { session.run(program) }
    if !json {
      let summary = recorder.summary
      let applied = "Applied: \(summary.toAdd) added, \(summary.toChange) changed, \(summary.toDestroy) destroyed."
      Console.out("\n" + live.redactor.redact(recorder.renderText(color: false)).replacingOccurrences(of: summary.planLine, with: applied))
      let skipped = journaled.report.skipped
      if !skipped.isEmpty {
        Console.out("\nResumed: \(skipped.count) change(s) the journal showed done were verified, not repeated:\n")
        for s in skipped { Console.out("  = \(live.redactor.redact(s))\n") }
      }
      printOutputs(outcome.outputs)
    }
    var end: [String: WireJSON] = ["status": .string(outcome.error == nil ? "succeeded" : "failed")]
    if let e = outcome.error { end["error"] = ["code": .string(e.code), "message": .string(e.message)] }
    journal.append("end", end)
    live.shutdown()
    if let error = outcome.error {
      var e = error
      e.message = live.redactor.redact(e.message)
      Console.printDiagnostics([e.diagnostic])
      Console.err("The run stopped; continue it with: runbook run --live --resume \(path)\n")
      terminate(error.code == "interrupted" ? .interrupted : .runbookFailed)
    }
    terminate(.success)
  }

  static func defaultJournalPath() -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return ".runbook/journal-\(f.string(from: Date())).jsonl"
  }

  /// Destructive built-ins ask on a terminal; `--yes` answers for automation;
  /// without a terminal and without `--yes` they refuse.
  func confirmDestructive(_ registry: BuiltinRegistry) -> BuiltinRegistry {
    let yes = self.yes
    let guarded = BuiltinRegistry()
    for var builtin in registry.all {
      guard builtin.effect == .destructive else {
        guarded.register(builtin)
        continue
      }
      let original = builtin.implementation
      let name = builtin.name
      builtin.implementation = { args, context in
        let what = "\(name)(" + args.values.filter { $0 != .null }.map { summary($0) }.joined(separator: ", ") + ")"
        if !yes {
          guard isatty(STDIN_FILENO) != 0 else {
            throw RuntimeError(
              "\(what) is destructive; refusing without a terminal to confirm on (pass --yes to allow it)", code: "refused")
          }
          Console.err("\(what) is destructive. Proceed? [y/N] ")
          let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
          guard answer == "y" || answer == "yes" else { throw RuntimeError("\(what) was not confirmed", code: "refused") }
        }
        return try original(&args, context)
      }
      guarded.register(builtin)
    }
    return guarded
  }
}

private func summary(_ v: Value) -> String {
  if case .map(let m) = v, let n = (m["name"] ?? m["display_name"] ?? m["id"])?.asString { return Value.quote(n) }
  let r = v.repr
  return r.count > 60 ? String(r.prefix(57)) + "..." : r
}

/// Waits scaled down for emulator runs with a faster tenant clock.
struct ScaledSleeper: Sleeper {
  let scale: Double
  func sleep(milliseconds: Int) {
    guard milliseconds > 0 else { return }
    Thread.sleep(forTimeInterval: Double(milliseconds) / 1000 / scale)
  }
}
