import Foundation
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

@Suite("Domain built-ins: failures, validation and the other verbs")
struct DomainBuiltinTests {
  let sub = Value.string(subscriptionID)

  func account(_ h: Harness) throws -> Value {
    try h.call("storage_account", ["subscription": sub, "resource_group": "rg-customerinsights", "name": "contosolake"])
  }

  // MARK: Failure scenarios (exact service errors)

  @Test("non-HNS account: the ACL step fails with the script's hint")
  func nonHNS() throws {
    let h = Harness(world: try Scenarios.load("non-hns-account"))
    #expect(try account(h).get("is_hns_enabled") == .bool(false))
    // The container is created first (blob endpoint), then the DFS call fails.
    try h.call("ensure_container", ["account": "contosolake"])
    let e = try #require(h.failure("set_acl", ["account": "contosolake", "entries": .list(["group:\(aliceID):r-x"])]))
    #expect(e.code == "EndpointUnsupportedAccountFeatures")
    #expect(e.message == "Error setting ACLs: This endpoint does not support BlobStorageEvents or SoftDelete. Please disable these account features if you would like to use this endpoint. Please use HNS Enabled Gen2 storage account.")
    #expect(h.recorder.steps.flatMap(\.calls).last?.status == .failed)
  }

  @Test("environment attached to another CI instance: prerequisites and connect report the exact message")
  func attachedElsewhere() throws {
    let h = Harness(world: try Scenarios.load("attached-elsewhere"))
    let failures = try h.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake"])
    let messages = (failures.asList ?? []).map { $0.get("message").s }
    #expect(messages.contains("This CDS organization is already attached to another Customer Insights instance"))
    let e = try #require(h.failure("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "https://contososales.crm.dynamics.com"]))
    #expect(e.message == "This CDS organization is already attached to another Customer Insights instance")
  }

