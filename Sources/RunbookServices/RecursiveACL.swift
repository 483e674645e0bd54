import Foundation

/// A value shared between worker threads, behind a lock.
final class LockedBox<T>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: T
  init(_ value: T) { self.value = value }
  func withLock<R>(_ body: (inout T) -> R) -> R {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }
}

/// Runs jobs on at most `limit` threads at once and returns their results
/// in job order. With a limit of 1 the jobs run inline, in order, on the
/// calling thread (the simulator is not thread-safe and its results must
/// not depend on timing). The service protocols are synchronous, so each
/// worker is a thread that blocks on its request.
public enum BoundedWork {
  /// Requests a sweep keeps in flight unless told otherwise (`set_acl_recursive`'s
  /// default `concurrency`, a plan's subtree reads, an apply's re-reads).
  public static let defaultWidth = 16

  public static func map<T: Sendable>(_ count: Int, limit: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    if limit <= 1 || count <= 1 { return (0..<count).map(body) }
    let results = LockedBox<[T?]>(Array(repeating: nil, count: count))
    let next = LockedBox(0)
    let workers = min(limit, count)
    let done = Countdown(workers)
    for _ in 0..<workers {
      let worker = Thread {
        while true {
          let i = next.withLock { n -> Int in
            n += 1
            return n - 1
          }
          if i >= count { break }
          let r = body(i)
          results.withLock { $0[i] = r }
        }
        done.signal()
      }
      worker.start()
    }
    done.wait()
    return results.withLock { $0.map { $0! } }
  }
}

/// Waits until `count` workers have signalled.
final class Countdown: @unchecked Sendable {
  private let condition = NSCondition()
  private var left: Int
  init(_ count: Int) { left = count }
  func signal() {
    condition.lock()
    left -= 1
    condition.broadcast()
    condition.unlock()
  }
  func wait() {
    condition.lock()
    while left > 0 { condition.wait() }
    condition.unlock()
  }
}

/// A counting semaphore: at most `width` holders at once.
final class RequestGate: @unchecked Sendable {
  private let condition = NSCondition()
  private var free: Int
  init(width: Int) { free = max(1, width) }
  func enter() {
    condition.lock()
    while free == 0 { condition.wait() }
    free -= 1
    condition.unlock()
  }
  func leave() {
    condition.lock()
    free += 1
    condition.signal()
    condition.unlock()
  }
}

/// One entry whose stored permissions an update lowers so that a widened
/// mask does not raise its effective permissions.
struct LoweredEntry: Hashable, Sendable {
  var key: AccessControlEntry.Key
  var stored: Permissions?
  var kept: Permissions?
}

/// What `set_acl_recursive` did, summed over the items of the tree.
struct RecursiveACLTally: Sendable {
  var directoriesSuccessful = 0, filesSuccessful = 0, failureCount = 0
  var failedEntries: [ACLFailedEntry] = []
  /// Items whose ACL changed.
  var changed = 0
  /// Items whose ACL was read and judged.
  var checked = 0
  /// `setAccessControlRecursive` pages sent.
  var pages = 0
  /// Single-path `setAccessControl` requests sent.
  var singleWrites = 0
  /// Effective-permission changes over the changed items, with item counts, in first-seen order.
  var effective: [(EffectiveChange, Int)] = []
  var lowered: [(LoweredEntry, Int)] = []

  mutating func count(success isDirectory: Bool) {
    if isDirectory { directoriesSuccessful += 1 } else { filesSuccessful += 1 }
  }

  mutating func fail(_ name: String, isDirectory: Bool, _ message: String) {
    failureCount += 1
    failedEntries.append(ACLFailedEntry(name: name, type: isDirectory ? "DIRECTORY" : "FILE", errorMessage: message))
  }

  /// Counts `n` changed items that share one decision.
  mutating func add(changed decision: RecursiveACLUpdate.Decision, count n: Int) {
    guard n > 0 else { return }
    changed += n
    for e in decision.effective { Self.bump(&effective, e, n) }
    for l in decision.lowered { Self.bump(&lowered, l, n) }
  }

