import Foundation
import RunbookServices
import RunbookSimulator

// ADLS Gen2: the DFS endpoint (`/{account}/{filesystem}/{path}`, path-style
// addressing as for any IP host) and the Blob endpoint operations the Data
// Lake SDKs send to the same account (container properties and listing,
// blob download and properties).

extension Emulator {
  static let invalidQuery = ServiceError(
    service: "dfs", status: 400, code: "InvalidQueryParameterValue",
    message: "Value for one of the query parameters specified in the request URI is invalid.")

  /// A Blob endpoint error: XML body (none for HEAD) and `x-ms-error-code`.
  func blobFail(_ status: Int, _ code: String, _ message: String, method: String, headers: [(String, String)]) -> EmulatorResponse {
    let h = headers + [("x-ms-error-code", code)]
    if method == "HEAD" { return EmulatorResponse(status: status, headers: h) }
    let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>\(Self.xmlEscape(code))</Code><Message>\(Self.xmlEscape(message))\nRequestId:\(StableID.guid("blob", message))\nTime:\(iso8601(world.nowMilliseconds))</Message></Error>"
    return EmulatorResponse(status: status, headers: h + [("Content-Type", "application/xml")], body: Array(xml.utf8))
  }

  static func xmlEscape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func etag(_ version: Int, salt: String) -> String {
    let h = StableID.guid("etag", salt, String(version)).replacingOccurrences(of: "-", with: "").prefix(11).uppercased()
    return "\"0x8DE\(h)\""
  }

  /// RFC 1123 date of a tenant-clock time (`Last-Modified`).
  static func httpDate(milliseconds: Int) -> String {
    var t = time_t(milliseconds / 1000)
    var tm = tm()
    gmtime_r(&t, &tm)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
  }

