import ArgumentParser
import Foundation
import RunbookLive
import RunbookRuntime
import RunbookServices
import RunbookSimulator

/// The options every command that runs a runbook takes.
struct ParamOptions: ParsableArguments {
  @Option(name: .customLong("param"), help: ArgumentHelp("A param value, as name=value. Repeatable.", valueName: "name=value"))
  var params: [String] = []

  @Option(name: .customLong("params"), help: ArgumentHelp("A JSON file with an object of param values.", valueName: "file.json"))
  var paramsFile: String?

  func invocation(file: String) -> Invocation { ParamOptions.invocation(file: file, params: params, paramsFile: paramsFile) }

  static func invocation(file: String, params: [String], paramsFile: String?) -> Invocation {
    let (strings, values) = readParams(params, paramsFile)
    return Invocation(file: file, strings: strings, values: values, paramsFile: paramsFile)
  }
}

/// A dry run against a state file (or the demo tenant): `plan --state` and `run --dry-run`.
func planOffline(_ invocation: Invocation, command: String, statePath: String?, saveStatePath: String?, out: String?,
                 json: Bool, detailedExitcode: Bool) -> Never {
  let world = Backend.loadWorld(statePath: statePath)
  let output = RunOutput(json: json)
  output.start(command: command, mode: "simulated", runbook: invocation.absolutePath,
               [("world", .string(statePath.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "demo-tenant"))])
  let plan = PlanRun.run(invocation, on: world.services, output: output, interruption: Interruption())
  plan.finish(output, detailedExitcode: detailedExitcode)
  if let saveStatePath {
    do { try world.save(path: saveStatePath) } catch {
      Console.err("error: cannot write state to `\(saveStatePath)`: \(error)\n")
      terminate(.usage)
    }
  }
  if let out {
    let source = statePath.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "demo-tenant"
    writePrettyJSON(plan.file(mode: "state", source: source, reads: []).json, to: out, what: "plan")
    output.say("\nSaved the plan to \(out). A plan made against a state file is for review; apply plans made with --live.\n")
    output.event("saved", [("plan", .string(out))])
  }
  finishPlan(plan, detailedExitcode: detailedExitcode)
}

/// Ends a plan's process: its error (after the plan's output) and exit status.
func finishPlan(_ plan: PlanRun, detailedExitcode: Bool, redactor: Redactor? = nil) -> Never {
  if let error = plan.outcome.error {
    reportFailure(error, redactor: redactor,
                  error.code == "interrupted" ? "The run was interrupted; later steps were not planned."
                    : "The run stopped at the failure above; later steps were not planned.")
  }
  terminate(plan.exitStatus(detailedExitcode: detailedExitcode))
}

// MARK: - plan

struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan", abstract: "Show what a runbook would change, against the live tenant (--live) or a state file.",
    discussion: """
      With --live every read goes to the real services and every change to a simulated copy of what was \
      read, so later steps see the simulated results of earlier ones; no change is ever sent. With --state \
      (or neither: the embedded demo tenant) the runbook runs against a simulated world, as `run --dry-run`. \
      --out saves the plan for review and `runbook apply`.
      """)

  @ArgumentParser.Argument(help: ArgumentHelp("The runbook file.", valueName: "file"), completion: .file(extensions: ["runbook"]))
  var file: String

  @OptionGroup var paramOptions: ParamOptions

  @Flag(name: .customLong("live"), help: "Read the real tenant (endpoints and credentials from the environment; see docs/live.md).")
  var live = false

  @Option(name: .customLong("state"), help: ArgumentHelp("Plan against this simulated world instead.", valueName: "state.json"))
  var statePath: String?

  @Option(name: .customLong("save-state"), help: ArgumentHelp("Write the simulated world after the plan here (not with --live; see `snapshot`).", valueName: "out.json"))
  var saveStatePath: String?

  @Option(name: .customLong("out"), help: ArgumentHelp("Save the plan here (versioned JSON) for review and `runbook apply`.", valueName: "plan.json"))
  var out: String?

  @Option(name: .customLong("format"), help: "Output format: text or json (one event per line).")
  var format: RunCommand.OutputFormat = .text

  @Flag(name: .customLong("detailed-exitcode"), help: "Exit 4 when the plan succeeds with changes pending.")
  var detailedExitcode = false

  func validate() throws {
    if live && statePath != nil { throw ValidationError("--live and --state exclude each other") }
    if live && saveStatePath != nil { throw ValidationError("--save-state needs a simulated world; to save what --live read, use `runbook snapshot`") }
  }

  func run() throws {
    let invocation = paramOptions.invocation(file: file)
    let json = format == .json
    guard live else {
      planOffline(invocation, command: "plan", statePath: statePath, saveStatePath: saveStatePath, out: out, json: json,
                  detailedExitcode: detailedExitcode)
    }
    let services = connectLive(invocation)
    let overlay = ReadThroughWorld(live: services.services, tenantID: liveTenantID)
    let output = RunOutput(json: json, redactor: services.redactor)
    output.start(command: "plan", mode: "live", runbook: invocation.absolutePath, [("world", .string(liveTenantID))])
    let plan = PlanRun.run(invocation, on: overlay.services, output: output, redactor: services.redactor,
                           interruption: Interruption())
    plan.finish(output, detailedExitcode: detailedExitcode)
    if let out {
      writePrettyJSON(plan.file(mode: "live", source: liveTenantID, reads: overlay.reads).json, to: out, what: "plan")
      if plan.failed {
        output.say("\nSaved the plan to \(out). It ends in a failure, so it cannot be applied.\n")
      } else {
        output.say("\nSaved the plan to \(out) (\(overlay.reads.count) reads fingerprinted). Review it with `runbook show \(shellQuote(out))`; apply exactly it with `runbook apply \(shellQuote(out))`.\n")
      }
      output.event("saved", [("plan", .string(out)), ("reads", .int(overlay.reads.count))])
    }
    services.shutdown()
    finishPlan(plan, detailedExitcode: detailedExitcode, redactor: services.redactor)
  }
}

