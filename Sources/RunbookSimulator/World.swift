import RunbookServices

/// A problem in a state file's content: the JSON path and what is wrong.
public struct StateValidationError: Error, Sendable, Equatable {
  public var path: String
  public var message: String
}

/// The simulated tenant: Entra ID directory, Azure subscriptions, storage
/// accounts with ADLS Gen2 filesystems, role assignments, Power Platform
/// environments and Customer Insights environments, on a simulated clock.
/// It implements every service protocol; `services` hands it to built-ins.
/// Same state and same calls always give the same ids and the same end state.
public final class World: @unchecked Sendable {
  static let maxRolePropagationSeconds = 100 * 365 * 86_400
  static let maxIDCounter = 1 << 53

  static func hasDotSegment(_ path: String) -> Bool {
    path.split(separator: "/").contains { $0 == "." || $0 == ".." }
  }
  public var tenant: TenantState
  public private(set) var nowMilliseconds: Int
  var users: [UserState]
  var servicePrincipals: [ServicePrincipalState]
  var groups: [GroupState]
  var subscriptions: [SubscriptionState]
  var accounts: [StorageAccount]
  /// Filesystem trees by `account/filesystem`.
  var filesystems: [String: PathTree]
  var assignments: [(RoleAssignment, createdAt: Int)]
  var dvEnvironments: [DataverseEnvironmentState]
  var ciEnvs: [CIEnvironmentState]
  public var faults: [FaultState]

  /// The world as the services every domain built-in goes through.
  public var services: ServiceSet {
    ServiceSet(directory: self, roles: self, dataLake: self, dataverse: self, customerInsights: self, clock: self)
  }

  // MARK: State