  func dfs(_ r: EmulatorRequest) -> EmulatorResponse {
    let account = r.segments[0]
    var headers: [(String, String)] = [("x-ms-version", r.header("x-ms-version") ?? "2026-10-06")]
    // GET /{account}?comp=list: the Blob endpoint's list containers (list_file_systems).
    if r.segments.count == 1 || (r.segments.count == 2 && r.segments[1].isEmpty) {
      guard r.method == "GET", r.q("comp") == "list" else {
        return Errors.dfs(400, "InvalidUri", "The requested URI does not represent any resource on the server.", method: r.method)
      }
      return listContainers(r, account, headers)
    }
    let fs = r.segments[1]
    guard !fs.isEmpty else {
      return Errors.dfs(400, "InvalidUri", "The requested URI does not represent any resource on the server.", method: r.method)
    }
    let path = r.segments.dropFirst(2).filter { !$0.isEmpty }.joined(separator: "/")
    // `/{account}/{fs}/` (a trailing slash) addresses the filesystem's root directory.
    let isPathRequest = r.segments.count > 2
    func ok(_ status: Int, _ extra: [(String, String)] = [], body: WireJSON? = nil) -> EmulatorResponse {
      headers += extra
      if !headers.contains(where: { $0.0 == "ETag" }) {
        headers += [("ETag", Self.etag(requestCount, salt: r.path)), ("Last-Modified", Self.httpDate(milliseconds: world.nowMilliseconds))]
      }
      if let body { return .json(status, body, headers: headers) }
      return EmulatorResponse(status: status, headers: headers + [("Content-Length", "0")])
    }
    do throws(ServiceError) {
      let action = r.q("action"), resource = r.q("resource"), restype = r.q("restype")
      switch (r.method, resource, action) {
      // Filesystems.
      case ("PUT", "filesystem", nil) where !isPathRequest:
        try world.createFilesystem(account: account, filesystem: fs)
        return ok(201, [("x-ms-namespace-enabled", "true")])
      case ("PUT", nil, nil) where !isPathRequest && restype == "container":
        // The Blob endpoint's create container (what the Python SDK's create_file_system sends).
        do throws(ServiceError) {
          try world.createFilesystem(account: account, filesystem: fs)
        } catch where error.code == "FilesystemAlreadyExists" {
          return blobFail(409, "ContainerAlreadyExists", "The specified container already exists.", method: r.method, headers: headers)
        }
        return ok(201)
      case ("HEAD", "filesystem", nil) where !isPathRequest:
        guard try world.filesystemExists(account: account, filesystem: fs) else { throw ServiceError.filesystemNotFound() }
        let hns = (try world.storageAccount(name: account))?.isHnsEnabled ?? false
        return ok(200, [("x-ms-namespace-enabled", hns ? "true" : "false")])
      case ("GET", nil, nil) where !isPathRequest && restype == "container" && r.q("comp") == nil,
        ("HEAD", nil, nil) where !isPathRequest && restype == "container" && r.q("comp") == nil:
        // Blob get container properties (the SDKs' exists() and get_file_system_properties()).
        guard try world.filesystemExists(account: account, filesystem: fs) else {
          return blobFail(404, "ContainerNotFound", "The specified container does not exist.", method: r.method, headers: headers)
        }
        return ok(200, [("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"),
                        ("x-ms-has-immutability-policy", "false"), ("x-ms-has-legal-hold", "false"),
                        ("x-ms-default-encryption-scope", "$account-encryption-key"), ("x-ms-deny-encryption-scope-override", "false")])
      case ("DELETE", nil, nil) where !isPathRequest && restype == "container":
        try world.deleteFilesystem(account: account, filesystem: fs)
        return ok(202)
      case ("DELETE", "filesystem", nil) where !isPathRequest:
        try world.deleteFilesystem(account: account, filesystem: fs)
        return ok(202)
      case ("GET", "filesystem", nil) where !isPathRequest:
        return try listPaths(r, account, fs, headers)

      // Paths.
      case ("PUT", "directory", nil) where isPathRequest:
        try world.createDirectory(account: account, filesystem: fs, path: path)
        return ok(201)
      case ("PUT", "file", nil) where isPathRequest:
        let c = try world.createFile(account: account, filesystem: fs, path: path, ifNoneMatchAny: r.header("If-None-Match") == "*")
        return ok(201, [("ETag", Self.etag(c.version, salt: path)), ("Last-Modified", Self.httpDate(milliseconds: c.modifiedMilliseconds)),
                        ("x-ms-request-server-encrypted", "true")])
      case ("PUT", nil, nil) where isPathRequest && r.header("x-ms-rename-source") != nil:
        return try rename(r, account, fs, path, ok)
      case ("PATCH", nil, "append") where isPathRequest:
        guard let position = r.q("position").flatMap(Int.init), position >= 0 else { throw Self.invalidQuery }
        try world.appendFile(account: account, filesystem: fs, path: path, position: position, data: r.body)
        if r.q("flush") == "true" {
          let c = try world.flushFile(account: account, filesystem: fs, path: path, position: position + r.body.count)
          return ok(200, [("ETag", Self.etag(c.version, salt: path)), ("Last-Modified", Self.httpDate(milliseconds: c.modifiedMilliseconds)),
                          ("x-ms-request-server-encrypted", "true")])
        }
        return ok(202, [("x-ms-request-server-encrypted", "true")])
      case ("PATCH", nil, "flush") where isPathRequest:
        guard let position = r.q("position").flatMap(Int.init), position >= 0 else { throw Self.invalidQuery }
        if let ifMatch = r.header("If-Match"), ifMatch != "*",
          case let (current, _)? = try world.pathContent(account: account, filesystem: fs, path: path),
          ifMatch != Self.etag(current.version, salt: path)
        {
          throw ServiceError(service: "dfs", status: 412, code: "ConditionNotMet",
                             message: "The condition specified using HTTP conditional header(s) is not met.")
        }
        let c = try world.flushFile(account: account, filesystem: fs, path: path, position: position)
        return ok(200, [("ETag", Self.etag(c.version, salt: path)), ("Last-Modified", Self.httpDate(milliseconds: c.modifiedMilliseconds)),
                        ("x-ms-request-server-encrypted", "true")])
      case ("GET", nil, nil) where isPathRequest:
        return try read(r, account, fs, path, headers)
      case ("DELETE", nil, nil) where isPathRequest:
        return try delete(r, account, fs, path, ok)
      case ("HEAD", nil, "getAccessControl") where isPathRequest:
        let ac = try world.getAccessControl(account: account, filesystem: fs, path: path)
        return ok(200, [("x-ms-owner", ac.owner), ("x-ms-group", ac.group), ("x-ms-permissions", ac.permissions),
                        ("x-ms-acl", ac.acl.text)])
      case ("HEAD", nil, let a) where isPathRequest && (a == nil || a == "getStatus"):
        guard case let (content, isDir)? = try world.pathContent(account: account, filesystem: fs, path: path) else {
          if a == nil {
            return blobFail(404, "BlobNotFound", "The specified blob does not exist.", method: r.method, headers: headers)
          }
          throw ServiceError.pathNotFound()
        }
        let ac = try world.getAccessControl(account: account, filesystem: fs, path: path)
        var extra: [(String, String)] = [
          ("x-ms-resource-type", isDir ? "directory" : "file"), ("x-ms-owner", ac.owner), ("x-ms-group", ac.group),
          ("x-ms-permissions", ac.permissions), ("Content-Length", isDir ? "0" : String(content.committed.count)),
          ("ETag", Self.etag(content.version, salt: path)), ("Last-Modified", Self.httpDate(milliseconds: content.modifiedMilliseconds)),
        ]
        if a == nil {
          // Blob get properties: what the Data Lake SDKs' get_*_properties() and exists() read.
          extra += [("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/octet-stream"),
                    ("x-ms-creation-time", Self.httpDate(milliseconds: content.modifiedMilliseconds)),
                    ("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"), ("x-ms-server-encrypted", "true"),
                    ("Accept-Ranges", "bytes")]
          if isDir { extra.append(("x-ms-meta-hdi_isfolder", "true")) }
        }
        return EmulatorResponse(status: 200, headers: headers + extra)
      case ("PATCH", nil, "setAccessControl") where isPathRequest:
        return try setAccessControl(r, account, fs, path, ok)
      case ("PATCH", nil, "setAccessControlRecursive") where isPathRequest:
        return try recursive(r, account, fs, path, ok)
      default:
        throw Self.invalidQuery
      }
    } catch {
      return Errors.dfs(error.status, error.code, error.message, method: r.method, extra: headers)
    }
  }

