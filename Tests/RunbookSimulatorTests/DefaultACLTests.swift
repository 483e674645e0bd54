import RunbookServices
@testable import RunbookSimulator
import Testing

/// Default ACLs as ADLS Gen2 stores them: the cases of hadoop-azure's
/// ITestAzureBlobFilesystemAcl (run against real accounts) that
/// docs/emulator.md, "Default ACLs", cites.
@Suite("Default ACLs as the service stores them")
struct DefaultACLTests {
  static let user = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"

  /// The demo tenant with an empty `acltest` filesystem and one 750 directory `d`.
  func world() throws -> World {
    let w = World.demoTenant()
    try w.createFilesystem(account: "contosolake", filesystem: "acltest")
    try w.createDirectory(account: "contosolake", filesystem: "acltest", path: "d")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::---")
    return w
  }

  func acl(_ w: World, _ path: String) throws -> String {
    try w.getAccessControl(account: "contosolake", filesystem: "acltest", path: path).acl.text
  }

  func set(_ w: World, _ path: String, _ text: String) throws {
    try w.setAccessControl(account: "contosolake", filesystem: "acltest", path: path,
                           acl: try AccessControlList(parsing: text))
  }

  @Test("the base default entries are copied from user::, group:: (not the mask) and other::; the default mask covers them")
  func baseEntriesFromAccess() throws {
    let w = try world()
    // testSetAcl: the access mask is rwx, default:group:: copies group::r-x.
    try set(w, "d", "user::rwx,user:\(Self.user):rwx,group::r-x,other::---,default:user:\(Self.user):rwx")
    #expect(try acl(w, "d") == "user::rwx,user:\(Self.user):rwx,group::r-x,mask::rwx,other::---,"
      + "default:user::rwx,default:user:\(Self.user):rwx,default:group::r-x,default:mask::rwx,default:other::---")
    // A named default entry narrower than the owning group: the mask is the union with the copied default:group::.
    try set(w, "d", "user::rwx,group::r-x,other::--x,default:user:\(Self.user):r--")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::--x,"
      + "default:user::rwx,default:user:\(Self.user):r--,default:group::r-x,default:mask::r-x,default:other::--x")
  }

  @Test("given base default entries and a given default mask are kept")
  func givenEntriesKept() throws {
    let w = try world()
    try set(w, "d", "user::rwx,group::r-x,other::---,default:user::r-x,default:group::---,default:user:\(Self.user):rwx,default:mask::r--")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::---,"
      + "default:user::r-x,default:user:\(Self.user):rwx,default:group::---,default:mask::r--,default:other::---")
  }

  @Test("a request with only default entries keeps the access ACL (testSetAclOnlyDefault)")
  func onlyDefault() throws {
    let w = try world()
    try set(w, "d", "default:user:\(Self.user):rwx")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::---,"
      + "default:user::rwx,default:user:\(Self.user):rwx,default:group::r-x,default:mask::rwx,default:other::---")
    let ac = try w.getAccessControl(account: "contosolake", filesystem: "acltest", path: "d")
    #expect(ac.acl.permissionsString == "rwxr-x---+")
  }

  @Test("a lone default mask gets the base entries; a later access-only request keeps user:: and group:: (testSetAclDoesNotChangeDefaultMask)")
  func loneDefaultMask() throws {
    let w = try world()
    try set(w, "d", "default:mask::--x")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::---,default:user::rwx,default:group::r-x,default:mask::--x,default:other::---")
    try set(w, "d", "other::r-x,default:user::rwx,default:group::r-x,default:mask::--x,default:other::---")
    #expect(try acl(w, "d") == "user::rwx,group::r-x,other::r-x,default:user::rwx,default:group::r-x,default:mask::--x,default:other::---")
  }

  @Test("a file still refuses default entries")
  func fileRefusesDefaults() throws {
    let w = try world()
    try w.createFile(account: "contosolake", filesystem: "acltest", path: "d/f.csv")
    #expect(throws: ServiceError.invalidACL) { try set(w, "d/f.csv", "default:user:\(Self.user):rwx") }
    #expect(try acl(w, "d/f.csv") == "user::rw-,group::r--,other::---")
  }

  @Test("merging (recursive modify, set_acl's plan) adds the base entries before computing the default mask")
  func mergeAddsBaseEntries() throws {
    let current = try AccessControlList(parsing: "user::rwx,group::r-x,other::---")
    let merged = current.merging(try AccessControlList(parsing: "default:user:\(Self.user):r--"))
    #expect(merged.text == "user::rwx,group::r-x,other::---,"
      + "default:user::rwx,default:user:\(Self.user):r--,default:group::r-x,default:mask::r-x,default:other::---")
    #expect(merged.merging(try AccessControlList(parsing: "default:user:\(Self.user):r--")) == merged)
  }

  @Test("a state's default ACL without base entries loads as the service stores it, and new items inherit the completed ACL")
  func stateLoadsCompleted() throws {
    var state = World.demoTenant().snapshot()
    let defaults = "default:group:\(Self.user):r-x,default:mask::r-x"
    state.azure.storageAccounts[0].filesystems.append(FilesystemState(
      name: "acltest", owner: "$superuser", group: "$superuser", acl: "user::rwx,group::rwx,other::--x,\(defaults)", paths: []))
    let w = try World(state: state)
    #expect(try acl(w, "") == "user::rwx,group::rwx,other::--x,"
      + "default:user::rwx,default:group::rwx,default:group:\(Self.user):r-x,default:mask::r-x,default:other::--x")
    try w.createDirectory(account: "contosolake", filesystem: "acltest", path: "new")
    // The directory's access ACL is the default ACL (mode 777 ∩ umask 007 leaves it), other:: from default:other:: masked to ---.
    #expect(try acl(w, "new") == "user::rwx,group::rwx,group:\(Self.user):r-x,mask::r-x,other::---,"
      + "default:user::rwx,default:group::rwx,default:group:\(Self.user):r-x,default:mask::r-x,default:other::--x")
    try w.createFile(account: "contosolake", filesystem: "acltest", path: "new/f.csv")
    #expect(try acl(w, "new/f.csv") == "user::rw-,group::rw-,group:\(Self.user):r-x,mask::r--,other::---")
  }
}