  /// Builds a world from a decoded state file, checking its content.
  public init(state s: StateFile) throws(StateValidationError) {
    func fail(_ path: String, _ message: String) -> StateValidationError { StateValidationError(path: path, message: message) }
    guard s.format == StateFile.currentFormat else {
      throw fail("$.format", "unsupported format \"\(s.format)\"; expected \"\(StateFile.currentFormat)\"")
    }
    guard let now = parseISO8601(s.tenant.now) else {
      throw fail("$.tenant.now", "expected a UTC time like 2026-01-01T09:00:00Z, found \"\(s.tenant.now)\"")
    }
    guard s.tenant.rolePropagationSeconds >= 0 else { throw fail("$.tenant.role_propagation_seconds", "must not be negative") }
    guard s.tenant.rolePropagationSeconds <= World.maxRolePropagationSeconds else {
      throw fail("$.tenant.role_propagation_seconds", "must be at most \(World.maxRolePropagationSeconds) (100 years)")
    }
    guard s.tenant.idCounter >= 0 else { throw fail("$.tenant.id_counter", "must not be negative") }
    // 2^53 keeps the counter exact in every JSON reader, and leaves room to count up without overflow.
    guard s.tenant.idCounter <= World.maxIDCounter else { throw fail("$.tenant.id_counter", "must be at most \(World.maxIDCounter) (2^53)") }
    tenant = s.tenant
    nowMilliseconds = now
    users = s.directory.users
    servicePrincipals = s.directory.servicePrincipals
    groups = s.directory.groups
    subscriptions = s.azure.subscriptions
    accounts = []
    filesystems = [:]
    assignments = []
    dvEnvironments = s.powerPlatform.environments
    ciEnvs = s.customerInsights.environments
    faults = s.faults ?? []

    // Where each id was first seen, by index into `paths`. (Not a
    // `[String: String]`: the first one a process makes costs a scan of the
    // binary's conformances, 0.3 ms, and `check` makes none otherwise.)
    var seen: [String: Int] = [:]
    var paths: [String] = []
    func checkID(_ id: String, _ path: String) throws(StateValidationError) {
      guard StableID.isGUID(id) else { throw fail(path, "\"\(id)\" is not a GUID") }
      if let other = seen[id.lowercased()] { throw fail(path, "duplicate id \(id) (also at \(paths[other]))") }
      seen[id.lowercased()] = paths.count
      paths.append(path)
    }
    for (i, u) in users.enumerated() { try checkID(u.id, "$.directory.users[\(i)].id") }
    for (i, p) in servicePrincipals.enumerated() {
      try checkID(p.id, "$.directory.service_principals[\(i)].id")
      guard StableID.isGUID(p.appId) else { throw fail("$.directory.service_principals[\(i)].app_id", "\"\(p.appId)\" is not a GUID") }
    }
    for (i, g) in groups.enumerated() { try checkID(g.id, "$.directory.groups[\(i)].id") }
    for (i, g) in groups.enumerated() {
      for (j, o) in g.owners.enumerated() where objectType(o) == nil {
        throw fail("$.directory.groups[\(i)].owners[\(j)]", "no user, group or service principal has the id \(o)")
      }
      for (j, o) in g.members.enumerated() where objectType(o) == nil {
        throw fail("$.directory.groups[\(i)].members[\(j)]", "no user, group or service principal has the id \(o)")
      }
    }
    guard users.contains(where: { $0.id == s.tenant.signedInUser }) else {
      throw fail("$.tenant.signed_in_user", "no user has the id \(s.tenant.signedInUser)")
    }
    for (i, sub) in subscriptions.enumerated() where !StableID.isGUID(sub.id) {
      throw fail("$.azure.subscriptions[\(i)].id", "\"\(sub.id)\" is not a GUID")
    }
    for (i, a) in s.azure.storageAccounts.enumerated() {
      let base = "$.azure.storage_accounts[\(i)]"
      guard let sub = subscriptions.first(where: { $0.id == a.subscriptionId }) else {
        throw fail(base + ".subscription_id", "no subscription has the id \(a.subscriptionId)")
      }
      guard sub.resourceGroups.contains(a.resourceGroup) else {
        throw fail(base + ".resource_group", "subscription \(sub.name) has no resource group \(a.resourceGroup)")
      }
      guard (3...24).contains(a.name.count), a.name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }) else {
        throw fail(base + ".name", "\"\(a.name)\" is not a storage account name (3-24 lower-case letters and digits)")
      }
      if accounts.contains(where: { $0.name == a.name }) { throw fail(base + ".name", "duplicate storage account \(a.name)") }
      accounts.append(StorageAccount(
        name: a.name, subscriptionID: a.subscriptionId, resourceGroup: a.resourceGroup, location: a.location, kind: a.kind,
        isHnsEnabled: a.isHnsEnabled, privateEndpointOnly: a.privateEndpointOnly, blobSoftDelete: a.blobSoftDelete,
        blobStorageEvents: a.blobStorageEvents))
      for (j, fs) in a.filesystems.enumerated() {
        let fbase = base + ".filesystems[\(j)]"
        // ACLs load as the service stores them: a default ACL written
        // without its base entries gets them from the access ACL.
        let rootACL: AccessControlList
        do { rootACL = try AccessControlList(parsing: fs.acl).withDefaultBaseEntries } catch {
          throw fail(fbase + ".acl", error.description)
        }
        let tree = PathTree(owner: fs.owner, group: fs.group, acl: rootACL)
        for (k, p) in fs.paths.enumerated() {
          let pbase = fbase + ".paths[\(k)]"
          guard p.type == "directory" || p.type == "file" else {
            throw fail(pbase + ".type", "expected \"directory\" or \"file\", found \"\(p.type)\"")
          }
          let acl: AccessControlList
          do { acl = try AccessControlList(parsing: p.acl).withDefaultBaseEntries } catch { throw fail(pbase + ".acl", error.description) }
          if p.type == "file" && acl.hasDefault { throw fail(pbase + ".acl", "files have no default ACL") }
          let clean = p.path.split(separator: "/").joined(separator: "/")
          guard !clean.isEmpty else { throw fail(pbase + ".path", "the path is empty (the root's ACL is the filesystem's `acl`)") }
          if World.hasDotSegment(clean) { throw fail(pbase + ".path", "\"\(p.path)\" has a `.` or `..` segment; paths are relative to the filesystem root") }
          if let existing = tree.node(clean), !tree.isDirectory(existing) || p.type == "file" {
            throw fail(pbase + ".path", "duplicate path \(clean)")
          }
          if let parent = tree.node(clean.split(separator: "/").dropLast().joined(separator: "/")), !tree.isDirectory(parent) {
            throw fail(pbase + ".path", "the parent of \(clean) is a file")
          }
          let n = tree.ensure(clean, isDirectory: p.type == "directory", owner: p.owner, group: p.group, acl: acl)
          tree.setACL(n, acl)
          if let f = p.aclFailure { tree.faults[n] = f }
        }
        for (k, g) in (fs.generate ?? []).enumerated() {
          let gbase = fbase + ".generate[\(k)]"
          let clean = g.prefix.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "/")
          guard !clean.isEmpty, !clean.hasPrefix("/"), !clean.contains("//"), !World.hasDotSegment(clean) else {
            throw fail(gbase + ".prefix", "expected a relative path prefix like \"data/part-\" (no `.` or `..` segments)")
          }
          guard g.folders >= 0, g.filesPerFolder >= 0 else {
            throw fail(gbase + ".folders", "counts cannot be negative")
          }
          // folders * (files_per_folder + 1) items, each step checked: the counts may be anything up to Int.max.
          let (perFolder, o1) = g.filesPerFolder.addingReportingOverflow(1)
          let (items, o2) = g.folders.multipliedReportingOverflow(by: perFolder)
          guard !o1, !o2, items <= 20_000_000 else {
            throw fail(gbase + ".folders", "at most 20,000,000 generated items (folders × (files_per_folder + 1))")
          }
          var dirACL: AccessControlList?, fileACL: AccessControlList?
          if let text = g.directoryAcl {
            do { dirACL = try AccessControlList(parsing: text).withDefaultBaseEntries } catch { throw fail(gbase + ".directory_acl", error.description) }
          }
          if let text = g.fileAcl {
            let acl: AccessControlList
            do { acl = try AccessControlList(parsing: text) } catch { throw fail(gbase + ".file_acl", error.description) }
            if acl.hasDefault { throw fail(gbase + ".file_acl", "files have no default ACL") }
            fileACL = acl
          }
          if let clash = tree.generate(prefix: clean, folders: g.folders, filesPerFolder: g.filesPerFolder,
                                       directoryACL: dirACL, fileACL: fileACL) {
            throw fail(gbase + ".prefix", clash)
          }
        }
        filesystems["\(a.name)/\(fs.name)"] = tree
      }
    }
    for (i, r) in s.azure.roleAssignments.enumerated() {
      let base = "$.azure.role_assignments[\(i)]"
      guard StableID.isGUID(r.name) else { throw fail(base + ".name", "\"\(r.name)\" is not a GUID") }
      guard let type = PrincipalType(rawValue: r.principalType) else {
        throw fail(base + ".principal_type", "expected one of \(PrincipalType.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      guard RoleDefinition.withID(r.roleDefinitionId) != nil else {
        throw fail(base + ".role_definition_id", "unknown role definition \(r.roleDefinitionId)")
      }
      guard let created = parseISO8601(r.createdAt) else { throw fail(base + ".created_at", "expected a UTC time like 2026-01-01T09:00:00Z") }
      assignments.append((RoleAssignment(name: r.name, scope: r.scope, roleDefinitionID: r.roleDefinitionId,
                                         principalID: r.principalId, principalType: type), created))
    }
    for (i, e) in dvEnvironments.enumerated() {
      try checkID(e.id, "$.power_platform.environments[\(i)].id")
      for (j, t) in e.tables.enumerated() {
        for (k, r) in t.rows.enumerated() where !StableID.isGUID(r.id) {
          throw fail("$.power_platform.environments[\(i)].tables[\(j)].rows[\(k)].id", "\"\(r.id)\" is not a GUID")
        }
      }
    }
    for (i, c) in ciEnvs.enumerated() { try checkID(c.id, "$.customer_insights.environments[\(i)].id") }
  }

  /// A world that knows nothing yet but its tenant (filled by `ReadThroughWorld`).
  init(emptyTenant: TenantState, nowMilliseconds: Int) {
    tenant = emptyTenant
    self.nowMilliseconds = nowMilliseconds
    users = []; servicePrincipals = []; groups = []; subscriptions = []; accounts = []; filesystems = [:]
    assignments = []; dvEnvironments = []; ciEnvs = []; faults = []
  }

  /// The state file for the current world, in a stable order.
  public func snapshot() -> StateFile {
    var t = tenant
    t.now = iso8601(nowMilliseconds)
    let accountStates = accounts.sorted { $0.name < $1.name }.map { a -> StorageAccountState in
      let fss = filesystems.filter { $0.key.hasPrefix(a.name + "/") }.sorted { $0.key < $1.key }.map { key, tree -> FilesystemState in
        let paths = tree.sortedNodes().map { n in
          PathState(path: tree.path(of: n), type: tree.isDirectory(n) ? "directory" : "file", owner: tree.owner(n),
                    group: tree.group(n), acl: tree.acl(n).text, aclFailure: tree.faults[n])
        }
        return FilesystemState(name: String(key.dropFirst(a.name.count + 1)), owner: tree.owner(0), group: tree.group(0),
                               acl: tree.acl(0).text, paths: paths)
      }
      return StorageAccountState(
        name: a.name, subscriptionId: a.subscriptionID, resourceGroup: a.resourceGroup, location: a.location, kind: a.kind,
        isHnsEnabled: a.isHnsEnabled, privateEndpointOnly: a.privateEndpointOnly, blobSoftDelete: a.blobSoftDelete,
        blobStorageEvents: a.blobStorageEvents, filesystems: fss)
    }
    let roleStates = assignments.map { a, created in
      RoleAssignmentState(name: a.name, scope: a.scope, roleDefinitionId: a.roleDefinitionID, principalId: a.principalID,
                          principalType: a.principalType.rawValue, createdAt: iso8601(created))
    }.sorted { ($0.scope, $0.principalId, $0.roleDefinitionId, $0.name) < ($1.scope, $1.principalId, $1.roleDefinitionId, $1.name) }
    return StateFile(
      format: StateFile.currentFormat, tenant: t,
      directory: DirectoryState(
        users: users.sorted { $0.id < $1.id }, servicePrincipals: servicePrincipals.sorted { $0.id < $1.id },
        groups: groups.map { g in
          var g = g
          g.owners.sort(); g.members.sort()
          return g
        }.sorted { ($0.displayName, $0.id) < ($1.displayName, $1.id) }),
      azure: AzureState(subscriptions: subscriptions, storageAccounts: accountStates, roleAssignments: roleStates),
      powerPlatform: PowerPlatformState(environments: dvEnvironments.sorted { $0.name < $1.name }),
      customerInsights: CustomerInsightsState(environments: ciEnvs.sorted { $0.name < $1.name }),
      faults: faults.isEmpty ? nil : faults)
  }

  // MARK: Helpers

  /// A new deterministic id: from the tenant seed, the id counter and names.
  func newID(_ kind: String, _ name: String) -> String {
    tenant.idCounter += 1
    return StableID.guid(tenant.seed, String(tenant.idCounter), kind, name)
  }

  /// Fails the call when a fault is armed for the operation.
  func checkFault(_ operation: String) throws(ServiceError) {
    guard let i = faults.firstIndex(where: { $0.operation == operation && $0.times > 0 }) else { return }
    let f = faults[i]
    faults[i].times -= 1
    if faults[i].times == 0 { faults.remove(at: i) }
    throw ServiceError(service: "simulator", status: f.status, code: f.code, message: f.message)
  }

  func objectType(_ id: String) -> PrincipalType? {
    if users.contains(where: { $0.id == id }) { return .user }
    if groups.contains(where: { $0.id == id }) { return .group }
    if servicePrincipals.contains(where: { $0.id == id }) { return .servicePrincipal }
    return nil
  }

  func directoryObject(_ id: String) -> DirectoryObject? {
    let id = id.lowercased()
    if let u = users.first(where: { $0.id.lowercased() == id }) {
      return DirectoryObject(id: u.id, type: .user, displayName: u.displayName, userPrincipalName: u.userPrincipalName)
    }
    if let g = groups.first(where: { $0.id.lowercased() == id }) { return DirectoryObject(id: g.id, type: .group, displayName: g.displayName) }
    if let p = servicePrincipals.first(where: { $0.id.lowercased() == id }) {
      return DirectoryObject(id: p.id, type: .servicePrincipal, displayName: p.displayName, appId: p.appId)
    }
    return nil
  }

  /// The filesystem tree of an ADLS account, checking the account supports DFS.
  func tree(_ account: String, _ filesystem: String) throws(ServiceError) -> PathTree {
    guard let a = accounts.first(where: { $0.name == account }) else {
      throw ServiceError(service: "dfs", status: 404, code: "AccountNotFound", message: "The specified account does not exist.")
    }
    if !a.isHnsEnabled {
      if a.blobSoftDelete || a.blobStorageEvents { throw .unsupportedAccountFeatures }
      throw .namespaceNotEnabled
    }
    guard let t = filesystems["\(account)/\(filesystem)"] else { throw .filesystemNotFound() }
    return t
  }

  func environmentIndex(_ id: String) throws(ServiceError) -> Int {
    guard let i = dvEnvironments.firstIndex(where: { $0.id.lowercased() == id.lowercased() }) else {
      throw ServiceError(service: "dataverse", status: 404, code: "EnvironmentNotFound",
                         message: "The environment '\(id)' could not be found in the tenant '\(tenant.id)'.")
    }
    return i
  }

  // MARK: Direct access (tests, scenario setup)

  public func group(named name: String) -> [GroupState] { groups.filter { $0.displayName == name } }
  public func filesystem(account: String, name: String) -> PathTree? { filesystems["\(account)/\(name)"] }
  public var roleAssignmentList: [RoleAssignment] { assignments.map(\.0) }
  public func advanceClock(milliseconds: Int) { sleep(milliseconds: milliseconds) }
  public func ciEnvironmentState(named name: String) -> CIEnvironmentState? { ciEnvs.first { $0.name == name } }
  public func dataverseEnvironmentState(named name: String) -> DataverseEnvironmentState? {
    dvEnvironments.first { $0.name == name }
  }
}

