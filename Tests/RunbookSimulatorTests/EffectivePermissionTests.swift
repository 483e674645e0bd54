import Foundation
import RunbookRuntime
@testable import RunbookServices
@testable import RunbookSimulator
import Testing

/// Widening a mask for new entries must not raise anyone else's access,
/// and recursive updates report exactly what they changed.
@Suite("Effective permissions and honest recursive counts")
struct EffectivePermissionTests {
  static let reader = "ffc9523e-200c-5d21-9694-a0354be3a70b"
  static let contributor = "0d3041ee-de1f-5502-be59-ee6932eae4a6"
  static let full: Value = .list(ListBox([
    "group:\(reader):r-x", "group:\(contributor):rwx", "default:group:\(reader):r-x", "default:group:\(contributor):rwx",
  ]))
  static let account: Value = "contosolake"

  /// Every entry but the requested groups and the masks, with its effective permissions.
  static func others(_ acl: AccessControlList) -> [String: String] {
    var out: [String: String] = [:]
    for (k, p) in acl.effectiveByKey where k.id != reader && k.id != contributor {
      out[Domain.entryLabel(k)] = p.text
    }
    return out
  }

  /// A planned change's attributes as `name=old->new #comment` lines.
  static func attributeLines(_ change: PlannedChange) -> [String] {
    change.attributes.map { "\($0.name)=\($0.old ?? "nil")->\($0.new ?? "nil") #\($0.comment ?? "")" }
  }

  static func aclsByPath(_ w: World) throws -> [String: AccessControlList] {
    let tree = try #require(w.filesystem(account: "contosolake", name: ciContainerName))
    var out: [String: AccessControlList] = ["": tree.acl(0)]
    for n in tree.sortedNodes() { out[tree.path(of: n)] = tree.acl(n) }
    return out
  }

