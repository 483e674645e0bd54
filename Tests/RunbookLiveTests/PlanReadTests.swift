import Foundation
import RunbookEmulator
import RunbookLive
import RunbookServices
import RunbookSimulator
import Testing

/// What a live plan reads of a tree a recursive ACL update covers: the
/// listing settles files without `+` (owner, group and permissions are their
/// whole ACL); directories and files with an extended ACL are read one
/// `getAccessControl` each. The plan stays exact, and an apply still catches
/// any item whose ACL changed since the plan.
@Suite struct PlanReadTests {
  static let account = "contosolake", filesystem = "customerinsights"
  static let otherOwner = "3b1f0c2e-8d4a-4f6b-9e7c-1a2b3c4d5e6f"
  static let named = "ec3595d6-2c17-4696-8caa-7e139758d24a"

  /// The tree: minimal and extended ACLs side by side, a file owned by
  /// someone else, a mask without named entries, a directory whose ACL is
  /// a default ACL over minimal access entries.
  static let paths: [(path: String, type: String, owner: String, acl: String)] = [
    ("raw", "directory", "$superuser", "user::rwx,group::r-x,other::---"),
    ("raw/a.csv", "file", "$superuser", "user::rw-,group::r--,other::---"),
    ("raw/b.csv", "file", otherOwner, "user::rw-,group::r--,other::r--"),
    ("raw/c.csv", "file", "$superuser", "user::rw-,user:\(named):r--,group::r--,mask::r--,other::---"),
    ("raw/d.csv", "file", "$superuser", "user::rw-,group::r--,mask::rw-,other::---"),
    ("curated", "directory", "$superuser",
     "user::rwx,group::r-x,other::---,default:user::rwx,default:group::r-x,default:other::---"),
    ("curated/e.csv", "file", "$superuser", "user::rw-,group::r--,other::---"),
    ("curated/f.csv", "file", "$superuser", "user::rw-,group::r--,group:\(named):rw-,mask::rw-,other::---"),
    ("curated/deep", "directory", "$superuser", "user::rwx,group::r-x,other::---"),
    ("curated/deep/g.csv", "file", "$superuser", "user::rw-,group::r--,other::---"),
  ]

  /// What the plan must read with `getAccessControl`: the filesystem's root
  /// (the update's path), every directory, and the files whose listing shows `+`.
  static let readByThePlan: Set<String> = ["", "raw", "curated", "curated/deep", "raw/c.csv", "raw/d.csv", "curated/f.csv"]

