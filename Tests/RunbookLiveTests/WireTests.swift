import Foundation
import NIOConcurrencyHelpers
import RunbookEmulator
import RunbookLive
import RunbookServices
import RunbookSimulator
import Testing

/// Records waits instead of sleeping.
final class RecordingSleeper: Sleeper {
  let waits = NIOLockedValueBox<[Int]>([])
  func sleep(milliseconds: Int) { waits.withLockedValue { $0.append(milliseconds) } }
  var recorded: [Int] { waits.withLockedValue { $0 } }
}

/// Live clients in-process against an emulator.
final class Fixture {
  let server: EmulatorServer
  let live: LiveServices
  let sleeper = RecordingSleeper()

  init(state: String = "fresh-tenant", faults: String? = nil, maxAttempts: Int = 6) throws {
    server = try Support.emulator(state: state, faults: faults)
    var options = LiveServices.Options()
    options.retry = RetryPolicy(random: RandomSource(seed: 42))
    options.retry.maxAttempts = maxAttempts
    options.sleeper = sleeper
    options.timeoutMilliseconds = 10_000
    live = try LiveServices(environment: Support.environment(server), options: options)
  }
  deinit {
    live.shutdown()
    server.shutdown()
  }
  var s: ServiceSet { live.services }
}

@Suite struct GraphWireTests {
  static func error(_ body: () throws(ServiceError) -> Void) -> ServiceError? {
    do { try body() } catch { return error }
    return nil
  }