  /// `PATCH ?action=setAccessControl`: `x-ms-acl`, or `x-ms-permissions`
  /// (not both), and/or `x-ms-owner` / `x-ms-group`.
  func setAccessControl(_ r: EmulatorRequest, _ account: String, _ fs: String, _ path: String,
                        _ ok: (Int, [(String, String)], WireJSON?) -> EmulatorResponse) throws(ServiceError) -> EmulatorResponse {
    let owner = r.header("x-ms-owner"), group = r.header("x-ms-group")
    let permissions = try r.header("x-ms-permissions").map { text throws(ServiceError) in try PathPermissions(parsing: text) }
    if let text = r.header("x-ms-acl") {
      if permissions != nil { throw ServiceError.invalidPermission }
      let acl: AccessControlList
      do { acl = try AccessControlList(parsing: text) } catch { throw ServiceError.invalidACL }
      try world.setAccessControl(account: account, filesystem: fs, path: path, acl: acl)
      if owner != nil || group != nil {
        try world.setOwnerAndPermissions(account: account, filesystem: fs, path: path, owner: owner, group: group, permissions: nil)
      }
      return ok(200, [], nil)
    }
    guard owner != nil || group != nil || permissions != nil else {
      throw ServiceError(service: "dfs", status: 400, code: "MissingRequiredHeader",
                         message: "An HTTP header that's mandatory for this request is not specified.")
    }
    try world.setOwnerAndPermissions(account: account, filesystem: fs, path: path, owner: owner, group: group,
                                     permissions: permissions)
    return ok(200, [], nil)
  }

