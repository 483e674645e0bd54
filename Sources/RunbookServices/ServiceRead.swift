/// One read a plan made of a live service, named so it can be made again:
/// an apply repeats every read of its plan and compares fingerprints, so a
/// world that changed since the plan is caught before the first change.
public enum ServiceRead: Sendable, Equatable, Hashable {
  case signedInUser
  case securityGroupCreationAllowed
  case servicePrincipal(appID: String)
  case groups(displayName: String)
  case group(id: String)
  case owners(groupID: String)
  case members(groupID: String)
  case object(id: String)
  case roleAssignments(scope: String, principalID: String)
  case storageAccount(subscriptionID: String, resourceGroup: String, name: String)
  case storageAccountNamed(String)
  case filesystemExists(account: String, filesystem: String)
  case pathIsDirectory(account: String, filesystem: String, path: String)
  case accessControl(account: String, filesystem: String, path: String)
  /// The ACL of a listed path, whose type the listing gave (one request live).
  case listedAccessControl(account: String, filesystem: String, path: String, isDirectory: Bool)
  case listPaths(account: String, filesystem: String, directory: String, continuation: String?)
  case environments
  case solutions(environmentID: String)
  case dependencies(environmentID: String, solution: String)
  case rows(environmentID: String, table: String)
  case ciEnvironments

  /// The operation name and its arguments, as stored in a plan file.
  public var json: WireJSON {
    func o(_ op: String, _ args: [String: WireJSON] = [:]) -> WireJSON {
      var f = args
      f["op"] = .string(op)
      return .object(f)
    }
    switch self {
    case .signedInUser: return o("signedInUser")
    case .securityGroupCreationAllowed: return o("securityGroupCreationAllowed")
    case .servicePrincipal(let a): return o("servicePrincipal", ["appId": .string(a)])
    case .groups(let n): return o("groups", ["displayName": .string(n)])
    case .group(let id): return o("group", ["id": .string(id)])
    case .owners(let g): return o("owners", ["groupId": .string(g)])
    case .members(let g): return o("members", ["groupId": .string(g)])
    case .object(let id): return o("object", ["id": .string(id)])
    case .roleAssignments(let s, let p): return o("roleAssignments", ["scope": .string(s), "principalId": .string(p)])
    case .storageAccount(let s, let rg, let n):
      return o("storageAccount", ["subscriptionId": .string(s), "resourceGroup": .string(rg), "name": .string(n)])
    case .storageAccountNamed(let n): return o("storageAccountNamed", ["name": .string(n)])
    case .filesystemExists(let a, let f): return o("filesystemExists", ["account": .string(a), "filesystem": .string(f)])
    case .pathIsDirectory(let a, let f, let p):
      return o("pathIsDirectory", ["account": .string(a), "filesystem": .string(f), "path": .string(p)])
    case .accessControl(let a, let f, let p):
      return o("accessControl", ["account": .string(a), "filesystem": .string(f), "path": .string(p)])
    case .listedAccessControl(let a, let f, let p, let d):
      return o("listedAccessControl", ["account": .string(a), "filesystem": .string(f), "path": .string(p), "isDirectory": .bool(d)])
    case .listPaths(let a, let f, let d, let c):
      return o("listPaths", ["account": .string(a), "filesystem": .string(f), "directory": .string(d), "continuation": WireJSON(c)])
    case .environments: return o("environments")
    case .solutions(let e): return o("solutions", ["environmentId": .string(e)])
    case .dependencies(let e, let s): return o("dependencies", ["environmentId": .string(e), "solution": .string(s)])
    case .rows(let e, let t): return o("rows", ["environmentId": .string(e), "table": .string(t)])
    case .ciEnvironments: return o("ciEnvironments")
    }
  }