// MARK: - Clock

extension World: ServiceClock {
  /// Saturates: a simulated clock stops at the end of representable time rather than trapping.
  public func sleep(milliseconds: Int) {
    let (t, o) = nowMilliseconds.addingReportingOverflow(max(0, milliseconds))
    nowMilliseconds = o ? Int.max : t
  }
  /// Role assignments becoming visible are the only changes a simulated world makes by itself.
  public var nextSpontaneousChange: Int {
    let delay = tenant.rolePropagationSeconds * 1000
    return assignments.lazy.map { World.visibleAt($0.createdAt, delay) }.filter { $0 > self.nowMilliseconds }.min() ?? Int.max
  }
  static func visibleAt(_ created: Int, _ delay: Int) -> Int {
    let (t, o) = created.addingReportingOverflow(delay)
    return o ? Int.max : t
  }
}

// MARK: - Directory

extension World: DirectoryService {
  public func signedInUser() throws(ServiceError) -> DirectoryUser {
    guard let u = users.first(where: { $0.id == tenant.signedInUser }) else { throw .graphNotFound(tenant.signedInUser) }
    return DirectoryUser(id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName)
  }

  public func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? {
    servicePrincipals.first { $0.appId.lowercased() == appID.lowercased() }.map {
      ServicePrincipal(id: $0.id, appId: $0.appId, displayName: $0.displayName)
    }
  }