  @Test("a widened mask lowers other masked entries to their old effective permissions")
  func mergeKeepsOthersEffective() throws {
    let current = try AccessControlList(parsing: Scenarios.restrictiveDirectoryACL)
    let request = try AccessControlList(parsing: "group:\(Self.contributor):rwx")
    let kept = current.merging(request, widenOthers: false)
    #expect(kept.permissions(.mask)?.text == "rwx")
    #expect(kept.effectivePermissions(.group, id: Self.contributor)?.text == "rwx")
    #expect(Self.others(kept) == Self.others(current))
    #expect(kept.permissions(.group, id: Scenarios.financeID)?.text == "r-x")
    #expect(kept.permissions(.group)?.text == "r-x")
    // Only the contributor's effective access changes.
    #expect(current.effectiveChanges(to: kept) == [EffectiveChange(
      key: .init(isDefault: false, kind: .group, id: Self.contributor), old: nil, new: Permissions("rwx"))])

    let widened = current.merging(request, widenOthers: true)
    #expect(widened == current.merging(request))
    #expect(widened.effectivePermissions(.group, id: Scenarios.financeID)?.text == "rwx")
    #expect(current.effectiveChanges(to: widened).count == 4)  // contributor, Bob, Finance, the owning group
  }

  @Test("an explicit mask in the request is taken as asked")
  func explicitMask() throws {
    let current = try AccessControlList(parsing: Scenarios.restrictiveFileACL)
    let request = try AccessControlList(parsing: "group:\(Self.contributor):rw-,mask::rw-")
    let merged = current.merging(request, widenOthers: false)
    #expect(merged.effectivePermissions(.group, id: Scenarios.financeID)?.text == "rw-")
  }

  @Test("set_acl keeps everyone else's effective permissions and the plan says so")
  func setACL() throws {
    let h = Harness(world: try World(state: Scenarios.restrictiveMask()))
    let before = try Self.aclsByPath(h.world)
    let result = try h.call("set_acl", ["account": Self.account, "entries": Self.full])
    let after = try Self.aclsByPath(h.world)
    #expect(Self.others(after[""]!) == Self.others(before[""]!))
    #expect(after[""]!.effectivePermissions(.group, id: Self.contributor)?.text == "rwx")
    #expect(result.get("acl").s == after[""]!.text)
    let lines = Self.attributeLines(try #require(h.recorder.changes.last))
    #expect(lines.contains("group:\(Scenarios.financeID)=\"rwx\"->\"r-x\" #Finance; lowered to keep its effective r-x"))
    #expect(lines.contains("user:\(Scenarios.bobID)=\"rwx\"->\"r-x\" #Bob Analyst; lowered to keep its effective r-x"))
    #expect(lines.contains("effective group:\(Self.contributor)=nil->\"rwx\" #"))
    #expect(lines.contains("effective default:group:\(Self.reader)=nil->\"r-x\" #"))
    #expect(!lines.contains { $0.hasPrefix("effective group:\(Scenarios.financeID)") })
  }

  @Test("widen_others lets the other entries' stored permissions take effect, shown per principal")
  func setACLWiden() throws {
    let h = Harness(world: try World(state: Scenarios.restrictiveMask()))
    try h.call("set_acl", ["account": Self.account, "entries": Self.full, "widen_others": .bool(true)])
    let acl = try Self.aclsByPath(h.world)[""]!
    #expect(acl.effectivePermissions(.group, id: Scenarios.financeID)?.text == "rwx")
    let names = try #require(h.recorder.changes.last).attributes.map(\.name)
    #expect(names.contains("effective group:\(Scenarios.financeID)"))
    #expect(names.contains("effective user:\(Scenarios.bobID)"))
    #expect(names.contains("effective group::"))
  }

  @Test("set_acl_recursive on restrictive masks: exact writes, nobody else gains, a re-run changes nothing")
  func recursiveRestrictive() throws {
    let h = Harness(world: try World(state: Scenarios.restrictiveMask()))
    let before = try Self.aclsByPath(h.world)
    let r = try h.call("set_acl_recursive", ["account": Self.account, "entries": Self.full])
    let after = try Self.aclsByPath(h.world)
    for (path, acl) in after {
      #expect(Self.others(acl) == Self.others(before[path]!), "\(path): another principal's effective access changed")
      #expect(acl.effectivePermissions(.group, id: Self.reader)?.text == "r-x", "\(path)")
    }
    #expect(after["sales/2025.csv"]!.effectivePermissions(.group, id: Self.contributor)?.text == "rwx")
    #expect(r.get("changed") == .int(5) && r.get("checked") == .int(5))
    #expect(r.get("pages") == .int(0) && r.get("single_writes") == .int(5))
    let lines = Self.attributeLines(try #require(h.recorder.changes.last))
    #expect(lines.contains("items_changed=nil->5 #"))
    #expect(lines.contains("group:\(Scenarios.financeID)=\"rw-\"->\"r--\" #Finance; lowered to keep its effective r--, 3 items"))
    #expect(lines.contains("effective group:\(Self.contributor)=nil->\"rwx\" #5 items"))
    #expect(lines.contains("effective default:group:\(Self.contributor)=nil->\"rwx\" #2 items"))
    #expect(!lines.contains { $0.hasPrefix("effective group:\(Scenarios.financeID)") || $0.hasPrefix("effective user:") })

    let again = try h.call("set_acl_recursive", ["account": Self.account, "entries": Self.full])
    #expect(again.get("changed") == .int(0) && again.get("pages") == .int(0) && again.get("single_writes") == .int(0))
    #expect(try Self.aclsByPath(h.world) == after)
  }

  @Test("set_acl_recursive on a fresh tree: one recursive chain per subdirectory, exact counts, a quiet re-run")
  func recursiveFresh() throws {
    var s = World.demoState()
    s.azure.storageAccounts[0].filesystems = [FilesystemState(
      name: ciContainerName, owner: "$superuser", group: "$superuser", acl: "user::rwx,group::r-x,other::---", paths: [],
      generate: [PathGeneratorState(prefix: "part-", folders: 30, filesPerFolder: 2500)])]
    let h = Harness(world: try World(state: s))
    let r = try h.call("set_acl_recursive", ["account": Self.account, "entries": Self.full])
    #expect(r.get("checked") == .int(1 + 30 * 2501) && r.get("changed") == .int(1 + 30 * 2501))
    #expect(r.get("directories_successful") == .int(31) && r.get("files_successful") == .int(30 * 2500))
    #expect(r.get("pages") == .int(60) && r.get("single_writes") == .int(1))
    let again = try h.call("set_acl_recursive", ["account": Self.account, "entries": Self.full])
    #expect(again.get("changed") == .int(0) && again.get("checked") == .int(1 + 30 * 2501))
    #expect(again.get("pages") == .int(0) && again.get("single_writes") == .int(0))
    #expect(h.recorder.steps.last?.calls.last?.status == .ok)
  }

  @Test("failed items are not counted as changed")
  func failures() throws {
    var s = Scenarios.restrictiveMask()
    s.azure.storageAccounts[0].filesystems[0].paths[2].aclFailure = "This request is not authorized to perform this operation using this permission."
    s.azure.storageAccounts[0].filesystems[0].paths.append(PathState(
      path: "fresh", type: "directory", owner: "$superuser", group: "$superuser", acl: "user::rwx,group::r-x,other::---"))
    s.azure.storageAccounts[0].filesystems[0].paths.append(PathState(
      path: "fresh/a.csv", type: "file", owner: "$superuser", group: "$superuser", acl: "user::rw-,group::r--,other::---",
      aclFailure: "This request is not authorized to perform this operation using this permission."))
    s.azure.storageAccounts[0].filesystems[0].paths.append(PathState(
      path: "fresh/b.csv", type: "file", owner: "$superuser", group: "$superuser", acl: "user::rw-,group::r--,other::---"))
    let h = Harness(world: try World(state: s))
    let r = try h.call("set_acl_recursive", ["account": Self.account, "entries": Self.full])
    // sales/2025.csv fails (exact write); fresh/a.csv fails inside the recursive chain of `fresh`.
    #expect(r.get("failure_count") == .int(2))
    #expect(r.get("failed_entries").asList?.map { $0.get("name").s } == ["sales/2025.csv", "fresh/a.csv"])
    #expect(r.get("changed") == .int(4 + 2))  // root, readme, sales, sales/2026; fresh, fresh/b.csv
    #expect(r.get("pages") == .int(1))
  }

  @Test("BoundedWork keeps job order and never runs more than its limit at once")
  func boundedWork() {
    let inFlight = LockedBox((now: 0, peak: 0))
    let out = BoundedWork.map(200, limit: 7) { i -> Int in
      inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
      usleep(UInt32(200 + (i * 37) % 500))
      inFlight.withLock { $0.now -= 1 }
      return i * i
    }
    #expect(out == (0..<200).map { $0 * $0 })
    let peak = inFlight.withLock { $0.peak }
    #expect(peak <= 7 && peak > 1)
  }
}