  public init?(json j: WireJSON) {
    func s(_ k: String) -> String? { j[k]?.string }
    switch j["op"]?.string {
    case "signedInUser": self = .signedInUser
    case "securityGroupCreationAllowed": self = .securityGroupCreationAllowed
    case "servicePrincipal": guard let a = s("appId") else { return nil }; self = .servicePrincipal(appID: a)
    case "groups": guard let n = s("displayName") else { return nil }; self = .groups(displayName: n)
    case "group": guard let id = s("id") else { return nil }; self = .group(id: id)
    case "owners": guard let g = s("groupId") else { return nil }; self = .owners(groupID: g)
    case "members": guard let g = s("groupId") else { return nil }; self = .members(groupID: g)
    case "object": guard let id = s("id") else { return nil }; self = .object(id: id)
    case "roleAssignments":
      guard let sc = s("scope"), let p = s("principalId") else { return nil }
      self = .roleAssignments(scope: sc, principalID: p)
    case "storageAccount":
      guard let sub = s("subscriptionId"), let rg = s("resourceGroup"), let n = s("name") else { return nil }
      self = .storageAccount(subscriptionID: sub, resourceGroup: rg, name: n)
    case "storageAccountNamed": guard let n = s("name") else { return nil }; self = .storageAccountNamed(n)
    case "filesystemExists":
      guard let a = s("account"), let f = s("filesystem") else { return nil }
      self = .filesystemExists(account: a, filesystem: f)
    case "pathIsDirectory":
      guard let a = s("account"), let f = s("filesystem"), let p = s("path") else { return nil }
      self = .pathIsDirectory(account: a, filesystem: f, path: p)
    case "accessControl":
      guard let a = s("account"), let f = s("filesystem"), let p = s("path") else { return nil }
      self = .accessControl(account: a, filesystem: f, path: p)
    case "listedAccessControl":
      guard let a = s("account"), let f = s("filesystem"), let p = s("path"), let d = j["isDirectory"]?.bool else { return nil }
      self = .listedAccessControl(account: a, filesystem: f, path: p, isDirectory: d)
    case "listPaths":
      guard let a = s("account"), let f = s("filesystem"), let d = s("directory") else { return nil }
      self = .listPaths(account: a, filesystem: f, directory: d, continuation: s("continuation"))
    case "environments": self = .environments
    case "solutions": guard let e = s("environmentId") else { return nil }; self = .solutions(environmentID: e)
    case "dependencies":
      guard let e = s("environmentId"), let sol = s("solution") else { return nil }
      self = .dependencies(environmentID: e, solution: sol)
    case "rows":
      guard let e = s("environmentId"), let t = s("table") else { return nil }
      self = .rows(environmentID: e, table: t)
    case "ciEnvironments": self = .ciEnvironments
    default: return nil
    }
  }

  /// A short description for messages: `groups(displayName: "contoso-Dataverse-readers")`.
  public var label: String {
    guard case .object(let fields) = json else { return "" }
    let op = fields["op"]?.string ?? "?"
    let args = fields.filter { $0.key != "op" && $0.value != .null }.sorted { $0.key < $1.key }
      .map { "\($0.key): \($0.value.text)" }.joined(separator: ", ")
    return "\(op)(\(args))"
  }

  /// Makes the read against `services`.
  public func perform(on s: ServiceSet) throws(ServiceError) -> ReadAnswer {
    switch self {
    case .signedInUser: return .user(try s.directory.signedInUser())
    case .securityGroupCreationAllowed: return .flag(try s.directory.securityGroupCreationAllowed())
    case .servicePrincipal(let a): return .servicePrincipal(try s.directory.servicePrincipal(appID: a))
    case .groups(let n): return .groups(try s.directory.groups(displayName: n))
    case .group(let id): return .group(try s.directory.group(id: id))
    case .owners(let g): return .objects(try s.directory.owners(groupID: g))
    case .members(let g): return .objects(try s.directory.members(groupID: g))
    case .object(let id): return .object(try s.directory.object(id: id))
    case .roleAssignments(let sc, let p): return .assignments(try s.roles.roleAssignments(scope: sc, principalID: p))
    case .storageAccount(let sub, let rg, let n):
      return .account(try s.dataLake.storageAccount(subscriptionID: sub, resourceGroup: rg, name: n))
    case .storageAccountNamed(let n): return .optionalAccount(try s.dataLake.storageAccount(name: n))
    case .filesystemExists(let a, let f): return .flag(try s.dataLake.filesystemExists(account: a, filesystem: f))
    case .pathIsDirectory(let a, let f, let p):
      return .optionalFlag(try s.dataLake.pathIsDirectory(account: a, filesystem: f, path: p))
    case .accessControl(let a, let f, let p):
      return .accessControl(try s.dataLake.getAccessControl(account: a, filesystem: f, path: p))
    case .listedAccessControl(let a, let f, let p, let d):
      return .accessControl(try s.dataLake.accessControl(account: a, filesystem: f, path: p, isDirectory: d))
    case .listPaths(let a, let f, let d, let c):
      return .paths(try s.dataLake.listPaths(account: a, filesystem: f, directory: d, recursive: true, continuation: c,
                                             maxResults: nil))
    case .environments: return .environments(try s.dataverse.environments())
    case .solutions(let e): return .solutions(try s.dataverse.solutions(environmentID: e))
    case .dependencies(let e, let sol):
      return .dependencies(try s.dataverse.dependenciesForUninstall(environmentID: e, solution: sol))
    case .rows(let e, let t): return .rows(try s.dataverse.rows(environmentID: e, table: t))
    case .ciEnvironments: return .ciEnvironments(try s.customerInsights.ciEnvironments())
    }
  }