  /// `GET /{account}?comp=list` as XML, paged by `maxresults` / `marker`.
  func listContainers(_ r: EmulatorRequest, _ account: String, _ headers: [(String, String)]) -> EmulatorResponse {
    let prefix = r.q("prefix") ?? ""
    var names = world.filesystemNames(account: account).filter { $0.hasPrefix(prefix) }
    if let marker = r.q("marker"), !marker.isEmpty { names = names.filter { $0 >= marker } }
    let size = max(1, min(Int(r.q("maxresults") ?? "") ?? 5000, 5000))
    let page = names.prefix(size)
    let next = names.count > size ? names[size] : ""
    let modified = Self.httpDate(milliseconds: world.nowMilliseconds)
    var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"\(Self.xmlEscape(r.origin))/\(Self.xmlEscape(account))/\">"
    if !prefix.isEmpty { xml += "<Prefix>\(Self.xmlEscape(prefix))</Prefix>" }
    if let m = r.q("maxresults") { xml += "<MaxResults>\(Self.xmlEscape(m))</MaxResults>" }
    xml += "<Containers>"
    for name in page {
      xml += "<Container><Name>\(Self.xmlEscape(name))</Name><Properties><Last-Modified>\(modified)</Last-Modified>"
        + "<Etag>\(Self.xmlEscape(Self.etag(1, salt: account + "/" + name)))</Etag><LeaseStatus>unlocked</LeaseStatus>"
        + "<LeaseState>available</LeaseState><DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
        + "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
        + "<HasLegalHold>false</HasLegalHold></Properties></Container>"
    }
    xml += "</Containers><NextMarker>\(Self.xmlEscape(next))</NextMarker></EnumerationResults>"
    return EmulatorResponse(status: 200, headers: headers + [("Content-Type", "application/xml")], body: Array(xml.utf8))
  }

  /// `GET /{fs}?resource=filesystem`: one page of paths and `x-ms-continuation`.
  func listPaths(_ r: EmulatorRequest, _ account: String, _ fs: String, _ headers: [(String, String)]) throws(ServiceError)
    -> EmulatorResponse
  {
    guard let recursiveText = r.q("recursive"), ["true", "false"].contains(recursiveText.lowercased()) else {
      throw ServiceError(service: "dfs", status: 400, code: "MissingRequiredQueryParameter",
                         message: "A query parameter that's mandatory for this request is not specified.")
    }
    var maxResults: Int? = nil
    if let m = r.q("maxResults") {
      guard let n = Int(m) else { throw Self.invalidQuery }
      maxResults = n
    }
    let directory = (r.q("directory") ?? "").split(separator: "/").joined(separator: "/")
    let (paths, next) = try world.listPaths(account: account, filesystem: fs, directory: directory,
                                            recursive: recursiveText.lowercased() == "true", continuation: r.q("continuation"),
                                            maxResults: maxResults)
    let list = paths.map { p -> WireJSON in
      var o: [String: WireJSON] = [
        "name": .string(p.name), "contentLength": .string(String(p.contentLength)),
        "lastModified": .string(Self.httpDate(milliseconds: p.modifiedMilliseconds)),
        "etag": .string(Self.etag(p.version, salt: p.name)), "owner": .string(p.owner), "group": .string(p.group),
        "permissions": .string(p.permissions),
      ]
      if p.isDirectory { o["isDirectory"] = "true" }
      return .object(o)
    }
    var h = headers
    if let next { h.append(("x-ms-continuation", next)) }
    return .json(200, ["paths": .array(list)], headers: h)
  }

