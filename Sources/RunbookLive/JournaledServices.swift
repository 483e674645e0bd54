import RunbookServices

/// Wraps the live services so every change is journaled before and after it
/// is made. Reads pass straight through. When resuming, a change the earlier
/// run completed is verified against the service and not made again: a new
/// group or service principal that replication delay still hides from a
/// lookup by name is found by the id the journal holds, so nothing is
/// created twice.
public final class JournaledServices: DirectoryService, RoleAssignmentService, DataLakeService, DataverseService,
  CustomerInsightsService
{
  let inner: ServiceSet
  let journal: Journal
  let history: JournalHistory?
  public let report = ResumeReport()

  public init(_ inner: ServiceSet, journal: Journal, resuming history: JournalHistory?) {
    self.inner = inner; self.journal = journal; self.history = history
  }

  public var services: ServiceSet {
    ServiceSet(directory: self, roles: self, dataLake: self, dataverse: self, customerInsights: self, clock: inner.clock)
  }

  /// Journals one change around `body`; on resume, `verify` may return the
  /// earlier result instead of repeating the change, and `inDoubt` may find
  /// what a change the earlier run sent but never saw answered made.
  func change<T>(
    _ op: String, _ key: String, _ args: [String: WireJSON], encode: (T) -> WireJSON,
    verify: ((WireJSON) throws(ServiceError) -> T?)? = nil, inDoubt: (() throws(ServiceError) -> T?)? = nil,
    _ body: () throws(ServiceError) -> T
  ) throws(ServiceError) -> T {
    if let prior = history?.completed[op + "|" + key], let verify, let value = try verify(prior) {
      journal.append("verified", ["op": .string(op), "key": .string(key), "result": encode(value)])
      report.add("\(op) \(key)")
      return value
    }
    if history?.isInDoubt(op, key) == true, let inDoubt, let value = try inDoubt() {
      journal.append("verified", ["op": .string(op), "key": .string(key), "result": encode(value), "was": "in doubt"])
      report.add("\(op) \(key) (sent before but never answered: found, not sent again)")
      return value
    }
    let seq = journal.nextSequence()
    journal.append("begin", ["seq": WireJSON(seq), "op": .string(op), "key": .string(key), "args": .object(args)])
    do {
      let value = try body()
      journal.append("done", ["seq": WireJSON(seq), "op": .string(op), "key": .string(key), "result": encode(value)])
      return value
    } catch {
      journal.append("failed", ["seq": WireJSON(seq), "op": .string(op), "key": .string(key),
                                "error": ["status": WireJSON(error.status), "code": .string(error.code), "message": .string(error.message)]])
      throw error
    }
  }

  static func none(_: Void) -> WireJSON { .null }

  /// How long a resumed run looks for the object of an in-doubt create
  /// before creating it (lists by name may lag behind a create too).
  static let inDoubtPolls = 4
  static let inDoubtPollMilliseconds = 2_000

  /// On resume, an object found by the natural key of a create the earlier
  /// run sent but never saw answered is the object it created. Replication
  /// may still hide it from requests naming its id: the client is told it
  /// is new, so those 404s are waited out instead of failing the run.
  private func adoptIfInDoubt(_ op: String, _ key: String, ids: [String]) {
    guard history?.isInDoubt(op, key) == true else { return }
    for id in ids { (inner.directory as? ReplicationAware)?.noteCreated(id) }
  }

  /// Polls `find` for the object of an in-doubt create; nil when it never appears.
  private func lookForInDoubt<T>(_ op: String, _ key: String, _ find: () throws(ServiceError) -> T?, id: (T) -> String)
    throws(ServiceError) -> T?
  {
    for attempt in 0..<Self.inDoubtPolls {
      if let found = try find() {
        adoptIfInDoubt(op, key, ids: [id(found)])
        return found
      }
      if attempt + 1 < Self.inDoubtPolls { inner.clock.sleep(milliseconds: Self.inDoubtPollMilliseconds) }
    }
    return nil
  }

  // MARK: Directory

  public func signedInUser() throws(ServiceError) -> DirectoryUser { try inner.directory.signedInUser() }
  public func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? {
    let found = try inner.directory.servicePrincipal(appID: appID)
    adoptIfInDoubt("createServicePrincipal", "appId=\(appID)", ids: found.map { [$0.id] } ?? [])
    return found
  }
  public func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
    try change(
      "createServicePrincipal", "appId=\(appID)", ["appId": .string(appID), "displayName": .string(displayName)],
      encode: { ["id": .string($0.id), "appId": .string($0.appId), "displayName": .string($0.displayName)] },
      verify: { _ throws(ServiceError) in try self.inner.directory.servicePrincipal(appID: appID) },
      inDoubt: { () throws(ServiceError) in
        try self.lookForInDoubt("createServicePrincipal", "appId=\(appID)", { () throws(ServiceError) in
          try self.inner.directory.servicePrincipal(appID: appID)
        }, id: \.id)
      }
    ) { () throws(ServiceError) in try inner.directory.createServicePrincipal(appID: appID, displayName: displayName) }
  }
  public func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
    let found = try inner.directory.groups(displayName: displayName)
    adoptIfInDoubt("createGroup", "displayName=\(displayName)", ids: found.map(\.id))
    return found
  }
  public func group(id: String) throws(ServiceError) -> DirectoryGroup? { try inner.directory.group(id: id) }
  public func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  {
    try change(
      "createGroup", "displayName=\(displayName)",
      ["displayName": .string(displayName), "mailNickname": .string(mailNickname), "description": WireJSON(description),
       "owners": .array(owners.map { .string($0) })],
      encode: { ["id": .string($0.id), "displayName": .string($0.displayName)] },
      verify: { prior throws(ServiceError) in
        guard let id = prior["id"]?.string, let g = try self.inner.directory.group(id: id) else { return nil }
        try self.ensureOwners(g, owners)
        return g
      },
      inDoubt: { () throws(ServiceError) in
        let key = "displayName=\(displayName)"
        let g = try self.lookForInDoubt("createGroup", key, { () throws(ServiceError) in
          let found = try self.inner.directory.groups(displayName: displayName)
          return found.first { $0.mailNickname.lowercased() == mailNickname.lowercased() } ?? found.first
        }, id: \.id)
        if let g { try self.ensureOwners(g, owners) }
        return g
      }
    ) { () throws(ServiceError) in
      try inner.directory.createGroup(displayName: displayName, mailNickname: mailNickname, description: description,
                                      owners: owners)
    }
  }
  /// The earlier run bound the owners it was asked for; a journal from a run
  /// that created the group without them (or whose answer was lost) gets
  /// them added now.
  private func ensureOwners(_ g: DirectoryGroup, _ owners: [String]) throws(ServiceError) {
    let present = Set(try inner.directory.owners(groupID: g.id).map { $0.id.lowercased() })
    for owner in owners where !present.contains(owner.lowercased()) {
      do throws(ServiceError) {
        try addOwner(groupID: g.id, objectID: owner)
      } catch let e where GraphClient.isReferenceExists(e) {}
    }
  }
  public func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.directory.owners(groupID: groupID) }
  public func members(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.directory.members(groupID: groupID) }
  public func addOwner(groupID: String, objectID: String) throws(ServiceError) {
    try change("addOwner", "\(groupID)/\(objectID)", ["group": .string(groupID), "object": .string(objectID)],
               encode: Self.none) { () throws(ServiceError) in try inner.directory.addOwner(groupID: groupID, objectID: objectID) }
  }
  public func addMember(groupID: String, objectID: String) throws(ServiceError) {
    try change("addMember", "\(groupID)/\(objectID)", ["group": .string(groupID), "object": .string(objectID)],
               encode: Self.none) { () throws(ServiceError) in try inner.directory.addMember(groupID: groupID, objectID: objectID) }
  }
  public func object(id: String) throws(ServiceError) -> DirectoryObject? { try inner.directory.object(id: id) }
  public func securityGroupCreationAllowed() throws(ServiceError) -> Bool { try inner.directory.securityGroupCreationAllowed() }

  // MARK: Roles

  public func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment] {
    try inner.roles.roleAssignments(scope: scope, principalID: principalID)
  }
  public func createRoleAssignment(_ a: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool) {
    // The assignment GUID is deterministic: a repeated PUT answers 200, never a duplicate.
    try change(
      "createRoleAssignment", "\(a.scope)|\(a.roleGUID)|\(a.principalID)",
      ["name": .string(a.name), "scope": .string(a.scope), "roleDefinitionId": .string(a.roleDefinitionID),
       "principalId": .string(a.principalID), "principalType": .string(a.principalType.rawValue)],
      encode: { ["name": .string($0.0.name), "created": .bool($0.created)] }
    ) { () throws(ServiceError) in try inner.roles.createRoleAssignment(a) }
  }

  // MARK: Data lake

  public func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount {
    try inner.dataLake.storageAccount(subscriptionID: subscriptionID, resourceGroup: resourceGroup, name: name)
  }
  public func storageAccount(name: String) throws(ServiceError) -> StorageAccount? { try inner.dataLake.storageAccount(name: name) }
  public func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool {
    try inner.dataLake.filesystemExists(account: account, filesystem: filesystem)
  }
  public func createFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try change(
      "createFilesystem", "\(account)/\(filesystem)", ["account": .string(account), "filesystem": .string(filesystem)],
      encode: Self.none,
      verify: { _ throws(ServiceError) in
        try self.inner.dataLake.filesystemExists(account: account, filesystem: filesystem) ? () : nil
      }
    ) { () throws(ServiceError) in try inner.dataLake.createFilesystem(account: account, filesystem: filesystem) }
  }
  public func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool? {
    try inner.dataLake.pathIsDirectory(account: account, filesystem: filesystem, path: path)
  }
  public func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError) {
    try change("createDirectory", "\(account)/\(filesystem)/\(path)",
               ["account": .string(account), "filesystem": .string(filesystem), "path": .string(path)],
               encode: Self.none) { () throws(ServiceError) in
      try inner.dataLake.createDirectory(account: account, filesystem: filesystem, path: path)
    }
  }
  public func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl {
    try inner.dataLake.getAccessControl(account: account, filesystem: filesystem, path: path)
  }
  public func accessControlList(account: String, filesystem: String, path: String) throws(ServiceError) -> AccessControlList {
    try inner.dataLake.accessControlList(account: account, filesystem: filesystem, path: path)
  }
  public func accessControl(account: String, filesystem: String, path: String, isDirectory: Bool) throws(ServiceError)
    -> PathAccessControl
  {
    try inner.dataLake.accessControl(account: account, filesystem: filesystem, path: path, isDirectory: isDirectory)
  }
  public func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError) {
    try change("setAccessControl", "\(account)/\(filesystem)/\(path)|\(acl.text)",
               ["path": .string(path), "acl": .string(acl.text)], encode: Self.none) { () throws(ServiceError) in
      try inner.dataLake.setAccessControl(account: account, filesystem: filesystem, path: path, acl: acl)
    }
  }
  public func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool
  ) throws(ServiceError) -> ACLRecursivePage {
    try change(
      "setAccessControlRecursive", "\(account)/\(filesystem)/\(path)|\(mode.rawValue)|\(acl.text)|\(continuation ?? "")",
      ["path": .string(path), "mode": .string(mode.rawValue), "acl": .string(acl.text), "continuation": WireJSON(continuation)],
      encode: {
        ["directoriesSuccessful": WireJSON($0.directoriesSuccessful), "filesSuccessful": WireJSON($0.filesSuccessful),
         "failureCount": WireJSON($0.failureCount), "continuation": WireJSON($0.continuation)]
      }
    ) { () throws(ServiceError) in
      try inner.dataLake.setAccessControlRecursive(
        account: account, filesystem: filesystem, path: path, mode: mode, acl: acl, continuation: continuation,
        maxRecords: maxRecords, forceFlag: forceFlag)
    }
  }

  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> PathListPage {
    try inner.dataLake.listPaths(account: account, filesystem: filesystem, directory: directory, recursive: recursive,
                                 continuation: continuation, maxResults: maxResults)
  }
  public var maxConcurrentRequests: Int { inner.dataLake.maxConcurrentRequests }

  // MARK: Dataverse

  public func environments() throws(ServiceError) -> [DataverseEnvironment] { try inner.dataverse.environments() }
  public func solutions(environmentID: String) throws(ServiceError) -> [Solution] {
    try inner.dataverse.solutions(environmentID: environmentID)
  }
  public func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency] {
    try inner.dataverse.dependenciesForUninstall(environmentID: environmentID, solution: solution)
  }
  public func uninstallSolution(environmentID: String, solution: String) throws(ServiceError) {
    try change(
      "uninstallSolution", "\(environmentID)/\(solution)", ["environment": .string(environmentID), "solution": .string(solution)],
      encode: Self.none,
      verify: { _ throws(ServiceError) in
        let present = try self.inner.dataverse.solutions(environmentID: environmentID)
          .contains { $0.uniqueName.lowercased() == solution.lowercased() }
        return present ? nil : ()
      }
    ) { () throws(ServiceError) in try inner.dataverse.uninstallSolution(environmentID: environmentID, solution: solution) }
  }
  public func rows(environmentID: String, table: String) throws(ServiceError) -> [Row] {
    try inner.dataverse.rows(environmentID: environmentID, table: table)
  }
  public func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
  {
    try change(
      "updateRow", "\(environmentID)/\(table)(\(id))|\(WireJSON.object(values.mapValues(WireJSON.init)).text)",
      ["table": .string(table), "id": .string(id), "values": .object(values.mapValues(WireJSON.init)), "ifMatch": WireJSON(ifMatch)],
      encode: { ["etag": .string($0.etag)] }
    ) { () throws(ServiceError) in
      try inner.dataverse.updateRow(environmentID: environmentID, table: table, id: id, values: values, ifMatch: ifMatch)
    }
  }

  // MARK: Customer Insights

  public func ciEnvironments() throws(ServiceError) -> [CIEnvironment] { try inner.customerInsights.ciEnvironments() }
  public func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
                     permissionIdentifier: String?) throws(ServiceError) {
    try change(
      "attach", "\(ciEnvironmentID)/\(dataverseEnvironmentID)",
      ["ci": .string(ciEnvironmentID), "dataverse": .string(dataverseEnvironmentID), "storageAccount": WireJSON(storageAccountID),
       "permissionIdentifier": WireJSON(permissionIdentifier)],
      encode: Self.none
    ) { () throws(ServiceError) in
      try inner.customerInsights.attach(ciEnvironmentID: ciEnvironmentID, dataverseEnvironmentID: dataverseEnvironmentID,
                                        storageAccountID: storageAccountID, permissionIdentifier: permissionIdentifier)
    }
  }
}
