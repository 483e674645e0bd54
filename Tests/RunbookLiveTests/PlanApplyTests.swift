import Foundation
import RunbookEmulator
import RunbookLive
import RunbookServices
import RunbookSimulator
import Testing

/// `plan --live` (reads real, writes simulated), saved plans, `apply`, stale
/// plans and `snapshot`, against the emulator as if it were the tenant.
@Suite struct PlanApplyTests {
  /// The summary line and the changes of a plan's text (ids of created objects vary).
  static func planLine(_ text: String) -> String {
    text.split(separator: "\n").first { $0.hasPrefix("Plan: ") }.map(String.init) ?? "(no plan line)"
  }

  /// `plan --live --out DIR/plan.json` of a scenario (or other params) against the emulator.
  static func savedPlan(_ s: Scenario, params: [String]? = nil, env: [String: String], in dir: URL) throws
    -> (path: String, run: Run)
  {
    let path = dir.appendingPathComponent("plan.json").path
    let run = try Child(["plan", "--live", Support.runbook(s.runbook), "--out", path] + (params ?? s.params),
                        environment: env, directory: dir).wait()
    return (path, run)
  }

  static func json(_ path: String) throws -> WireJSON {
    try #require(WireJSON.parse(Data(try String(contentsOfFile: path, encoding: .utf8).utf8)))
  }

  /// For every runbook and scenario: the live plan sends no change and plans
  /// what the dry run plans; applying it ends in the dry run's state; a second
  /// plan has nothing to do. A plan that fails cannot be applied.
  @Test(arguments: Scenario.all)
  func planThenApplyEndsInThePlannedState(_ s: Scenario) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (dry, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let initial = server.emulator.stateJSON()
    let (planPath, plan) = try Self.savedPlan(s, env: env, in: dir)
    #expect(Support.writes(server).isEmpty, "plan --live sent a change: \(Support.writes(server))")
    #expect(plan.status == dry.status, "plan exit \(plan.status) vs dry run \(dry.status)\n\(plan.output)")
    #expect(Self.planLine(plan.stdout) == Self.planLine(dry.stdout), "\(plan.stdout)\n---\n\(dry.stdout)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(initial))
    let saved = try Self.json(planPath)
    #expect(saved["format"]?.string == "runbook-plan/v1")
    #expect(saved["outcome"]?["status"]?.string == (dry.status == 0 ? "succeeded" : "failed"))

    let journal = dir.appendingPathComponent("j.jsonl").path
    let apply = try Child(["apply", planPath, "--yes", "--journal", journal], environment: env, directory: dir).wait()
    if dry.status != 0 {
      #expect(apply.status == 1)
      #expect(apply.stderr.contains("cannot be applied"), "\(apply.output)")
      #expect(Support.writes(server).isEmpty)
      return
    }
    #expect(apply.status == 0, "\(apply.output)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted), "\(apply.output)")
    let appliedOutputs = PlanFidelityTests.outputs(apply.stdout)
    let dryOutputs = PlanFidelityTests.outputs(dry.stdout)
    #expect(appliedOutputs.isEmpty == dryOutputs.isEmpty)

    let again = try Child(["plan", "--live", "--detailed-exitcode", Support.runbook(s.runbook)] + s.params,
                          environment: env, directory: dir).wait()
    #expect(again.status == 0, "a second plan still has changes:\n\(again.output)")
    #expect(Self.planLine(again.stdout) == "Plan: 0 to add, 0 to change, 0 to destroy.")
    let planText = try String(contentsOfFile: planPath, encoding: .utf8)
    let journalText = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
    let texts: [String] = [plan.output, apply.output, planText, journalText]
    for text in texts {
      #expect(!text.contains(Support.canary), "the client secret leaked")
      #expect(!text.contains("emu."), "a bearer token leaked")
    }
  }

  /// A group with the planned name appears between plan and apply: the apply
  /// refuses before any change (the plan's reads no longer match) and creates
  /// no second group.
  @Test func aStalePlanIsRefusedBeforeAnyChange() throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let (planPath, plan) = try Self.savedPlan(s, env: env, in: dir)
    try #require(plan.status == 0, "\(plan.output)")

