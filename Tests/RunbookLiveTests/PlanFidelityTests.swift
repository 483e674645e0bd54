import Foundation
import RunbookEmulator
import RunbookServices
import Testing

/// A runbook, the state it runs against and its params.
struct Scenario: CustomTestStringConvertible, Sendable {
  var runbook: String
  var state: String
  var params: [String]
  var testDescription: String { "\(runbook) on \(state)" }

  static let account = [
    "--param", "subscription_id=8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", "--param", "resource_group=rg-customerinsights",
    "--param", "storage_account_name=contosolake",
  ]
  static let byol = account + ["--param", "group_prefix=contoso", "--param", "path=dir1/dir2"]
  static let prerequisites = [
    "--param", "ci_name=Contoso CI", "--param", "dataverse_name=Contoso Sales", "--param", "storage_account_name=contosolake",
    "--param", "connect=true",
  ]

  static let all: [Scenario] = [
    Scenario(runbook: "byol-setup.runbook", state: "fresh-tenant", params: byol),
    Scenario(runbook: "byol-setup.runbook", state: "fresh-tenant", params: account + ["--param", "group_prefix=contoso", "--param", "oauth_only=true"]),
    Scenario(runbook: "byol-setup.runbook", state: "configured-tenant", params: byol),
    Scenario(runbook: "byol-setup.runbook", state: "non-hns-account", params: byol),
    Scenario(runbook: "byol-setup.runbook", state: "b2b-tenant", params: byol),
    Scenario(runbook: "byol-setup.runbook", state: "group-creation-disabled", params: byol),
    Scenario(runbook: "byol-setup.runbook", state: "private-endpoint", params: byol),
    Scenario(runbook: "create-security-groups.runbook", state: "fresh-tenant", params: ["--param", "group_prefix=contoso"]),
    Scenario(runbook: "create-security-groups.runbook", state: "configured-tenant", params: ["--param", "group_prefix=contoso"]),
    Scenario(runbook: "remove-dataverse-connection.runbook", state: "uninstall-blocked", params: ["--param", "dataverse_name=Contoso Sales"]),
    Scenario(runbook: "remove-dataverse-connection.runbook", state: "journeys-connected", params: ["--param", "dataverse_name=Contoso Sales"]),
    Scenario(runbook: "remove-dataverse-connection.runbook", state: "configured-tenant", params: ["--param", "dataverse_name=Contoso Sales"]),
    Scenario(runbook: "remove-dataverse-connection.runbook", state: "attached-elsewhere", params: ["--param", "dataverse_name=Contoso Sales"]),
    Scenario(runbook: "connect-prerequisites.runbook", state: "configured-tenant", params: prerequisites),
    Scenario(runbook: "connect-prerequisites.runbook", state: "fresh-tenant", params: prerequisites),
    Scenario(runbook: "connect-prerequisites.runbook", state: "attached-elsewhere", params: prerequisites),
    Scenario(runbook: "connect-prerequisites.runbook", state: "b2b-tenant", params: prerequisites),
    Scenario(runbook: "storage-entitlement.runbook", state: "b2b-tenant", params: ["--param", "ci_name=Contoso CI"]),
    Scenario(runbook: "storage-entitlement.runbook", state: "fresh-tenant", params: ["--param", "profiles=300000"]),
    Scenario(runbook: "byol-setup.runbook", state: "restrictive-mask", params: account + ["--param", "group_prefix=contoso"]),
  ]

  static let faulted: [Scenario] = [all[0], all[1], all[7], all[10], all[13]]
}