  @Test func servicePrincipalsGroupsOwnersAndTheAlreadyExistAnswer() throws {
    let f = try Fixture()
    let appID = "546068c3-99b1-4890-8e93-c8aeadcfe56a"
    #expect(try f.s.directory.servicePrincipal(appID: appID) == nil)
    let sp = try f.s.directory.createServicePrincipal(appID: appID, displayName: "Common Data Service - Azure Data Lake Storage")
    #expect(try f.s.directory.servicePrincipal(appID: appID) == sp)
    // Creating it again is Graph's 409.
    #expect { try f.s.directory.createServicePrincipal(appID: appID, displayName: "x") } throws: {
      ($0 as? ServiceError)?.code == "Request_MultipleObjectsWithSameKeyValue"
    }
    let g = try f.s.directory.createGroup(displayName: "it's-readers", mailNickname: "readers", description: nil, owners: [])
    #expect(try f.s.directory.groups(displayName: "it's-readers").map(\.id) == [g.id])
    try f.s.directory.addOwner(groupID: g.id, objectID: sp.id)
    #expect(try f.s.directory.owners(groupID: g.id).map(\.id) == [sp.id])
    #expect(try f.s.directory.owners(groupID: g.id).first?.type == .servicePrincipal)
    let e = Self.error { () throws(ServiceError) in try f.s.directory.addOwner(groupID: g.id, objectID: sp.id) }
    #expect(e?.status == 400 && e.map(GraphClient.isReferenceExists) == true)
    #expect(e?.message.hasSuffix("'owners'.") == true)
    #expect(try f.s.directory.group(id: "00000000-0000-0000-0000-000000000000") == nil)
    #expect(try f.s.directory.object(id: sp.id)?.type == .servicePrincipal)
    #expect(try !f.s.directory.signedInUser().id.isEmpty)
  }

  @Test func groupsCanBeCreatedWithTheirOwnersBound() throws {
    let f = try Fixture()
    let graph = try #require(f.s.directory as? GraphClient)
    let sp = try graph.createServicePrincipal(appID: "546068c3-99b1-4890-8e93-c8aeadcfe56a", displayName: "lake")
    let g = try graph.createGroup(displayName: "bound", mailNickname: "bound", description: nil, owners: [sp.id])
    #expect(try graph.owners(groupID: g.id).map(\.id) == [sp.id])
    // An unknown owner fails the whole request and creates nothing.
    let missing = "99999999-9999-4999-8999-999999999999"
    let e = Self.error { () throws(ServiceError) in
      _ = try graph.createGroup(displayName: "orphan", mailNickname: "orphan", description: nil, owners: [missing])
    }
    #expect(e?.status == 404 && e?.code == "Request_ResourceNotFound")
    #expect(try graph.groups(displayName: "orphan").isEmpty)
  }

  @Test func aResumedGroupCreationStillGetsItsOwner() throws {
    let f = try Fixture()
    let sp = try f.s.directory.createServicePrincipal(appID: "546068c3-99b1-4890-8e93-c8aeadcfe56a", displayName: "lake")
    // A journal whose createGroup completed without binding the owner.
    let g = try f.s.directory.createGroup(displayName: "legacy", mailNickname: "legacy", description: nil, owners: [])
    let history = JournalHistory(entries: [
      ["type": "done", "seq": 1, "op": "createGroup", "key": "displayName=legacy",
       "result": ["id": .string(g.id), "displayName": "legacy"]],
    ])
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let journal = try Journal(path: dir.appendingPathComponent("j.jsonl").path, redactor: Redactor())
    let resumed = JournaledServices(f.s, journal: journal, resuming: history)
    let again = try resumed.createGroup(displayName: "legacy", mailNickname: "legacy", description: nil, owners: [sp.id])
    #expect(again.id == g.id)
    #expect(try f.s.directory.groups(displayName: "legacy").count == 1)
    #expect(try f.s.directory.owners(groupID: g.id).map(\.id) == [sp.id])
    #expect(resumed.report.skipped == ["createGroup displayName=legacy"])
  }

  @Test func theEmulatorChecksOwnersBindURLs() throws {
    let f = try Fixture()
    let sp = try f.s.directory.createServicePrincipal(appID: "546068c3-99b1-4890-8e93-c8aeadcfe56a", displayName: "lake")
    func post(_ name: String, _ bind: WireJSON) throws -> WireResponse {
      try f.live.rest.send(
        service: "graph", resource: "https://graph.microsoft.com", method: "POST", url: f.server.baseURL + "/v1.0/groups",
        json: ["displayName": .string(name), "mailNickname": .string(name), "mailEnabled": false, "securityEnabled": true,
               "owners@odata.bind": bind])
    }
    let graph = "https://graph.microsoft.com/v1.0"
    // The form the PS script's docs show, and the generic directoryObjects form.
    #expect(try post("a", [.string(graph + "/servicePrincipals/" + sp.id)]).status == 201)
    #expect(try post("b", [.string(graph + "/directoryObjects/" + sp.id)]).status == 201)
    #expect(try f.s.directory.owners(groupID: f.s.directory.groups(displayName: "b")[0].id).map(\.id) == [sp.id])
    // Not a bind URL: 400; an id of another type for its collection: 404.
    for bad: WireJSON in [[.string(sp.id)], .string(graph + "/directoryObjects/" + sp.id), [.string(graph + "/applications/" + sp.id)]] {
      let r = try post("c", bad)
      #expect(r.status == 400 && r.json?["error"]?["code"]?.string == "Request_BadRequest")
    }
    let r = try post("c", [.string(graph + "/users/" + sp.id)])
    #expect(r.status == 404 && r.json?["error"]?["code"]?.string == "Request_ResourceNotFound")
    #expect(try f.s.directory.groups(displayName: "c").isEmpty)
  }

  @Test func groupListsFollowNextLinkPages() throws {
    let f = try Fixture(faults: "page=2")
    var ids: [String] = []
    for i in 0..<5 { ids.append(try f.s.directory.createGroup(displayName: "same", mailNickname: "same\(i)", description: nil, owners: []).id) }
    #expect(try f.s.directory.groups(displayName: "same").map(\.id).sorted() == ids.sorted())
  }

  @Test func replicationDelayAfterACreateIsRetried() throws {
    let f = try Fixture(faults: "replication=2")
    let g = try f.s.directory.createGroup(displayName: "new", mailNickname: "new", description: nil, owners: [])
    #expect(try f.s.directory.group(id: g.id)?.id == g.id)
    #expect(f.sleeper.recorded.count == 2)
  }
}

@Suite struct AzureWireTests {
  let sub = "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"

