import RunbookServices

/// Reads real, writes simulated: the services a plan against the live tenant
/// runs on. The simulated world starts empty and is seeded lazily, copy on
/// write: the first time a built-in asks about an object, the overlay reads
/// it from the live services (and remembers the read's fingerprint for the
/// apply); from then on the simulated world answers for it, so later steps
/// see the simulated results of earlier changes. No write reaches the live
/// services. A second world, seeded the same way and never written, is the
/// slice of the real tenant the plan touched (`snapshot`).
public final class ReadThroughWorld: @unchecked Sendable {
  /// What the plan sees: live reads plus the plan's own simulated changes.
  public let world: World
  /// The same reads, without the plan's changes.
  let baseline: World
  let live: ServiceSet
  /// Every live read, once, in the order made.
  public private(set) var reads: [ReadFingerprint] = []
  private var readsMade: Set<ServiceRead> = []
  /// Keys the overlay answers for itself: read once from live, or written by the plan.
  private var known: Set<String> = []
  /// Live errors of reads whose object the overlay cannot hold (a missing
  /// storage account or table): answered again as the live service did.
  private var liveErrors: [String: ServiceError] = [:]

  /// How many ACL reads of a subtree go out at once, bounded by what the
  /// live data lake allows.
  public var readConcurrency = BoundedWork.defaultWidth

  public init(live: ServiceSet, tenantID: String) {
    self.live = live
    let now = live.clock.nowMilliseconds
    let tenant = TenantState(
      id: tenantID, domain: "", seed: "plan-" + tenantID, idCounter: 0, now: iso8601(now), signedInUser: "",
      groupCreationAllowed: true, rolePropagationSeconds: 0)
    world = World(emptyTenant: tenant, nowMilliseconds: now)
    baseline = World(emptyTenant: tenant, nowMilliseconds: now)
  }

  public var services: ServiceSet {
    ServiceSet(directory: self, roles: self, dataLake: self, dataverse: self, customerInsights: self, clock: world)
  }

  /// The slice of the live tenant the plan read, as a state file (no secrets:
  /// only what the services answered about objects).
  public func snapshot() throws(ServiceError) -> StateFile {
    _ = try signedInUser()
    var state = baseline.snapshot()
    state.tenant.now = iso8601(baseline.nowMilliseconds)
    return state
  }

  // MARK: Seeding

  /// Makes a live read once and records its fingerprint.
  func fetch(_ read: ServiceRead) throws(ServiceError) -> ReadAnswer {
    try record(read, Result { () throws(ServiceError) in try read.perform(on: live) })
  }

  /// Records what a read answered and passes the answer (or its error) on.
  private func record(_ read: ServiceRead, _ result: Result<ReadAnswer, ServiceError>) throws(ServiceError) -> ReadAnswer {
    switch result {
    case .success(let answer):
      record(ReadFingerprint(read: read, fingerprint: answer.fingerprint, items: answer.itemDigests))
      return answer
    case .failure(let error):
      record(ReadFingerprint(read: read, fingerprint: ReadAnswer.fingerprint(ofError: error)))
      throw error
    }
  }

  /// The last answer of a read counts (a read is made again only when it is retried).
  private func record(_ r: ReadFingerprint) {
    if readsMade.insert(r.read).inserted {
      reads.append(r)
    } else if let i = reads.firstIndex(where: { $0.read == r.read }) {
      reads[i] = r
    }
  }

  /// A read about an object a list has just returned: Graph answers 404
  /// `Request_ResourceNotFound` while the object replicates, so the read is
  /// retried a few times (1, 2, 4, 8 s on the service clock) before the 404 counts.
  func fetchReplicating(_ read: ServiceRead) throws(ServiceError) -> ReadAnswer {
    var delay = 1_000
    for _ in 0..<4 {
      do {
        return try fetch(read)
      } catch where error.code == "Request_ResourceNotFound" {
        live.clock.sleep(milliseconds: delay)
        delay *= 2
      }
    }
    return try fetch(read)
  }

  /// Runs `body` once per key; the key is known even when `body` throws a
  /// live error that `liveErrors` then keeps answering.
  private func once(_ key: String, _ body: () throws(ServiceError) -> Void) throws(ServiceError) {
    if let e = liveErrors[key] { throw e }
    guard known.insert(key).inserted else { return }
    do {
      try body()
    } catch {
      liveErrors[key] = error
      throw error
    }
  }

  private func seed(_ body: (World) -> Void) {
    body(world)
    body(baseline)
  }

