import RunbookServices

/// Azure Resource Manager role assignments (api-version 2022-04-01).
public final class RoleAssignmentClient: RoleAssignmentService {
  let rest: RESTClient
  let base: String
  let resource: String
  public static let apiVersion = "2022-04-01"

  public init(rest: RESTClient, endpoints: LiveEndpoints) {
    self.rest = rest; base = endpoints.arm; resource = endpoints.armResource
  }

  static func assignment(_ j: WireJSON) -> RoleAssignment? {
    guard let p = j["properties"], let scope = p["scope"]?.string, let role = p["roleDefinitionId"]?.string,
      let principal = p["principalId"]?.string
    else { return nil }
    let name = j["name"]?.string ?? j["id"]?.string?.split(separator: "/").last.map(String.init) ?? ""
    return RoleAssignment(name: name, scope: scope, roleDefinitionID: role, principalID: principal,
                          principalType: PrincipalType(rawValue: p["principalType"]?.string ?? "") ?? .servicePrincipal)
  }

  /// `$filter=principalId eq '…'` answers assignments at, above and below the
  /// scope (and the service may add more): kept are only this principal's
  /// assignments whose scope is the scope, an ancestor or a descendant.
  public func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment] {
    let filter = URLText.encode("principalId eq " + URLText.odataString(principalID))
    let url = base + URLText.path(scope) + "/providers/Microsoft.Authorization/roleAssignments?api-version=\(Self.apiVersion)&$filter=\(filter)"
    let s = scope.lowercased()
    return try rest.pages(service: "arm", resource: resource, url: url).compactMap(Self.assignment).filter { a in
      let a_ = a.scope.lowercased()
      return a.principalID.lowercased() == principalID.lowercased()
        && (a_ == s || s.hasPrefix(a_ + "/") || a_.hasPrefix(s + "/") || a_ == "/")
    }
  }

  /// `PUT …/roleAssignments/{name}`; `principalType` is always sent so a new
  /// principal is not refused for replication delay.
  public func createRoleAssignment(_ a: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool) {
    let url = base + URLText.path(a.scope) + "/providers/Microsoft.Authorization/roleAssignments/\(URLText.encode(a.name))?api-version=\(Self.apiVersion)"
    let body: WireJSON = ["properties": [
      "roleDefinitionId": .string(a.roleDefinitionID), "principalId": .string(a.principalID),
      "principalType": .string(a.principalType.rawValue),
    ]]
    let r = try rest.check(service: "arm", rest.send(service: "arm", resource: resource, method: "PUT", url: url, json: body))
    guard let j = r.json, let created = Self.assignment(j) else { throw rest.malformed(service: "arm", url: url) }
    return (created, r.status == 201)
  }
}

/// Storage accounts through ARM, filesystems and ACLs through ADLS Gen2 DFS.
public final class DataLakeClient: DataLakeService {
  let rest: RESTClient
  let arm: String
  let armResource: String
  let dfsTemplate: String
  let storageResource: String
  public static let storageAPIVersion = "2023-05-01"
  /// The DFS REST version sent (the emulator echoes any).
  public static let dfsVersion = "2026-10-06"

  public init(rest: RESTClient, endpoints: LiveEndpoints) {
    self.rest = rest; arm = endpoints.arm; armResource = endpoints.armResource
    dfsTemplate = endpoints.dfs; storageResource = endpoints.storageResource
  }

  // MARK: ARM

  private func armJSON(_ url: String) throws(ServiceError) -> WireJSON {
    let r = try rest.check(service: "arm", rest.send(service: "arm", resource: armResource, method: "GET", url: url))
    guard let j = r.json else { throw rest.malformed(service: "arm", url: url) }
    return j
  }

  func account(_ j: WireJSON) throws(ServiceError) -> StorageAccount {
    let id = j["id"]?.string ?? ""
    let parts = id.split(separator: "/").map(String.init)
    func after(_ key: String) -> String {
      guard let i = parts.firstIndex(where: { $0.lowercased() == key }), i + 1 < parts.count else { return "" }
      return parts[i + 1]
    }
    let p = j["properties"]
    var a = StorageAccount(
      name: j["name"]?.string ?? after("storageaccounts"), subscriptionID: after("subscriptions"),
      resourceGroup: after("resourcegroups"), location: j["location"]?.string ?? "", kind: j["kind"]?.string ?? "",
      isHnsEnabled: p?["isHnsEnabled"]?.bool ?? false,
      privateEndpointOnly: p?["publicNetworkAccess"]?.string?.lowercased() == "disabled")
    // Blob soft delete is a blob-service property; storage events are an
    // Event Grid system topic whose source is the account.
    let blob = try armJSON(arm + URLText.path(id) + "/blobServices/default?api-version=\(Self.storageAPIVersion)")
    a.blobSoftDelete = blob["properties"]?["deleteRetentionPolicy"]?["enabled"]?.bool ?? false
    let topics = try rest.pages(
      service: "arm", resource: armResource,
      url: arm + "/subscriptions/\(URLText.encode(a.subscriptionID))/resourceGroups/\(URLText.encode(a.resourceGroup))/providers/Microsoft.EventGrid/systemTopics?api-version=2022-06-15")
    a.blobStorageEvents = topics.contains { $0["properties"]?["source"]?.string?.lowercased() == id.lowercased() }
    return a
  }