    try server.emulator.mutateWorld { world in
      _ = try world.createGroup(displayName: "contoso-Dataverse-readers", mailNickname: "contoso-Dataverse-readers",
                                description: nil, owners: [])
    }
    let apply = try Child(["apply", planPath, "--yes"], environment: env, directory: dir).wait()
    #expect(apply.status == 1)
    #expect(apply.stderr.contains("the tenant changed since the plan was made"), "\(apply.output)")
    #expect(apply.stderr.contains("groups(displayName: \"contoso-Dataverse-readers\")"), "names what differs: \(apply.output)")
    #expect(Support.writes(server).isEmpty, "a stale plan changes nothing: \(Support.writes(server))")
    let groups = try server.emulator.mutateWorld { $0.group(named: "contoso-Dataverse-readers") }
    #expect(groups.count == 1)
  }

  /// An ACL entry removed between plan and apply is drift too.
  @Test func aRemovedACLEntryIsDrift() throws {
    let s = Scenario.all[2]  // configured tenant
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let (planPath, plan) = try Self.savedPlan(s, params: Scenario.account + ["--param", "group_prefix=contoso"], env: env, in: dir)
    try #require(plan.status == 0, "\(plan.output)")
    try server.emulator.mutateWorld { world in
      let tree = try #require(world.filesystem(account: "contosolake", name: "customerinsights"))
      let acl = tree.acl(0)
      tree.setACL(0, AccessControlList(acl.entries.filter { !($0.isNamed && !$0.isDefault) }))
    }
    let apply = try Child(["apply", planPath, "--yes"], environment: env, directory: dir).wait()
    #expect(apply.status == 1, "\(apply.output)")
    #expect(apply.stderr.contains("accessControl(account: \"contosolake\""), "\(apply.output)")
    #expect(Support.writes(server).isEmpty)
  }

  /// The per-change guard: a plan whose recorded change differs from what the
  /// runbook asks for stops the apply before that change; the changes before
  /// it are made, nothing after it.
  @Test func theApplyStopsBeforeTheFirstUnplannedChange() throws {
    let s = Scenario.all[7]  // create-security-groups on a fresh tenant
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let (planPath, plan) = try Self.savedPlan(s, env: env, in: dir)
    try #require(plan.status == 0, "\(plan.output)")
    // Tamper with a planned change: the contributors group under another name.
    var saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planPath))) as? [String: Any])
    var writes = try #require(saved["writes"] as? [[String: Any]])
    let i = try #require(writes.firstIndex { ($0["args"] as? [String: Any])?["displayName"] as? String == "contoso-Dataverse-contributors" })
    var args = try #require(writes[i]["args"] as? [String: Any])
    args["displayName"] = "contoso-Dataverse-writers"
    writes[i]["args"] = args
    saved["writes"] = writes
    try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: planPath))

    let apply = try Child(["apply", planPath, "--yes", "--journal", dir.appendingPathComponent("j.jsonl").path],
                          environment: env, directory: dir).wait()
    #expect(apply.status == 1, "\(apply.output)")
    #expect(apply.output.contains("differs from the plan's change"), "\(apply.output)")
    #expect(apply.output.contains("planned: createGroup"))
    #expect(apply.output.contains("contoso-Dataverse-writers"))
    #expect(apply.output.contains("Plan again"))
    let sent = Support.writes(server)
    let groupCreations = sent.filter { $0 == "POST /v1.0/groups" }
    #expect(groupCreations.count == 1, "only the group before the divergence was created: \(sent)")
    let contributors = try server.emulator.mutateWorld { $0.group(named: "contoso-Dataverse-contributors") }
    #expect(contributors.isEmpty, "the diverging change was not sent")
  }

  /// An apply killed mid-way continues with `apply PLAN --resume JOURNAL`:
  /// the changes made are not made again, the rest are, and it ends in the
  /// planned state with no duplicates.
  @Test(arguments: [2, 5])
  func aKilledApplyResumesToThePlannedState(applied: Int) throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (_, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let server = try Support.emulator(state: s.state, faults: "latency=80ms")
    defer { server.shutdown() }
    let env = Support.environment(server)
    let journal = dir.appendingPathComponent("j.jsonl").path
    let (planPath, plan) = try Self.savedPlan(s, env: env, in: dir)
    try #require(plan.status == 0, "\(plan.output)")
    let first = try Child(["apply", planPath, "--yes", "--journal", journal], environment: env, directory: dir)
    let deadline = Date().addingTimeInterval(90)
    while Date() < deadline && first.process.isRunning {
      let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
      if text.components(separatedBy: "\"type\":\"applied\"").count - 1 >= applied { break }
      usleep(2_000)
    }
    first.kill()
    let killed = first.wait(seconds: 10)
    #expect(killed.status != 0, "the apply should have been killed mid-way: \(killed.output)")

    let resumed = try Child(["apply", planPath, "--resume", journal], environment: env, directory: dir).wait(seconds: 120)
    #expect(resumed.status == 0, "\(resumed.output)")
    #expect(resumed.stderr.contains("resuming:"), "\(resumed.output)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted), "\(resumed.output)")
    let groups = try server.emulator.mutateWorld { w in
      w.group(named: "contoso-Dataverse-readers") + w.group(named: "contoso-Dataverse-contributors")
    }
    #expect(groups.count == 2, "no group was created twice")
  }

  /// A live run journals its steps, a called runbook's nested under the caller's.
  @Test func aCalledRunbooksStepsAreJournaledUnderTheCallersStep() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: "fresh-tenant")
    defer { server.shutdown() }
    let parent = dir.appendingPathComponent("parent.runbook").path
    try """
      let made = step "Set up the groups" {
        runbook "\(Support.runbook("create-security-groups.runbook"))"(group_prefix: "contoso")
      }
      output reader = made.reader_group_id
      """.write(toFile: parent, atomically: true, encoding: .utf8)
    let journal = dir.appendingPathComponent("j.jsonl").path
    let run = try Child(["run", "--live", "--yes", parent, "--journal", journal], environment: Support.environment(server),
                        directory: dir).wait()
    #expect(run.status == 0, "\(run.output)")
    let entries = try Journal.read(path: journal)
    let started = entries.filter { $0["type"]?.string == "step_started" }
    #expect(started.first?["step"]?.string == "Set up the groups")
    let nested = started.filter { $0["parent"]?.string == "Set up the groups" }
    #expect(!nested.isEmpty, "the called runbook's steps nest under the caller's: \(started)")
    #expect(nested.allSatisfy { $0["depth"]?.int == 1 })
    let finished = entries.filter { $0["type"]?.string == "step_finished" }
    #expect(finished.count == started.count)
  }

  /// Without a terminal and without --yes, nothing is changed.
  @Test func applyWithoutApprovalChangesNothing() throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let (planPath, _) = try Self.savedPlan(s, env: env, in: dir)
    let apply = try Child(["apply", planPath], environment: env, directory: dir).wait()
    #expect(apply.status == 1)
    #expect(apply.stderr.contains("refusing to apply"), "\(apply.output)")
    #expect(apply.stderr.contains("Nothing was changed."))
    #expect(Support.writes(server).isEmpty)
  }

  /// The removal runbook where two solutions outside the removal depend on
  /// it: the plan fails naming every blocker, and nothing is uninstalled.
  @Test func aBlockedRemovalNamesEveryBlockerAndUninstallsNothing() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = try String(contentsOfFile: Support.state("uninstall-blocked"), encoding: .utf8)
    var state = try #require(try JSONSerialization.jsonObject(with: Data(source.utf8)) as? [String: Any])
    var pp = try #require(state["power_platform"] as? [String: Any])
    var envs = try #require(pp["environments"] as? [[String: Any]])
    var solutions = try #require(envs[0]["solutions"] as? [[String: Any]])
    solutions.append([
      "id": "5d0e6f7a-8b9c-4d1e-8f2a-3b4c5d6e7f80", "unique_name": "FabrikamTimeline", "friendly_name": "Fabrikam Timeline",
      "version": "1.0.0.0", "is_managed": true, "publisher": "Fabrikam",
    ])
    envs[0]["solutions"] = solutions
    var deps = try #require(envs[0]["dependencies"] as? [[String: Any]])
    deps.append([
      "dependency_type": 2, "dependent_component": "Timeline card", "dependent_component_type": 60,
      "dependent_solution": "FabrikamTimeline", "required_component": "msdynci_alternatekey", "required_component_type": 1,
      "required_solution": "msdyn_CustomerInsightsDataTables",
    ])
    envs[0]["dependencies"] = deps
    pp["environments"] = envs
    state["power_platform"] = pp
    let statePath = dir.appendingPathComponent("two-blockers.json").path
    try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))

    let server = try Support.emulator(state: statePath)
    defer { server.shutdown() }
    let before = server.emulator.stateJSON()
    let run = try Child(["run", "--live", "--yes", Support.runbook("remove-dataverse-connection.runbook"),
                         "--param", "dataverse_name=Contoso Sales"], environment: Support.environment(server), directory: dir).wait()
    #expect(run.status == 1, "\(run.output)")
    #expect(run.output.contains("The plan failed: nothing was changed."))
    #expect(run.output.contains("ContosoCustomizations"), "every blocker: \(run.output)")
    #expect(run.output.contains("FabrikamTimeline"), "every blocker: \(run.output)")
    #expect(run.stdout.contains("Timeline card"))
    #expect(run.stdout.contains("Contoso Customer Card"))
    #expect(Support.writes(server).isEmpty, "\(Support.writes(server))")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(before))
  }

  /// `snapshot` saves what the runbook read (no secrets); planning against it
  /// offline gives the same plan as planning live.
  @Test func aSnapshotRehearsesOfflineAsThePlanLive() throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let snapshotPath = dir.appendingPathComponent("snapshot.json").path
    let snap = try Child(["snapshot", "--live", Support.runbook(s.runbook), "--out", snapshotPath] + s.params,
                         environment: env, directory: dir).wait()
    #expect(snap.status == 0, "\(snap.output)")
    #expect(Support.writes(server).isEmpty)
    let text = try String(contentsOfFile: snapshotPath, encoding: .utf8)
    #expect(!text.contains(Support.canary))
    #expect(!text.contains("emu."))
    let live = try Child(["plan", "--live", Support.runbook(s.runbook)] + s.params, environment: env, directory: dir).wait()
    let offline = try Child(["plan", Support.runbook(s.runbook), "--state", snapshotPath] + s.params,
                            environment: [:], directory: dir).wait()
    #expect(offline.status == 0, "\(offline.output)")
    #expect(offline.stdout == live.stdout, "offline:\n\(offline.stdout)\nlive:\n\(live.stdout)")
  }

  /// `show` renders a saved plan as `plan` printed it; `--format json` as events.
  @Test func showRendersASavedPlan() throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let planPath = dir.appendingPathComponent("plan.json").path
    let plan = try Child(["plan", Support.runbook(s.runbook), "--state", Support.state(s.state), "--out", planPath] + s.params,
                         environment: [:], directory: dir).wait()
    #expect(plan.status == 0, "\(plan.output)")
    let show = try Child(["show", planPath], environment: [:], directory: dir).wait()
    #expect(show.status == 0)
    let steps = plan.stdout.components(separatedBy: "\nOutputs:")[0].trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(show.stdout.contains(steps), "show:\n\(show.stdout)\nplan:\n\(steps)")
    #expect(show.stdout.contains("subscription_id = 8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"))
    let events = try Child(["show", planPath, "--format", "json"], environment: [:], directory: dir).wait()
    let lines = events.stdout.split(separator: "\n").compactMap { WireJSON.parse(Data($0.utf8)) }
    let last = lines.last
    #expect(last?["event"]?.string == "summary")
    #expect(last?["add"]?.int == 11)
    // A plan against a state file is for review only.
    let apply = try Child(["apply", planPath, "--yes"], environment: [:], directory: dir).wait()
    #expect(apply.status == 1)
    #expect(apply.stderr.contains("not the live tenant"), "\(apply.output)")
  }
}