  // MARK: Directory seeding

  func seedObject(_ o: DirectoryObject) throws(ServiceError) {
    guard world.directoryObject(o.id) == nil else { return }
    var o = o
    if (o.type == .servicePrincipal && o.appId == nil) || (o.type == .user && o.userPrincipalName == nil) {
      if case .object(let full?) = try fetch(.object(id: o.id)) { o = full }
    }
    switch o.type {
    case .user:
      seed { $0.users.append(UserState(id: o.id, userPrincipalName: o.userPrincipalName ?? "", displayName: o.displayName)) }
    case .servicePrincipal:
      seed { $0.servicePrincipals.append(ServicePrincipalState(id: o.id, appId: (o.appId ?? "").lowercased(), displayName: o.displayName)) }
    case .group:
      if case .group(let g?) = try fetch(.group(id: o.id)) { seedGroup(g) }
    case .device, .foreignGroup:
      break  // not modelled: such owners and members are left out
    }
  }

  /// A group with its owners and members still unread (`ensureReferences`).
  func seedGroup(_ g: DirectoryGroup) {
    known.insert("group:" + g.id.lowercased())
    guard world.directoryObject(g.id) == nil else { return }
    seed {
      $0.groups.append(GroupState(id: g.id, displayName: g.displayName, mailNickname: g.mailNickname,
                                  securityEnabled: g.securityEnabled, description: g.description, owners: [], members: []))
    }
  }

  func ensureGroup(_ id: String) throws(ServiceError) {
    try once("group:" + id.lowercased()) { () throws(ServiceError) in
      if case .group(let g?) = try fetch(.group(id: id)) { seedGroup(g) }
    }
  }

  func ensureReferences(_ groupID: String) throws(ServiceError) {
    try ensureGroup(groupID)
    guard world.directoryObject(groupID) != nil else { return }
    try once("refs:" + groupID.lowercased()) { () throws(ServiceError) in
      guard case .objects(let owners) = try fetchReplicating(.owners(groupID: groupID)),
        case .objects(let members) = try fetchReplicating(.members(groupID: groupID))
      else { return }
      for o in owners + members { try seedObject(o) }
      let ownerIDs = owners.map(\.id).filter { world.directoryObject($0) != nil }
      let memberIDs = members.map(\.id).filter { world.directoryObject($0) != nil }
      seed { w in
        guard let i = w.groups.firstIndex(where: { $0.id.lowercased() == groupID.lowercased() }) else { return }
        w.groups[i].owners = ownerIDs
        w.groups[i].members = memberIDs
      }
    }
  }

  func ensureObject(_ id: String) throws(ServiceError) {
    try once("object:" + id.lowercased()) { () throws(ServiceError) in
      guard world.directoryObject(id) == nil else { return }
      if case .object(let o?) = try fetch(.object(id: id)) { try seedObject(o) }
    }
  }

  // MARK: Azure seeding

  func seedAccount(_ a: StorageAccount) {
    known.insert("accountnamed:" + a.name)
    seed { w in
      if !w.accounts.contains(where: { $0.name == a.name }) { w.accounts.append(a) }
      if let i = w.subscriptions.firstIndex(where: { $0.id.lowercased() == a.subscriptionID.lowercased() }) {
        if !w.subscriptions[i].resourceGroups.contains(where: { $0.lowercased() == a.resourceGroup.lowercased() }) {
          w.subscriptions[i].resourceGroups.append(a.resourceGroup)
        }
      } else {
        w.subscriptions.append(SubscriptionState(id: a.subscriptionID, name: a.subscriptionID, resourceGroups: [a.resourceGroup]))
      }
    }
  }

  func ensureAccount(named name: String) throws(ServiceError) {
    try once("accountnamed:" + name) { () throws(ServiceError) in
      if case .optionalAccount(let a?) = try fetch(.storageAccountNamed(name)) { seedAccount(a) }
    }
  }

  func ensureFilesystem(_ account: String, _ filesystem: String) throws(ServiceError) {
    try ensureAccount(named: account)
    try once("fs:\(account)/\(filesystem)") { () throws(ServiceError) in
      guard world.accounts.contains(where: { $0.name == account }),
        case .flag(true) = try fetch(.filesystemExists(account: account, filesystem: filesystem))
      else { return }
      var root = PathAccessControl(owner: "$superuser", group: "$superuser", acl: .defaultDirectory, isDirectory: true)
      if world.accounts.first(where: { $0.name == account })?.isHnsEnabled == true,
        case .accessControl(let ac) = try fetch(.accessControl(account: account, filesystem: filesystem, path: ""))
      {
        root = ac
      }
      known.insert("path:\(account)/\(filesystem)/")
      seed { $0.filesystems["\(account)/\(filesystem)"] = PathTree(owner: root.owner, group: root.group, acl: root.acl) }
    }
  }