  public func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount {
    let url = arm + "/subscriptions/\(URLText.encode(subscriptionID))/resourceGroups/\(URLText.encode(resourceGroup))/providers/Microsoft.Storage/storageAccounts/\(URLText.encode(name))?api-version=\(Self.storageAPIVersion)"
    return try account(armJSON(url))
  }

  public func storageAccount(name: String) throws(ServiceError) -> StorageAccount? {
    let subs = try rest.pages(service: "arm", resource: armResource, url: arm + "/subscriptions?api-version=2022-12-01")
    for sub in subs {
      guard let sid = sub["subscriptionId"]?.string else { continue }
      let list = try rest.pages(
        service: "arm", resource: armResource,
        url: arm + "/subscriptions/\(URLText.encode(sid))/providers/Microsoft.Storage/storageAccounts?api-version=\(Self.storageAPIVersion)")
      if let j = list.first(where: { $0["name"]?.string == name }) { return try account(j) }
    }
    return nil
  }

  // MARK: DFS

  /// `{dfs}/{filesystem}?{query}`.
  func fsURL(_ account: String, _ filesystem: String, _ query: String) -> String {
    dfsTemplate.replacingOccurrences(of: "{account}", with: account) + "/" + URLText.encode(filesystem) + "?" + query
  }
  /// `{dfs}/{filesystem}/{path}[?query]`; the root directory is `{filesystem}//`.
  func url(_ account: String, _ filesystem: String, _ path: String, _ query: String) -> String {
    dfsTemplate.replacingOccurrences(of: "{account}", with: account) + "/" + URLText.encode(filesystem) + "/"
      + (path.isEmpty ? "/" : URLText.path(path)) + (query.isEmpty ? "" : "?" + query)
  }

  private func dfs(_ method: String, _ url: String, _ headers: [(String, String)] = []) throws(ServiceError) -> WireResponse {
    try rest.send(service: "dfs", resource: storageResource, method: method, url: url,
                  headers: [("x-ms-version", Self.dfsVersion)] + headers)
  }

  public func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool {
    let r = try dfs("HEAD", fsURL(account, filesystem, "resource=filesystem"))
    if r.status == 404 && RESTClient.errorCode(service: "dfs", r) == "FilesystemNotFound" { return false }
    try rest.check(service: "dfs", r)
    return true
  }

