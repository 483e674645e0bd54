import Foundation
import RunbookLanguage
import RunbookLive
import RunbookRuntime
import RunbookServices
import RunbookSimulator

/// A runbook and the params it runs with, as the command line gave them.
struct Invocation {
  var file: String
  var strings: [String: String]
  var values: [String: Value]
  var paramsFile: String?

  /// Params of type `secret`, and params whose names look secret (defence in depth).
  var secretNames: Set<String> = []

  var absolutePath: String { URL(fileURLWithPath: file).standardizedFileURL.path }

  func isSecret(_ name: String) -> Bool { secretNames.contains(name) || SecretNames.looksSecret(name) }

  /// Params as recorded in plans and journals: secret ones redacted.
  var recordedParams: [String: String] {
    strings.reduce(into: [:]) { o, p in o[p.key] = isSecret(p.key) ? JournalHistory.redacted : p.value }
  }
  var redactedNames: [String] { strings.keys.filter(isSecret).sorted() }

  /// Compiles the runbook and binds its params (exits on errors), learning
  /// which params are secret and handing their values to the redactor.
  mutating func compile(_ session: Session, redactor: Redactor?) -> Program {
    let program = compileAndBind(session, file: file, strings: strings, values: values)
    secretNames = Journal.secretParams(of: program)
    if let redactor {
      for name in secretNames {
        if let v = strings[name] { redactor.add(v) }
        if case .string(let v)? = values[name] { redactor.add(v) }
        if case .secret(let v)? = values[name] { redactor.add(v.revealed) }
      }
    }
    return program
  }

  /// The runbook's text (exit 2 when unreadable).
  func source() -> String {
    guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
      Console.err("error: cannot read `\(file)`\n")
      terminate(.usage)
    }
    return text
  }
}

/// The live services from the environment (endpoints, credentials, time scale).
func connectLive(_ invocation: Invocation) -> LiveServices {
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
  for (k, v) in invocation.strings where SecretNames.looksSecret(k) { live.redactor.add(v) }
  return live
}

/// The tenant a live run talks to, as the environment names it.
var liveTenantID: String { ProcessInfo.processInfo.environment["AZURE_TENANT_ID"] ?? "default" }

/// A plan: the runbook run against services whose changes are simulated,
/// every change recorded with the service writes that make it.
struct PlanRun {
  let recorder: PlanRecorder
  let writes: PlannedWrites
  let outcome: RunOutcome
  /// The invocation, with its secret params known once compiled.
  let invocation: Invocation

  var failed: Bool { outcome.error != nil }
  var summary: PlanSummary { recorder.summary }
  var changeCount: Int { summary.toAdd + summary.toChange + summary.toDestroy }

  /// Runs the runbook against `services` (a simulated world, or a live
  /// overlay), streaming its steps to `output`. Ctrl-C stops the plan at
  /// the next step or call (nothing real changes in a plan).
  static func run(_ invocation: Invocation, on services: ServiceSet, output: RunOutput, redactor: Redactor? = nil,
                  interruption: Interruption) -> PlanRun {
    var invocation = invocation
    let writes = PlannedWrites()
    let gated = GatedServices(services, gate: writes)
    let registry = CoreBuiltins.makeRegistry()
    let recorder = PlanRecorder()
    registerDomainBuiltins(into: registry, services: gated.services, recorder: recorder, sensitive: { redactor?.add($0) })
    recorder.onEvent = { output.handle($0) }
    let session = Session(registry: registry, host: ReportingHost(recorder: recorder, output: output))
    let program = invocation.compile(session, redactor: redactor)
    nonisolated(unsafe) let running = session
    interruption.handle(
      first: {
        Console.err("\ninterrupted: stopping the plan (Ctrl-C again to stop at once); nothing real was changed\n")
        running.cancel()
      },
      second: { Console.err("\nstopped at once; nothing real was changed\n") })
    let outcome = session.run(program)
    return PlanRun(recorder: recorder, writes: writes, outcome: outcome, invocation: invocation)
  }

