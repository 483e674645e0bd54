import Foundation
import RunbookServices
import Testing

/// The apply's guard takes the ACL changes of one recursive update in any
/// order (they are sent concurrently) but every other change in plan order.
@Suite("Plan guard")
struct PlanGuardTests {
  static func write(_ op: String, _ path: String) -> ServiceWrite {
    ServiceWrite(op: op, target: path, args: ["path": .string(path)])
  }

  static func plan(_ writes: [ServiceWrite]) -> [PlannedWrites.Entry] {
    let recorder = PlannedWrites()
    for w in writes { recorder.didWrite(w, createdID: nil) }
    return recorder.entries
  }

  @Test("ACL changes of one run are matched in any order; each only once")
  func aclChangesInAnyOrder() throws {
    let acl = (0..<4).map { Self.write("setAccessControl", "dir/part-\($0)") }
    let planned = Self.plan([Self.write("createGroup", "g")] + acl + [Self.write("updateRow", "r")])
    let guardian = PlanGuard(planned: planned)
    var applied: [Int] = []
    let log = AppliedLog()
    guardian.onApplied = { index, _ in log.add(index) }
    for w in [Self.write("createGroup", "g"), acl[2], acl[0], acl[3], acl[1], Self.write("updateRow", "r")] {
      try guardian.willWrite(w)
      guardian.didWrite(w, createdID: nil)
    }
    applied = log.indexes
    #expect(applied == [0, 3, 1, 4, 2, 5])
    #expect(guardian.checkComplete() == nil, "every planned change was made")
  }

  @Test("an ACL change sent twice, or any other change out of order, diverges")
  func outOfOrderElsewhereDiverges() throws {
    let planned = Self.plan([Self.write("setAccessControl", "a"), Self.write("setAccessControl", "b"),
                             Self.write("createGroup", "g"), Self.write("updateRow", "r")])
    let twice = PlanGuard(planned: planned)
    try twice.willWrite(Self.write("setAccessControl", "b"))
    #expect(throws: ServiceError.self) { try twice.willWrite(Self.write("setAccessControl", "b")) }

    let reordered = PlanGuard(planned: planned)
    try reordered.willWrite(Self.write("setAccessControl", "a"))
    try reordered.willWrite(Self.write("setAccessControl", "b"))
    #expect(throws: ServiceError.self) { try reordered.willWrite(Self.write("updateRow", "r")) }
  }

  @Test("concurrent ACL changes from many threads are each matched once")
  func concurrentChanges() {
    let acl = (0..<200).map { Self.write("setAccessControl", "dir/f-\($0)") }
    let guardian = PlanGuard(planned: Self.plan(acl))
    let log = AppliedLog()
    guardian.onApplied = { index, _ in log.add(index) }
    DispatchQueue.concurrentPerform(iterations: acl.count) { i in
      let w = acl[acl.count - 1 - i]
      do {
        try guardian.willWrite(w)
        guardian.didWrite(w, createdID: nil)
      } catch {
        log.add(-1)
      }
    }
    #expect(log.indexes.sorted() == Array(0..<200))
    #expect(guardian.checkComplete() == nil)
  }
}

/// The planned indexes a guard reports as applied (from any thread).
final class AppliedLog: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Int] = []
  func add(_ i: Int) { lock.withLock { list.append(i) } }
  var indexes: [Int] { lock.withLock { list } }
}