  @Test func storageAccountsAndRoleAssignments() throws {
    let f = try Fixture()
    let a = try f.s.dataLake.storageAccount(subscriptionID: sub, resourceGroup: "rg-customerinsights", name: "contosolake")
    #expect(a.isHnsEnabled && a.name == "contosolake")
    #expect(try f.s.dataLake.storageAccount(name: "contosolake") == a)
    #expect(try f.s.dataLake.storageAccount(name: "nosuchaccount") == nil)
    #expect { try f.s.dataLake.storageAccount(subscriptionID: sub, resourceGroup: "rg-customerinsights", name: "nosuch") } throws: {
      ($0 as? ServiceError)?.code == "ResourceNotFound"
    }
    let user = try f.s.directory.signedInUser()
    let role = RoleDefinition.storageBlobDataOwner
    let assignment = RoleAssignment(name: StableID.guid("t", a.id), scope: a.id, roleDefinitionID: role.resourceID(subscription: sub),
                                    principalID: user.id, principalType: .user)
    let (created, isNew) = try f.s.roles.createRoleAssignment(assignment)
    #expect(isNew && created.name == assignment.name)
    let (_, again) = try f.s.roles.createRoleAssignment(assignment)
    #expect(!again, "the same GUID answers 200, not a duplicate")
    var other = assignment
    other.name = StableID.guid("other")
    #expect { try f.s.roles.createRoleAssignment(other) } throws: { ($0 as? ServiceError)?.code == "RoleAssignmentExists" }
    // Visible after propagation (the emulator's clock runs 1000x).
    Thread.sleep(forTimeInterval: 0.2)
    let below = try f.s.roles.roleAssignments(scope: a.containerScope("customerinsights"), principalID: user.id)
    #expect(below.contains { $0.name == assignment.name })
    #expect(try f.s.roles.roleAssignments(scope: a.id, principalID: "00000000-0000-0000-0000-000000000001").isEmpty)
  }

  @Test func filesystemsAndAccessControlLists() throws {
    let f = try Fixture()
    let lake = f.s.dataLake
    if try !lake.filesystemExists(account: "contosolake", filesystem: "customerinsights") {
      try lake.createFilesystem(account: "contosolake", filesystem: "customerinsights")
    }
    #expect { try lake.createFilesystem(account: "contosolake", filesystem: "customerinsights") } throws: {
      ($0 as? ServiceError)?.code == "FilesystemAlreadyExists"
    }
    try lake.createDirectory(account: "contosolake", filesystem: "customerinsights", path: "a b/c")
    #expect(try lake.pathIsDirectory(account: "contosolake", filesystem: "customerinsights", path: "a b/c") == true)
    #expect(try lake.pathIsDirectory(account: "contosolake", filesystem: "customerinsights", path: "missing") == nil)
    let acl = try AccessControlList(parsing: "user::rwx,group::r-x,other::---,group:ec3595d6-2c17-4696-8caa-7e139758d24a:r-x,mask::r-x")
    try lake.setAccessControl(account: "contosolake", filesystem: "customerinsights", path: "a b", acl: acl)
    let got = try lake.getAccessControl(account: "contosolake", filesystem: "customerinsights", path: "a b")
    #expect(got.isDirectory)
    #expect(got.acl.permissions(.group, id: "ec3595d6-2c17-4696-8caa-7e139758d24a") == Permissions("r-x"))
    let root = try lake.getAccessControl(account: "contosolake", filesystem: "customerinsights", path: "")
    #expect(root.isDirectory)
    #expect { try lake.getAccessControl(account: "contosolake", filesystem: "customerinsights", path: "missing") } throws: {
      ($0 as? ServiceError)?.code == "PathNotFound"
    }

    // Recursive, one item per call: the continuation is followed to the end.
    let entry = try AccessControlList(parsing: "group:ec3595d6-2c17-4696-8caa-7e139758d24a:rwx")
    var continuation: String? = nil
    var calls = 0, directories = 0
    repeat {
      let page = try lake.setAccessControlRecursive(
        account: "contosolake", filesystem: "customerinsights", path: "a b", mode: .modify, acl: entry,
        continuation: continuation, maxRecords: 1, forceFlag: true)
      directories += page.directoriesSuccessful
      continuation = page.continuation
      calls += 1
    } while continuation != nil && calls < 10
    #expect(directories == 2 && calls >= 2)
  }

  @Test func failedEntriesOfARecursiveRunAreReported() throws {
    let f = try Fixture(faults: "fail-path=x/bad")
    let lake = f.s.dataLake
    if try !lake.filesystemExists(account: "contosolake", filesystem: "customerinsights") {
      try lake.createFilesystem(account: "contosolake", filesystem: "customerinsights")
    }
    try lake.createDirectory(account: "contosolake", filesystem: "customerinsights", path: "x/bad")
    try lake.createDirectory(account: "contosolake", filesystem: "customerinsights", path: "x/good")
    let entry = try AccessControlList(parsing: "group:ec3595d6-2c17-4696-8caa-7e139758d24a:r-x")
    let page = try lake.setAccessControlRecursive(
      account: "contosolake", filesystem: "customerinsights", path: "x", mode: .modify, acl: entry, continuation: nil,
      maxRecords: nil, forceFlag: true)
    #expect(page.failureCount == 1)
    #expect(page.failedEntries.first?.name.hasSuffix("x/bad") == true)
    #expect(page.failedEntries.first?.type == "DIRECTORY")
  }
}