  /// Counts changed items by decision index, then adds them all at once.
  mutating func add(changed indexes: [Int], _ decisions: [RecursiveACLUpdate.Decision]) {
    var counts = [Int](repeating: 0, count: decisions.count)
    for i in indexes { counts[i] += 1 }
    for (i, n) in counts.enumerated() { add(changed: decisions[i], count: n) }
  }

  mutating func merge(_ o: RecursiveACLTally) {
    directoriesSuccessful += o.directoriesSuccessful; filesSuccessful += o.filesSuccessful
    failureCount += o.failureCount; failedEntries += o.failedEntries
    changed += o.changed; checked += o.checked; pages += o.pages; singleWrites += o.singleWrites
    for (e, n) in o.effective { Self.bump(&effective, e, n) }
    for (l, n) in o.lowered { Self.bump(&lowered, l, n) }
  }

  private static func bump<K: Equatable>(_ list: inout [(K, Int)], _ key: K, _ n: Int) {
    if let i = list.firstIndex(where: { $0.0 == key }) { list[i].1 += n } else { list.append((key, n)) }
  }
}

/// `set_acl_recursive` as a read, then only the writes that change
/// something. The DFS service does not say which items a recursive update
/// changed, so every item's ACL is read first (the listing, plus
/// `getAccessControl` for extended ACLs the listing does not carry) and
/// judged: unchanged items get no request at all.
///
/// The tree is split by subdirectory of `path`: each subdirectory is a
/// branch with its own listing and continuation, and up to `width`
/// branches (and reads and single writes within them) are in flight at
/// once, never more than `width` requests in all. A branch whose changes a
/// service-side merge would apply exactly gets `setAccessControlRecursive`
/// (2000 items a request); a branch with an item whose other entries the
/// merge would widen (or an item that could not be read) gets one
/// `setAccessControl` with the exact ACL per changed item, so nothing is
/// ever written blind. `path` itself and the files directly in it are set
/// one by one. Results are merged in listing order, so the counts and
/// failed entries do not depend on timing.
struct RecursiveACLUpdate: Sendable {
  let lake: any DataLakeService
  let account: String
  let filesystem: String
  /// The entries for directories; files get the access entries only.
  let request: AccessControlList
  let fileRequest: AccessControlList
  let widenOthers: Bool
  let continueOnFailure: Bool
  /// Requests in flight at most.
  let width: Int
  private let gate: RequestGate
  /// Where progress goes, and whether the run asked to stop (Ctrl-C).
  let monitor: CallMonitor
  private let counters = LockedBox(ProgressCounters())
  /// Work was skipped because the run asked to stop.
  private let stoppedEarly = LockedBox(false)

  init(lake: any DataLakeService, account: String, filesystem: String, request: AccessControlList, widenOthers: Bool,
       continueOnFailure: Bool, width: Int, monitor: CallMonitor = .silent) {
    self.lake = lake; self.account = account; self.filesystem = filesystem; self.request = request
    self.monitor = monitor
    fileRequest = AccessControlList(request.entries.filter { !$0.isDefault })
    self.widenOthers = widenOthers; self.continueOnFailure = continueOnFailure
    // Without continue_on_failure the update stops at the first failure: one request at a time keeps "first" well defined.
    self.width = continueOnFailure ? max(1, width) : 1
    gate = RequestGate(width: self.width)
  }

  /// What the progress line shows, summed over the branches in flight.
  struct ProgressCounters: Sendable {
    /// The path the update started at.
    var root = ""
    var checked = 0, writes = 0, failures = 0
    /// When progress was last told (monotonic nanoseconds).
    var toldAt: UInt64 = 0
  }