  /// Whether everything under `path` is known: read whole, or made by the
  /// plan. Looks up the path and each of its ancestors (not a scan of
  /// `known`, which holds a key per seeded item).
  func subtreeKnown(_ account: String, _ filesystem: String, _ path: String) -> Bool {
    let prefix = "tree:\(account)/\(filesystem)/"
    if known.contains(prefix) { return true }
    var ancestor = ""
    for segment in path.split(separator: "/") {
      ancestor = ancestor.isEmpty ? String(segment) : ancestor + "/" + segment
      if known.contains(prefix + ancestor) { return true }
    }
    return false
  }

  /// Seeds one path (and placeholders for its parents, read when asked for).
  func ensurePath(_ account: String, _ filesystem: String, _ path: String) throws(ServiceError) {
    try ensureFilesystem(account, filesystem)
    guard !path.isEmpty, world.filesystems["\(account)/\(filesystem)"] != nil, !subtreeKnown(account, filesystem, path)
    else { return }
    try once("path:\(account)/\(filesystem)/\(path)") { () throws(ServiceError) in
      guard case .optionalFlag(let isDirectory?) = try fetch(.pathIsDirectory(account: account, filesystem: filesystem, path: path)),
        case .accessControl(let ac) = try fetch(.accessControl(account: account, filesystem: filesystem, path: path))
      else { return }
      seedNode(account, filesystem, path, isDirectory: isDirectory, ac)
    }
  }

  func seedNode(_ account: String, _ filesystem: String, _ path: String, isDirectory: Bool, _ ac: PathAccessControl) {
    known.insert("path:\(account)/\(filesystem)/\(path)")
    seed { w in
      guard let t = w.filesystems["\(account)/\(filesystem)"] else { return }
      let n = t.ensure(path, isDirectory: isDirectory, owner: ac.owner, group: ac.group, acl: ac.acl)
      t.setACL(n, ac.acl)
      t.setOwner(n, ac.owner)
      t.setGroup(n, ac.group)
    }
  }

  /// Seeds every item under `path`: what a recursive ACL change or a listing
  /// touches. The listing settles files without `+`: owner, group and
  /// permissions are their whole ACL, and the listing page's fingerprint
  /// covers them. Directories and files with an extended ACL are read with
  /// `getAccessControl` (their type known from the listing: one request
  /// each live), up to `readConcurrency` at once; items are seeded
  /// and reads recorded in listing order, so the plan does not depend on
  /// which answer came first.
  func ensureSubtree(_ account: String, _ filesystem: String, _ path: String) throws(ServiceError) {
    try ensurePath(account, filesystem, path)
    guard !subtreeKnown(account, filesystem, path), world.filesystems["\(account)/\(filesystem)"]?.node(path) != nil else { return }
    try once("tree:\(account)/\(filesystem)/" + path) { () throws(ServiceError) in
      var listed: [PathEntry] = []
      var token: String? = nil
      repeat {
        guard case .paths(let page) = try fetch(.listPaths(account: account, filesystem: filesystem, directory: path,
                                                           continuation: token))
        else { return }
        listed += page.entries.filter { !known.contains("path:\(account)/\(filesystem)/\($0.name)") }
        token = page.continuation
      } while token != nil
      let toRead = listed.indices.filter { listed[$0].listedFileAccessControl == nil }
        .map { ServiceRead.listedAccessControl(account: account, filesystem: filesystem, path: listed[$0].name,
                                               isDirectory: listed[$0].isDirectory) }
      let live = self.live
      let answers = BoundedWork.map(toRead.count, limit: min(readConcurrency, live.dataLake.maxConcurrentRequests)) { k in
        Result { () throws(ServiceError) in try toRead[k].perform(on: live) }
      }
      var next = 0
      for e in listed {
        let ac: PathAccessControl
        if let listedAC = e.listedFileAccessControl {
          ac = listedAC
        } else {
          defer { next += 1 }
          guard case .accessControl(let read) = try record(toRead[next], answers[next]) else { continue }
          ac = read
        }
        seedNode(account, filesystem, e.name, isDirectory: e.isDirectory, ac)
      }
    }
  }