  public func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
    try checkFault("createServicePrincipal")
    if servicePrincipals.contains(where: { $0.appId.lowercased() == appID.lowercased() }) {
      throw ServiceError(service: "graph", status: 409, code: "Request_MultipleObjectsWithSameKeyValue",
                         message: "The service principal cannot be created, updated, or restored because the service principal name \(appID) is already in use.")
    }
    let sp = ServicePrincipalState(id: newID("servicePrincipal", appID), appId: appID.lowercased(), displayName: displayName)
    servicePrincipals.append(sp)
    return ServicePrincipal(id: sp.id, appId: sp.appId, displayName: sp.displayName)
  }

  private func model(_ g: GroupState) -> DirectoryGroup {
    DirectoryGroup(id: g.id, displayName: g.displayName, mailNickname: g.mailNickname, securityEnabled: g.securityEnabled,
                   description: g.description)
  }

  public func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
    groups.filter { $0.displayName.lowercased() == displayName.lowercased() }.map(model)
  }

  public func group(id: String) throws(ServiceError) -> DirectoryGroup? {
    groups.first { $0.id.lowercased() == id.lowercased() }.map(model)
  }

  /// Creates the group with its owners in one step, as `owners@odata.bind`
  /// does: an unknown owner fails the request (404 `Request_ResourceNotFound`)
  /// and leaves no group behind.
  public func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  {
    try checkFault("createGroup")
    guard tenant.groupCreationAllowed else {
      throw ServiceError(service: "graph", status: 403, code: "Authorization_RequestDenied",
                         message: "Insufficient privileges to complete the operation.")
    }
    guard owners.count <= 20 else { throw .tooManyBoundReferences }
    var ownerIDs: [String] = []
    for id in owners {
      guard let o = directoryObject(id) else { throw .graphNotFound(id) }
      if !ownerIDs.contains(o.id) { ownerIDs.append(o.id) }
    }
    let g = GroupState(id: newID("group", displayName), displayName: displayName, mailNickname: mailNickname,
                       securityEnabled: true, description: description, owners: ownerIDs, members: [])
    groups.append(g)
    return model(g)
  }

  private func groupIndex(_ id: String) throws(ServiceError) -> Int {
    guard let i = groups.firstIndex(where: { $0.id.lowercased() == id.lowercased() }) else { throw .graphNotFound(id) }
    return i
  }

  public func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] {
    groups[try groupIndex(groupID)].owners.compactMap(directoryObject)
  }

  public func members(groupID: String) throws(ServiceError) -> [DirectoryObject] {
    groups[try groupIndex(groupID)].members.compactMap(directoryObject)
  }

  public func addOwner(groupID: String, objectID: String) throws(ServiceError) {
    try checkFault("addOwner")
    let i = try groupIndex(groupID)
    guard let o = directoryObject(objectID) else { throw .graphNotFound(objectID) }
    if groups[i].owners.contains(o.id) { throw .referenceExists("owners") }
    groups[i].owners.append(o.id)
  }

  public func addMember(groupID: String, objectID: String) throws(ServiceError) {
    try checkFault("addMember")
    let i = try groupIndex(groupID)
    guard let o = directoryObject(objectID) else { throw .graphNotFound(objectID) }
    if groups[i].members.contains(o.id) { throw .referenceExists("members") }
    groups[i].members.append(o.id)
  }

  public func object(id: String) throws(ServiceError) -> DirectoryObject? { directoryObject(id) }
  public func securityGroupCreationAllowed() throws(ServiceError) -> Bool { tenant.groupCreationAllowed }
}

