import Foundation
import RunbookEmulator
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
