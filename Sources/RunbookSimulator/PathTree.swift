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
  /// File content by node (files never written have none).
  var files: [Node: FileContent] = [:]
  /// Full path → node, for every node but generated ones (see `generate`).
  var index: [String: Node] = ["": 0]
  /// Some nodes are not in `index`: look them up by walking the tree.
  private var unindexed = false

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

  public func node(_ path: String) -> Node? {
    if let n = index[path] { return n }
    return unindexed ? walk(path) : nil
  }

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
  public func setOwner(_ node: Node, _ owner: String) { ownerIDs[Int(node)] = intern(owner) }
  public func setGroup(_ node: Node, _ group: String) { groupIDs[Int(node)] = intern(group) }

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
  /// `ownParents`: missing parents get `owner` too (the service makes the
  /// caller the owner of every folder a create adds), else their parent's.
  @discardableResult
  public func ensure(_ path: String, isDirectory dir: Bool, owner: String? = nil, group: String? = nil,
                     acl: AccessControlList? = nil, ownParents: Bool = false) -> Node {
    if let n = node(path) { return n }
    let segments = path.split(separator: "/").map(String.init)
    var current: Node = 0
    var prefix = ""
    for (i, seg) in segments.enumerated() {
      prefix = prefix.isEmpty ? seg : prefix + "/" + seg
      if let n = node(prefix) { current = n; continue }
      let last = i == segments.count - 1
      current = addChild(current, name: seg, isDirectory: last ? dir : true, owner: last || ownParents ? owner : nil,
                         group: last ? group : nil, acl: last ? acl : nil)
    }
    return current
  }

  /// Load-test bulk creation (state-file `generate`): `folders` directories
  /// `<prefix><i>`, each with `filesPerFolder` files `file-<j>.csv`, indices
  /// zero-padded. ACLs are computed and interned once per kind, not per item,
  /// and the generated items stay out of the path index (`node(_:)` finds
  /// them by walking the tree), so a million items load in a fraction of a
  /// second. Returns why it cannot, when a path exists already or a parent
  /// is a file; then nothing is added.
  func generate(prefix: String, folders: Int, filesPerFolder: Int, directoryACL: AccessControlList?,
                fileACL: AccessControlList?) -> String? {
    func padded(_ i: Int, _ width: Int) -> String {
      let digits = String(i)
      return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
    let folderWidth = String(max(folders - 1, 0)).count, fileWidth = String(max(filesPerFolder - 1, 0)).count
    let slash = prefix.lastIndex(of: "/")
    let parentPath = slash.map { String(prefix[..<$0]) } ?? ""
    let namePrefix = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
    var ancestor = ""
    for segment in parentPath.split(separator: "/") {
      ancestor = ancestor.isEmpty ? String(segment) : ancestor + "/" + segment
      if let n = node(ancestor), !self.isDirectory[Int(n)] { return "\(ancestor) is a file" }
    }
    let folderNames = (0..<folders).map { namePrefix + padded($0, folderWidth) }
    if let existing = node(parentPath) {
      let taken = Set(self.children[Int(existing)].map { self.names[Int($0)] })
      if let clash = folderNames.first(where: taken.contains) {
        return "\(parentPath.isEmpty ? clash : parentPath + "/" + clash) exists already"
      }
    }
    let parent = parentPath.isEmpty ? 0 : ensure(parentPath, isDirectory: true)
    let p = Int(parent)
    let dirACL = directoryACL ?? acls[Int(self.aclIDs[p])].inherited(isDirectory: true) ?? .defaultDirectory
    let dirACLID = intern(dirACL)
    let fileACLID = intern(fileACL ?? dirACL.inherited(isDirectory: false) ?? .defaultFile)
    let owner = self.ownerIDs[p], group = self.groupIDs[p]
    let fileNames = (0..<filesPerFolder).map { "file-" + padded($0, fileWidth) + ".csv" }

    // Work on local arrays: no exclusivity checks on the class's storage per item.
    var names = self.names, parents = self.parents, isDirectory = self.isDirectory, aclIDs = self.aclIDs
    var ownerIDs = self.ownerIDs, groupIDs = self.groupIDs, children = self.children, childPosition = self.childPosition
    self.names = []; self.parents = []; self.isDirectory = []; self.aclIDs = []
    self.ownerIDs = []; self.groupIDs = []; self.children = []; self.childPosition = []
    let total = folders * (filesPerFolder + 1)
    names.reserveCapacity(names.count + total)
    parents.reserveCapacity(parents.count + total)
    isDirectory.reserveCapacity(isDirectory.count + total)
    aclIDs.reserveCapacity(aclIDs.count + total)
    ownerIDs.reserveCapacity(ownerIDs.count + total)
    groupIDs.reserveCapacity(groupIDs.count + total)
    children.reserveCapacity(children.count + total)
    childPosition.reserveCapacity(childPosition.count + total)
    for name in folderNames {
      let d = Node(names.count)
      names.append(name)
      parents.append(parent)
      isDirectory.append(true)
      aclIDs.append(dirACLID)
      ownerIDs.append(owner)
      groupIDs.append(group)
      childPosition.append(Int32(children[p].count))
      children[p].append(d)
      children.append(Array((d + 1)..<(d + 1 + Node(filesPerFolder))))
      for (j, fileName) in fileNames.enumerated() {
        names.append(fileName)
        parents.append(d)
        isDirectory.append(false)
        aclIDs.append(fileACLID)
        ownerIDs.append(owner)
        groupIDs.append(group)
        childPosition.append(Int32(j))
        children.append([])
      }
    }
    self.names = names; self.parents = parents; self.isDirectory = isDirectory; self.aclIDs = aclIDs
    self.ownerIDs = ownerIDs; self.groupIDs = groupIDs; self.children = children; self.childPosition = childPosition
    if folders > 0 { unindexed = true }
    return nil
  }

  /// Finds a path by walking the tree from the root (for items not in `index`).
  private func walk(_ path: String) -> Node? {
    var current: Node = 0
    for segment in path.split(separator: "/") {
      guard let child = children[Int(current)].first(where: { names[Int($0)] == segment }) else { return nil }
      current = child
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

  /// One page of the paths under the directory `root` (not `root` itself),
  /// in pre-order when `recursive`, else its children; `start` continues
  /// an earlier page. Returns the nodes and where the next page starts.
  func list(root: Node, start: Node?, recursive: Bool, limit: Int) -> ([Node], next: Node?) {
    var out: [Node] = []
    let kids = children[Int(root)]
    var node: Node? = start ?? kids.first
    while let n = node, out.count < limit {
      out.append(n)
      if recursive {
        node = next(after: n, within: root)
      } else {
        let pos = Int(childPosition[Int(n)]) + 1
        node = pos < kids.count ? kids[pos] : nil
      }
    }
    return (out, node)
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
          case .set: updated = req.storedByService
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

// MARK: - Files, deletes, renames, listings

/// A file's bytes: what was flushed, and what was appended since.
public struct FileContent: Sendable, Equatable {
  public var committed: [UInt8] = []
  public var pending: [UInt8] = []
  /// Bumped by every change of the path (its ETag).
  public var version: Int = 1
  public var modifiedMilliseconds: Int = 0
}

extension PathTree {
  /// Whether `node` is still in the tree (not deleted).
  public func exists(_ node: Node) -> Bool {
    Int(node) < parents.count && (node == 0 || parents[Int(node)] >= 0)
  }

  public func parent(of node: Node) -> Node { parents[Int(node)] }
  public func name(of node: Node) -> String { names[Int(node)] }
  public func children(of node: Node) -> [Node] { children[Int(node)] }

  /// The content record of a file (files created without content have none yet).
  public func content(_ node: Node) -> FileContent { files[node] ?? FileContent() }
  public func setContent(_ node: Node, _ content: FileContent) { files[node] = content }

  /// Whether `node` lies inside the subtree of `root` (or is it).
  public func isInside(_ node: Node, _ root: Node) -> Bool {
    var n = node
    while n >= 0 {
      if n == root { return true }
      n = parents[Int(n)]
    }
    return false
  }

  /// Every node of the subtree of `root`, `root` first.
  func subtree(_ root: Node) -> [Node] {
    var out: [Node] = [root], i = 0
    while i < out.count {
      out += children[Int(out[i])]
      i += 1
    }
    return out
  }

  private func detach(_ node: Node) {
    let p = Int(parents[Int(node)])
    let pos = Int(childPosition[Int(node)])
    children[p].remove(at: pos)
    for k in pos..<children[p].count { childPosition[Int(children[p][k])] = Int32(k) }
  }

  private func attach(_ node: Node, under parent: Node, name: String) {
    let p = Int(parent)
    names[Int(node)] = name
    parents[Int(node)] = parent
    childPosition[Int(node)] = Int32(children[p].count)
    children[p].append(node)
  }

  /// Removes `node` and everything under it (not the root).
  public func remove(_ node: Node) {
    precondition(node != 0, "the root is not removed")
    let nodes = subtree(node)
    for n in nodes {
      index[path(of: n)] = nil
      files[n] = nil
      faults[n] = nil
    }
    detach(node)
    for n in nodes {
      parents[Int(n)] = -2
      children[Int(n)] = []
    }
  }

  /// Moves `node` (and its subtree) under `parent` as `name`.
  public func move(_ node: Node, under parent: Node, name: String) {
    let nodes = subtree(node)
    for n in nodes { index[path(of: n)] = nil }
    detach(node)
    attach(node, under: parent, name: name)
    for n in nodes { index[path(of: n)] = n }
  }

  /// One page of the paths under `directory`, in tree order: its whole
  /// subtree when `recursive`, else its children; from `start` (a
  /// continuation) on, at most `limit`. Returns the page and where the next starts.
  public func list(under directory: Node, recursive: Bool, from start: Node?, limit: Int) -> ([Node], next: Node?) {
    var out: [Node] = []
    var node: Node?
    if let start { node = start } else { node = children[Int(directory)].first }
    while let n = node, out.count < limit {
      out.append(n)
      if recursive {
        node = next(after: n, within: directory)
      } else {
        let siblings = children[Int(directory)]
        let pos = Int(childPosition[Int(n)]) + 1
        node = pos < siblings.count ? siblings[pos] : nil
      }
    }
    return (out, node)
  }
}
