import RunbookServices
@testable import RunbookSimulator
import Testing

@Suite("ACL grammar (azure-rest.md test vectors)")
struct AccessControlTests {
  @Test("vectors round-trip in the service's canonical order", arguments: [
    ("user::rwx,group::r-x,other::rwx", "user::rwx,group::r-x,other::rwx"),
    ("user::rwx,group::r--,other::---,mask::rwx", "user::rwx,group::r--,mask::rwx,other::---"),
    ("user::--x,group::--x,other::--x", "user::--x,group::--x,other::--x"),
    ("user::rwx,user:ec3595d6-2c17-4696-8caa-7e139758d24a:rw-,group::rw-,mask::rwx,other::---",
     "user::rwx,user:ec3595d6-2c17-4696-8caa-7e139758d24a:rw-,group::rw-,mask::rwx,other::---"),
    ("default:user:entityId:rwx,default:mask::rwx", "default:user:entityId:rwx,default:mask::rwx"),
    ("default:user:xxx:rwx,user:xxx:rw-", "user:xxx:rw-,default:user:xxx:rwx"),
    ("user::rwx,user:john.doe@contoso:rwx,group::r--,other::---,mask::rwx",
     "user::rwx,user:john.doe@contoso:rwx,group::r--,mask::rwx,other::---"),
    ("USER::RWX,GROUP::R-X,OTHER::---", "user::rwx,group::r-x,other::---"),
  ])
  func roundTrip(input: String, canonical: String) throws {
    let acl = try AccessControlList(parsing: input)
    #expect(acl.text == canonical)
    #expect(try AccessControlList(parsing: acl.text) == acl)
  }

  @Test("remove-mode ACL without permissions (vector 5)")
  func removeMode() throws {
    let text = "mask,default:user,default:group,user:ec3595d6-2c17-4696-8caa-7e139758d24a,group:ec3595d6-2c17-4696-8caa-7e139758d24a,default:user:ec3595d6-2c17-4696-8caa-7e139758d24a,default:group:ec3595d6-2c17-4696-8caa-7e139758d24a"
    let acl = try AccessControlList(parsing: text, requirePermissions: false)
    #expect(acl.entries.count == 7)
    #expect(acl.entries.allSatisfy { $0.permissions == nil })
    #expect(throws: ACLParseError.self) { try AccessControlList(parsing: text) }
    let full = try AccessControlList(parsing: "user::rwx,user:ec3595d6-2c17-4696-8caa-7e139758d24a:rw-,group::r-x,mask::rwx,other::---")
    #expect(full.removing(acl).text == "user::rwx,group::r-x,other::---")
  }

  @Test("invalid ACLs are rejected with the service's code", arguments: [
    "asdf", "user::rwx,user:john.doe@contoso:rwx,group::r--,other::---,mask=rwx", "group:abc:rwz", "user::rwxx",
    "mask:abc:rwx", "default:",
  ])
  func invalid(text: String) {
    #expect(throws: ACLParseError.self) { try AccessControlList(parsing: text) }
    #expect(ServiceError.invalidACL.code == "InvaldAccessControlList")
    #expect(ServiceError.invalidACL.message == "The access control list value is invalid.")
  }

  @Test("permission strings (vector 10)", arguments: [
    ("rwxr-x---+", "rwxr-x---+", "0750"), ("rwxrwxrwt+", "rwxrwxrwt+", "1777"), ("---r-x--t", "---r-x--t", "1051"),
    ("0777", "rwxrwxrwx", "0777"), ("1777", "rwxrwxrwt", "1777"), ("rwxrwxrwT", "rwxrwxrwT", "1776"),
  ])
  func permissions(text: String, symbolic: String, octal: String) throws {
    let p = try PathPermissions(parsing: text)
    #expect(p.symbolic == symbolic)
    #expect(p.octal == octal)
  }

  @Test("bad permission strings fail with InvalidPermission", arguments: ["rwx", "rwxr-x---++", "8777", "rwzr-x---"])
  func badPermissions(text: String) {
    #expect(throws: ServiceError.invalidPermission) { try PathPermissions(parsing: text) }
  }

  @Test("modify merges by scope, type and id and keeps other entries")
  func merge() throws {
    let current = try AccessControlList(parsing: "user::rwx,group::r-x,group:aaa:r-x,other::---,mask::r-x")
    let merged = current.merging(try AccessControlList(parsing: "group:aaa:--x,group:bbb:rwx,default:group:bbb:rwx"))
    #expect(merged.text == "user::rwx,group::r-x,group:aaa:--x,group:bbb:rwx,mask::rwx,other::---,"
      + "default:user::rwx,default:group::r-x,default:group:bbb:rwx,default:mask::rwx,default:other::---")
    #expect(merged.merging(try AccessControlList(parsing: "group:bbb:rwx")) == merged)
  }

  @Test("the mask limits named entries and the owning group, not the owner or other")
  func mask() throws {
    let acl = try AccessControlList(parsing: "user::rwx,group::rwx,group:ccc:rwx,mask::r-x,other::rwx")
    #expect(acl.effectivePermissions(.group, id: "ccc")?.text == "r-x")
    #expect(acl.effectivePermissions(.group, id: "")?.text == "r-x")
    #expect(acl.effectivePermissions(.user, id: "")?.text == "rwx")
    #expect(acl.effectivePermissions(.other, id: "")?.text == "rwx")
    #expect(acl.permissionsString == "rwxr-xrwx+")
    // A merge that names a mask keeps it (the script's re-sent restrictive mask).
    let explicit = acl.merging(try AccessControlList(parsing: "group:ddd:rwx,mask::r-x"))
    #expect(explicit.effectivePermissions(.group, id: "ddd")?.text == "r-x")
    // Without a mask in the request the mask widens to the group class.
    #expect(acl.merging(try AccessControlList(parsing: "group:ddd:rwx")).effectivePermissions(.group, id: "ddd")?.text == "rwx")
  }

  @Test("default ACLs seed new children; files get no default ACL and no execute")
  func defaultSeeding() throws {
    let tree = PathTree(acl: try AccessControlList(parsing:
      "user::rwx,group::r-x,other::---,default:user::rwx,default:group::r-x,default:group:rrr:r-x,default:group:ccc:rwx,default:mask::rwx,default:other::r-x"))
    let dir = tree.ensure("new", isDirectory: true)
    let file = tree.ensure("new/file.csv", isDirectory: false)
    #expect(tree.acl(dir).text == "user::rwx,group::r-x,group:rrr:r-x,group:ccc:rwx,mask::rwx,other::---,default:user::rwx,default:group::r-x,default:group:rrr:r-x,default:group:ccc:rwx,default:mask::rwx,default:other::r-x")
    #expect(tree.acl(file).text == "user::rw-,group::r--,group:rrr:r-x,group:ccc:rwx,mask::rw-,other::---")
    #expect(tree.acl(file).effectivePermissions(.group, id: "ccc")?.text == "rw-")
    let plain = PathTree()
    #expect(plain.acl(plain.ensure("d", isDirectory: true)).text == "user::rwx,group::r-x,other::---")
    #expect(plain.acl(plain.ensure("d/f", isDirectory: false)).text == "user::rw-,group::r--,other::---")
  }
}