  /// How the plan ends the process.
  func exitStatus(detailedExitcode: Bool) -> ExitStatus {
    if let error = outcome.error { return error.code == "interrupted" ? .interrupted : .runbookFailed }
    return detailedExitcode && changeCount > 0 ? .changesPending : .success
  }

  /// The plan's summary and outputs (text), or its last events (JSON).
  func finish(_ output: RunOutput, detailedExitcode: Bool = false) {
    output.finish(summary: summary, outcome: outcome, applied: false, exit: exitStatus(detailedExitcode: detailedExitcode))
  }

  /// The plan file for `--out`.
  func file(mode: String, source: String, reads: [ReadFingerprint]) -> PlanFile {
    var outcomeRecord = PlanFile.Outcome(succeeded: outcome.error == nil)
    if let e = outcome.error {
      outcomeRecord.step = e.stepName
      outcomeRecord.errorCode = e.code
      outcomeRecord.errorMessage = e.message
      if let r = e.range {
        outcomeRecord.file = r.file.path
        outcomeRecord.line = r.startLocation.line
        outcomeRecord.column = r.startLocation.column
      }
    }
    return PlanFile(
      createdAt: iso8601(Int(Date().timeIntervalSince1970 * 1000)), mode: mode, source: source,
      runbookPath: invocation.absolutePath, runbookFingerprint: PlanFile.fingerprint(ofSource: invocation.source()),
      params: invocation.recordedParams, redactedParams: invocation.redactedNames,
      paramsFile: invocation.paramsFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, steps: recorder.steps,
      writes: writes.entries, reads: reads, outputs: outcome.outputs.map { ($0.name, $0.value.repr) }, outcome: outcomeRecord)
  }
}

/// Prints a run's final error (redacted) after its output, then why the
/// run stopped.
func reportFailure(_ error: RuntimeError, redactor: Redactor?, _ explanation: String) {
  var e = error
  if let redactor { e.message = redactor.redact(e.message) }
  Console.printDiagnostics([e.diagnostic])
  Console.err(explanation + "\n")
}

/// Writes a JSON document for people to read and review (sorted keys, indented).
func writePrettyJSON(_ json: WireJSON, to path: String, what: String) {
  let data = Data(json.text.utf8)
  var out = data
  if let object = try? JSONSerialization.jsonObject(with: data),
    let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
  {
    out = pretty + Data("\n".utf8)
  }
  do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
    Console.err("error: cannot write the \(what) to `\(path)`: \(error.localizedDescription)\n")
    terminate(.usage)
  }
}

// MARK: - Approval

/// Asks once, before the first change, as `terraform apply` does: the
/// summary, every destructive change, then "Only 'yes' will be accepted".
/// `--yes` answers for automation; without a terminal and without it, the
/// apply is refused before anything changed.
func approve(_ steps: [StepRecord], summary: PlanSummary, yes: Bool, output: RunOutput, interruption: Interruption) {
  let changes = steps.flatMap { $0.calls.flatMap(\.changes) }
  guard !changes.isEmpty else { return }
  let destructive = changes.filter { $0.action == .delete }
  var text = "\n\(summary.planLine)\n"
  if !destructive.isEmpty {
    text += "\nDestructive changes (\(destructive.count)):\n"
    for c in destructive { text += "  - \(c.address)\n" }
  }
  func approved(by: String) {
    output.event("approval", [("approved", .bool(true)), ("by", .string(by)), ("changes", .int(changes.count)),
                              ("destroy", .int(destructive.count))])
  }
  if yes {
    Console.err(text + "Approved with --yes.\n\n")
    approved(by: "--yes")
    return
  }
  guard isatty(STDIN_FILENO) != 0 else {
    Console.err(text + "\nerror: refusing to apply \(changes.count) change(s) without approval: there is no terminal to ask on; pass --yes to approve in automation. Nothing was changed.\n")
    output.event("approval", [("approved", .bool(false)), ("by", .null), ("changes", .int(changes.count)),
                              ("destroy", .int(destructive.count))])
    terminate(.runbookFailed)
  }
  let cancelled: @Sendable () -> Void = {
    Console.err("\n\nApply cancelled (Ctrl-C at the approval). Nothing was changed.\n")
    terminate(.interrupted)
  }
  interruption.handle(first: cancelled, second: cancelled)
  Console.err(text + """

    Do you want to perform these actions?
      runbook will perform the actions described above.
      Only 'yes' will be accepted to approve.

      Enter a value: 
    """)
  let answer = readLine()?.trimmingCharacters(in: .whitespaces) ?? ""
  guard answer == "yes" else {
    Console.err("\nApply cancelled (the answer was not 'yes'). Nothing was changed.\n")
    terminate(.runbookFailed)
  }
  Console.err("\n")
  approved(by: "terminal")
}

