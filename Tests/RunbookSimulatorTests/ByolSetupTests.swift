import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

/// A demo tenant whose `customerinsights` container already holds data.
func tenantWithExistingData() throws -> World {
  var state = World.demoState()
  func item(_ path: String, _ type: String, _ acl: String, failure: String? = nil) -> PathState {
    PathState(path: path, type: type, owner: aliceID, group: "$superuser", acl: acl, aclFailure: failure)
  }
  state.azure.storageAccounts[0].filesystems = [
    FilesystemState(name: "customerinsights", owner: "$superuser", group: "$superuser", acl: "user::rwx,group::r-x,other::---", paths: [
      item("a", "directory", "user::rwx,group::r-x,other::---"),
      item("a/b", "directory", "user::rwx,group::r-x,other::---"),
      item("a/b/c", "directory", "user::rwx,group::r-x,other::---"),
      item("a/b/c/part-0001.csv", "file", "user::rw-,group::r--,other::---"),
      item("a/b/data.csv", "file", "user::rw-,group::r--,mask::r--,other::---"),
      item("a/old.csv", "file", "user::rw-,group::r--,other::---"),
      item("other", "directory", "user::rwx,group::r-x,other::---"),
      item("other/x.csv", "file", "user::rw-,group::r--,other::---"),
    ])
  ]
  return try World(state: state)
}

@Suite("ByolSetup end state through the domain built-ins")
struct ByolSetupTests {
  func lakeApp(_ w: World) throws -> ServicePrincipal {
    try #require(try w.servicePrincipal(appID: dataverseLakeAppID))
  }