  @Test("prerequisites return every failure at once")
  func allPrerequisiteFailures() throws {
    var state = try Scenarios.load("attached-elsewhere").snapshot()
    state.azure.storageAccounts[0].privateEndpointOnly = true
    state.azure.storageAccounts[0].isHnsEnabled = false
    state.azure.storageAccounts[0].location = "westeurope"
    state.powerPlatform.environments[0].users[0].licensed = false
    state.powerPlatform.environments[0].region = "europe"
    state.powerPlatform.environments[0].linkedStorageAccount = "/subscriptions/\(subscriptionID)/resourceGroups/rg-x/providers/Microsoft.Storage/storageAccounts/otherlake"
    let h = Harness(world: try World(state: state))
    let failures = try h.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake"])
    let checks = (failures.asList ?? []).map { $0.get("check").s }
    #expect(checks == ["same_region", "license", "not_attached", "storage_region", "single_storage_account", "private_endpoint",
                       "hierarchical_namespace", "container_reader"])
    let fresh = Harness()
    #expect(try fresh.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales"]).asList?.isEmpty == true)
  }

  @Test("private endpoint: reported by the prerequisites and refused by connect")
  func privateEndpoint() throws {
    let h = Harness(world: try Scenarios.load("private-endpoint"))
    let failures = try h.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake"])
    #expect((failures.asList ?? []).map { $0.get("check").s }.contains("private_endpoint"))
    let e = try #require(h.failure("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake"]))
    #expect(e.code == "PrivateEndpointNotSupported")
  }

  @Test("uninstall blocked by a dependency names the blocking solution")
  func uninstallBlocked() throws {
    let h = Harness(world: try Scenarios.load("uninstall-blocked"))
    let env: Value = "Contoso Sales"
    for s in Scenarios.journeysSolutions.map(\.uniqueName) + ["msdyn_CustomerInsightsAnchor", "msdyn_CustomerInsightsDataTables"] {
      #expect(try h.call("uninstall_solution", ["environment": env, "solution": .string(s)]) == .bool(true))
    }
    let e = try #require(h.failure("uninstall_solution", ["environment": env, "solution": "msdyn_CustomerInsights"]))
    #expect(e.code == "0x8004F01D")
    #expect(e.message.hasPrefix("Solution dependencies exist, cannot uninstall. DependencyCount : 1\nCannot uninstall msdyn_CustomerInsights from Contoso Sales: it is required by ContosoCustomizations."))
    #expect(e.message.contains("System Form \"Contoso Customer Card\" in solution ContosoCustomizations requires Entity \"msdynci_customerprofile\" of msdyn_CustomerInsights"))
    #expect(e.details["blocking_solutions"] == .list(["ContosoCustomizations"]))
    let deps = try h.call("solution_dependencies", ["environment": env, "solution": "msdyn_CustomerInsights"])
    #expect(deps.asList?.count == 1)
  }

  @Test("get_row on a table that does not exist finds nothing: nil, and the call is ok (not failed) with a note")
  func getRowOfMissingTable() throws {
    let h = Harness(world: try Scenarios.load("configured-tenant"))
    let row = try h.call("get_row", ["environment": "Contoso Sales", "table": "msdynmkt_configuration",
                                     "where": .record(["msdynmkt_name": "CXPConfig"])])
    #expect(row == .null)
    let call = try #require(h.recorder.steps.last?.calls.last)
    #expect(call.builtin == "get_row" && call.status == .ok && call.errorCode == nil)
    #expect(call.notes == ["table msdynmkt_configuration does not exist in Contoso Sales: no row"])
    #expect(h.recorder.summary.callsFailed == 0)
  }

  @Test("remove connection: reset CXPConfig, uninstall Journeys then CI solutions; msdynci tables disappear; rerun is ok")
  func removeConnection() throws {
    let h = Harness(world: try Scenarios.load("journeys-connected"))
    let env: Value = "Contoso Sales"
    func run() throws {
      let row = try h.call("get_row", ["environment": env, "table": "msdynmkt_configuration", "where": .record(["msdynmkt_name": "CXPConfig"])])
      if row != .null, row.get("msdynmkt_cistatus") != .int(534_121_000) {
        try h.call("update_row", ["environment": env, "table": "msdynmkt_configuration", "id": row,
                                  "values": .record(["msdynmkt_cistatus": try h.call("ci_status", ["label": "NotConfigured"])])])
      }
      for s in (Scenarios.journeysSolutions + Scenarios.ciSolutions).map(\.uniqueName) {
        try h.call("uninstall_solution", ["environment": env, "solution": .string(s)])
      }
    }
    try run()
    let dv = try #require(h.world.dataverseEnvironmentState(named: "Contoso Sales"))
    #expect(dv.tables.map(\.name) == ["msdynmkt_configuration"])
    #expect(dv.tables[0].rows[0].columns["msdynmkt_cistatus"] == .int(534_121_000))
    #expect(dv.solutions.map(\.uniqueName) == ["Default", "System"])
    let changes = h.recorder.changes
    #expect(changes.count == 9)
    #expect(changes[0].attributes == [.init("msdynmkt_cistatus", old: "534121001 (Configured)", new: "534121000 (NotConfigured)")])
    let before = h.recorder.changes.count
    try run()
    #expect(h.recorder.changes.count == before)
  }

  @Test("RoleAssignmentExists when the same assignment exists under another name")
  func roleAssignmentExists() throws {
    let w = World.demoTenant()
    let role = RoleDefinition.storageBlobDataOwner
    func assignment(_ name: String) -> RoleAssignment {
      RoleAssignment(name: name, scope: storageScope, roleDefinitionID: role.resourceID(subscription: subscriptionID),
                     principalID: aliceID, principalType: .user)
    }
    #expect(try w.createRoleAssignment(assignment("11111111-1111-4111-8111-111111111111")).created)
    #expect(try w.createRoleAssignment(assignment("11111111-1111-4111-8111-111111111111")).created == false)
    #expect(throws: ServiceError(service: "arm", status: 409, code: "RoleAssignmentExists", message: "The role assignment already exists.")) {
      try w.createRoleAssignment(assignment("22222222-2222-4222-8222-222222222222"))
    }
    // Through the built-in: not yet visible, created earlier under the deterministic name -> ok with a note.
    let h = Harness()
    let user = try h.call("current_user")
    try h.call("assign_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(storageScope)])
    try h.call("assign_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(storageScope)])
    let calls = h.recorder.steps.flatMap(\.calls).filter { $0.builtin == "assign_role" }
    #expect(calls.map(\.status) == [.changed, .ok])
    #expect(calls[1].notes.first?.contains("not visible yet") == true)
  }

  @Test("Graph answers Request_BadRequest 'already exist' for a present owner or member")
  func ownerExists() throws {
    let h = Harness()
    let sp = try h.call("ensure_service_principal")
    let groups = try h.call("create_groups", ["prefix": "x", "owner": sp])
    let gid = groups.get("reader").get("id").s
    #expect(throws: ServiceError(service: "graph", status: 400, code: "Request_BadRequest",
                                 message: "One or more added object references already exist for the following modified properties: 'owners'.")) {
      try h.world.addOwner(groupID: gid, objectID: sp.get("id").s)
    }
    try h.world.addMember(groupID: gid, objectID: aliceID)
    #expect(throws: ServiceError.referenceExists("members")) { try h.world.addMember(groupID: gid, objectID: aliceID) }
    // The built-in reports ok on a second call.
    try h.call("add_group_owner", ["group": groups.get("reader"), "owner": sp])
    #expect(h.recorder.steps.flatMap(\.calls).last?.status == .ok)
  }

  @Test("new groups are created with their owner bound: no separate owner call, the plan still shows both")
  func ownerBoundAtCreation() throws {
    var state = World.demoState()
    // Any separate POST /groups/{id}/owners/$ref would fail.
    state.faults = [FaultState(operation: "addOwner", status: 500, code: "InternalServerError", message: "unexpected addOwner", times: 9)]
    let h = Harness(world: try World(state: state))
    let sp = try h.call("ensure_service_principal")
    try h.call("create_groups", ["prefix": "x", "owner": sp])
    for name in ["x-Dataverse-readers", "x-Dataverse-contributors"] {
      #expect(h.world.group(named: name).map(\.owners) == [[sp.get("id").s]])
    }
    let call = try #require(h.recorder.steps.flatMap(\.calls).last)
    #expect(call.status == .changed)
    #expect(call.changes.map(\.kind) == ["group", "group_owner", "group", "group_owner"])
    // ensure_group binds an owner the same way; without one the group has none.
    let g = try h.call("ensure_group", ["name": "y", "owner": sp])
    #expect(try h.call("group_owners", ["group": g]).asList?.count == 1)
    let bare = try h.call("ensure_group", ["name": "z"])
    #expect(try h.call("group_owners", ["group": bare]).asList?.isEmpty == true)
    #expect(h.world.faults.first?.times == 9)
  }

  @Test("an existing group gets the owner through $ref only when it is missing")
  func existingGroupOwner() throws {
    let h = Harness()
    let sp = try h.call("ensure_service_principal")
    _ = try h.world.createGroup(displayName: "x-Dataverse-readers", mailNickname: "r", description: nil, owners: [])
    _ = try h.world.createGroup(displayName: "x-Dataverse-contributors", mailNickname: "c", description: nil,
                                owners: [sp.get("id").s])
    try h.call("create_groups", ["prefix": "x", "owner": sp])
    let call = try #require(h.recorder.steps.flatMap(\.calls).last)
    #expect(call.changes.map(\.kind) == ["group_owner"])
    #expect(call.changes.first?.name == "x-Dataverse-readers/Common Data Service - Azure Data Lake Storage")
    try h.call("create_groups", ["prefix": "x", "owner": sp])
    #expect(h.recorder.steps.flatMap(\.calls).last?.status == .ok)
  }

  @Test("an unknown owner fails the creation like Graph (404 Request_ResourceNotFound) and leaves no group")
  func unknownOwnerAtCreation() throws {
    let h = Harness()
    let missing = "99999999-9999-4999-8999-999999999999"
    #expect(throws: ServiceError.graphNotFound(missing)) {
      try h.world.createGroup(displayName: "g", mailNickname: "g", description: nil, owners: [missing])
    }
    #expect(h.world.group(named: "g").isEmpty)
    #expect(throws: ServiceError.tooManyBoundReferences) {
      try h.world.createGroup(displayName: "g", mailNickname: "g", description: nil, owners: Array(repeating: aliceID, count: 21))
    }
    #expect(h.world.group(named: "g").isEmpty)
  }

  @Test("group creation disabled: create_groups fails; ambiguous display names are refused")
  func groupFailures() throws {
    let h = Harness(world: try Scenarios.load("group-creation-disabled"))
    let sp = try h.call("ensure_service_principal")
    let e = try #require(h.failure("create_groups", ["prefix": "contoso", "owner": sp]))
    #expect(e.code == "Authorization_RequestDenied")
    let h2 = Harness()
    _ = try h2.world.createGroup(displayName: "dup", mailNickname: "dup", description: nil, owners: [])
    _ = try h2.world.createGroup(displayName: "dup", mailNickname: "dup", description: nil, owners: [])
    #expect(h2.failure("ensure_group", ["name": "dup"])?.code == "ambiguous_group")
    #expect(try h2.call("find_groups", ["name": "dup"]).asList?.count == 2)
  }

  @Test("arguments are validated before any change", arguments: [
    ("storage_account", "invalid_guid"), ("assign_role", "unknown_role"), ("set_acl", "invalid_acl"),
    ("create_groups", "invalid_name"), ("ensure_container", "invalid_name"), ("has_role", "invalid_scope"),
  ])
  func validation(builtin: String, code: String) throws {
    let h = Harness()
    let before = h.world.stateJSON()
    let e: RuntimeError?
    switch builtin {
    case "storage_account": e = h.failure(builtin, ["subscription": "not-a-guid", "resource_group": "rg", "name": "contosolake"])
    case "assign_role": e = h.failure(builtin, ["principal": .string(aliceID), "role": "Storage Blob Data Ownr", "scope": .string(storageScope)])
    case "set_acl": e = h.failure(builtin, ["account": "contosolake", "entries": .list(["group:\(aliceID):rwz"])])
    case "create_groups": e = h.failure(builtin, ["prefix": "", "owner": .string(aliceID)])
    case "ensure_container": e = h.failure(builtin, ["account": "contosolake", "name": "Bad_Name"])
    default: e = h.failure(builtin, ["principal": .string(aliceID), "role": "Storage Blob Data Owner", "scope": "/subscription/x"])
    }
    #expect(e?.code == code)
    #expect(h.world.stateJSON() == before)
  }

  @Test("wait_for_role is bounded and uses simulated time")
  func waitTimeout() throws {
    var state = World.demoState()
    state.tenant.rolePropagationSeconds = 3600
    let h = Harness(world: try World(state: state))
    let user = try h.call("current_user")
    try h.call("assign_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(storageScope)])
    let start = h.world.nowMilliseconds
    let e = try #require(h.failure("wait_for_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(storageScope), "timeout": .duration(300_000)]))
    #expect(e.code == "timeout")
    #expect(h.world.nowMilliseconds - start == 300_000)
    h.world.advanceClock(milliseconds: 3_600_000)
    let ok = try h.call("wait_for_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(storageScope)])
    #expect(ok.get("waited") == .duration(0))
  }

  // MARK: Identifiers and entitlement

  @Test("permission identifiers: both forms parse by parameter name")
  func identifiers() throws {
    let h = Harness()
    let r = "285f5727-a2ae-4afd-9549-64343a0fbabc", c = "720d2dae-4ac8-59f8-9e96-2fa675dbdabc"
    let url = try h.call("permission_identifier", ["account": "contosolake", "reader": .string(r), "contributor": .string(c), "path": "dir1/dir2"]).s
    #expect(url == "https://contosolake.dfs.core.windows.net/customerinsights/dir1/dir2?cg=\(c)&rg=\(r)")
    let parsed = try h.call("parse_permission_identifier", ["identifier": .string(url)])
    #expect(parsed.get("account") == "contosolake" && parsed.get("path") == "dir1/dir2" && parsed.get("form") == "script")
    #expect(parsed.get("reader") == .string(r) && parsed.get("contributor") == .string(c))
    let doc = try h.call("parse_permission_identifier", ["identifier": .string("https://DVBYODLDemo/customerinsights?rg=\(r)&cg=\(c)")])
    #expect(doc.get("account") == "DVBYODLDemo" && doc.get("form") == "documentation" && doc.get("reader") == .string(r))
    let e = h.failure("parse_permission_identifier", ["identifier": "https://DVBYODLDemo/customerinsights?rg=285f5727-a2ae-4afd-9549-64343a0gbabc&cg=\(c)"])
    #expect(e?.code == "invalid_identifier")
    #expect(e?.message.contains("`rg` (reader group id) is not a GUID") == true)
  }

  @Test("storage entitlement: 15 GB + 20 GB per 100,000 profiles; 10,000 B2B accounts = one block", arguments: [
    (300_000, 0, "up", 45, 60), (0, 30_000, "up", 45, 60), (250_000, 0, "up", 45, 60), (250_000, 0, "down", 30, 40),
    (0, 0, "up", 0, 0), (1, 0, "up", 15, 20),
  ])
  func entitlement(profiles: Int, accounts: Int, rounding: String, db: Int, file: Int) throws {
    let h = Harness()
    let v = try h.call("storage_entitlement", ["profiles": .int(profiles), "accounts": .int(accounts), "rounding": .string(rounding)])
    #expect(v.get("database_gb") == .int(db) && v.get("file_gb") == .int(file))
  }

  @Test("storage entitlement pro rata and bad rounding")
  func entitlementProrata() throws {
    let h = Harness()
    let v = try h.call("storage_entitlement", ["profiles": .int(250_000), "rounding": "prorata"])
    #expect(v.get("database_gb") == .float(37.5) && v.get("file_gb") == .float(50))
    #expect(h.failure("storage_entitlement", ["profiles": .int(1), "rounding": "nearest"])?.code == "value_error")
  }

  // MARK: Recursive ACL

  @Test("recursive ACL pages through continuations and lists failed items")
  func recursivePaging() throws {
    let h = Harness()
    try h.call("ensure_container", ["account": "contosolake"])
    let tree = try #require(h.world.filesystem(account: "contosolake", name: "customerinsights"))
    let dir = tree.ensure("data", isDirectory: true)
    for i in 0..<4_500 { tree.addChild(dir, name: "f\(i).csv", isDirectory: false) }
    tree.faults[tree.node("data/f17.csv")!] = ServiceError.notAuthorized.message
    let v = try h.call("set_acl_recursive", ["account": "contosolake", "entries": .list(["group:\(aliceID):r-x"])])
    #expect(v.get("pages") == .int(3))
    #expect(v.get("directories_successful") == .int(2) && v.get("files_successful") == .int(4_499))
    #expect(v.get("failure_count") == .int(1))
    let failed = v.get("failed_entries").asList ?? []
    #expect(failed.first?.get("name") == "data/f17.csv" && failed.first?.get("type") == "FILE")
    #expect(failed.first?.get("error_message") == "This request is not authorized to perform this operation using this permission.")
    let call = try #require(h.recorder.steps.flatMap(\.calls).last)
    #expect(call.notes == ["Unable to set ACL on the following files/folders: data/f17.csv"])
    // Without continue_on_failure the run stops at the first failure.
    let stop = try h.call("set_acl_recursive", ["account": "contosolake", "entries": .list(["group:\(aliceID):rwx"]), "continue_on_failure": .bool(false)])
    #expect(stop.get("failure_count") == .int(1) && stop.get("pages") == .int(1))
  }

  @Test("a million items: recursive modify finishes (timed only with RUNBOOK_PERF=1)")
  func million() throws {
    let perf = ProcessInfo.processInfo.environment["RUNBOOK_PERF"] == "1"
    let n = perf ? 1_000_000 : 20_000
    let h = Harness()
    try h.call("ensure_container", ["account": "contosolake"])
    let tree = try #require(h.world.filesystem(account: "contosolake", name: "customerinsights"))
    var dirs: [PathTree.Node] = []
    for d in 0..<100 { dirs.append(tree.addChild(0, name: "d\(d)", isDirectory: true)) }
    for i in 0..<(n - 100) { tree.addChild(dirs[i % 100], name: "f\(i)", isDirectory: false) }
    let clock = ContinuousClock()
    var result: Value = .null
    let elapsed = try clock.measure {
      result = try h.call("set_acl_recursive", ["account": "contosolake", "entries": .list(["group:\(aliceID):r-x", "default:group:\(aliceID):r-x"])])
    }
    #expect(result.get("files_successful") == .int(n - 100))
    #expect(result.get("changed") == .int(n + 1))
    if perf { print("set_acl_recursive over \(n) items: \(elapsed)") }
  }
}
