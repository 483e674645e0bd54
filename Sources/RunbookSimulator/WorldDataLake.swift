import RunbookServices

// ADLS Gen2 paths beyond ACLs: files and their bytes, deletes, renames,
// listings and `x-ms-owner` / `x-ms-group` / `x-ms-permissions` updates,
// with the service's status codes and error codes.

/// One listed path, as `GET {filesystem}?resource=filesystem` returns it.
public struct ListedPath: Sendable, Equatable {
  public var name: String
  public var isDirectory: Bool
  public var contentLength: Int
  public var owner: String
  public var group: String
  public var permissions: String
  public var version: Int
  public var modifiedMilliseconds: Int
}

extension ServiceError {
  static let pathConflict = ServiceError(
    service: "dfs", status: 409, code: "PathConflict",
    message: "The specified path, or an element of the path, exists and its resource type is invalid for this operation.")
  static let invalidFlushPosition = ServiceError(
    service: "dfs", status: 400, code: "InvalidFlushPosition",
    message: "The uploaded data is not contiguous or the position query parameter value is not equal to the length of the file after appending the uploaded data.")
}

extension World {
  public func filesystemNames(account: String) -> [String] {
    filesystems.keys.filter { $0.hasPrefix(account + "/") }.map { String($0.dropFirst(account.count + 1)) }.sorted()
  }