// MARK: - snapshot

struct SnapshotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot", abstract: "Save the slice of the live tenant a runbook reads as a state file, for offline rehearsal.",
    discussion: """
      Runs the runbook as `plan --live` does (reads real, writes simulated; nothing changes) and saves what \
      the live services answered, before the plan's own changes, as a state file: `plan --state OUT` and \
      `run --dry-run --state OUT` then rehearse offline. No credentials or tokens are written.
      """)

  @ArgumentParser.Argument(help: ArgumentHelp("The runbook file.", valueName: "file"), completion: .file(extensions: ["runbook"]))
  var file: String

  @OptionGroup var paramOptions: ParamOptions

  @Flag(name: .customLong("live"), help: "Read the real tenant (required: a snapshot is of the live tenant).")
  var live = false

  @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the state file.", valueName: "state.json"))
  var out: String

  func validate() throws {
    if !live { throw ValidationError("snapshot reads the live tenant: pass --live") }
  }

  func run() throws {
    let invocation = paramOptions.invocation(file: file)
    let services = connectLive(invocation)
    let overlay = ReadThroughWorld(live: services.services, tenantID: liveTenantID)
    let output = RunOutput(json: false, redactor: services.redactor)
    let plan = PlanRun.run(invocation, on: overlay.services, output: output, redactor: services.redactor,
                           interruption: Interruption())
    plan.finish(output)
    let state: StateFile
    do { state = try overlay.snapshot() } catch {
      Console.err("error: cannot read the signed-in user for the snapshot: \(services.redactor.redact(error.description))\n")
      terminate(.runbookFailed)
    }
    do { try World.save(state, path: out) } catch {
      Console.err("error: cannot write the snapshot to `\(out)`: \(error)\n")
      terminate(.usage)
    }
    services.shutdown()
    Console.out("\nSaved the tenant as this runbook read it (\(overlay.reads.count) reads) to \(out); rehearse offline with `runbook plan \(shellQuote(file)) --state \(shellQuote(out))`.\n")
    if let e = plan.outcome.error {
      Console.err("note: the plan itself failed (\(services.redactor.redact(e.message))); the snapshot holds what was read up to the failure.\n")
    }
    terminate(.success)
  }
}

// MARK: - show