  /// Blob download: the whole file, or a `Range` / `x-ms-range` (206; 416 past the end).
  func read(_ r: EmulatorRequest, _ account: String, _ fs: String, _ path: String, _ headers: [(String, String)])
    throws(ServiceError) -> EmulatorResponse
  {
    guard case let (content, isDir)? = try world.pathContent(account: account, filesystem: fs, path: path), !isDir else {
      return blobFail(404, "BlobNotFound", "The specified blob does not exist.", method: r.method, headers: headers)
    }
    let bytes = content.committed
    var h = headers + [
      ("ETag", Self.etag(content.version, salt: path)), ("Last-Modified", Self.httpDate(milliseconds: content.modifiedMilliseconds)),
      ("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/octet-stream"), ("Accept-Ranges", "bytes"),
      ("x-ms-creation-time", Self.httpDate(milliseconds: content.modifiedMilliseconds)), ("x-ms-server-encrypted", "true"),
      ("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"), ("x-ms-resource-type", "file"),
    ]
    guard let range = r.header("x-ms-range") ?? r.header("Range") else {
      return EmulatorResponse(status: 200, headers: h, body: bytes)
    }
    let spec = range.lowercased().hasPrefix("bytes=") ? range.dropFirst(6) : Substring("")
    let bounds = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
    let last = bounds.count == 2 ? (bounds[1].isEmpty ? Int.max : Int(bounds[1])) : nil
    guard let last, let start = Int(bounds[0]), start >= 0, last >= start else {
      return EmulatorResponse(status: 200, headers: h, body: bytes)
    }
    guard start < bytes.count else {
      return blobFail(416, "InvalidRange", "The range specified is invalid for the current size of the resource.", method: r.method,
                      headers: headers + [("Content-Range", "bytes */\(bytes.count)")])
    }
    let end = min(last, bytes.count - 1)
    h.append(("Content-Range", "bytes \(start)-\(end)/\(bytes.count)"))
    return EmulatorResponse(status: 206, headers: h, body: Array(bytes[start...end]))
  }

  /// `DELETE` a path. A recursive delete with `paginated=true` checks at most
  /// 5000 items per request and answers with `x-ms-continuation` until the
  /// last page, which deletes the directory at once (the service's paginated
  /// delete: pages for the permission checks, one atomic delete).
  func delete(_ r: EmulatorRequest, _ account: String, _ fs: String, _ path: String,
              _ ok: (Int, [(String, String)], WireJSON?) -> EmulatorResponse) throws(ServiceError) -> EmulatorResponse {
    let recursive = r.q("recursive")?.lowercased() == "true"
    if recursive, r.q("paginated")?.lowercased() == "true" {
      let (_, next) = try world.listPaths(account: account, filesystem: fs, directory: path, recursive: true,
                                          continuation: r.q("continuation"), maxResults: 5000)
      if let next { return ok(200, [("x-ms-continuation", next)], nil) }
    }
    try world.deletePath(account: account, filesystem: fs, path: path, recursive: recursive)
    return ok(200, [("x-ms-deletion-id", StableID.guid("deletion", path, String(requestCount)))], nil)
  }

  /// `PUT` with `x-ms-rename-source: /{filesystem}/{path}[?sas]`.
  func rename(_ r: EmulatorRequest, _ account: String, _ fs: String, _ destination: String,
              _ ok: (Int, [(String, String)], WireJSON?) -> EmulatorResponse) throws(ServiceError) -> EmulatorResponse {
    let raw = r.header("x-ms-rename-source") ?? ""
    let sourcePath = String(raw.split(separator: "?", maxSplits: 1).first ?? "")
    let parts = sourcePath.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
    guard parts.count >= 2 else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidSourceUri", message: "The source URI is invalid.")
    }
    guard parts[0] == fs else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidSourceUri",
                         message: "The emulator renames within one filesystem only.")
    }
    try world.renamePath(account: account, filesystem: fs, source: parts.dropFirst().joined(separator: "/"), destination: destination)
    return ok(201, [], nil)
  }
}