  func groups(_ w: World, prefix: String = "contoso") throws -> (reader: GroupState, contributor: GroupState) {
    let r = w.group(named: "\(prefix)-Dataverse-readers"), c = w.group(named: "\(prefix)-Dataverse-contributors")
    #expect(r.count == 1 && c.count == 1)
    return (try #require(r.first), try #require(c.first))
  }

  func acl(_ w: World, _ path: String) throws -> AccessControlList {
    let tree = try #require(w.filesystem(account: "contosolake", name: "customerinsights"))
    return tree.acl(try #require(tree.node(path), "missing \(path)"))
  }

  @Test("no path: groups, owners, roles, container ACL, recursive ACLs, identifier")
  func noPath() throws {
    let h = Harness(world: try tenantWithExistingData())
    let identifier = try byolSetup(h)
    let w = h.world
    let sp = try lakeApp(w)
    #expect(sp.displayName == "Common Data Service - Azure Data Lake Storage")
    let (r, c) = try groups(w)
    #expect(r.owners == [sp.id] && c.owners == [sp.id])
    #expect(r.mailNickname == "contoso-Dataverse-readers")
    #expect(identifier == "https://contosolake.dfs.core.windows.net/customerinsights?cg=\(c.id)&rg=\(r.id)")

    let roles = w.roleAssignmentList
    func has(_ principal: String, _ role: RoleDefinition, _ scope: String, _ type: PrincipalType) -> Bool {
      roles.contains {
        $0.principalID == principal && $0.roleGUID == role.id && $0.scope == scope && $0.principalType == type
          && $0.name == StableID.guid("role-assignment", scope.lowercased(), role.id, principal)
      }
    }
    #expect(roles.count == 3)
    #expect(has(aliceID, .storageBlobDataOwner, storageScope, .user))
    #expect(has(sp.id, .storageBlobDelegator, storageScope, .servicePrincipal))
    #expect(has(sp.id, .storageBlobDataContributor, containerScope, .servicePrincipal))

    let full = "group:\(r.id):r-x,group:\(c.id):rwx"
    #expect(try acl(w, "").text == "user::rwx,group::r-x,\(full),mask::rwx,other::---,default:user::rwx,default:group::r-x,default:group:\(r.id):r-x,default:group:\(c.id):rwx,default:mask::rwx,default:other::---")
    for dir in ["a", "a/b", "a/b/c", "other"] {
      #expect(try acl(w, dir).text == "user::rwx,group::r-x,\(full),mask::rwx,other::---,default:user::rwx,default:group::r-x,default:group:\(r.id):r-x,default:group:\(c.id):rwx,default:mask::rwx,default:other::---")
    }
    for file in ["a/b/c/part-0001.csv", "a/old.csv", "other/x.csv"] {
      #expect(try acl(w, file).text == "user::rw-,group::r--,\(full),mask::rwx,other::---")
    }
    // The restrictive mask the file carried is widened so the contributor really gets rwx.
    #expect(try acl(w, "a/b/data.csv").effectivePermissions(.group, id: c.id)?.text == "rwx")
  }

  @Test("path a/b: traverse-only on the container and a, full entries on a/b and below")
  func withPath() throws {
    let h = Harness(world: try tenantWithExistingData())
    let identifier = try byolSetup(h, path: "a/b")
    let w = h.world
    let (r, c) = try groups(w)
    #expect(identifier == "https://contosolake.dfs.core.windows.net/customerinsights/a/b?cg=\(c.id)&rg=\(r.id)")
    let traverse = "user::rwx,group::r-x,group:\(r.id):--x,group:\(c.id):--x,mask::r-x,other::---"
    #expect(try acl(w, "").text == traverse)
    #expect(try acl(w, "a").text == traverse)
    let full = "group:\(r.id):r-x,group:\(c.id):rwx"
    let dirACL = "user::rwx,group::r-x,\(full),mask::rwx,other::---,default:user::rwx,default:group::r-x,default:group:\(r.id):r-x,default:group:\(c.id):rwx,default:mask::rwx,default:other::---"
    #expect(try acl(w, "a/b").text == dirACL)
    #expect(try acl(w, "a/b/c").text == dirACL)
    #expect(try acl(w, "a/b/c/part-0001.csv").text == "user::rw-,group::r--,\(full),mask::rwx,other::---")
    // Outside the mount point nothing changes.
    #expect(try acl(w, "a/old.csv").text == "user::rw-,group::r--,other::---")
    #expect(try acl(w, "other").text == "user::rwx,group::r-x,other::---")
    #expect(try acl(w, "other/x.csv").text == "user::rw-,group::r--,other::---")
  }

  @Test("path on a fresh tenant creates the container and the folders")
  func pathFresh() throws {
    let h = Harness()
    try byolSetup(h, path: "dir1/dir2")
    let tree = try #require(h.world.filesystem(account: "contosolake", name: "customerinsights"))
    #expect(tree.node("dir1").map(tree.isDirectory) == true)
    #expect(tree.node("dir1/dir2").map(tree.isDirectory) == true)
    #expect(tree.acl(tree.node("dir1/dir2")!).hasDefault)
    #expect(!tree.acl(tree.node("dir1")!).hasDefault)
  }

  @Test("oauth only: the app joins the contributors group instead of getting SAS roles")
  func oauthOnly() throws {
    let h = Harness()
    try byolSetup(h, oauthOnly: true)
    let w = h.world
    let sp = try lakeApp(w)
    let (_, c) = try groups(w)
    #expect(c.members == [sp.id])
    #expect(w.roleAssignmentList.count == 1)
    #expect(w.roleAssignmentList[0].principalID == aliceID)
  }

  @Test("groups given by id: no groups are created")
  func groupsByID() throws {
    let first = Harness()
    try byolSetup(first)
    let (r, c) = try groups(first.world)
    var state = first.world.snapshot()
    state.azure.storageAccounts[0].filesystems = []
    let h = Harness(world: try World(state: state))
    let identifier = try byolSetup(h, groupIDs: (r.id, c.id))
    #expect(identifier.hasSuffix("?cg=\(c.id)&rg=\(r.id)"))
    #expect(!h.recorder.changes.contains { $0.kind == "group" })
  }

  @Test("a second run changes nothing and reports every call ok", arguments: ["", "a/b"])
  func idempotent(path: String) throws {
    let first = Harness(world: try tenantWithExistingData())
    let id1 = try byolSetup(first, path: path)
    let before = first.world.stateJSON()
    let second = Harness(world: first.world)
    let id2 = try byolSetup(second, path: path)
    #expect(id1 == id2)
    #expect(second.recorder.changes.isEmpty)
    #expect(second.recorder.steps.flatMap(\.calls).allSatisfy { $0.status == .ok })
    #expect(second.recorder.summary.planLine == "Plan: 0 to add, 0 to change, 0 to destroy.")
    #expect(first.world.stateJSON() == before)
  }

  @Test("the same state and calls give the same ids")
  func deterministic() throws {
    let a = Harness(), b = Harness()
    #expect(try byolSetup(a) == byolSetup(b))
    #expect(a.world.stateJSON() == b.world.stateJSON())
  }

  @Test("1st run plan summary")
  func planCounts() throws {
    let h = Harness(world: try tenantWithExistingData())
    try byolSetup(h)
    let s = h.recorder.summary
    // container exists; SP, 2 groups, 2 owners, 3 role assignments = 8 adds;
    // container ACL + recursive ACL = 2 changes; the container and the wait are ok.
    #expect(s.planLine == "Plan: 8 to add, 2 to change, 0 to destroy.")
    #expect(s.stepsLine == "Steps: 2 ok, 6 changed, 0 failed.")
  }
}