  /// Deletes a filesystem and everything in it.
  public func deleteFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try checkFault("deleteFilesystem")
    guard try filesystemExists(account: account, filesystem: filesystem) else { throw .filesystemNotFound() }
    filesystems["\(account)/\(filesystem)"] = nil
  }

  private func existingNode(_ t: PathTree, _ path: String) throws(ServiceError) -> PathTree.Node {
    guard let n = t.node(path) else { throw .pathNotFound() }
    return n
  }

  /// The file node at `path`, which must be a file.
  private func fileNode(_ t: PathTree, _ path: String) throws(ServiceError) -> PathTree.Node {
    let n = try existingNode(t, path)
    guard !t.isDirectory(n) else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidResourceType",
                         message: "The resource type is invalid for this operation.")
    }
    return n
  }

  /// Creates (or truncates) the file at `path`, with missing parent folders.
  /// `ifNoneMatchAny`: fail with 409 `PathAlreadyExists` when it exists.
  @discardableResult
  public func createFile(account: String, filesystem: String, path: String, ifNoneMatchAny: Bool = false)
    throws(ServiceError) -> FileContent
  {
    try checkFault("createFile")
    let t = try tree(account, filesystem)
    if let n = t.node(path) {
      if ifNoneMatchAny {
        throw ServiceError(service: "dfs", status: 409, code: "PathAlreadyExists", message: "The specified path already exists.")
      }
      guard !t.isDirectory(n) else { throw .pathConflict }
      var c = t.content(n)
      c = FileContent(committed: [], pending: [], version: c.version + 1, modifiedMilliseconds: nowMilliseconds)
      t.setContent(n, c)
      return c
    }
    var prefix = ""
    for seg in path.split(separator: "/").dropLast() {
      prefix = prefix.isEmpty ? String(seg) : prefix + "/" + seg
      if let n = t.node(prefix), !t.isDirectory(n) { throw .pathConflict }
    }
    let n = t.ensure(path, isDirectory: false, owner: tenant.signedInUser, ownParents: true)
    let c = FileContent(version: 1, modifiedMilliseconds: nowMilliseconds)
    t.setContent(n, c)
    return c
  }

  /// Appends uncommitted bytes at `position` (the file's length so far).
  public func appendFile(account: String, filesystem: String, path: String, position: Int, data: [UInt8]) throws(ServiceError) {
    try checkFault("appendFile")
    let t = try tree(account, filesystem)
    let n = try fileNode(t, path)
    var c = t.content(n)
    guard position == c.committed.count + c.pending.count else { throw .invalidFlushPosition }
    c.pending += data
    t.setContent(n, c)
  }

  /// Commits the appended bytes; `position` must be the file's new length.
  public func flushFile(account: String, filesystem: String, path: String, position: Int) throws(ServiceError) -> FileContent {
    try checkFault("flushFile")
    let t = try tree(account, filesystem)
    let n = try fileNode(t, path)
    var c = t.content(n)
    guard position == c.committed.count + c.pending.count else { throw .invalidFlushPosition }
    c.committed += c.pending
    c.pending = []
    c.version += 1
    c.modifiedMilliseconds = nowMilliseconds
    t.setContent(n, c)
    return c
  }

  /// The path's content record (a directory's is empty), or nil when it does not exist.
  public func pathContent(account: String, filesystem: String, path: String) throws(ServiceError) -> (FileContent, isDirectory: Bool)? {
    let t = try tree(account, filesystem)
    guard let n = t.node(path) else { return nil }
    return (t.content(n), t.isDirectory(n))
  }

  /// Deletes a file or directory; a non-empty directory needs `recursive`.
  public func deletePath(account: String, filesystem: String, path: String, recursive: Bool) throws(ServiceError) {
    try checkFault("deletePath")
    let t = try tree(account, filesystem)
    let n = try existingNode(t, path)
    guard n != 0 else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidUri", message: "The request URI is invalid.")
    }
    if t.isDirectory(n) && !recursive && !t.children(of: n).isEmpty {
      throw ServiceError(service: "dfs", status: 409, code: "DirectoryNotEmpty",
                         message: "The recursive query parameter value must be true to delete a non-empty directory.")
    }
    t.remove(n)
  }

  /// Renames `source` to `destination` within one filesystem. A file
  /// replaces a file at the destination; a directory needs a free one.
  public func renamePath(account: String, filesystem: String, source: String, destination: String) throws(ServiceError) {
    try checkFault("renamePath")
    let t = try tree(account, filesystem)
    guard let n = t.node(source), n != 0 else {
      throw ServiceError(service: "dfs", status: 404, code: "SourcePathNotFound",
                         message: "The source path for a rename operation does not exist.")
    }
    let parts = destination.split(separator: "/").map(String.init)
    guard let name = parts.last else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidDestinationPath", message: "The specified path is not valid.")
    }
    guard let parent = t.node(parts.dropLast().joined(separator: "/")), t.isDirectory(parent) else {
      throw ServiceError(service: "dfs", status: 404, code: "RenameDestinationParentPathNotFound",
                         message: "The parent directory of the destination path does not exist.")
    }
    if t.isInside(parent, n) {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidDestinationPath",
                         message: "The destination path is inside the source path.")
    }
    if let existing = t.node(destination) {
      if existing == n { return }
      guard !t.isDirectory(n), !t.isDirectory(existing) else {
        throw ServiceError(service: "dfs", status: 409, code: "PathAlreadyExists", message: "The specified path already exists.")
      }
      t.remove(existing)
    }
    t.move(n, under: parent, name: name)
    var c = t.content(n)
    c.version += 1
    t.setContent(n, c)
  }

  /// One page of `GET {filesystem}?resource=filesystem`: paths under
  /// `directory` (the root when empty), recursive or not, from a
  /// continuation token, at most `maxResults` (the service caps at 5000).
  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> ([ListedPath], continuation: String?) {
    let t = try tree(account, filesystem)
    let invalid = ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                               message: "Value for one of the query parameters specified in the request URI is invalid.")
    let dir: PathTree.Node
    if directory.isEmpty { dir = 0 } else {
      guard let d = t.node(directory) else { throw .pathNotFound() }
      dir = d
    }
    var start: PathTree.Node? = nil
    if let continuation {
      guard continuation.hasPrefix("p"), let v = Int32(continuation.dropFirst()), v > 0, t.exists(v), t.isInside(v, dir),
        recursive || t.parent(of: v) == dir
      else { throw invalid }
      start = v
    }
    if let maxResults, maxResults < 1 { throw invalid }
    let (nodes, next) = t.list(under: dir, recursive: recursive, from: start, limit: min(maxResults ?? 5000, 5000))
    let page = nodes.map { n -> ListedPath in
      let c = t.content(n)
      let isDir = t.isDirectory(n)
      return ListedPath(name: t.path(of: n), isDirectory: isDir, contentLength: isDir ? 0 : c.committed.count,
                        owner: t.owner(n), group: t.group(n), permissions: t.acl(n).permissionsString, version: c.version,
                        modifiedMilliseconds: c.modifiedMilliseconds)
    }
    return (page, next.map { "p\($0)" })
  }

  /// `setAccessControl` with `x-ms-owner`, `x-ms-group` and/or
  /// `x-ms-permissions` (not with `x-ms-acl`): permissions set the owner,
  /// group-class (the mask when there is one) and other entries.
  public func setOwnerAndPermissions(account: String, filesystem: String, path: String, owner: String?, group: String?,
                                     permissions: PathPermissions?) throws(ServiceError) {
    try checkFault("setAccessControl")
    let t = try tree(account, filesystem)
    let n = try existingNode(t, path)
    if let message = t.faults[n] { throw ServiceError(service: "dfs", status: 403, code: "AuthorizationPermissionMismatch", message: message) }
    if let owner { t.setOwner(n, owner) }
    if let group { t.setGroup(n, group) }
    if let p = permissions {
      var acl = t.acl(n)
      acl.set(AccessControlEntry(isDefault: false, kind: .user, permissions: p.owner))
      let groupClass: AccessControlEntry.Kind = acl.entry(.init(isDefault: false, kind: .mask, id: "")) != nil ? .mask : .group
      acl.set(AccessControlEntry(isDefault: false, kind: groupClass, permissions: p.group))
      acl.set(AccessControlEntry(isDefault: false, kind: .other, permissions: p.other))
      t.setACL(n, acl)
    }
  }
}