  /// The bench's 10k-item tenant with this small tree in place of the generated one.
  static func writeState(in dir: URL) throws -> String {
    let bench = Support.repositoryRoot.appendingPathComponent("bench/state/10k-items.json")
    var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: bench)) as? [String: Any])
    var azure = try #require(state["azure"] as? [String: Any])
    var accounts = try #require(azure["storage_accounts"] as? [[String: Any]])
    var filesystems = try #require(accounts[0]["filesystems"] as? [[String: Any]])
    filesystems[0]["generate"] = []
    filesystems[0]["paths"] = paths.map { p -> [String: Any] in
      ["path": p.path, "type": p.type, "owner": p.owner, "group": "$superuser", "acl": p.acl]
    }
    accounts[0]["filesystems"] = filesystems
    azure["storage_accounts"] = accounts
    state["azure"] = azure
    let url = dir.appendingPathComponent("mixed-acls.json")
    try JSONSerialization.data(withJSONObject: state, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    return url.path
  }

  /// `set_acl_recursive` over the whole filesystem: the bench's runbook.
  static let runbook = Support.repositoryRoot.appendingPathComponent("bench/runbook/acl-live.runbook").path

  /// The paths of the `HEAD …?action=ACTION` requests in `lines` of the emulator's request log.
  static func reads(_ action: String, _ lines: ArraySlice<String>) -> [String] {
    let prefix = "HEAD /\(account)/\(filesystem)/", suffix = "?action=" + action
    return lines.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.map { line in
      String(line.dropFirst(prefix.count).dropLast(suffix.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }
  }

  static func resultLine(_ text: String) -> String {
    text.split(separator: "\n").first { $0.hasPrefix("acl-live ") }.map(String.init) ?? "(no result line)"
  }

  /// The plan predicts what the dry run predicts and the apply does, while
  /// reading with `getAccessControl` only the directories and the `+` files
  /// (each once); the apply ends in the dry run's state.
  @Test func aPlanOverMixedACLsIsExactAndReadsOnlyWhatTheListingCannotShow() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let state = try Self.writeState(in: dir)
    let runbook = Self.runbook
    let (dry, predicted) = try Support.dryRun(runbook, state: state, params: [], in: dir)
    try #require(dry.status == 0, "\(dry.output)")
    #expect(Self.resultLine(dry.stdout).hasPrefix("acl-live 11 11 0 "), "every item changes: \(dry.stdout)")

    let server = try Support.emulator(state: state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let before = server.emulator.requestLog.count
    let planPath = dir.appendingPathComponent("plan.json").path
    let plan = try Child(["plan", "--live", runbook, "--out", planPath], environment: env, directory: dir).wait()
    try #require(plan.status == 0, "\(plan.output)")
    #expect(Support.writes(server).isEmpty)
    #expect(PlanApplyTests.planLine(plan.stdout) == PlanApplyTests.planLine(dry.stdout), "\(plan.stdout)\n---\n\(dry.stdout)")
    #expect(Self.resultLine(plan.stdout) == Self.resultLine(dry.stdout))
    let reads = Self.reads("getAccessControl", server.emulator.requestLog[before...])
    #expect(Set(reads) == Self.readByThePlan, "read: \(reads.sorted())")
    #expect(reads.count == Self.readByThePlan.count, "each path is read once: \(reads.sorted())")
    // A listed path's type comes from the listing: only the update's own path asks for it.
    #expect(Self.reads("getStatus", server.emulator.requestLog[before...]) == [""])

    let planned = server.emulator.requestLog.count
    let apply = try Child(["apply", planPath, "--yes"], environment: env, directory: dir).wait()
    #expect(apply.status == 0, "\(apply.output)")
    // The apply's re-reads and its own judging read listed paths with one request each too.
    let applyStatusReads = Self.reads("getStatus", server.emulator.requestLog[planned...])
    #expect(!applyStatusReads.isEmpty && Set(applyStatusReads) == [""], "\(applyStatusReads)")
    #expect(Self.resultLine(apply.stdout) == Self.resultLine(dry.stdout), "\(apply.stdout)")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted), "\(apply.output)")
  }

  /// One item's ACL changes between plan and apply: the apply refuses
  /// before any change and names the item, whether the listing shows the
  /// change (a file without `+`, or one that gains `+`) or only its ACL read
  /// does (a named entry of a `+` file changes, its permissions do not).
  @Test(arguments: [
    ("raw/a.csv", "user::rw-,group::rw-,other::---"),
    ("raw/b.csv", "user::rw-,group::r--,group:\(named):r--,mask::r--,other::r--"),
    ("raw/c.csv", "user::rw-,user:\(named):---,group::r--,mask::r--,other::---"),
  ])
  func anACLChangedSinceThePlanStopsTheApply(path: String, acl: String) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let state = try Self.writeState(in: dir)
    let server = try Support.emulator(state: state)
    defer { server.shutdown() }
    let env = Support.environment(server)
    let planPath = dir.appendingPathComponent("plan.json").path
    let plan = try Child(["plan", "--live", Self.runbook, "--out", planPath], environment: env, directory: dir).wait()
    try #require(plan.status == 0, "\(plan.output)")
    try server.emulator.mutateWorld { world in
      try world.setAccessControl(account: Self.account, filesystem: Self.filesystem, path: path,
                                 acl: try AccessControlList(parsing: acl))
    }
    let apply = try Child(["apply", planPath, "--yes"], environment: env, directory: dir).wait()
    #expect(apply.status == 1, "\(apply.output)")
    #expect(apply.stderr.contains("the tenant changed since the plan was made"), "\(apply.output)")
    let named = apply.stderr.split(separator: "\n").filter { $0.hasPrefix("  ~ ") }
    #expect(named.count == 1 && named[0].contains(path), "names \(path) and nothing else: \(apply.stderr)")
    #expect(Support.writes(server).isEmpty, "\(Support.writes(server))")
  }

  /// The live client reads owner and group from the listing (with `upn=false`).
  @Test func theListingCarriesOwnerGroupAndPermissions() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let f = try Fixture(state: try Self.writeState(in: dir))
    let page = try f.s.dataLake.listPaths(account: Self.account, filesystem: Self.filesystem, directory: "raw", recursive: true,
                                          continuation: nil, maxResults: nil)
    let b = try #require(page.entries.first { $0.name == "raw/b.csv" })
    #expect(b.owner == Self.otherOwner && b.group == "$superuser" && b.permissions == "rw-r--r--")
    #expect(b.listedFileAccessControl?.acl.text == "user::rw-,group::r--,other::r--")
    let d = try #require(page.entries.first { $0.name == "raw/d.csv" })
    #expect(d.permissions == "rw-rw----+", "a mask alone makes the ACL extended")
    #expect(d.listedFileAccessControl == nil)
    let directory = try #require(try f.s.dataLake.listPaths(
      account: Self.account, filesystem: Self.filesystem, directory: "", recursive: false, continuation: nil, maxResults: nil
    ).entries.first { $0.name == "curated" })
    #expect(directory.permissions == "rwxr-x---+" && directory.listedFileAccessControl == nil)
  }
}