  // MARK: Dataverse seeding

  func ensureEnvironments() throws(ServiceError) {
    try once("environments") { () throws(ServiceError) in
      guard case .environments(let envs) = try fetch(.environments) else { return }
      seed { w in
        for e in envs where !w.dvEnvironments.contains(where: { $0.id.lowercased() == e.id.lowercased() }) {
          w.dvEnvironments.append(DataverseEnvironmentState(
            id: e.id, name: e.name, url: e.url, region: e.region, organizationId: e.organizationID,
            linkedStorageAccount: e.linkedStorageAccount, attachedCustomerInsights: e.attachedCustomerInsights,
            users: e.users.map { DataverseUserState(objectId: $0.objectID, roles: $0.roles, licensed: $0.licensed) },
            solutions: [], dependencies: [], tables: []))
        }
      }
    }
  }

  func ensureSolutions(_ environmentID: String) throws(ServiceError) {
    try ensureEnvironments()
    try once("solutions:" + environmentID.lowercased()) { () throws(ServiceError) in
      guard case .solutions(let list) = try fetch(.solutions(environmentID: environmentID)) else { return }
      seed { w in
        guard let i = w.dvEnvironments.firstIndex(where: { $0.id.lowercased() == environmentID.lowercased() }) else { return }
        w.dvEnvironments[i].solutions = list.map {
          SolutionState(id: $0.id, uniqueName: $0.uniqueName, friendlyName: $0.friendlyName, version: $0.version,
                        isManaged: $0.isManaged, publisher: $0.publisher)
        }
      }
    }
  }

  func ensureDependencies(_ environmentID: String, _ solution: String) throws(ServiceError) {
    try ensureSolutions(environmentID)
    try once("dependencies:\(environmentID.lowercased())|\(solution.lowercased())") { () throws(ServiceError) in
      guard case .dependencies(let deps) = try fetch(.dependencies(environmentID: environmentID, solution: solution)) else { return }
      seed { w in
        guard let i = w.dvEnvironments.firstIndex(where: { $0.id.lowercased() == environmentID.lowercased() }) else { return }
        for d in deps {
          let state = DependencyState(
            dependencyType: d.dependencyType, requiredSolution: d.requiredSolution, requiredComponentType: d.requiredComponentType,
            requiredComponent: d.requiredComponentName, dependentSolution: d.dependentSolution,
            dependentComponentType: d.dependentComponentType, dependentComponent: d.dependentComponentName)
          if !w.dvEnvironments[i].dependencies.contains(state) { w.dvEnvironments[i].dependencies.append(state) }
        }
      }
    }
  }

  func ensureRows(_ environmentID: String, _ table: String) throws(ServiceError) {
    try ensureEnvironments()
    try once("rows:\(environmentID.lowercased())|\(table)") { () throws(ServiceError) in
      guard case .rows(let rows) = try fetch(.rows(environmentID: environmentID, table: table)) else { return }
      seed { w in
        guard let i = w.dvEnvironments.firstIndex(where: { $0.id.lowercased() == environmentID.lowercased() }),
          !w.dvEnvironments[i].tables.contains(where: { $0.name == table || $0.entitySet == table })
        else { return }
        w.dvEnvironments[i].tables.append(TableState(
          name: table, entitySet: table, solution: nil,
          rows: rows.map { RowState(id: $0.id, version: Self.version(ofETag: $0.etag), columns: $0.columns) }))
      }
    }
  }

  /// `W/"12"` → 12: the simulator's etags are row versions.
  static func version(ofETag etag: String) -> Int {
    Int(etag.filter { $0.isNumber }) ?? 0
  }

  func ensureCIEnvironments() throws(ServiceError) {
    try once("ci") { () throws(ServiceError) in
      guard case .ciEnvironments(let list) = try fetch(.ciEnvironments) else { return }
      seed { w in
        for c in list where !w.ciEnvs.contains(where: { $0.id.lowercased() == c.id.lowercased() }) {
          w.ciEnvs.append(CIEnvironmentState(
            id: c.id, name: c.name, region: c.region, profileCount: c.profileCount, accountCount: c.accountCount,
            isB2b: c.isB2B, dataverseEnvironmentId: c.dataverseEnvironmentID, permissionIdentifier: c.permissionIdentifier))
        }
      }
    }
  }
}

// MARK: - Directory