// MARK: - Role assignments

extension World: RoleAssignmentService {
  public func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment] {
    let s = scope.lowercased()
    let delay = tenant.rolePropagationSeconds * 1000
    return assignments.filter { a, created in
      let as_ = a.scope.lowercased()
      return a.principalID.lowercased() == principalID.lowercased() && nowMilliseconds >= World.visibleAt(created, delay)
        && (s == as_ || s.hasPrefix(as_ + "/") || as_.hasPrefix(s + "/"))
    }.map(\.0)
  }

  public func createRoleAssignment(_ r: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool) {
    try checkFault("createRoleAssignment")
    guard directoryObject(r.principalID) != nil else {
      throw ServiceError(service: "arm", status: 400, code: "PrincipalNotFound",
                         message: "Principal \(r.principalID.replacingDashes) does not exist in the directory \(tenant.id). Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")
    }
    let parts = r.scope.split(separator: "/").map(String.init)
    guard parts.count >= 2, parts[0].lowercased() == "subscriptions",
      subscriptions.contains(where: { $0.id.lowercased() == parts[1].lowercased() })
    else {
      throw ServiceError(service: "arm", status: 404, code: "SubscriptionNotFound",
                         message: "The subscription '\(parts.count >= 2 ? parts[1] : r.scope)' could not be found.")
    }
    if let i = parts.firstIndex(where: { $0.lowercased() == "storageaccounts" }), i + 1 < parts.count,
      !accounts.contains(where: { $0.name == parts[i + 1] })
    {
      throw ServiceError(service: "arm", status: 404, code: "ResourceNotFound",
                         message: "The Resource 'Microsoft.Storage/storageAccounts/\(parts[i + 1])' under resource group '\(parts.count > 3 ? parts[3] : "")' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
    }
    if let same = assignments.first(where: { $0.0.name.lowercased() == r.name.lowercased() })?.0 {
      if same.scope.lowercased() == r.scope.lowercased() && same.roleGUID == r.roleGUID && same.principalID == r.principalID {
        return (same, false)
      }
      throw ServiceError(service: "arm", status: 400, code: "RoleAssignmentUpdateNotPermitted",
                         message: "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
    }
    if assignments.contains(where: {
      $0.0.scope.lowercased() == r.scope.lowercased() && $0.0.roleGUID == r.roleGUID
        && $0.0.principalID.lowercased() == r.principalID.lowercased()
    }) {
      throw .roleAssignmentExists
    }
    assignments.append((r, nowMilliseconds))
    return (r, true)
  }
}

extension String {
  fileprivate var replacingDashes: String { split(separator: "-").joined() }
}

// MARK: - Data lake

extension World: DataLakeService {
  public func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount {
    guard subscriptions.contains(where: { $0.id.lowercased() == subscriptionID.lowercased() }) else {
      throw ServiceError(service: "arm", status: 404, code: "SubscriptionNotFound",
                         message: "The subscription '\(subscriptionID)' could not be found.")
    }
    guard let a = accounts.first(where: {
      $0.name == name && $0.subscriptionID.lowercased() == subscriptionID.lowercased()
        && $0.resourceGroup.lowercased() == resourceGroup.lowercased()
    }) else {
      throw ServiceError(service: "arm", status: 404, code: "ResourceNotFound",
                         message: "The Resource 'Microsoft.Storage/storageAccounts/\(name)' under resource group '\(resourceGroup)' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
    }
    return a
  }

  public func storageAccount(name: String) throws(ServiceError) -> StorageAccount? { accounts.first { $0.name == name } }

  public func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool {
    guard accounts.contains(where: { $0.name == account }) else {
      throw ServiceError(service: "dfs", status: 404, code: "AccountNotFound", message: "The specified account does not exist.")
    }
    return filesystems["\(account)/\(filesystem)"] != nil
  }

  public func createFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try checkFault("createFilesystem")
    if try filesystemExists(account: account, filesystem: filesystem) { throw .filesystemExists }
    filesystems["\(account)/\(filesystem)"] = PathTree()
  }

  public func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool? {
    let t = try tree(account, filesystem)
    return t.node(path).map { t.isDirectory($0) }
  }

  public func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError) {
    try checkFault("createDirectory")
    let t = try tree(account, filesystem)
    var prefix = ""
    for seg in path.split(separator: "/") {
      prefix = prefix.isEmpty ? String(seg) : prefix + "/" + seg
      if let n = t.node(prefix), !t.isDirectory(n) {
        throw ServiceError(service: "dfs", status: 409, code: "PathConflict",
                           message: "The specified path, or an element of the path, exists and its resource type is invalid for this operation.")
      }
    }
    t.ensure(path, isDirectory: true, owner: tenant.signedInUser, ownParents: true)
  }

  private func node(_ t: PathTree, _ path: String) throws(ServiceError) -> PathTree.Node {
    guard let n = t.node(path) else { throw .pathNotFound() }
    return n
  }

  public func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl {
    let t = try tree(account, filesystem)
    let n = try node(t, path)
    return PathAccessControl(owner: t.owner(n), group: t.group(n), acl: t.acl(n), isDirectory: t.isDirectory(n))
  }

  public func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError) {
    try checkFault("setAccessControl")
    let t = try tree(account, filesystem)
    let n = try node(t, path)
    if let message = t.faults[n] { throw ServiceError(service: "dfs", status: 403, code: "AuthorizationPermissionMismatch", message: message) }
    // The request replaces the ACL, except that the service keeps what it
    // omits of the access ACL: without access entries the access ACL stays
    // as it is, and a missing `user::`, `group::` or `other::` keeps its
    // current permissions (docs/emulator.md, "Default ACLs").
    var requested = acl
    let current = t.acl(n)
    let baseKinds: [AccessControlEntry.Kind] = [.user, .group, .other]
    if requested.accessEntries.entries.isEmpty {
      for e in current.accessEntries.entries { requested.set(e) }
    } else {
      for kind in baseKinds where requested.entry(.init(isDefault: false, kind: kind, id: "")) == nil {
        if let e = current.entry(.init(isDefault: false, kind: kind, id: "")) { requested.set(e) }
      }
    }
    guard baseKinds.allSatisfy({ requested.entry(.init(isDefault: false, kind: $0, id: "")) != nil }),
      requested.entries.allSatisfy({ $0.permissions != nil }),
      t.isDirectory(n) || !requested.hasDefault
    else { throw .invalidACL }
    t.setACL(n, requested.storedByService)
  }

  public func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool
  ) throws(ServiceError) -> ACLRecursivePage {
    try checkFault("setAccessControlRecursive")
    let t = try tree(account, filesystem)
    let root = try node(t, path)
    if mode != .remove && !acl.entries.allSatisfy({ $0.permissions != nil }) { throw .invalidACL }
    var start = root
    if let continuation {
      guard continuation.hasPrefix("n"), let v = Int32(continuation.dropFirst()), v > 0, Int(v) < t.count else {
        throw ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                           message: "Value for one of the query parameters specified in the request URI is invalid.")
      }
      start = v
    }
    if let maxRecords, maxRecords < 1 {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                         message: "Value for one of the query parameters specified in the request URI is invalid.")
    }
    let limit = min(maxRecords ?? 2000, 2000)
    var (page, next) = t.applyRecursive(root: root, start: start, mode: mode, acl: acl, maxRecords: limit, forceFlag: forceFlag)
    page.continuation = next.map { "n\($0)" }
    return page
  }

  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> PathListPage {
    let t = try tree(account, filesystem)
    let root = try node(t, directory)
    let invalid = ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                               message: "Value for one of the query parameters specified in the request URI is invalid.")
    if let maxResults, maxResults < 1 { throw invalid }
    guard t.isDirectory(root) else { throw .pathNotFound() }
    var start: PathTree.Node? = nil
    if let continuation {
      guard continuation.hasPrefix("n"), let v = Int32(continuation.dropFirst()), v > 0, Int(v) < t.count,
        t.isInside(v, root), v != root
      else { throw invalid }
      start = v
    }
    let (nodes, next) = t.list(root: root, start: start, recursive: recursive, limit: min(maxResults ?? 5000, 5000))
    // Items share interned ACLs and parents: render each ACL's permissions
    // and each parent's path once.
    var permissions: [Int32: String] = [:]
    var parentPaths: [PathTree.Node: String] = [:]
    let entries = nodes.map { n in
      let id = t.aclIDs[Int(n)]
      let acl = t.acls[Int(id)]
      let text = permissions[id] ?? acl.permissionsString
      permissions[id] = text
      let parent = t.parents[Int(n)]
      let prefix = parentPaths[parent] ?? t.path(of: parent)
      parentPaths[parent] = prefix
      let name = prefix.isEmpty ? t.names[Int(n)] : prefix + "/" + t.names[Int(n)]
      return PathEntry(name: name, isDirectory: t.isDirectory(n), permissions: text, owner: t.owner(n), group: t.group(n),
                       acl: acl)
    }
    return PathListPage(entries: entries, continuation: next.map { "n\($0)" })
  }
}