  /// Adds to the counters and tells them, at most ten times a second unless `now`.
  func tell(checked: Int = 0, writes: Int = 0, failures: Int = 0, now: Bool = false) {
    let clock = DispatchTime.now().uptimeNanoseconds
    let due = counters.withLock { c -> ProgressCounters? in
      c.checked += checked; c.writes += writes; c.failures += failures
      guard now || clock &- c.toldAt >= 100_000_000 else { return nil }
      c.toldAt = clock
      return c
    }
    guard let c = due else { return }
    monitor.progress(
      "\(filesystem)/\(c.root): \(c.checked) item\(c.checked == 1 ? "" : "s") checked, \(c.writes) write\(c.writes == 1 ? "" : "s") (single or batch), \(c.failures) failure\(c.failures == 1 ? "" : "s")",
      [("checked", c.checked), ("writes", c.writes), ("failures", c.failures)])
  }

  /// True (and remembered) when the run asked to stop: no new write starts.
  func stopping() -> Bool {
    guard monitor.isCancelled else { return false }
    stoppedEarly.withLock { $0 = true }
    return true
  }

  /// What an update does to one ACL.
  struct Decision: Sendable {
    var target: AccessControlList
    /// The target differs from the current ACL.
    var changes: Bool
    /// A service-side merge would not produce the target (it would widen
    /// other entries): the item needs its exact ACL set.
    var needsExactSet: Bool
    var effective: [EffectiveChange]
    var lowered: [LoweredEntry]
  }

  func decide(_ current: AccessControlList, isDirectory: Bool) -> Decision {
    let req = isDirectory ? request : fileRequest
    let serviceMerge = current.merging(req)
    let target = current.merging(req, widenOthers: widenOthers)
    let lowered = target.entries.compactMap { e -> LoweredEntry? in
      guard e.kind != .mask, let merged = serviceMerge.entry(e.key), merged.permissions != e.permissions else { return nil }
      return LoweredEntry(key: e.key, stored: merged.permissions, kept: e.permissions)
    }
    return Decision(target: target, changes: target != current, needsExactSet: target != serviceMerge,
                    effective: current.effectiveChanges(to: target), lowered: lowered)
  }

  /// Decisions by distinct ACL: a million items usually share a handful.
  final class DecisionCache {
    struct Key: Hashable { var acl: AccessControlList; var isDirectory: Bool }
    var index: [Key: Int] = [:]
    var decisions: [Decision] = []
    /// The last lookup: neighbours in a listing usually share an ACL (the
    /// simulator's are one interned value, compared by identity).
    var last: (key: Key, index: Int)? = nil
    func decide(_ acl: AccessControlList, isDirectory: Bool, _ update: RecursiveACLUpdate) -> Int {
      if let last, last.key.isDirectory == isDirectory, last.key.acl == acl { return last.index }
      let key = Key(acl: acl, isDirectory: isDirectory)
      let i: Int
      if let hit = index[key] {
        i = hit
      } else {
        decisions.append(update.decide(acl, isDirectory: isDirectory))
        i = decisions.count - 1
        index[key] = i
      }
      last = (key, i)
      return i
    }
  }

  /// One service call, counted against the in-flight bound.
  func gated<T>(_ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
    gate.enter()
    defer { gate.leave() }
    return try body()
  }

  /// An item to change: its path, kind and decision (index into the cache).
  struct Pending: Sendable { var name: String; var isDirectory: Bool; var decision: Int }

  /// Runs the update on `path` and everything under it.
  func run(path: String) throws -> RecursiveACLTally {
    counters.withLock { $0.root = path }
    let tally = try runUnlessStopped(path: path)
    tell(now: true)
    if stoppedEarly.withLock({ $0 }) {
      throw PartialRecursiveACLError(
        tally: tally, error: ServiceError(service: "dfs", status: 0, code: "interrupted",
                                          message: "interrupted: \(tally.changed) item(s) changed before the run was stopped"))
    }
    return tally
  }