extension ReadThroughWorld: DirectoryService {
  public func signedInUser() throws(ServiceError) -> DirectoryUser {
    try once("me") { () throws(ServiceError) in
      guard case .user(let u) = try fetch(.signedInUser) else { return }
      try seedObject(DirectoryObject(id: u.id, type: .user, displayName: u.displayName, userPrincipalName: u.userPrincipalName))
      seed { $0.tenant.signedInUser = u.id }
    }
    return try world.signedInUser()
  }

  public func securityGroupCreationAllowed() throws(ServiceError) -> Bool {
    try once("policy") { () throws(ServiceError) in
      guard case .flag(let allowed) = try fetch(.securityGroupCreationAllowed) else { return }
      seed { $0.tenant.groupCreationAllowed = allowed }
    }
    return try world.securityGroupCreationAllowed()
  }

  public func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? {
    try once("sp:" + appID.lowercased()) { () throws(ServiceError) in
      if case .servicePrincipal(let p?) = try fetch(.servicePrincipal(appID: appID)) {
        try seedObject(DirectoryObject(id: p.id, type: .servicePrincipal, displayName: p.displayName, appId: p.appId))
      }
    }
    return try world.servicePrincipal(appID: appID)
  }

  public func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
    _ = try servicePrincipal(appID: appID)
    let p = try world.createServicePrincipal(appID: appID, displayName: displayName)
    known.insert("object:" + p.id.lowercased())
    return p
  }

  public func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
    try once("groups:" + displayName.lowercased()) { () throws(ServiceError) in
      guard case .groups(let list) = try fetch(.groups(displayName: displayName)) else { return }
      for g in list { seedGroup(g) }
    }
    return try world.groups(displayName: displayName)
  }

  public func group(id: String) throws(ServiceError) -> DirectoryGroup? {
    try ensureGroup(id)
    return try world.group(id: id)
  }

  public func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  {
    // Faithful to the tenant's policy: a plan fails where the apply would.
    do { _ = try securityGroupCreationAllowed() } catch where error.status == 403 {}
    for o in owners { try ensureObject(o) }
    let g = try world.createGroup(displayName: displayName, mailNickname: mailNickname, description: description, owners: owners)
    known.formUnion(["group:" + g.id.lowercased(), "refs:" + g.id.lowercased(), "object:" + g.id.lowercased()])
    return g
  }

  public func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] {
    try ensureReferences(groupID)
    return try world.owners(groupID: groupID)
  }

  public func members(groupID: String) throws(ServiceError) -> [DirectoryObject] {
    try ensureReferences(groupID)
    return try world.members(groupID: groupID)
  }

  public func addOwner(groupID: String, objectID: String) throws(ServiceError) {
    try ensureReferences(groupID)
    try ensureObject(objectID)
    try world.addOwner(groupID: groupID, objectID: objectID)
  }

  public func addMember(groupID: String, objectID: String) throws(ServiceError) {
    try ensureReferences(groupID)
    try ensureObject(objectID)
    try world.addMember(groupID: groupID, objectID: objectID)
  }

  public func object(id: String) throws(ServiceError) -> DirectoryObject? {
    try ensureObject(id)
    return try world.object(id: id)
  }
}

// MARK: - Role assignments

extension ReadThroughWorld: RoleAssignmentService {
  public func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment] {
    try once("assignments:\(scope.lowercased())|\(principalID.lowercased())") { () throws(ServiceError) in
      guard case .assignments(let list) = try fetch(.roleAssignments(scope: scope, principalID: principalID)) else { return }
      seed { w in
        // Only the roles the simulator models; others cannot be asked about.
        for a in list where RoleDefinition.withID(a.roleDefinitionID) != nil
          && !w.assignments.contains(where: { $0.0.name.lowercased() == a.name.lowercased() })
        {
          w.assignments.append((a, w.nowMilliseconds))
        }
      }
    }
    return try world.roleAssignments(scope: scope, principalID: principalID)
  }

  public func createRoleAssignment(_ a: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool) {
    _ = try roleAssignments(scope: a.scope, principalID: a.principalID)
    try ensureObject(a.principalID)
    let parts = a.scope.split(separator: "/").map(String.init)
    if let i = parts.firstIndex(where: { $0.lowercased() == "storageaccounts" }), i + 1 < parts.count {
      try ensureAccount(named: parts[i + 1])
    }
    return try world.createRoleAssignment(a)
  }
}

// MARK: - Data lake

