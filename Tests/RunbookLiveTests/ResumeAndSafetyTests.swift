import Foundation
import RunbookEmulator
import RunbookLive
import RunbookServices
import RunbookSimulator
import Testing

@Suite struct ResumeAndSafetyTests {
  /// Kills a live run (SIGKILL) after `doneLines` changes, resumes it from
  /// its journal, and checks the end state equals the dry run's with no
  /// duplicate groups, role assignments or ACL entries.
  @Test(arguments: [3, 6, 10])
  func killedRunResumedFromItsJournalEndsInThePredictedState(doneLines: Int) throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (_, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let server = try Support.emulator(state: s.state, faults: "seed=5,latency=100ms,replication=1")
    defer { server.shutdown() }
    let env = Support.environment(server)
    let journal = dir.appendingPathComponent("journal.jsonl").path

    let first = try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", journal] + s.params,
                          environment: env, directory: dir)
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && first.process.isRunning {
      let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
      if text.components(separatedBy: "\"type\":\"done\"").count - 1 >= doneLines { break }
      usleep(2_000)
    }
    first.kill()
    let killed = first.wait(seconds: 10)
    #expect(killed.status != 0, "the run should have been killed mid-way: \(killed.output)")
    let before = try Journal.read(path: journal)
    #expect(!before.contains { $0["type"]?.string == "end" })

    let resumed = try Child(["run", "--live", "--yes", "--resume", journal], environment: env, directory: dir).wait()
    #expect(resumed.status == 0, "\(resumed.output)")
    let actual = server.emulator.stateJSON()
    #expect(Support.normalized(actual) == Support.normalized(predicted), "\(resumed.output)")

    // No duplicates by natural key.
    let state = try #require(try JSONSerialization.jsonObject(with: Data(actual.utf8)) as? [String: Any])
    let groups = ((state["directory"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
    let names = groups.compactMap { $0["display_name"] as? String }
    #expect(Set(names).count == names.count, "duplicate groups: \(names)")
    let assignments = ((state["azure"] as? [String: Any])?["role_assignments"] as? [[String: Any]]) ?? []
    let keys = assignments.map { "\($0["scope"] ?? "")|\($0["role_definition_id"] ?? "")|\($0["principal_id"] ?? "")" }
    #expect(Set(keys).count == keys.count, "duplicate role assignments")
    for (_, acl) in aclStrings(state) {
      let entries = acl.split(separator: ",").map { e in e.split(separator: ":").dropLast().joined(separator: ":") }
      #expect(Set(entries).count == entries.count, "duplicate ACL entries in \(acl)")
    }
    let after = try Journal.read(path: journal)
    #expect(after.contains { $0["type"]?.string == "resume" })
    #expect(after.last?["type"]?.string == "end")
    for text in [resumed.output, (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""] {
      #expect(!text.contains(Support.canary))
    }
  }

  /// Ctrl-C lets the change in flight finish, journals the interruption,
  /// exits 130; the run resumes to the predicted state.
  @Test func interruptedRunStopsCleanlyAndResumes() throws {
    let s = Scenario.all[0]
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (_, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let server = try Support.emulator(state: s.state, faults: "latency=60ms")
    defer { server.shutdown() }
    let env = Support.environment(server)
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let first = try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", journal] + s.params, environment: env, directory: dir)
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && first.process.isRunning {
      let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
      if text.components(separatedBy: "\"type\":\"done\"").count - 1 >= 2 { break }
      usleep(2_000)
    }
    kill(first.process.processIdentifier, SIGINT)
    let stopped = first.wait(seconds: 30)
    #expect(stopped.status == 130, "\(stopped.output)")
    let entries = try Journal.read(path: journal)
    #expect(entries.last?["type"]?.string == "end")
    #expect(entries.last?["error"]?["code"]?.string == "interrupted")
    let begun = Set(entries.filter { $0["type"]?.string == "begin" }.compactMap { $0["seq"]?.int })
    let answered = Set(entries.filter { ["done", "failed"].contains($0["type"]?.string ?? "") }.compactMap { $0["seq"]?.int })
    #expect(begun == answered, "every begun change was answered before the run stopped")
    let resumed = try Child(["run", "--live", "--yes", "--resume", journal], environment: env, directory: dir).wait()
    #expect(resumed.status == 0, "\(resumed.output)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted))
  }

  func aclStrings(_ state: [String: Any]) -> [(String, String)] {
    var out: [(String, String)] = []
    for a in ((state["azure"] as? [String: Any])?["storage_accounts"] as? [[String: Any]]) ?? [] {
      for fs in (a["filesystems"] as? [[String: Any]]) ?? [] {
        if let acl = fs["acl"] as? String { out.append(("/", acl)) }
        for p in (fs["paths"] as? [[String: Any]]) ?? [] {
          if let acl = p["acl"] as? String { out.append((p["path"] as? String ?? "", acl)) }
        }
      }
    }
    return out
  }

  @Test func destructiveOperationsRefuseWithoutATerminalOrYes() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: "journeys-connected")
    defer { server.shutdown() }
    let before = server.emulator.stateJSON()
    let run = try Child(["run", "--live", Support.runbook("remove-dataverse-connection.runbook"), "--journal",
                         dir.appendingPathComponent("j.jsonl").path, "--param", "dataverse_name=Contoso Sales"],
                        environment: Support.environment(server), directory: dir).wait()
    #expect(run.status == 1)
    #expect(run.output.contains("refusing to apply"), "\(run.output)")
    #expect(run.output.contains("without approval"))
    #expect(run.output.contains("Destructive changes"), "the destructive changes are listed before the refusal")
    #expect(Support.writes(server).isEmpty, "nothing may be sent without approval: \(Support.writes(server))")
    let after = Support.normalized(server.emulator.stateJSON())
    let solutionsBefore = ((Support.normalized(before)["power_platform"] as? [String: Any])?["environments"] as? [[String: Any]])?.map { ($0["solutions"] as? [Any])?.count ?? 0 }
    let solutionsAfter = ((after["power_platform"] as? [String: Any])?["environments"] as? [[String: Any]])?.map { ($0["solutions"] as? [Any])?.count ?? 0 }
    #expect(solutionsBefore == solutionsAfter, "no solution may be uninstalled without confirmation")
  }

  @Test func plainHTTPIsRefusedExceptToLoopback() throws {
    #expect(throws: LiveConfigurationError.self) {
      try LiveEndpoints.from(environment: ["RUNBOOK_GRAPH_ENDPOINT": "http://graph.example.com"])
    }
    #expect(throws: LiveConfigurationError.self) {
      try LiveEndpoints.from(environment: ["RUNBOOK_DFS_ENDPOINT": "http://10.0.0.5/{account}"])
    }
    let e = try LiveEndpoints.from(environment: [
      "RUNBOOK_GRAPH_ENDPOINT": "http://127.0.0.1:9/", "RUNBOOK_ARM_ENDPOINT": "https://management.usgovcloudapi.net",
    ])
    #expect(e.graph == "http://127.0.0.1:9")
    #expect(e.arm == "https://management.usgovcloudapi.net")
  }