// MARK: - Dataverse

extension World: DataverseService {
  func model(_ e: DataverseEnvironmentState) -> DataverseEnvironment {
    DataverseEnvironment(
      id: e.id, name: e.name, url: e.url, region: e.region, organizationID: e.organizationId,
      linkedStorageAccount: e.linkedStorageAccount, attachedCustomerInsights: e.attachedCustomerInsights,
      users: e.users.map { DataverseUser(objectID: $0.objectId, roles: $0.roles, licensed: $0.licensed) })
  }

  public func environments() throws(ServiceError) -> [DataverseEnvironment] { dvEnvironments.map(model) }

  public func solutions(environmentID: String) throws(ServiceError) -> [Solution] {
    dvEnvironments[try environmentIndex(environmentID)].solutions.map {
      Solution(id: $0.id, uniqueName: $0.uniqueName, friendlyName: $0.friendlyName, version: $0.version,
               isManaged: $0.isManaged, publisher: $0.publisher)
    }
  }

  public func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency] {
    let e = dvEnvironments[try environmentIndex(environmentID)]
    let installed = Set(e.solutions.map { $0.uniqueName.lowercased() })
    return e.dependencies.filter {
      $0.requiredSolution.lowercased() == solution.lowercased() && $0.dependentSolution.lowercased() != solution.lowercased()
        && installed.contains($0.dependentSolution.lowercased())
    }.map { d in
      SolutionDependency(
        id: StableID.guid("dependency", e.id, d.requiredSolution, d.requiredComponent, d.dependentSolution, d.dependentComponent),
        dependencyType: d.dependencyType, requiredComponentType: d.requiredComponentType,
        requiredComponentName: d.requiredComponent, requiredSolution: d.requiredSolution,
        dependentComponentType: d.dependentComponentType, dependentComponentName: d.dependentComponent,
        dependentSolution: d.dependentSolution)
    }
  }

  public func uninstallSolution(environmentID: String, solution: String) throws(ServiceError) {
    try checkFault("uninstallSolution")
    let i = try environmentIndex(environmentID)
    guard let s = dvEnvironments[i].solutions.firstIndex(where: { $0.uniqueName.lowercased() == solution.lowercased() }) else {
      throw ServiceError(service: "dataverse", status: 404, code: "0x80040217",
                         message: "The solution \(solution) was not found.")
    }
    let deps = try dependenciesForUninstall(environmentID: environmentID, solution: solution)
    if !deps.isEmpty { throw .dependenciesExist(count: deps.count) }
    let name = dvEnvironments[i].solutions[s].uniqueName
    dvEnvironments[i].solutions.remove(at: s)
    dvEnvironments[i].tables.removeAll { $0.solution?.lowercased() == name.lowercased() }
    dvEnvironments[i].dependencies.removeAll { $0.dependentSolution.lowercased() == name.lowercased() }
    // Removing the last Customer Insights - Data solution detaches the CI-D
    // environment (the linked storage account stays: it cannot change).
    let isCI = { (n: String) in n.lowercased().hasPrefix("msdyn_customerinsights") }
    if isCI(name), !dvEnvironments[i].solutions.contains(where: { isCI($0.uniqueName) }) {
      let envID = dvEnvironments[i].id
      dvEnvironments[i].attachedCustomerInsights = nil
      for c in ciEnvs.indices where ciEnvs[c].dataverseEnvironmentId == envID {
        ciEnvs[c].dataverseEnvironmentId = nil
        ciEnvs[c].permissionIdentifier = nil
      }
    }
  }

  private func tableIndex(_ e: Int, _ table: String) throws(ServiceError) -> Int {
    guard let t = dvEnvironments[e].tables.firstIndex(where: { $0.name == table || $0.entitySet == table }) else {
      throw ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(table)'.")
    }
    return t
  }

  public func rows(environmentID: String, table: String) throws(ServiceError) -> [Row] {
    let e = try environmentIndex(environmentID)
    return dvEnvironments[e].tables[try tableIndex(e, table)].rows.map {
      Row(id: $0.id, etag: "W/\"\($0.version)\"", columns: $0.columns)
    }
  }

  public func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
  {
    try checkFault("updateRow")
    let e = try environmentIndex(environmentID)
    let t = try tableIndex(e, table)
    guard let r = dvEnvironments[e].tables[t].rows.firstIndex(where: { $0.id.lowercased() == id.lowercased() }) else {
      throw .recordNotFound
    }
    var row = dvEnvironments[e].tables[t].rows[r]
    if let ifMatch, ifMatch != "*", ifMatch != "W/\"\(row.version)\"" { throw .concurrencyMismatch }
    for (k, v) in values { row.columns[k] = v }
    row.version += 1
    dvEnvironments[e].tables[t].rows[r] = row
    return Row(id: row.id, etag: "W/\"\(row.version)\"", columns: row.columns)
  }
}