/// Every runbook, run live against the emulator, ends in exactly the state
/// its dry run predicted.
@Suite struct PlanFidelityTests {
  /// Runs a scenario live against an emulator and compares with its dry
  /// run. A live run plans first: where the dry run fails, the live run
  /// fails the same way before changing anything.
  static func check(_ s: Scenario, faults: String? = nil, timeScale: Double = 1000) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var (dry, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    #expect(!predicted.isEmpty, "the dry run saved no state: \(dry.output)")

    let server = try Support.emulator(state: s.state, faults: faults, timeScale: timeScale)
    defer { server.shutdown() }
    if dry.status != 0 { predicted = server.emulator.stateJSON() }
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let live = try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", journal] + s.params,
                         environment: Support.environment(server, timeScale: timeScale), directory: dir).wait()
    #expect(live.status == dry.status, "live exit \(live.status) vs dry run \(dry.status)\n\(live.output)")
    #expect(Self.outputs(live.stdout) == Self.outputs(dry.stdout), "the runbook's outputs differ from the dry run's")
    let (dryCounts, liveCounts) = (Self.summaryCounts(dry.stdout), Self.summaryCounts(live.stdout))
    #expect(dryCounts != nil && dryCounts == liveCounts,
            "live counts \(liveCounts.map { "\($0)" } ?? "missing") differ from the dry run's \(dryCounts.map { "\($0)" } ?? "missing")\n\(live.output)")
    let actual = server.emulator.stateJSON()
    #expect(Support.normalized(actual) == Support.normalized(predicted), "live end state differs from the dry run's\n\(live.output)")
    let journalText = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
    if dry.status != 0 {
      #expect(Support.writes(server).isEmpty, "a failing plan sends no change: \(Support.writes(server))")
      #expect(live.output.contains("The plan failed: nothing was changed."))
    } else {
      #expect(journalText.contains("\"type\":\"end\""))
    }
    for text in [live.stdout, live.stderr, journalText] {
      #expect(!text.contains(Support.canary), "the client secret leaked")
      #expect(!text.contains("emu."), "a bearer token leaked")
    }
  }

  /// Added, changed and destroyed from a summary line: `Plan: 4 to add, 3
  /// to change, 0 to destroy.` (dry run) or `Applied: 4 added, 3 changed,
  /// 0 destroyed.` (live), the last one printed.
  static func summaryCounts(_ stdout: String) -> [Int]? {
    for line in stdout.split(separator: "\n").reversed() where line.hasPrefix("Plan: ") || line.hasPrefix("Applied: ") {
      let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
      if numbers.count == 3 { return numbers }
    }
    return nil
  }

  /// A live run on the state a live run left behind changes nothing, as
  /// the dry run of that state predicts: `0 added, 0 changed`.
  @Test(arguments: [Scenario.all[0], Scenario.all[1], Scenario.all[19]])
  func liveReRunChangesNothing(_ s: Scenario) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    var runs: [Run] = []
    for i in 0..<2 {
      let journal = dir.appendingPathComponent("journal-\(i).jsonl").path
      runs.append(try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", journal] + s.params,
                            environment: Support.environment(server), directory: dir).wait())
    }
    #expect(runs[0].status == 0 && runs[1].status == 0, "\(runs[1].output)")
    #expect(Self.summaryCounts(runs[1].stdout) == [0, 0, 0], "the re-run changed something:\n\(runs[1].output)")
  }

  /// The H1 case live: after the run, every principal other than the
  /// reader and contributor groups has exactly the effective permissions
  /// it had, on every item; the plan lists the lowered entries.
  @Test func restrictiveMaskKeepsOthersEffectiveLive() throws {
    let s = Scenario.all[19]
    #expect(s.state == "restrictive-mask")
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: s.state)
    defer { server.shutdown() }
    let before = try Self.effectiveByItem(server.emulator.stateJSON())
    let live = try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", dir.appendingPathComponent("j.jsonl").path] + s.params,
                         environment: Support.environment(server), directory: dir).wait()
    #expect(live.status == 0, "\(live.output)")
    let after = try Self.effectiveByItem(server.emulator.stateJSON())
    #expect(before.keys.sorted() == after.keys.sorted())
    let newGroups = Self.groupIDs(server.emulator.stateJSON(), prefix: "contoso-Dataverse-")
    #expect(newGroups.count == 2)
    for (path, entries) in after {
      let others = entries.filter { e in !newGroups.contains { e.key.contains($0) } }
      #expect(others == before[path], "\(path): other principals' effective permissions changed")
    }
    #expect(live.stdout.contains("lowered to keep its effective r-x"), "\(live.stdout)")
    #expect(live.stdout.contains("effective group:"), "\(live.stdout)")
  }

  /// Each item's effective permissions per entry (`group:<id>` → `r-x`) in a saved state.
  static func effectiveByItem(_ json: String) throws -> [String: [String: String]] {
    let state = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let accounts = try #require((state["azure"] as? [String: Any])?["storage_accounts"] as? [[String: Any]])
    var out: [String: [String: String]] = [:]
    for fs in (accounts[0]["filesystems"] as? [[String: Any]]) ?? [] {
      var items: [(String, String)] = [("", fs["acl"] as? String ?? "")]
      for p in (fs["paths"] as? [[String: Any]]) ?? [] { items.append((p["path"] as? String ?? "?", p["acl"] as? String ?? "")) }
      for (path, text) in items {
        let acl = try AccessControlList(parsing: text)
        var entries: [String: String] = [:]
        for e in acl.entries where e.kind != .mask {
          entries[(e.isDefault ? "default:" : "") + e.kind.rawValue + ":" + e.id] =
            acl.effectivePermissions(e.kind, id: e.id, isDefault: e.isDefault)?.text
        }
        out[path] = entries
      }
    }
    return out
  }

  static func groupIDs(_ json: String, prefix: String) -> [String] {
    guard let state = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let groups = (state["directory"] as? [String: Any])?["groups"] as? [[String: Any]]
    else { return [] }
    return groups.filter { ($0["display_name"] as? String ?? "").hasPrefix(prefix) }.compactMap { $0["id"] as? String }
  }

  /// The `Outputs:` block a run prints last.
  static func outputs(_ stdout: String) -> String {
    guard let r = stdout.range(of: "\nOutputs:\n", options: .backwards) else { return "" }
    return String(stdout[r.upperBound...])
  }

  /// An assignment made under another name and not yet visible answers
  /// 409 `RoleAssignmentExists`: ok with a note, live as in the dry run.
  @Test func roleAssignmentExistsUnderAnotherNameIsOK() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = try String(contentsOfFile: Support.state("fresh-tenant"), encoding: .utf8)
    var state = try #require(try JSONSerialization.jsonObject(with: Data(source.utf8)) as? [String: Any])
    let tenant = try #require(state["tenant"] as? [String: Any])
    let scope = "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
    var azure = try #require(state["azure"] as? [String: Any])
    azure["role_assignments"] = [[
      "name": "11111111-1111-4111-8111-111111111111", "scope": scope,
      "role_definition_id": "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/providers/Microsoft.Authorization/roleDefinitions/b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
      "principal_id": tenant["signed_in_user"] ?? "", "principal_type": "User", "created_at": tenant["now"] ?? "",
    ]]
    state["azure"] = azure
    let statePath = dir.appendingPathComponent("portal-assigned.json").path
    try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))
    let runbookPath = dir.appendingPathComponent("assign.runbook").path
    try """
      let user = current_user()
      let account = storage_account(subscription: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", resource_group: "rg-customerinsights", name: "contosolake")
      let a = step "Grant" { assign_role(principal: user, role: "Storage Blob Data Owner", scope: account.scope) }
      output name = a.name
      """.write(toFile: runbookPath, atomically: true, encoding: .utf8)
    let s = Scenario(runbook: runbookPath, state: statePath, params: [])
    let (dry, _) = try Support.dryRun(s.runbook, state: s.state, params: [], in: dir)
    #expect(dry.status == 0, "\(dry.output)")
    #expect(dry.stdout.contains("already assigned"))
    // Real time: the other assignment must stay invisible (90 s propagation) for the whole run.
    try Self.check(s, timeScale: 1)
  }

  @Test(arguments: Scenario.all)
  func liveRunEndsInTheStateTheDryRunPredicted(_ s: Scenario) throws {
    try Self.check(s)
  }

  @Test(arguments: Scenario.faulted, [1, 7, 42])
  func faultsChangeNothingInTheEndState(_ s: Scenario, seed: Int) throws {
    try Self.check(s, faults: "seed=\(seed),rate429=0.1,rate503=0.05,latency=1ms,replication=2,retry-after-ms=5")
  }
}