  @Test func endpointsComeFromAFileAndVariablesWin() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("endpoints.json").path
    try #"{"graph": "https://graph.microsoft.us", "arm": "https://management.usgovcloudapi.net", "dfs": "https://{account}.dfs.core.usgovcloudapi.net"}"#
      .write(toFile: file, atomically: true, encoding: .utf8)
    let e = try LiveEndpoints.from(environment: ["RUNBOOK_ENDPOINTS_FILE": file, "RUNBOOK_ARM_ENDPOINT": "https://arm.example"])
    #expect(e.graph == "https://graph.microsoft.us" && e.arm == "https://arm.example")
    #expect(e.dfs == "https://{account}.dfs.core.usgovcloudapi.net")
    try #"{"grpah": "https://x"}"#.write(toFile: file, atomically: true, encoding: .utf8)
    #expect(throws: LiveConfigurationError.self) { try LiveEndpoints.from(environment: ["RUNBOOK_ENDPOINTS_FILE": file]) }
  }

  @Test func aSecretInAnErrorMessageIsRedacted() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // Nothing listens on the port: the connection error must not echo credentials.
    let server = try Support.emulator(state: "fresh-tenant")
    defer { server.shutdown() }
    var env = Support.environment(server)
    env["RUNBOOK_AUTHORITY_HOST"] = "http://127.0.0.1:1"
    env["RUNBOOK_TRACE"] = "1"
    let run = try Child(["run", "--live", "--yes", Support.runbook("create-security-groups.runbook"), "--journal",
                         dir.appendingPathComponent("j.jsonl").path, "--param", "group_prefix=contoso"],
                        environment: env, directory: dir).wait(seconds: 90)
    #expect(run.status == 1)
    let journal = (try? String(contentsOfFile: dir.appendingPathComponent("j.jsonl").path, encoding: .utf8)) ?? ""
    #expect(!run.output.contains(Support.canary) && !journal.contains(Support.canary))
  }
}

/// A create whose request reached the service but whose answer was lost
/// (the run killed in between) is "in doubt" in the journal; while
/// replication still hides the new object, the first `--resume` must adopt
/// it: no second object, no failure.
@Suite struct InDoubtResumeTests {
  @Test func aGroupCreatedButNotAnsweredIsAdoptedOnTheFirstResume() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let params = ["--param", "group_prefix=contoso"]
    let (_, predicted) = try Support.dryRun("create-security-groups.runbook", state: "fresh-tenant", params: params, in: dir)
    // Answers arrive 700 ms after the emulator has made the change: a kill
    // in that window loses the answer of a change that happened.
    let server = try Support.emulator(state: "fresh-tenant", faults: "latency=700ms,replication=3")
    defer { server.shutdown() }
    let env = Support.environment(server)
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let first = try Child(["run", "--live", "--yes", Support.runbook("create-security-groups.runbook"), "--journal", journal] + params,
                          environment: env, directory: dir)
    let deadline = Date().addingTimeInterval(90)
    var created = false
    while Date() < deadline && first.process.isRunning {
      // The group exists in the emulator while its answer is still on the way.
      if let last = (try? Journal.read(path: journal))?.last, last["type"]?.string == "begin",
        last["op"]?.string == "createGroup", server.emulator.stateJSON().contains("\"contoso-Dataverse-readers\"")
      {
        created = true
        break
      }
      usleep(1_000)
    }
    first.kill()
    let killed = first.wait(seconds: 10)
    #expect(created, "the run never reached the group creation: \(killed.output)")
    let history = JournalHistory(entries: try Journal.read(path: journal))
    #expect(history.inDoubt.map(\.op) == ["createGroup"], "\(history.inDoubt)")