extension ReadThroughWorld: DataLakeService {
  public func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount {
    try once("account:\(subscriptionID.lowercased())|\(resourceGroup.lowercased())|\(name)") { () throws(ServiceError) in
      if case .account(let a) = try fetch(.storageAccount(subscriptionID: subscriptionID, resourceGroup: resourceGroup, name: name)) {
        seedAccount(a)
      }
    }
    return try world.storageAccount(subscriptionID: subscriptionID, resourceGroup: resourceGroup, name: name)
  }

  public func storageAccount(name: String) throws(ServiceError) -> StorageAccount? {
    try ensureAccount(named: name)
    return try world.storageAccount(name: name)
  }

  public func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool {
    try ensureFilesystem(account, filesystem)
    return try world.filesystemExists(account: account, filesystem: filesystem)
  }

  public func createFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try ensureFilesystem(account, filesystem)
    try world.createFilesystem(account: account, filesystem: filesystem)
    known.formUnion(["path:\(account)/\(filesystem)/", "tree:\(account)/\(filesystem)/"])
  }

  public func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool? {
    try ensurePath(account, filesystem, path)
    return try world.pathIsDirectory(account: account, filesystem: filesystem, path: path)
  }

  public func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError) {
    var prefixes: [String] = []
    for segment in path.split(separator: "/") {
      prefixes.append(prefixes.last.map { $0 + "/" + segment } ?? String(segment))
      try ensurePath(account, filesystem, prefixes[prefixes.count - 1])
    }
    let new = prefixes.filter { world.filesystems["\(account)/\(filesystem)"]?.node($0) == nil }
    try world.createDirectory(account: account, filesystem: filesystem, path: path)
    // What the plan creates is empty: nothing under it needs reading.
    for p in new { known.insert("tree:\(account)/\(filesystem)/" + p) }
  }

  public func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl {
    try ensurePath(account, filesystem, path)
    return try world.getAccessControl(account: account, filesystem: filesystem, path: path)
  }

  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> PathListPage {
    try ensureSubtree(account, filesystem, directory)
    return try world.listPaths(account: account, filesystem: filesystem, directory: directory, recursive: recursive,
                               continuation: continuation, maxResults: maxResults)
  }

  public func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError) {
    try ensurePath(account, filesystem, path)
    try world.setAccessControl(account: account, filesystem: filesystem, path: path, acl: acl)
  }

  public func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool
  ) throws(ServiceError) -> ACLRecursivePage {
    try ensureSubtree(account, filesystem, path)
    return try world.setAccessControlRecursive(
      account: account, filesystem: filesystem, path: path, mode: mode, acl: acl, continuation: continuation,
      maxRecords: maxRecords, forceFlag: forceFlag)
  }
}

// MARK: - Dataverse

extension ReadThroughWorld: DataverseService {
  public func environments() throws(ServiceError) -> [DataverseEnvironment] {
    try ensureEnvironments()
    return try world.environments()
  }

  public func solutions(environmentID: String) throws(ServiceError) -> [Solution] {
    try ensureSolutions(environmentID)
    return try world.solutions(environmentID: environmentID)
  }

  public func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency] {
    try ensureDependencies(environmentID, solution)
    return try world.dependenciesForUninstall(environmentID: environmentID, solution: solution)
  }

  public func uninstallSolution(environmentID: String, solution: String) throws(ServiceError) {
    try ensureDependencies(environmentID, solution)
    try world.uninstallSolution(environmentID: environmentID, solution: solution)
  }

  public func rows(environmentID: String, table: String) throws(ServiceError) -> [Row] {
    try ensureRows(environmentID, table)
    return try world.rows(environmentID: environmentID, table: table)
  }

  public func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
  {
    try ensureRows(environmentID, table)
    return try world.updateRow(environmentID: environmentID, table: table, id: id, values: values, ifMatch: ifMatch)
  }
}

// MARK: - Customer Insights

extension ReadThroughWorld: CustomerInsightsService {
  public func ciEnvironments() throws(ServiceError) -> [CIEnvironment] {
    try ensureCIEnvironments()
    return try world.ciEnvironments()
  }

  public func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
                     permissionIdentifier: String?) throws(ServiceError) {
    try ensureCIEnvironments()
    try ensureEnvironments()
    if let id = storageAccountID, let name = id.split(separator: "/").last { try ensureAccount(named: String(name)) }
    try world.attach(ciEnvironmentID: ciEnvironmentID, dataverseEnvironmentID: dataverseEnvironmentID,
                     storageAccountID: storageAccountID, permissionIdentifier: permissionIdentifier)
  }
}