/// The request lines azure-rest.md recorded from azure-storage-file-datalake
/// 12.26.1, sent as the SDK sends them.
@Suite struct SDKRequestLineTests {
  @Test func dataLakeSDKRequestsAreServed() throws {
    let f = try Fixture()
    let token = try f.live.rest.tokens.token(resource: "https://storage.azure.com")
    let base = f.server.baseURL + "/contosolake"
    func send(_ method: String, _ path: String, _ headers: [(String, String)] = []) throws -> WireResponse {
      try f.live.transport.send(WireRequest(
        method: method, url: base + path,
        headers: [("Authorization", "Bearer " + token), ("Accept", "application/json"), ("x-ms-version", "2026-10-06")] + headers))
    }
    #expect(try send("PUT", "/sdkfs?restype=container").status == 201)
    let again = try send("PUT", "/sdkfs?restype=container")
    #expect(again.status == 409 && again.header("x-ms-error-code") == "ContainerAlreadyExists")
    let get = try send("HEAD", "/sdkfs//?action=getAccessControl&upn=false")
    #expect(get.status == 200 && get.header("x-ms-acl") != nil && get.header("x-ms-version") == "2026-10-06")
    let acl = "user::rwx,group::r-x,other::rwx"
    #expect(try send("PATCH", "/sdkfs//?action=setAccessControl", [("x-ms-acl", acl)]).status == 200)
    #expect(try send("HEAD", "/sdkfs//?action=getAccessControl&upn=false").header("x-ms-acl") == acl)
    #expect(try send("PUT", "/sdkfs/dir1?resource=directory").status == 201)
    let modify = try send("PATCH", "/sdkfs/dir1?action=setAccessControlRecursive&mode=modify&forceFlag=true&maxRecords=2000",
                          [("x-ms-acl", "user::rwx,user:ec3595d6-2c17-4696-8caa-7e139758d24a:rw-,group::rw-,mask::rwx,other::---")])
    #expect(modify.status == 200 && modify.json?["directoriesSuccessful"]?.int == 1)
    let remove = try send("PATCH", "/sdkfs/dir1?action=setAccessControlRecursive&mode=remove",
                          [("x-ms-acl", "mask,default:user,default:group,user:ec3595d6-2c17-4696-8caa-7e139758d24a,group:ec3595d6-2c17-4696-8caa-7e139758d24a,default:user:ec3595d6-2c17-4696-8caa-7e139758d24a,default:group:ec3595d6-2c17-4696-8caa-7e139758d24a")])
    #expect(remove.status == 200)
    let bad = try send("PATCH", "/sdkfs/dir1?action=setAccessControl", [("x-ms-acl", "asdf")])
    #expect(bad.status == 400 && bad.header("x-ms-error-code") == "InvaldAccessControlList")
    #expect(bad.json?["error"]?["message"]?.string?.hasPrefix("The access control list value is invalid.\nRequestId:") == true)
  }
}

@Suite struct DataverseWireTests {
  @Test func environmentsSolutionsDependenciesAndRows() throws {
    let f = try Fixture(state: "uninstall-blocked")
    let world = try World.load(path: Support.state("uninstall-blocked"))
    let envs = try f.s.dataverse.environments()
    #expect(envs.map(\.id).sorted() == (try world.environments()).map(\.id).sorted())
    for e in try world.environments() {
      let live = try #require(envs.first { $0.id == e.id })
      #expect(live.name == e.name && live.region == e.region && live.users == e.users)
      #expect(live.linkedStorageAccount == e.linkedStorageAccount && live.attachedCustomerInsights == e.attachedCustomerInsights)
      #expect(try f.s.dataverse.solutions(environmentID: e.id) == world.solutions(environmentID: e.id))
      for s in try world.solutions(environmentID: e.id) {
        #expect(try f.s.dataverse.dependenciesForUninstall(environmentID: e.id, solution: s.uniqueName)
                == world.dependenciesForUninstall(environmentID: e.id, solution: s.uniqueName))
      }
    }
    let env = try #require(envs.first { !$0.url.isEmpty })
    let rows = try f.s.dataverse.rows(environmentID: env.id, table: "msdynmkt_configuration")
    #expect(rows == (try world.rows(environmentID: env.id, table: "msdynmkt_configuration")))
    if let row = rows.first {
      let updated = try f.s.dataverse.updateRow(environmentID: env.id, table: "msdynmkt_configurations", id: row.id,
                                                values: ["msdynmkt_cistatus": .int(534_121_000)], ifMatch: row.etag)
      #expect(updated.columns["msdynmkt_cistatus"] == .int(534_121_000) && updated.etag != row.etag)
      #expect { try f.s.dataverse.updateRow(environmentID: env.id, table: "msdynmkt_configuration", id: row.id,
                                            values: [:], ifMatch: row.etag) } throws: {
        ($0 as? ServiceError)?.status == 412 && ($0 as? ServiceError)?.code == "0x80060882"
      }
    }
    #expect { try f.s.dataverse.rows(environmentID: env.id, table: "nosuchtable") } throws: {
      ($0 as? ServiceError)?.code == "0x8006088a"
    }
    #expect(try f.s.customerInsights.ciEnvironments() == world.ciEnvironments())
  }
}