  private func runUnlessStopped(path: String) throws -> RecursiveACLTally {
    let root = try gated { () throws(ServiceError) in try lake.getAccessControl(account: account, filesystem: filesystem, path: path) }
    let rootEntry = PathEntry(name: path, isDirectory: root.isDirectory, permissions: root.acl.permissionsString, acl: root.acl)
    var loose = [rootEntry]
    var branches: [PathEntry] = []
    if root.isDirectory {
      var token: String? = nil
      repeat {
        let page = try gated { () throws(ServiceError) in
          try lake.listPaths(account: account, filesystem: filesystem, directory: path, recursive: false,
                             continuation: token, maxResults: nil)
        }
        for e in page.entries { if e.isDirectory { branches.append(e) } else { loose.append(e) } }
        token = page.continuation
      } while token != nil
    }
    // The path itself and the files directly in it: read, judge, set one by one.
    var tally = RecursiveACLTally()
    let cache = DecisionCache()
    var pending: [Pending] = []
    var unreadable = false
    judge(loose, cache, &tally, &pending, &unreadable)
    applyOneByOne(pending, cache, &tally)
    if !continueOnFailure && tally.failureCount > 0 { return tally }

    // After a service error (or, without continue_on_failure, an item's
    // failure) no further branch starts; branches in flight finish.
    let subdirectories = branches
    let stop = LockedBox(false)
    let results = BoundedWork.map(subdirectories.count, limit: width) { i -> Result<RecursiveACLTally, ServiceError>? in
      if stop.withLock({ $0 }) || self.stopping() { return nil }
      let r = Result { () throws(ServiceError) in try self.runBranch(subdirectories[i]) }
      switch r {
      case .success(let t) where !self.continueOnFailure && t.failureCount > 0: stop.withLock { $0 = true }
      case .failure: stop.withLock { $0 = true }
      default: break
      }
      return r
    }
    var firstError: ServiceError? = nil
    for r in results {
      switch r {
      case .success(let t)?: tally.merge(t)
      case .failure(let e)?: if firstError == nil { firstError = e }
      case nil: break
      }
    }
    if let firstError { throw PartialRecursiveACLError(tally: tally, error: firstError) }
    return tally
  }

  /// One subdirectory and everything under it.
  func runBranch(_ directory: PathEntry) throws(ServiceError) -> RecursiveACLTally {
    var tally = RecursiveACLTally()
    let cache = DecisionCache()
    var pending: [Pending] = []
    var unreadable = false
    judge([directory], cache, &tally, &pending, &unreadable)
    var token: String? = nil
    repeat {
      let page = try gated { () throws(ServiceError) in
        try lake.listPaths(account: account, filesystem: filesystem, directory: directory.name, recursive: true,
                           continuation: token, maxResults: nil)
      }
      judge(page.entries, cache, &tally, &pending, &unreadable)
      token = page.continuation
    } while token != nil
    if !continueOnFailure && tally.failureCount > 0 { return tally }
    if pending.isEmpty { return tally }
    if unreadable || pending.contains(where: { cache.decisions[$0.decision].needsExactSet }) {
      applyOneByOne(pending, cache, &tally)
    } else {
      try applyRecursively(directory.name, pending, cache, &tally)
    }
    return tally
  }

  /// Reads the ACLs the listing does not carry (in parallel), judges each
  /// item, and counts the ones already right as successful.
  func judge(_ entries: [PathEntry], _ cache: DecisionCache, _ tally: inout RecursiveACLTally, _ pending: inout [Pending],
             _ unreadable: inout Bool) {
    let missing = entries.indices.filter { entries[$0].listedACL == nil }
    let read = BoundedWork.map(missing.count, limit: width) { k -> Result<AccessControlList, ServiceError> in
      Result { () throws(ServiceError) in
        try self.gated { () throws(ServiceError) in
          try self.lake.accessControlList(account: self.account, filesystem: self.filesystem, path: entries[missing[k]].name)
        }
      }
    }
    var readByIndex: [Int: Result<AccessControlList, ServiceError>] = [:]
    for (k, i) in missing.enumerated() { readByIndex[i] = read[k] }
    defer { tell(checked: entries.count) }
    for (i, e) in entries.enumerated() {
      let acl: AccessControlList
      if let known = e.listedACL {
        acl = known
      } else {
        switch readByIndex[i]! {
        case .success(let a): acl = a
        case .failure(let error):
          tally.fail(e.name, isDirectory: e.isDirectory, "its ACL could not be read: \(error.message)")
          unreadable = true
          continue
        }
      }
      tally.checked += 1
      let d = cache.decide(acl, isDirectory: e.isDirectory, self)
      if cache.decisions[d].changes {
        pending.append(Pending(name: e.name, isDirectory: e.isDirectory, decision: d))
      } else {
        tally.count(success: e.isDirectory)
      }
    }
  }

