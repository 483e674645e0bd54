import Foundation
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

@Suite("Registry and the remaining built-ins")
struct RegistryTests {
  @Test("every domain built-in is registered with doc, category and effect")
  func registry() {
    let h = Harness()
    let names = h.registry.all.map(\.name).sorted()
    #expect(names == [
      "add_group_member", "add_group_owner", "assign_role", "check_connection_prerequisites", "ci_environment", "ci_status",
      "connect_dataverse", "create_groups", "current_user", "dataverse_environment", "ensure_container", "ensure_directory",
      "ensure_group", "ensure_service_principal", "find_groups", "get_acl", "get_group", "get_row", "group_members",
      "group_owners", "has_role", "list_solutions", "parse_permission_identifier", "permission_identifier",
      "role_definition", "service_time", "set_acl", "set_acl_recursive", "solution_dependencies", "storage_account",
      "storage_entitlement", "uninstall_solution", "update_row", "wait_for", "wait_for_role",
    ])
    for b in h.registry.all {
      #expect(!b.doc.isEmpty && !b.category.isEmpty, "\(b.name)")
    }
    #expect(h.registry["uninstall_solution"]?.effect == .destructive)
    #expect(h.registry["set_acl"]?.signature == "set_acl(account: any, path: string = \"\", entries: any, container: string = \"customerinsights\", widen_others: bool = false) -> map")
  }

  @Test("connect_dataverse with own ADLS on a configured tenant; second call ok")
  func connect() throws {
    let h = Harness(world: try Scenarios.load("configured-tenant"))
    let r = h.world.group(named: "contoso-Dataverse-readers")[0].id, c = h.world.group(named: "contoso-Dataverse-contributors")[0].id
    let id = try h.call("permission_identifier", ["account": "contosolake", "reader": .string(r), "contributor": .string(c)])
    #expect(try h.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake"]).asList?.isEmpty == true)
    let ci = try h.call("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake", "permission_identifier": id])
    #expect(ci.get("permission_identifier") == id)
    let dv = try h.call("dataverse_environment", ["name": "https://contososales.crm.dynamics.com"])
    #expect(dv.get("attached_customer_insights") == ci.get("id"))
    #expect(dv.get("linked_storage_account") == .string(storageScope))
    try h.call("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales", "account": "contosolake", "permission_identifier": id])
    #expect(h.recorder.steps.flatMap(\.calls).filter { $0.builtin == "connect_dataverse" }.map(\.status) == [.changed, .ok])
  }

  @Test("reads: has_role, get_acl, role_definition, list_solutions, groups, clock")
  func reads() throws {
    let h = Harness(world: try Scenarios.load("configured-tenant"))
    let user = try h.call("current_user")
    #expect(try h.call("has_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(containerScope)]) == .bool(true))
    #expect(try h.call("has_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": .string(containerScope), "exact": .bool(true)]) == .bool(false))
    let acl = try h.call("get_acl", ["account": "contosolake"])
    #expect(acl.get("permissions") == "rwxrwx---+")
    #expect(try h.call("role_definition", ["name": "storage blob delegator"]).get("id") == "db58b8e5-c6ad-4a2a-8342-4190687cbf4a")
    #expect(try h.call("list_solutions", ["environment": "Contoso Sales"]).asList?.map { $0.get("unique_name") } == ["Default", "System"])
    let reader = h.world.group(named: "contoso-Dataverse-readers")[0].id
    #expect(try h.call("get_group", ["id": .string(reader)]).get("display_name") == "contoso-Dataverse-readers")
    #expect(try h.call("group_owners", ["group": .string(reader)]).asList?.first?.get("kind") == "service_principal")
    #expect(try h.call("group_members", ["group": .string(reader)]).asList?.isEmpty == true)
    #expect(h.failure("get_group", ["id": "00000000-0000-4000-8000-000000000000"])?.code == "Request_ResourceNotFound")
    #expect(try h.call("service_time") == "2026-01-05T09:02:15Z")
    try h.call("wait_for", ["duration": .duration(45_000)])
    #expect(try h.call("service_time") == "2026-01-05T09:03:00Z")
  }
}

@Suite("Detaching")
struct DetachTests {
  @Test("uninstalling the CI-D solutions detaches the environment, so a new connection can be made")
  func detach() throws {
    let h = Harness(world: try Scenarios.load("attached-elsewhere"))
    for s in Scenarios.ciSolutions.map(\.uniqueName) {
      try h.call("uninstall_solution", ["environment": "Contoso Sales", "solution": .string(s)])
    }
    let failures = try h.call("check_connection_prerequisites", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales"])
    #expect(failures.asList?.isEmpty == true)
    #expect(try h.call("ci_environment", ["name": "Fabrikam CI"]).get("dataverse_environment") == .null)
    try h.call("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales"])
    #expect(try h.call("dataverse_environment", ["name": "Contoso Sales"]).get("attached_customer_insights") == "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d")
  }
}

@Suite("Graph replication delay")
struct ReplicationTests {
  @Test("Request_ResourceNotFound right after creation is retried 5 s apart on the simulated clock")
  func retry() throws {
    // The owner bound at creation has not replicated yet: Graph refuses the
    // whole POST /groups, so it is sent again.
    var state = World.demoState()
    state.faults = [FaultState(operation: "createGroup", status: 404, code: "Request_ResourceNotFound",
                               message: "Resource 'x' does not exist or one of its queried reference-property objects are not present.", times: 2)]
    let h = Harness(world: try World(state: state))
    let start = h.world.nowMilliseconds
    let sp = try h.call("ensure_service_principal")
    let groups = try h.call("create_groups", ["prefix": "contoso", "owner": sp])
    #expect(h.world.nowMilliseconds - start == 10_000)
    #expect(h.world.group(named: "contoso-Dataverse-readers").count == 1)
    #expect(try h.call("group_owners", ["group": groups.get("reader")]).asList?.count == 1)
  }

  @Test("adding an owner to an existing group is retried the same way")
  func retryAddOwner() throws {
    var state = World.demoState()
    state.faults = [FaultState(operation: "addOwner", status: 404, code: "Request_ResourceNotFound",
                               message: "Resource 'x' does not exist or one of its queried reference-property objects are not present.", times: 2)]
    let h = Harness(world: try World(state: state))
    _ = try h.world.createGroup(displayName: "contoso-Dataverse-readers", mailNickname: "r", description: nil, owners: [])
    let start = h.world.nowMilliseconds
    let sp = try h.call("ensure_service_principal")
    let groups = try h.call("create_groups", ["prefix": "contoso", "owner": sp])
    #expect(h.world.nowMilliseconds - start == 10_000)
    #expect(try h.call("group_owners", ["group": groups.get("reader")]).asList?.count == 1)
  }
}

@Suite("Built-in reference")
struct BuiltinReferenceTests {
  /// docs/builtins.md is generated from the registry the CLI uses: core and
  /// domain built-ins (RUNBOOK_WRITE_GOLDEN=1 rewrites it).
  @Test("docs/builtins.md matches the registry")
  func reference() throws {
    let registry = CoreBuiltins.makeRegistry()
    registerDomainBuiltins(into: registry, services: World.demoTenant().services, recorder: PlanRecorder())
    let text = registry.markdownReference()
    let url = Scenarios.stateDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/builtins.md")
    if ProcessInfo.processInfo.environment["RUNBOOK_WRITE_GOLDEN"] == "1" { try text.write(to: url, atomically: true, encoding: .utf8) }
    #expect(try String(contentsOf: url, encoding: .utf8) == text)
  }
}