@Suite struct RetryTests {
  @Test func retryAfterIsReadInEveryForm() {
    func r(_ h: [(String, String)]) -> WireResponse { WireResponse(status: 429, headers: h, body: []) }
    #expect(RetryPolicy.retryAfter(r([("Retry-After", "3")])) == 3000)
    #expect(RetryPolicy.retryAfter(r([("retry-after-ms", "250"), ("Retry-After", "3")])) == 250)
    #expect(RetryPolicy.retryAfter(r([("x-ms-retry-after-ms", "40")])) == 40)
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    #expect(RetryPolicy.retryAfter(r([("Retry-After", "Tue, 14 Nov 2023 22:13:30 GMT")]), now: now) == 10_000)
    #expect(RetryPolicy.retryAfter(r([])) == nil)
  }

  @Test func backoffIsExponentialCappedAndJitteredFromASeed() {
    var p = RetryPolicy(random: RandomSource(seed: 9))
    p.maxDelayMilliseconds = 5_000
    let a = (1...8).map { p.backoff(attempt: $0) }
    let q = RetryPolicy(random: RandomSource(seed: 9))
    var q2 = q
    q2.maxDelayMilliseconds = 5_000
    #expect(a == (1...8).map { q2.backoff(attempt: $0) }, "the same seed gives the same delays")
    #expect(a[0] >= 600 && a[0] <= 1000)
    #expect(a.allSatisfy { $0 <= 6_250 })
    #expect(a[3] > a[1])
  }

  @Test func throttledRequestsHonourRetryAfterThenGiveUp() throws {
    let f = try Fixture(faults: "rate429=1,retry-after-ms=7", maxAttempts: 4)
    #expect { try f.s.directory.groups(displayName: "x") } throws: { ($0 as? ServiceError)?.status == 429 }
    // Three retries, each after the `retry-after-ms` the emulator sent.
    #expect(f.sleeper.recorded == [7, 7, 7])
  }

  @Test func transientFaultsAreRetriedToSuccess() throws {
    let f = try Fixture(faults: "seed=3,rate429=0.3,rate503=0.2,retry-after-ms=1")
    for i in 0..<10 { _ = try f.s.directory.createGroup(displayName: "g\(i)", mailNickname: "g\(i)", description: nil, owners: []) }
    #expect(try f.s.directory.groups(displayName: "g3").count == 1)
    #expect(f.server.emulator.statusCount(429) + f.server.emulator.statusCount(503) > 0)
    #expect(f.sleeper.recorded.allSatisfy { $0 == 1 })
  }

  @Test func principalNotFoundRightAfterACreateIsRetriedBriefly() throws {
    let f = try Fixture(faults: "replication=2")
    let g = try f.s.directory.createGroup(displayName: "fresh", mailNickname: "fresh", description: nil, owners: [])
    let waitsBefore = f.sleeper.recorded.count
    let scope = "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
    // A PUT without principalType, as older clients send it: ARM answers
    // 400 PrincipalNotFound until the principal has replicated.
    let r = try f.live.rest.send(
      service: "arm", resource: "https://management.azure.com", method: "PUT",
      url: f.server.baseURL + scope + "/providers/Microsoft.Authorization/roleAssignments/\(StableID.guid("p", g.id))?api-version=2022-04-01",
      json: ["properties": ["roleDefinitionId": .string(RoleDefinition.storageBlobDataReader.resourceID(subscription: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f")),
                            "principalId": .string(g.id)]])
    #expect(r.status == 201)
    #expect(f.sleeper.recorded.count - waitsBefore == 2)
  }

  @Test func notFoundAndConflictsAreNotRetried() throws {
    let f = try Fixture()
    _ = try? f.s.dataLake.storageAccount(subscriptionID: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", resourceGroup: "rg", name: "x")
    #expect(f.sleeper.recorded.isEmpty)
  }
}