  /// One `setAccessControl` with the exact target ACL per item, in parallel.
  func applyOneByOne(_ pending: [Pending], _ cache: DecisionCache, _ tally: inout RecursiveACLTally) {
    let decisions = cache.decisions
    let stop = LockedBox(false)
    let results = BoundedWork.map(pending.count, limit: width) { i -> WriteOutcome in
      if stop.withLock({ $0 }) || self.stopping() { return .skipped }
      do throws(ServiceError) {
        try self.gated { () throws(ServiceError) in
          try self.lake.setAccessControl(account: self.account, filesystem: self.filesystem, path: pending[i].name,
                                         acl: decisions[pending[i].decision].target)
        }
        self.tell(writes: 1)
        return .done
      } catch {
        if !self.continueOnFailure { stop.withLock { $0 = true } }
        self.tell(writes: 1, failures: 1)
        return .failed(error)
      }
    }
    var changed: [Int] = []
    for (p, r) in zip(pending, results) {
      switch r {
      case .done:
        tally.singleWrites += 1
        tally.count(success: p.isDirectory)
        changed.append(p.decision)
      case .failed(let error):
        tally.singleWrites += 1
        tally.fail(p.name, isDirectory: p.isDirectory, error.message)
      case .skipped:
        break
      }
    }
    tally.add(changed: changed, decisions)
  }

  enum WriteOutcome: Sendable { case done, failed(ServiceError), skipped }

  /// `setAccessControlRecursive` (modify) on one branch, page by page. The
  /// service counts every item it processed; the changes are the pending
  /// items, unless an item failed or the run stopped part-way (Ctrl-C):
  /// then the pending items are read back and only those that now hold
  /// their target count as changed.
  func applyRecursively(_ directory: String, _ pending: [Pending], _ cache: DecisionCache,
                        _ tally: inout RecursiveACLTally) throws(ServiceError) {
    var token: String? = nil
    var failures = 0
    var stopped = false
    let pagesBefore = tally.pages
    repeat {
      if stopping() {
        stopped = true
        break
      }
      let page = try gated { () throws(ServiceError) in
        try lake.setAccessControlRecursive(
          account: account, filesystem: filesystem, path: directory, mode: .modify, acl: request, continuation: token,
          maxRecords: nil, forceFlag: continueOnFailure)
      }
      tally.pages += 1
      failures += page.failureCount
      tally.failureCount += page.failureCount
      tally.failedEntries += page.failedEntries
      tell(writes: 1, failures: page.failureCount)
      token = page.continuation
      if !continueOnFailure && page.failureCount > 0 { break }
    } while token != nil
    // Items judged unchanged were counted successful already; the service
    // answers for the pending ones.
    if stopped && tally.pages == pagesBefore { return }  // stopped before this branch changed anything
    if failures == 0 && !stopped {
      for p in pending { tally.count(success: p.isDirectory) }
      tally.add(changed: pending.map(\.decision), cache.decisions)
      return
    }
    let decisions = cache.decisions
    let now = BoundedWork.map(pending.count, limit: width) { i -> AccessControlList? in
      try? self.gated { () throws(ServiceError) in
        try self.lake.accessControlList(account: self.account, filesystem: self.filesystem, path: pending[i].name)
      }
    }
    let failedNames = Set(tally.failedEntries.map(\.name))
    var changed: [Int] = []
    for (p, acl) in zip(pending, now) where !failedNames.contains(p.name) && acl == decisions[p.decision].target {
      tally.count(success: p.isDirectory)
      changed.append(p.decision)
    }
    tally.add(changed: changed, decisions)
  }
}

/// A service error part-way through `set_acl_recursive`, with what was done before it.
struct PartialRecursiveACLError: Error {
  var tally: RecursiveACLTally
  var error: ServiceError
}
