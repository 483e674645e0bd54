import RunbookServices

/// The directory tree of one ADLS Gen2 filesystem, stored as flat arrays
/// (structure of arrays) indexed by node number; node 0 is the root. ACLs
/// and owner names are interned, so a million items that share three ACLs
/// hold three lists, and a recursive update merges each distinct ACL once.
public final class PathTree: @unchecked Sendable {
  public typealias Node = Int32

  private(set) var names: [String] = [""]
  private(set) var parents: [Node] = [-1]
  private(set) var isDirectory: [Bool] = [true]
  private(set) var aclIDs: [Int32] = [0]
  private(set) var ownerIDs: [Int32] = [0]
  private(set) var groupIDs: [Int32] = [0]
  private(set) var children: [[Node]] = [[]]
  /// Position of each node in its parent's `children`.
  private(set) var childPosition: [Int32] = [0]
  /// Injected failures: setting the ACL of these nodes fails with the message.
  var faults: [Node: String] = [:]
  /// Full path → node.
  private var index: [String: Node] = ["": 0]

  private(set) var acls: [AccessControlList] = []
  private var aclIntern: [AccessControlList: Int32] = [:]
  private(set) var strings: [String] = []
  private var stringIntern: [String: Int32] = [:]

  public init(owner: String = "$superuser", group: String = "$superuser",
              acl: AccessControlList = .defaultDirectory) {
    aclIDs[0] = intern(acl)
    ownerIDs[0] = intern(owner)
    groupIDs[0] = intern(group)
  }

  public var count: Int { names.count }

  func intern(_ acl: AccessControlList) -> Int32 {
    if let i = aclIntern[acl] { return i }
    let i = Int32(acls.count)
    acls.append(acl)
    aclIntern[acl] = i
    return i
  }
  func intern(_ s: String) -> Int32 {
    if let i = stringIntern[s] { return i }
    let i = Int32(strings.count)
    strings.append(s)
    stringIntern[s] = i
    return i
  }

  // MARK: Lookup

  public func node(_ path: String) -> Node? { index[path] }

  public func path(of node: Node) -> String {
    var parts: [String] = []
    var n = node
    while n > 0 {
      parts.append(names[Int(n)])
      n = parents[Int(n)]
    }
    return parts.reversed().joined(separator: "/")
  }

  public func isDirectory(_ node: Node) -> Bool { isDirectory[Int(node)] }
  public func acl(_ node: Node) -> AccessControlList { acls[Int(aclIDs[Int(node)])] }
  public func owner(_ node: Node) -> String { strings[Int(ownerIDs[Int(node)])] }
  public func group(_ node: Node) -> String { strings[Int(groupIDs[Int(node)])] }
  public func setACL(_ node: Node, _ acl: AccessControlList) { aclIDs[Int(node)] = intern(acl) }

  // MARK: Creation

  /// Adds a child under `parent`. Without an explicit ACL the child gets
  /// the parent's default ACL (if any) or the service defaults (750 / 640).
  @discardableResult
  public func addChild(_ parent: Node, name: String, isDirectory dir: Bool, owner: String? = nil, group: String? = nil,
                       acl: AccessControlList? = nil) -> Node {
    let p = Int(parent)
    let n = Node(names.count)
    let full = parent == 0 ? name : path(of: parent) + "/" + name
    let inherited = acl ?? acls[Int(aclIDs[p])].inherited(isDirectory: dir)
      ?? (dir ? AccessControlList.defaultDirectory : AccessControlList.defaultFile)
    names.append(name)
    parents.append(parent)
    isDirectory.append(dir)
    aclIDs.append(intern(inherited))
    ownerIDs.append(owner.map { intern($0) } ?? ownerIDs[p])
    groupIDs.append(group.map { intern($0) } ?? groupIDs[p])
    children.append([])
    childPosition.append(Int32(children[p].count))
    children[p].append(n)
    index[full] = n
    return n
  }

  /// Creates `path` and any missing parent folders; returns the node.
  @discardableResult
  public func ensure(_ path: String, isDirectory dir: Bool, owner: String? = nil, group: String? = nil,
                     acl: AccessControlList? = nil) -> Node {
    if let n = index[path] { return n }
    let segments = path.split(separator: "/").map(String.init)
    var current: Node = 0
    var prefix = ""
    for (i, seg) in segments.enumerated() {
      prefix = prefix.isEmpty ? seg : prefix + "/" + seg
      if let n = index[prefix] { current = n; continue }
      let last = i == segments.count - 1
      current = addChild(current, name: seg, isDirectory: last ? dir : true, owner: last ? owner : nil,
                         group: last ? group : nil, acl: last ? acl : nil)
    }
    return current
  }

  /// All nodes but the root in path order (for saving).
  public func sortedNodes() -> [Node] {
    var out: [Node] = []
    out.reserveCapacity(count)
    func walk(_ n: Node) {
      let kids = children[Int(n)].sorted { names[Int($0)] < names[Int($1)] }
      for k in kids {
        out.append(k)
        walk(k)
      }
    }
    walk(0)
    return out
  }

  // MARK: Recursive ACL

  /// The next node in pre-order after `n`, staying inside the subtree of `root`.
  func next(after n: Node, within root: Node) -> Node? {
    if let first = children[Int(n)].first { return first }
    var cur = n
    while cur != root {
      let p = parents[Int(cur)]
      let pos = Int(childPosition[Int(cur)]) + 1
      if pos < children[Int(p)].count { return children[Int(p)][pos] }
      cur = p
    }
    return nil
  }

  /// `setAccessControlRecursive` on the subtree of `root`, starting at
  /// `start` (a continuation), processing at most `maxRecords` items.
  func applyRecursive(root: Node, start: Node, mode: ACLRecursiveMode, acl request: AccessControlList,
                      maxRecords: Int, forceFlag: Bool) -> (ACLRecursivePage, next: Node?) {
    let fileRequest = AccessControlList(request.entries.filter { !$0.isDefault })
    var cache: [Int64: (Int32, Bool)] = [:]
    var dirs = 0, files = 0, failures = 0, changed = 0
    var failed: [ACLFailedEntry] = []
    var node: Node? = start
    var processed = 0
    while let n = node, processed < maxRecords {
      processed += 1
      let i = Int(n)
      let dir = isDirectory[i]
      if let message = faults[n] {
        failures += 1
        failed.append(ACLFailedEntry(name: path(of: n), type: dir ? "DIRECTORY" : "FILE", errorMessage: message))
        if !forceFlag {
          return (ACLRecursivePage(directoriesSuccessful: dirs, filesSuccessful: files, failureCount: failures,
                                   failedEntries: failed, changedCount: changed, continuation: nil), nil)
        }
      } else {
        let old = aclIDs[i]
        let key = Int64(old) << 1 | (dir ? 1 : 0)
        let result: (Int32, Bool)
        if let hit = cache[key] {
          result = hit
        } else {
          let current = acls[Int(old)]
          let req = dir ? request : fileRequest
          let updated: AccessControlList
          switch mode {
          case .modify: updated = current.merging(req)
          case .set: updated = req
          case .remove: updated = current.removing(req)
          }
          let id = intern(updated)
          result = (id, id != old)
          cache[key] = result
        }
        if result.1 {
          aclIDs[i] = result.0
          changed += 1
        }
        if dir { dirs += 1 } else { files += 1 }
      }
      node = next(after: n, within: root)
    }
    return (ACLRecursivePage(directoriesSuccessful: dirs, filesSuccessful: files, failureCount: failures,
                             failedEntries: failed, changedCount: changed, continuation: nil), node)
  }
}