  public func createFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try rest.check(service: "dfs", dfs("PUT", fsURL(account, filesystem, "resource=filesystem")))
  }

  public func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool? {
    let r = try dfs("HEAD", url(account, filesystem, path, "action=getStatus"))
    if r.status == 404 && RESTClient.errorCode(service: "dfs", r) == "PathNotFound" { return nil }
    try rest.check(service: "dfs", r)
    return path.isEmpty || r.header("x-ms-resource-type")?.lowercased() == "directory"
  }

  public func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError) {
    try rest.check(service: "dfs", dfs("PUT", url(account, filesystem, path, "resource=directory")))
  }

  private func headAccessControl(_ account: String, _ filesystem: String, _ path: String) throws(ServiceError)
    -> (WireResponse, AccessControlList)
  {
    let r = try rest.check(service: "dfs", dfs("HEAD", url(account, filesystem, path, "action=getAccessControl&upn=false")))
    guard let text = r.header("x-ms-acl"), let acl = try? AccessControlList(parsing: text) else {
      throw ServiceError(service: "dfs", status: r.status, code: "MalformedResponse",
                         message: "getAccessControl answered without a valid x-ms-acl header")
    }
    return (r, acl)
  }

  public func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl {
    let (r, acl) = try headAccessControl(account, filesystem, path)
    let isDirectory = try pathIsDirectory(account: account, filesystem: filesystem, path: path) ?? false
    return PathAccessControl(owner: r.header("x-ms-owner") ?? "", group: r.header("x-ms-group") ?? "", acl: acl,
                             isDirectory: isDirectory)
  }

  public func accessControlList(account: String, filesystem: String, path: String) throws(ServiceError) -> AccessControlList {
    try headAccessControl(account, filesystem, path).1
  }

  public func accessControl(account: String, filesystem: String, path: String, isDirectory: Bool) throws(ServiceError)
    -> PathAccessControl
  {
    let (r, acl) = try headAccessControl(account, filesystem, path)
    return PathAccessControl(owner: r.header("x-ms-owner") ?? "", group: r.header("x-ms-group") ?? "", acl: acl,
                             isDirectory: isDirectory)
  }

  public func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError) {
    try rest.check(service: "dfs", dfs("PATCH", url(account, filesystem, path, "action=setAccessControl"), [("x-ms-acl", acl.text)]))
  }

  public func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool
  ) throws(ServiceError) -> ACLRecursivePage {
    var q = [("action", "setAccessControlRecursive"), ("mode", mode.rawValue)]
    if let continuation { q.append(("continuation", continuation)) }
    q.append(("forceFlag", forceFlag ? "true" : "false"))
    if let maxRecords { q.append(("maxRecords", String(maxRecords))) }
    let aclText = mode == .remove ? acl.entries.map(Self.removeText).joined(separator: ",") : acl.text
    let u = url(account, filesystem, path, URLText.query(q))
    let r = try rest.check(service: "dfs", dfs("PATCH", u, [("x-ms-acl", aclText)]))
    guard let j = r.json else { throw rest.malformed(service: "dfs", url: u) }
    let failed = (j["failedEntries"]?.array ?? []).map {
      ACLFailedEntry(name: $0["name"]?.string ?? "", type: $0["type"]?.string ?? "", errorMessage: $0["errorMessage"]?.string ?? "")
    }
    let next = r.header("x-ms-continuation").flatMap { $0.isEmpty ? nil : $0 }
    return ACLRecursivePage(
      directoriesSuccessful: j["directoriesSuccessful"]?.int ?? 0, filesSuccessful: j["filesSuccessful"]?.int ?? 0,
      failureCount: j["failureCount"]?.int ?? failed.count, failedEntries: failed, changedCount: nil, continuation: next)
  }

  /// `GET /{fs}?resource=filesystem&directory=…&recursive=…&upn=false`;
  /// the next token is in `x-ms-continuation`. Each path carries `owner`,
  /// `group` (object ids with `upn=false`, as `getAccessControl&upn=false`
  /// answers them) and `permissions` (`rwxr-x---+`), not the ACL: `acl`
  /// stays nil (spec `DataLakeStorage.json`, definition `Path`).
  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> PathListPage {
    var q = [("resource", "filesystem"), ("recursive", recursive ? "true" : "false"), ("upn", "false")]
    if !directory.isEmpty { q.append(("directory", directory)) }
    if let continuation { q.append(("continuation", continuation)) }
    if let maxResults { q.append(("maxResults", String(maxResults))) }
    let u = fsURL(account, filesystem, URLText.query(q))
    let r = try rest.check(service: "dfs", dfs("GET", u))
    guard let j = r.json, let paths = j["paths"]?.array else { throw rest.malformed(service: "dfs", url: u) }
    var entries: [PathEntry] = []
    entries.reserveCapacity(paths.count)
    for p in paths {
      guard let name = p["name"]?.string else { throw rest.malformed(service: "dfs", url: u) }
      // The service sends `"isDirectory": "true"` (a string) and omits it for files.
      let isDirectory = p["isDirectory"]?.bool ?? (p["isDirectory"]?.string?.lowercased() == "true")
      entries.append(PathEntry(name: name, isDirectory: isDirectory, permissions: p["permissions"]?.string ?? "",
                               owner: p["owner"]?.string, group: p["group"]?.string))
    }
    let next = r.header("x-ms-continuation").flatMap { $0.isEmpty ? nil : $0 }
    return PathListPage(entries: entries, continuation: next)
  }

  /// Requests a built-in may keep in flight: the transport's pool holds
  /// this many connections per host.
  public var maxConcurrentRequests: Int { HTTPTransport.connectionsPerHost }

  /// A remove-mode entry: scope, type and id, no permissions.
  static func removeText(_ e: AccessControlEntry) -> String {
    (e.isDefault ? "default:" : "") + e.kind.rawValue + (e.id.isEmpty ? "" : ":" + e.id)
  }
}