// MARK: - Apply

/// Makes a plan's changes live: the runbook runs again against the real
/// services, every change checked against the plan before it is sent and
/// journaled around it; the first divergence stops the run before it.
struct Apply {
  var invocation: Invocation
  var planned: [PlannedWrites.Entry]
  var journalPath: String?
  var resumePath: String?
  /// The plan file this apply makes (journaled, for `--resume`).
  var planPath: String?

  func run(live: LiveServices, history: JournalHistory?, previouslyApplied: (done: Set<Int>, idMap: [String: String]),
           output: RunOutput, interruption: Interruption) -> Never {
    for id in history?.createdIDs ?? [] { live.rest.noteCreated(id) }
    let path = resumePath ?? journalPath ?? Self.defaultJournalPath()
    let journal: Journal
    do { journal = try Journal(path: path, redactor: live.redactor) } catch {
      Console.err("error: \(error)\n")
      terminate(.usage)
    }
    Console.err("journal: \(path)\n")
    let resumeCommand = planPath.map { "runbook apply \(shellQuote($0)) --resume \(shellQuote(path))" }
      ?? "runbook run --live --resume \(shellQuote(path))"
    if let history, !history.inDoubt.isEmpty {
      Console.err("resuming: \(history.inDoubt.count) change(s) were sent but never answered; the run checks them by natural key:\n")
      for d in history.inDoubt { Console.err("  ? \(d.op) \(d.key)\n") }
    }
    let guardian = PlanGuard(planned: planned, done: previouslyApplied.done, idMap: previouslyApplied.idMap,
                             resuming: resumePath != nil && planPath != nil)
    guardian.onApplied = { index, created in
      journal.append("applied", ["plan_index": WireJSON(index), "created_id": WireJSON(created)])
    }
    let journaled = JournaledServices(live.services, journal: journal, resuming: history)
    let gated = GatedServices(journaled.services, gate: guardian)
    let registry = CoreBuiltins.makeRegistry()
    let recorder = PlanRecorder()
    let redactor = live.redactor
    registerDomainBuiltins(into: registry, services: gated.services, recorder: recorder, sensitive: { redactor.add($0) })
    // Steps are journaled too (with the step they run inside: a called
    // runbook's steps nest under the caller's), so a journal reads like the plan.
    recorder.onEvent = { event in
      switch event {
      case .stepStarted(let step):
        journal.append("step_started", ["step": WireJSON(step.name), "parent": WireJSON(step.parent),
                                        "depth": WireJSON(step.depth)])
      case .stepFinished(let step):
        journal.append("step_finished", ["step": WireJSON(step.name), "parent": WireJSON(step.parent),
                                         "depth": WireJSON(step.depth), "status": .string(step.status.rawValue)])
      default: break
      }
      output.handle(event)
    }
    let session = Session(registry: registry, host: ReportingHost(recorder: recorder, output: output))
    var invocation = self.invocation
    let program = invocation.compile(session, redactor: redactor)
    journal.append(resumePath == nil ? "run" : "resume", [
      "runbook": .string(invocation.absolutePath),
      "params": .object(invocation.recordedParams.mapValues { .string($0) }),
      "params_file": WireJSON(invocation.paramsFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }),
      "plan": WireJSON(planPath),
    ])

