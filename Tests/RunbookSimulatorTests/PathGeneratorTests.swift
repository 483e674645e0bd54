import Foundation
import RunbookServices
@testable import RunbookSimulator
import Testing

/// The load-test `generate` entry of a filesystem in a state file.
@Suite("State file path generator")
struct PathGeneratorTests {
  func state(_ generate: String, paths: String = "[]", rootACL: String = "user::rwx,group::r-x,other::---") -> String {
    var demo = World.demoTenant().stateJSON()
    let filesystem = """
      "filesystems": [{"name": "customerinsights", "owner": "$superuser", "group": "$superuser",
        "acl": "\(rootACL)", "paths": \(paths), "generate": \(generate)}],
      """
    demo = demo.replacingOccurrences(of: "\"filesystems\": [],", with: filesystem)
    return demo
  }

  func load(_ text: String) throws(StateFileError) -> World { try World.load(data: Data(text.utf8), file: "gen.json") }

  @Test("folders × files, zero-padded names, parents created, ACLs inherited from the default ACL")
  func expands() throws {
    let w = try load(state(#"[{"prefix": "data/part-", "folders": 12, "files_per_folder": 3}]"#,
                           rootACL: "user::rwx,group::r-x,other::---,default:user::rwx,default:group::r-x,default:group:5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d:rwx,default:mask::rwx,default:other::---"))
    let tree = try #require(w.filesystem(account: "contosolake", name: "customerinsights"))
    #expect(tree.count == 1 + 1 + 12 * 4, "root, data, 12 folders of 3 files")
    let folder = try #require(tree.node("data/part-07"))
    #expect(tree.isDirectory(folder))
    let file = try #require(tree.node("data/part-11/file-2.csv"))
    #expect(!tree.isDirectory(file))
    #expect(tree.node("data/part-12") == nil && tree.node("data/part-00/file-3.csv") == nil)
    #expect(tree.acl(folder).text.contains("default:group:5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d:rwx"))
    // The same inheritance as a file created under the folder (umask 007, files without execute).
    #expect(tree.acl(file) == tree.acl(folder).inherited(isDirectory: false))
    #expect(tree.acl(file).text == "user::rw-,group::r--,group:5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d:rwx,mask::rw-,other::---")
    #expect(tree.owner(file) == "$superuser")
    // Saving lists the generated items; loading that gives the same world.
    let saved = w.stateJSON()
    #expect(!saved.contains("\"generate\""))
    #expect(try load(saved).stateJSON() == saved)
  }

  @Test("explicit ACLs, and a generated tree under set_acl_recursive")
  func explicitACLs() throws {
    let w = try load(state(#"[{"prefix": "p", "folders": 100, "files_per_folder": 9, "directory_acl": "user::rwx,group::---,other::---", "file_acl": "user::rw-,group::---,other::---"}]"#))
    let tree = try #require(w.filesystem(account: "contosolake", name: "customerinsights"))
    #expect(tree.count == 1 + 1000)
    #expect(tree.acl(try #require(tree.node("p42"))).text == "user::rwx,group::---,other::---")
    #expect(tree.acl(try #require(tree.node("p42/file-8.csv"))).text == "user::rw-,group::---,other::---")
    // Generated items are found by walking the tree; new items can go under them.
    let deeper = tree.ensure("p42/new/deeper", isDirectory: true)
    #expect(tree.path(of: deeper) == "p42/new/deeper" && tree.node("p42/new") != nil)
    #expect(tree.node("p42/file-9.csv") == nil && tree.node("p100") == nil)
    let page = try w.setAccessControlRecursive(account: "contosolake", filesystem: "customerinsights", path: "",
                                               mode: .modify, acl: try AccessControlList(parsing: "group:5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d:r-x"),
                                               continuation: nil, maxRecords: 5000, forceFlag: true)
    #expect(page.directoriesSuccessful + page.filesSuccessful == 1003)
    #expect(page.changedCount == 1003)
  }

  @Test("bad generators are located errors")
  func errors() {
    func message(_ text: String) -> String {
      do { _ = try load(text); return "" } catch { return error.description }
    }
    #expect(message(state(#"[{"prefix": "", "folders": 1, "files_per_folder": 1}]"#))
      .contains("at $.azure.storage_accounts[0].filesystems[0].generate[0].prefix: expected a relative path prefix"))
    #expect(message(state(#"[{"prefix": "x", "folders": -1, "files_per_folder": 1}]"#)).contains("counts cannot be negative"))
    #expect(message(state(#"[{"prefix": "x", "folders": 100000, "files_per_folder": 1000}]"#))
      .contains("at most 20,000,000 generated items"))
    #expect(message(state(#"[{"prefix": "x", "folders": 1, "files_per_folder": 1, "file_acl": "default:user::rwx"}]"#))
      .contains("files have no default ACL"))
    #expect(message(state(#"[{"prefix": "x", "folders": 1, "files_per_folder": 1, "colour": 1}]"#))
      .contains("unknown key \"colour\""))
    #expect(message(state(#"[{"prefix": "a/x", "folders": 1, "files_per_folder": 1}]"#,
                          paths: #"[{"path": "a/x0", "type": "directory", "owner": "$superuser", "group": "$superuser", "acl": "user::rwx,group::r-x,other::---"}]"#))
      .contains("a/x0 exists already"))
    #expect(message(state(#"[{"prefix": "a/x", "folders": 1, "files_per_folder": 1}]"#,
                          paths: #"[{"path": "a", "type": "file", "owner": "$superuser", "group": "$superuser", "acl": "user::rw-,group::r--,other::---"}]"#))
      .contains("a is a file"))
  }
}
