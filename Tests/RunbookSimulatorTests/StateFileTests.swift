import Foundation
import RunbookServices
@testable import RunbookSimulator
import Testing

@Suite("State file load/save")
struct StateFileTests {
  let demo = World.demoTenant().stateJSON()

  func load(_ text: String) -> StateFileError? {
    do {
      _ = try World.load(data: Data(text.utf8), file: "bad.json")
      return nil
    } catch {
      return error
    }
  }

  func line(of needle: String, in text: String) -> Int {
    (text.components(separatedBy: "\n").firstIndex { $0.contains(needle) } ?? -1) + 1
  }

  @Test("round trip: save, load, save gives identical text; format is versioned and sorted")
  func roundTrip() throws {
    let world = try World.load(data: Data(demo.utf8), file: "demo.json")
    #expect(world.stateJSON() == demo)
    #expect(demo.contains("\"format\": \"runbook-state/v1\""))
    let h = Harness(world: try tenantWithExistingData())
    try byolSetup(h, path: "a/b")
    let text = h.world.stateJSON()
    let again = try World.load(data: Data(text.utf8), file: "after.json")
    #expect(again.stateJSON() == text)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-state-\(UUID().uuidString).json").path
    try again.save(path: path)
    #expect(try World.load(path: path).stateJSON() == text)
    try? FileManager.default.removeItem(atPath: path)
  }

  @Test("the world that only declares built-ins holds the signed-in user and nothing else")
  func signedInUserOnly() throws {
    let world = World.signedInUserOnly()
    let state = world.snapshot()
    #expect(state.directory.users.map(\.id) == [state.tenant.signedInUser])
    #expect(state.directory.groups.isEmpty && state.azure.subscriptions.isEmpty)
    #expect(state.powerPlatform.environments.isEmpty && state.customerInsights.environments.isEmpty)
    #expect(try world.signedInUser().id == state.tenant.signedInUser)
  }

  @Test("an id used twice names both places, in any letter case")
  func duplicateID() throws {
    var state = World.demoState()
    let first = state.directory.users[0]
    state.directory.groups[0].id = first.id.uppercased()
    do {
      _ = try World(state: state)
      Issue.record("a duplicate id was accepted")
    } catch {
      #expect(error.message == "duplicate id \(first.id.uppercased()) (also at $.directory.users[0].id)")
      #expect(error.path == "$.directory.groups[0].id")
    }
  }

  @Test("a syntax error names the file, line and column")
  func syntax() throws {
    let text = demo.replacingOccurrences(of: "\"kind\": \"StorageV2\"", with: "\"kind\": StorageV2")
    let e = try #require(load(text))
    #expect(e.file == "bad.json")
    #expect(e.line == line(of: "StorageV2", in: text))
    #expect(e.message == "invalid value StorageV2 (strings need double quotes)")
    #expect(e.description.hasPrefix("bad.json:\(e.line!):"))
  }

  @Test("a wrong type names the JSON path and line")
  func typeMismatch() throws {
    let text = demo.replacingOccurrences(of: "\"is_hns_enabled\": true", with: "\"is_hns_enabled\": \"yes\"")
    let e = try #require(load(text))
    #expect(e.jsonPath == "$.azure.storage_accounts[0].is_hns_enabled")
    #expect(e.line == line(of: "is_hns_enabled", in: text))
    #expect(e.message.hasPrefix("expected a bool"))
  }

  @Test("unknown and missing keys")
  func keys() throws {
    let unknown = try #require(load(demo.replacingOccurrences(of: "\"is_hns_enabled\"", with: "\"is_hns_enable\"")))
    #expect(unknown.message == "unknown key \"is_hns_enable\" (did you mean \"is_hns_enabled\"?)")
    #expect(unknown.jsonPath == "$.azure.storage_accounts[0].is_hns_enable")
    let missing = try #require(load(demo.replacingOccurrences(of: "\"is_hns_enabled\": true,", with: "")))
    #expect(missing.message == "missing key \"is_hns_enabled\"")
    #expect(missing.jsonPath == "$.azure.storage_accounts[0]")
    let extra = try #require(load(demo.replacingOccurrences(of: "\"kind\": \"StorageV2\",", with: "\"kind\": \"StorageV2\", \"colour\": \"blue\",")))
    #expect(extra.message == "unknown key \"colour\"")
    #expect(extra.jsonPath == "$.azure.storage_accounts[0].colour")
  }

  @Test("content errors: bad GUID, bad ACL, unknown reference, unsupported format")
  func content() throws {
    let guid = try #require(load(demo.replacingOccurrences(of: "\"id\": \"7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9\"", with: "\"id\": \"bob\"")))
    #expect(guid.jsonPath == "$.directory.users[1].id")
    #expect(guid.message == "\"bob\" is not a GUID")
    #expect(guid.line != nil)

    var state = World.demoState()
    state.azure.storageAccounts[0].filesystems = [FilesystemState(name: "customerinsights", owner: "$superuser", group: "$superuser",
                                                                  acl: "user::rwx,group::r-x,other::---", paths: [
      PathState(path: "a", type: "directory", owner: "$superuser", group: "$superuser", acl: "user::rwx,group:x:rwz,other::---", aclFailure: nil)
    ])]
    #expect(throws: StateValidationError(path: "$.azure.storage_accounts[0].filesystems[0].paths[0].acl",
                                         message: "invalid ACL entry \"group:x:rwz\": permissions must be exactly three characters r|-, w|-, x|- (e.g. r-x)")) {
      try World(state: state)
    }
    let signedIn = try #require(load(demo.replacingOccurrences(of: "\"signed_in_user\": \"0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c\"", with: "\"signed_in_user\": \"00000000-0000-4000-8000-000000000000\"")))
    #expect(signedIn.jsonPath == "$.tenant.signed_in_user")
    let format = try #require(load(demo.replacingOccurrences(of: "runbook-state/v1", with: "runbook-state/v9")))
    #expect(format.message == "unsupported format \"runbook-state/v9\"; expected \"runbook-state/v1\"")
    #expect(format.line == line(of: "runbook-state/v9", in: demo.replacingOccurrences(of: "runbook-state/v1", with: "runbook-state/v9")))
    var missing = StateFileError(file: "", message: "")
    do { _ = try World.load(path: "/nonexistent/state.json") } catch { missing = error }
    #expect(missing.description == "/nonexistent/state.json: error: cannot read the state file (missing or unreadable)")
  }

  @Test("fault injection: an armed fault fails the next call, then disarms")
  func faults() throws {
    var state = World.demoState()
    state.faults = [FaultState(operation: "createGroup", status: 503, code: "ServiceUnavailable", message: "Service unavailable.", times: 1)]
    let h = Harness(world: try World(state: state))
    #expect(h.failure("ensure_group", ["name": "g"])?.code == "ServiceUnavailable")
    #expect(try h.call("ensure_group", ["name": "g"]).get("display_name") == "g")
  }
}