    // Ctrl-C stops after the change in flight is answered and journaled; a
    // second Ctrl-C ends the process at once, the journal still whole
    // (a change sent but not answered is checked by natural key on resume).
    nonisolated(unsafe) let running = session
    interruption.handle(
      first: {
        Console.err("\ninterrupted: stopping after the change in flight (Ctrl-C again to stop at once)\n")
        running.cancel()
      },
      second: {
        journal.appendLast("end", ["status": .string("failed"),
                               "error": ["code": .string("interrupted"), "message": .string("stopped at once by a second Ctrl-C")]])
        Console.err("\nstopped at once; the journal \(path) records what was done.\nThe run stopped; continue it with: \(resumeCommand)\n")
      })
    var outcome = session.run(program)
    let divergence = guardian.checkComplete()
    if let divergence, outcome.error == nil {
      // The runbook caught the refusal or planned changes were never asked for: the apply still failed.
      outcome.error = RuntimeError(PlanGuard.error(divergence).message, code: "plan_diverged")
    }
    let exit: ExitStatus = outcome.error.map { $0.code == "interrupted" ? .interrupted : .runbookFailed } ?? .success
    let skipped = journaled.report.skipped
    if !skipped.isEmpty {
      output.say("\nResumed: \(skipped.count) change(s) the journal showed done were verified, not repeated:\n")
      for s in skipped { output.say("  = \(s)\n") }
      output.event("resumed", [("verified", .array(skipped.map { JSON.string(redactor.redact($0)) }))])
    }
    output.finish(summary: recorder.summary, outcome: outcome, applied: true, exit: exit)
    var end: [String: WireJSON] = ["status": .string(outcome.error == nil ? "succeeded" : "failed")]
    if let e = outcome.error { end["error"] = ["code": .string(e.code), "message": .string(e.message)] }
    journal.append("end", end)
    live.shutdown()
    if let error = outcome.error {
      var why = ""
      if divergence != nil && error.code != "interrupted" {
        why = "The apply stopped before the first change the plan did not foresee. Plan again, review, and apply the new plan.\n"
      }
      reportFailure(error, redactor: redactor, why + "The run stopped; continue it with: \(resumeCommand)")
    }
    terminate(exit)
  }

  static func defaultJournalPath() -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return ".runbook/journal-\(f.string(from: Date())).jsonl"
  }

  /// The plan indexes an interrupted apply made, and the ids it created.
  static func applied(in entries: [WireJSON], plan: [PlannedWrites.Entry]) -> (done: Set<Int>, idMap: [String: String]) {
    var done: Set<Int> = []
    var idMap: [String: String] = [:]
    for e in entries where e["type"]?.string == "applied" {
      guard let i = e["plan_index"]?.int, i >= 0, i < plan.count else { continue }
      done.insert(i)
      if let simulated = plan[i].createdID, let real = e["created_id"]?.string { idMap[simulated.lowercased()] = real.lowercased() }
    }
    return (done, idMap)
  }
}