struct ShowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Show a saved plan as `plan` printed it.")

  @ArgumentParser.Argument(help: ArgumentHelp("The plan file (from `plan --out`).", valueName: "plan.json"))
  var planPath: String

  @Option(name: .customLong("format"), help: "Output format: text, or json (the plan's events, one per line).")
  var format: RunCommand.OutputFormat = .text

  func run() throws {
    let plan = loadPlan(planPath)
    let recorder = PlanRecorder(steps: plan.steps)
    if format == .json {
      // The plan's events as the plan streamed them, at the time it was made.
      let made = RunOutput.milliseconds(iso8601: plan.createdAt) ?? 0
      let output = RunOutput(json: true, clock: { made })
      output.start(command: "show", mode: plan.mode == "live" ? "live" : "simulated", runbook: plan.runbookPath,
                   [("world", .string(plan.source)), ("plan", .string(planPath))])
      for event in recorder.events { output.handle(event) }
      var error: RuntimeError? = nil
      if !plan.outcome.succeeded {
        error = RuntimeError(plan.outcome.errorMessage ?? "", code: plan.outcome.errorCode ?? "error")
        error?.stepName = plan.outcome.step
      }
      output.finish(summary: recorder.summary, outputs: plan.outputs.map { ($0.name, Value.string($0.text)) }, error: error,
                    applied: false, exit: plan.outcome.succeeded ? .success : .runbookFailed)
      return
    }
    var head = "Plan \(planPath), made \(plan.createdAt) against "
    head += plan.mode == "live" ? "the live tenant \(plan.source)" : "the state \(plan.source)"
    head += "\nRunbook: \(plan.runbookPath)\n"
    if !plan.params.isEmpty {
      head += "Params:\n"
      for (k, v) in plan.params.sorted(by: { $0.key < $1.key }) { head += "  \(k) = \(v == "[REDACTED]" ? "(sensitive)" : v)\n" }
    }
    if let f = plan.paramsFile { head += "Params file: \(f)\n" }
    let color = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    Console.out(head + "\n" + recorder.renderText(color: color))
    if !plan.outcome.succeeded {
      let at = plan.outcome.file.map { f in " (\(f):\(plan.outcome.line ?? 0):\(plan.outcome.column ?? 0))" } ?? ""
      Console.out("\nThe plan failed\(plan.outcome.step.map { " in step \(Value.quote($0))" } ?? "")\(at): [\(plan.outcome.errorCode ?? "error")] \(plan.outcome.errorMessage ?? "")\nIt cannot be applied.\n")
    }
    if !plan.outputs.isEmpty {
      Console.out("\nOutputs (as planned; ids of objects the plan creates are simulated):\n")
      let width = plan.outputs.map(\.name.count).max() ?? 0
      for o in plan.outputs { Console.out("  \(o.name.padding(toLength: width, withPad: " ", startingAt: 0)) = \(o.text)\n") }
    }
  }
}

func loadPlan(_ path: String) -> PlanFile {
  guard let data = FileManager.default.contents(atPath: path) else {
    Console.err("error: cannot read the plan file `\(path)`\n")
    terminate(.usage)
  }
  guard let json = WireJSON.parse(data) else {
    Console.err("error: `\(path)` is not JSON; a plan file comes from `runbook plan --out`\n")
    terminate(.usage)
  }
  do { return try PlanFile(json: json) } catch {
    Console.err("error: `\(path)`: \(error)\n")
    terminate(.usage)
  }
}

// MARK: - apply