  /// The fingerprint of what the read answers now (an error's code counts as its answer).
  public func fingerprint(on s: ServiceSet) -> String {
    do throws(ServiceError) {
      return try perform(on: s).fingerprint
    } catch {
      return ReadAnswer.fingerprint(ofError: error)
    }
  }
}

/// What a `ServiceRead` answered.
public enum ReadAnswer: Sendable, Equatable {
  case user(DirectoryUser)
  case flag(Bool)
  case optionalFlag(Bool?)
  case servicePrincipal(ServicePrincipal?)
  case groups([DirectoryGroup])
  case group(DirectoryGroup?)
  case objects([DirectoryObject])
  case object(DirectoryObject?)
  case assignments([RoleAssignment])
  case account(StorageAccount)
  case optionalAccount(StorageAccount?)
  case accessControl(PathAccessControl)
  case paths(PathListPage)
  case environments([DataverseEnvironment])
  case solutions([Solution])
  case dependencies([SolutionDependency])
  case rows([Row])
  case ciEnvironments([CIEnvironment])

  /// A stable hash of the answer: the same content always gives the same
  /// fingerprint, any change in it a different one. Lists are compared as
  /// sets where the service does not promise an order.
  public var fingerprint: String {
    let text: String
    switch self {
    case .rows(let rows):
      // Column dictionaries have no order: sort them.
      text = rows.map { r in
        r.id + "|" + r.etag + "|" + r.columns.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.text)" }.joined(separator: ",")
      }.sorted().joined(separator: "\n")
    case .assignments(let list): text = list.map { String(describing: $0) }.sorted().joined(separator: "\n")
    case .groups(let list): text = list.map { String(describing: $0) }.sorted().joined(separator: "\n")
    case .objects(let list): text = list.map { String(describing: $0) }.sorted().joined(separator: "\n")
    case .paths(let page):
      // Written out, not reflected: a page holds up to 5,000 paths.
      text = page.entries.map(\.fingerprintText).joined(separator: "\n") + "\ncontinuation:" + (page.continuation ?? "")
    default: text = String(describing: self)
    }
    return StableID.guid(["read", text])
  }

  public static func fingerprint(ofError e: ServiceError) -> String { StableID.guid(["error", String(e.status), e.code]) }

  /// For a listing page, one short digest per listed path (`PathEntry.digest`),
  /// in listing order; nil for any other answer.
  public var itemDigests: [String]? {
    guard case .paths(let page) = self else { return nil }
    return page.entries.map(\.digest)
  }
}

/// A read a plan made and what it found.
public struct ReadFingerprint: Sendable, Equatable {
  public var read: ServiceRead
  public var fingerprint: String
  /// A listing page's item digests (`ReadAnswer.itemDigests`): an apply
  /// whose page reads differently names the paths that changed.
  public var items: [String]?
  public init(read: ServiceRead, fingerprint: String, items: [String]? = nil) {
    self.read = read; self.fingerprint = fingerprint; self.items = items
  }

  /// What reads differently now, in a few words per item; empty when the
  /// answer is the plan's. A changed listing page names its changed paths.
  public func differences(now: Result<ReadAnswer, ServiceError>) -> [String] {
    let nowFingerprint: String
    switch now {
    case .success(let a): nowFingerprint = a.fingerprint
    case .failure(let e): nowFingerprint = ReadAnswer.fingerprint(ofError: e)
    }
    guard nowFingerprint != fingerprint else { return [] }
    guard let items, case .success(.paths(let page)) = now else { return [read.label] }
    let before = Set(items)
    let changed = page.entries.filter { !before.contains($0.digest) }
    let after = Set(page.entries.map(\.digest))
    let gone = items.filter { !after.contains($0) }.count - changed.count
    var out = changed.map { e in
      "\(e.name) (listed now: \(e.permissions), owner \(e.owner ?? "?"), group \(e.group ?? "?")), in \(read.label)"
    }
    if gone > 0 { out.append("\(gone) path(s) listed at plan time are gone, in \(read.label)") }
    return out.isEmpty ? [read.label] : out
  }
}