// MARK: - Customer Insights

extension World: CustomerInsightsService {
  public func ciEnvironments() throws(ServiceError) -> [CIEnvironment] {
    ciEnvs.map {
      CIEnvironment(id: $0.id, name: $0.name, region: $0.region, profileCount: $0.profileCount, accountCount: $0.accountCount,
                    isB2B: $0.isB2b, dataverseEnvironmentID: $0.dataverseEnvironmentId,
                    permissionIdentifier: $0.permissionIdentifier)
    }
  }

  public func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
                     permissionIdentifier: String?) throws(ServiceError) {
    try checkFault("attach")
    guard let c = ciEnvs.firstIndex(where: { $0.id.lowercased() == ciEnvironmentID.lowercased() }) else {
      throw ServiceError(service: "customerinsights", status: 404, code: "InstanceNotFound",
                         message: "The Customer Insights instance \(ciEnvironmentID) was not found.")
    }
    let d = try environmentIndex(dataverseEnvironmentID)
    let dv = dvEnvironments[d]
    if let attached = dv.attachedCustomerInsights, attached.lowercased() != ciEnvironmentID.lowercased() {
      throw .alreadyAttached
    }
    if ciEnvs[c].region != dv.region {
      throw ServiceError(service: "customerinsights", status: 400, code: "RegionMismatch",
                         message: "Customer Insights and Dataverse environments must be hosted in the same region.")
    }
    if let sid = storageAccountID {
      if let linked = dv.linkedStorageAccount, linked.lowercased() != sid.lowercased() {
        throw ServiceError(service: "customerinsights", status: 400, code: "StorageAccountAlreadyLinked",
                           message: "Once a Dataverse organization is connected to a storage account, it can't connect to another storage account.")
      }
      guard let acct = accounts.first(where: { $0.id.lowercased() == sid.lowercased() }) else {
        throw ServiceError(service: "customerinsights", status: 404, code: "StorageAccountNotFound",
                           message: "The storage account \(sid) was not found.")
      }
      if acct.privateEndpointOnly {
        throw ServiceError(service: "customerinsights", status: 400, code: "PrivateEndpointNotSupported",
                           message: "Dataverse currently doesn't support the connection to private endpoints through Private Link.")
      }
      if !acct.isHnsEnabled { throw .namespaceNotEnabled }
      dvEnvironments[d].linkedStorageAccount = acct.id
    }
    dvEnvironments[d].attachedCustomerInsights = ciEnvs[c].id
    ciEnvs[c].dataverseEnvironmentId = dv.id
    ciEnvs[c].permissionIdentifier = permissionIdentifier
  }
}