struct ApplyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply", abstract: "Make exactly the changes of a saved plan against the live tenant.",
    discussion: """
      Checks that the runbook is unchanged and that everything the plan read still reads the same, asks once \
      for approval (--yes in automation), then runs the runbook live: each change is compared with the next \
      planned change before it is sent, and the first one that differs stops the apply before it. Every \
      change is journaled; an interrupted apply continues with --resume JOURNAL.
      """)

  @ArgumentParser.Argument(help: ArgumentHelp("The plan file (from `plan --live --out`).", valueName: "plan.json"))
  var planPath: String

  @Option(name: .customLong("param"), help: ArgumentHelp("A secret param value the plan redacted, as name=value. Repeatable.", valueName: "name=value"))
  var params: [String] = []

  @Flag(name: .customLong("yes"), help: "Approve the plan's changes without asking (automation).")
  var yes = false

  @Option(name: .customLong("journal"), help: ArgumentHelp("Where to journal the changes (default .runbook/journal-<time>.jsonl).", valueName: "file.jsonl"))
  var journalPath: String?

  @Option(name: .customLong("resume"), help: ArgumentHelp("Continue the interrupted apply this journal records.", valueName: "journal.jsonl"))
  var resumePath: String?

  @Option(name: .customLong("format"), help: "Output format: text or json (one event per line).")
  var format: RunCommand.OutputFormat = .text

  func run() throws {
    let plan = loadPlan(planPath)
    guard plan.outcome.succeeded else {
      Console.err("error: this plan failed\(plan.outcome.step.map { " in step \(Value.quote($0))" } ?? ""): [\(plan.outcome.errorCode ?? "error")] \(plan.outcome.errorMessage ?? "")\nA failed plan cannot be applied: fix the cause, then plan again.\n")
      terminate(.runbookFailed)
    }
    guard plan.mode == "live" else {
      Console.err("error: this plan was made against the state file \(plan.source), not the live tenant; plan with `runbook plan FILE --live --out PLAN.json` to apply.\n")
      terminate(.runbookFailed)
    }
    guard plan.source == liveTenantID else {
      Console.err("error: this plan was made for the tenant \(plan.source), but AZURE_TENANT_ID names \(liveTenantID); plan again for this tenant.\n")
      terminate(.runbookFailed)
    }
    let invocation = self.invocation(plan)
    guard PlanFile.fingerprint(ofSource: invocation.source()) == plan.runbookFingerprint else {
      Console.err("error: `\(plan.runbookPath)` changed since the plan was made; plan again and review the new plan.\n")
      terminate(.runbookFailed)
    }
    let live = connectLive(invocation)
    var history: JournalHistory?
    var previouslyApplied: (done: Set<Int>, idMap: [String: String]) = ([], [:])
    if let resumePath {
      let entries: [WireJSON]
      do { entries = try Journal.read(path: resumePath) } catch {
        Console.err("error: \(error)\n")
        terminate(.usage)
      }
      let header = entries.first { $0["type"]?.string == "run" }
      guard let recordedPlan = header?["plan"]?.string,
        URL(fileURLWithPath: recordedPlan).standardizedFileURL.path == URL(fileURLWithPath: planPath).standardizedFileURL.path
      else {
        Console.err("error: `\(resumePath)` is not the journal of an apply of `\(planPath)`\n")
        terminate(.usage)
      }
      history = JournalHistory(entries: entries)
      previouslyApplied = Apply.applied(in: entries, plan: plan.writes)
      Console.err("resuming: \(previouslyApplied.done.count) of the plan's \(plan.writes.count) change(s) were made; the others follow.\n")
    }
    let output = RunOutput(json: format == .json, redactor: live.redactor)
    let interruption = Interruption()
    output.start(command: "apply", mode: "live", runbook: plan.runbookPath,
                 [("world", .string(plan.source)), ("plan", .string(planPath))])
    if resumePath == nil {
      checkFingerprints(plan, live: live)
      approve(plan.steps, summary: plan.summary, yes: yes, output: output, interruption: interruption)
    }
    output.event("phase", [("phase", .string("apply"))])
    Apply(invocation: invocation, planned: plan.writes, journalPath: journalPath, resumePath: resumePath,
          planPath: URL(fileURLWithPath: planPath).standardizedFileURL.path)
      .run(live: live, history: history, previouslyApplied: previouslyApplied, output: output, interruption: interruption)
  }

  /// The plan's params, the params file it named and the secret params given again now.
  func invocation(_ plan: PlanFile) -> Invocation {
    let (given, _) = readParams(params, nil)
    var strings = plan.params.filter { $0.value != "[REDACTED]" }
    for (k, v) in given { strings[k] = v }
    let missing = plan.redactedParams.filter { given[$0] == nil }
    if !missing.isEmpty {
      Console.err("error: the plan redacted the secret param\(missing.count == 1 ? "" : "s") \(missing.map { "`\($0)`" }.joined(separator: ", ")); give \(missing.count == 1 ? "it" : "them") again with --param NAME=VALUE\n")
      terminate(.usage)
    }
    var values: [String: Value] = [:]
    if let f = plan.paramsFile {
      let (_, fileValues) = readParams([], f)
      for (k, v) in fileValues where strings[k] == nil { values[k] = v }
    }
    return Invocation(file: plan.runbookPath, strings: strings, values: values, paramsFile: plan.paramsFile)
  }

  /// Reads again everything the plan read, several reads at once; any
  /// answer that changed means the plan no longer describes the tenant. The
  /// first changes in plan order are named (paths, for listing pages).
  func checkFingerprints(_ plan: PlanFile, live: LiveServices) {
    Console.err("Checking the \(plan.reads.count) reads of the plan against the tenant...\n")
    let reads = plan.reads, services = live.services
    let width = min(BoundedWork.defaultWidth, services.dataLake.maxConcurrentRequests)
    let differences = BoundedWork.map(reads.count, limit: width) { i in
      reads[i].differences(now: Result { () throws(ServiceError) in try reads[i].read.perform(on: services) })
    }
    let changed = Array(differences.joined().prefix(10))
    guard changed.isEmpty else {
      Console.err("error: the tenant changed since the plan was made; what the plan read now reads differently:\n")
      for c in changed { Console.err("  ~ \(live.redactor.redact(c))\n") }
      Console.err("Nothing was changed. Plan again, review the new plan, and apply it.\n")
      live.shutdown()
      terminate(.runbookFailed)
    }
  }
}