func shellQuote(_ s: String) -> String {
  s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

// MARK: - run --live

/// `runbook run --live`: plans against the live tenant first (reads real,
/// writes simulated), asks once, then applies exactly that plan.
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
    var values = self.values
    var paramsFile = self.paramsFile
    var history: JournalHistory?
    var entries: [WireJSON] = []
    if let resumePath {
      do { entries = try Journal.read(path: resumePath) } catch {
        Console.err("error: \(error)\n")
        terminate(.usage)
      }
      history = JournalHistory(entries: entries)
      guard let recorded = history?.runbook else {
        Console.err("error: `\(resumePath)` is not a runbook journal (no run header)\n")
        terminate(.usage)
      }
      if let file, URL(fileURLWithPath: file).standardizedFileURL.path != recorded {
        Console.err("error: the journal records a run of `\(recorded)`, not `\(file)`\n")
        terminate(.usage)
      }
      if let planPath = entries.first(where: { $0["type"]?.string == "run" })?["plan"]?.string {
        Console.err("error: this journal records an apply of the plan `\(planPath)`; continue it with: runbook apply \(shellQuote(planPath)) --resume \(shellQuote(resumePath))\n")
        terminate(.usage)
      }
      file = recorded
      // The params file the run was started with is read again (flags win).
      if paramsFile == nil, let recordedFile = entries.first(where: { $0["type"]?.string == "run" })?["params_file"]?.string {
        paramsFile = recordedFile
        let (_, fileValues) = readParams([], recordedFile)
        for (k, v) in fileValues where strings[k] == nil && values[k] == nil { values[k] = v }
      }
      // Journaled params come back; a redacted (secret) one must be given again.
      var given = strings
      for k in values.keys where given[k] == nil { given[k] = "" }
      do { strings = try history?.resumeParams(given: given) ?? strings } catch {
        Console.err("error: \(error)\n")
        terminate(.usage)
      }
      for k in values.keys where self.strings[k] == nil { strings[k] = nil }
    }
    guard let file else {
      Console.err("error: give the runbook file (or --resume JOURNAL)\n")
      terminate(.usage)
    }
    let invocation = Invocation(file: file, strings: strings, values: values, paramsFile: paramsFile)
    let live = connectLive(invocation)
    // Objects the earlier run created may still be hidden by replication: the plan's reads retry them too.
    for id in history?.createdIDs ?? [] { live.rest.noteCreated(id) }
    let output = RunOutput(json: json, redactor: live.redactor)
    let interruption = Interruption()
    output.start(command: "run", mode: "live", runbook: invocation.absolutePath, [("world", .string(liveTenantID))])

    Console.err("Planning against the live tenant (reads only; nothing changes until you approve)...\n")
    let overlay = ReadThroughWorld(live: live.services, tenantID: liveTenantID)
    output.event("phase", [("phase", .string("plan"))])
    let plan = PlanRun.run(invocation, on: overlay.services, output: output, redactor: live.redactor,
                           interruption: interruption)
    output.event("phase_finished", [("phase", .string("plan")), ("succeeded", .bool(!plan.failed))] + RunEvents.counts(plan.summary))
    if let error = plan.outcome.error {
      plan.finish(output)
      live.shutdown()
      reportFailure(error, redactor: live.redactor,
                    error.code == "interrupted" ? "The plan was interrupted: nothing was changed."
                      : "The plan failed: nothing was changed. Fix the cause above and run again.")
      terminate(plan.exitStatus(detailedExitcode: false))
    }
    if plan.changeCount == 0 { output.say("\n\(plan.summary.planLine) Nothing to approve.\n") }
    approve(plan.recorder.steps, summary: plan.summary, yes: yes, output: output, interruption: interruption)
    // A resumed run planned again against what the earlier run left: the new
    // plan holds only what is still to do, and the journal answers what is in doubt.
    output.say("\nApplying the plan:\n")
    output.event("phase", [("phase", .string("apply"))])
    Apply(invocation: plan.invocation, planned: plan.writes.entries, journalPath: journalPath, resumePath: resumePath,
          planPath: nil)
      .run(live: live, history: history, previouslyApplied: ([], [:]), output: output, interruption: interruption)
  }
}

/// Waits scaled down for emulator runs with a faster tenant clock.
struct ScaledSleeper: Sleeper {
  let scale: Double
  func sleep(milliseconds: Int) {
    guard milliseconds > 0 else { return }
    Thread.sleep(forTimeInterval: Double(milliseconds) / 1000 / scale)
  }
}