    let resumed = try Child(["run", "--live", "--yes", "--resume", journal], environment: env, directory: dir).wait(seconds: 120)
    #expect(resumed.status == 0, "the first resume must succeed: \(resumed.output)")
    func groupNames(_ json: String) throws -> [String] {
      let state = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
      return (((state["directory"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? [])
        .compactMap { $0["display_name"] as? String }.sorted()
    }
    let names = try groupNames(server.emulator.stateJSON())
    #expect(names == (try groupNames(predicted)), "one group per name, as the dry run predicts")
    #expect(names.filter { $0.hasPrefix("contoso-") }.count == 2, "\(names)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted), "\(resumed.output)")
  }
}

/// The in-doubt look-up when a list by name lags behind the create (as
/// Graph's can): the resume waits for the object instead of creating a
/// second one, and gives up after a bounded number of polls.
@Suite struct InDoubtLookupTests {
  /// A directory whose lists by name miss everything for the first `lag` calls.
  final class LaggingDirectory: DirectoryService, @unchecked Sendable {
    let inner: any DirectoryService
    var lag: Int
    var listCalls = 0
    init(_ inner: any DirectoryService, lag: Int) { self.inner = inner; self.lag = lag }
    func signedInUser() throws(ServiceError) -> DirectoryUser { try inner.signedInUser() }
    func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? { try inner.servicePrincipal(appID: appID) }
    func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
      try inner.createServicePrincipal(appID: appID, displayName: displayName)
    }
    func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
      listCalls += 1
      return listCalls <= lag ? [] : try inner.groups(displayName: displayName)
    }
    func group(id: String) throws(ServiceError) -> DirectoryGroup? { try inner.group(id: id) }
    func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
      throws(ServiceError) -> DirectoryGroup
    {
      try inner.createGroup(displayName: displayName, mailNickname: mailNickname, description: description, owners: owners)
    }
    func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.owners(groupID: groupID) }
    func members(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.members(groupID: groupID) }
    func addOwner(groupID: String, objectID: String) throws(ServiceError) { try inner.addOwner(groupID: groupID, objectID: objectID) }
    func addMember(groupID: String, objectID: String) throws(ServiceError) { try inner.addMember(groupID: groupID, objectID: objectID) }
    func object(id: String) throws(ServiceError) -> DirectoryObject? { try inner.object(id: id) }
    func securityGroupCreationAllowed() throws(ServiceError) -> Bool { try inner.securityGroupCreationAllowed() }
  }

  /// A world where an earlier run's `createGroup` of "g" reached the
  /// directory but its answer was lost, and that run's journal.
  static func resuming(lag: Int) throws -> (JournaledServices, LaggingDirectory, World, String) {
    let world = try World.load(path: Support.state("fresh-tenant"))
    _ = try world.createGroup(displayName: "g", mailNickname: "g", description: nil, owners: [])
    let path = try Support.temporaryDirectory().appendingPathComponent("j.jsonl").path
    let earlier = try Journal(path: path, redactor: Redactor())
    earlier.append("run", ["runbook": "/x.runbook", "params": [:]])
    earlier.append("begin", ["seq": 1, "op": "createGroup", "key": "displayName=g", "args": [:]])
    let history = JournalHistory(entries: try Journal.read(path: path))
    var services = world.services
    let lagging = LaggingDirectory(services.directory, lag: lag)
    services.directory = lagging
    let journaled = JournaledServices(services, journal: try Journal(path: path, redactor: Redactor()), resuming: history)
    return (journaled, lagging, world, path)
  }

  @Test func aLaggingListIsWaitedOutAndTheGroupAdopted() throws {
    let (journaled, lagging, world, path) = try Self.resuming(lag: 2)
    let g = try journaled.createGroup(displayName: "g", mailNickname: "g", description: nil, owners: [])
    #expect(try world.services.directory.groups(displayName: "g").map(\.id) == [g.id], "no second group")
    #expect(lagging.listCalls == 3)
    let last = try #require(try Journal.read(path: path).last)
    #expect(last["type"]?.string == "verified" && last["was"]?.string == "in doubt")
    #expect(journaled.report.skipped.count == 1)
  }

  @Test func theLookUpIsBoundedThenTheCreateIsSent() throws {
    let (journaled, lagging, world, _) = try Self.resuming(lag: 100)
    _ = try journaled.createGroup(displayName: "g", mailNickname: "g", description: nil, owners: [])
    #expect(lagging.listCalls == 4, "4 polls, then the create")
    #expect(try world.services.directory.groups(displayName: "g").count == 2)
  }
}
