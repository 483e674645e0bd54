/// The typed service interfaces every domain built-in goes through. The
/// simulator implements them in memory; a live backend wraps the REST APIs.
/// Methods are synchronous and throw `ServiceError` with the real service's
/// code and message.

/// Microsoft Graph: users, service principals, groups, owners, members.
public protocol DirectoryService: AnyObject, Sendable {
  func signedInUser() throws(ServiceError) -> DirectoryUser
  /// `GET /servicePrincipals(appId='…')`; nil on 404.
  func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal?
  func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal
  /// `GET /groups?$filter=displayName eq '…'`: display names are not unique.
  func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup]
  func group(id: String) throws(ServiceError) -> DirectoryGroup?
  /// `POST /groups` for a security group, binding `owners` (object ids) in
  /// the same request (`owners@odata.bind`, at most 20): the group never
  /// exists without them. An owner id no directory object has fails the
  /// whole request with 404 `Request_ResourceNotFound` and creates nothing
  /// (also what replication delay looks like for an owner created just before).
  func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  func owners(groupID: String) throws(ServiceError) -> [DirectoryObject]
  /// `POST /groups/{id}/owners/$ref`; 400 `Request_BadRequest` "already exist" when present.
  func addOwner(groupID: String, objectID: String) throws(ServiceError)
  func members(groupID: String) throws(ServiceError) -> [DirectoryObject]
  func addMember(groupID: String, objectID: String) throws(ServiceError)
  /// `GET /directoryObjects/{id}`; nil on 404.
  func object(id: String) throws(ServiceError) -> DirectoryObject?
  /// `GET /policies/authorizationPolicy`: `defaultUserRolePermissions.allowedToCreateSecurityGroups`.
  func securityGroupCreationAllowed() throws(ServiceError) -> Bool
}

/// Azure RBAC (ARM `Microsoft.Authorization/roleAssignments`).
public protocol RoleAssignmentService: AnyObject, Sendable {
  /// Assignments of `principalID` visible at, above or below `scope`
  /// (new assignments become visible after a propagation delay).
  func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment]
  /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
  /// Returns the assignment and whether it was created (201) or already
  /// there under the same name (200). 409 `RoleAssignmentExists` when the
  /// same scope, role and principal exist under another name.
  func createRoleAssignment(_ assignment: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool)
}

/// Storage accounts (ARM) and the ADLS Gen2 DFS data plane.
public protocol DataLakeService: AnyObject, Sendable {
  func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount
  func storageAccount(name: String) throws(ServiceError) -> StorageAccount?
  func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool
  func createFilesystem(account: String, filesystem: String) throws(ServiceError)
  /// nil when the path does not exist. The empty path is the filesystem root.
  func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool?
  func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError)
  func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl
  /// The ACL alone (`HEAD …?action=getAccessControl`, one request), for
  /// callers that know the path's type already.
  func accessControlList(account: String, filesystem: String, path: String) throws(ServiceError) -> AccessControlList
  /// Owner, owning group and ACL of a path whose type the caller knows
  /// already (from a listing): one request live, where `getAccessControl`
  /// also asks for the type.
  func accessControl(account: String, filesystem: String, path: String, isDirectory: Bool) throws(ServiceError)
    -> PathAccessControl
  /// `x-ms-acl` fully replaces the ACL.
  func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError)
  func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool) throws(ServiceError) -> ACLRecursivePage
  /// `GET /{filesystem}?resource=filesystem&directory={path}&recursive=…`:
  /// one page of the paths under `directory` (not the directory itself),
  /// at most `maxResults` (the service's cap: 5000).
  func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                 maxResults: Int?) throws(ServiceError) -> PathListPage
  /// How many requests a built-in may keep in flight at once against this
  /// service (1: calls must not overlap, e.g. the in-memory simulator).
  var maxConcurrentRequests: Int { get }
}

extension DataLakeService {
  public var maxConcurrentRequests: Int { 1 }
  public func accessControlList(account: String, filesystem: String, path: String) throws(ServiceError) -> AccessControlList {
    try getAccessControl(account: account, filesystem: filesystem, path: path).acl
  }
  public func accessControl(account: String, filesystem: String, path: String, isDirectory: Bool) throws(ServiceError)
    -> PathAccessControl
  {
    try getAccessControl(account: account, filesystem: filesystem, path: path)
  }
}

/// Dataverse Web API and Power Platform environment metadata.
public protocol DataverseService: AnyObject, Sendable {
  func environments() throws(ServiceError) -> [DataverseEnvironment]
  func solutions(environmentID: String) throws(ServiceError) -> [Solution]
  func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency]
  /// Fails with `0x8004F01D` while other components depend on the solution.
  func uninstallSolution(environmentID: String, solution: String) throws(ServiceError)
  func rows(environmentID: String, table: String) throws(ServiceError) -> [Row]
  /// `PATCH {set}({id})` with `If-Match`; nil etag means `If-Match: *`.
  func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
}

/// Customer Insights - Data environments.
public protocol CustomerInsightsService: AnyObject, Sendable {
  func ciEnvironments() throws(ServiceError) -> [CIEnvironment]
  /// Attaches a Dataverse environment (and, with own ADLS, the data-sharing
  /// storage account and its permission identifier).
  func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
              permissionIdentifier: String?) throws(ServiceError)
}

/// Time as the services see it: simulated in dry runs, the wall clock live.
public protocol ServiceClock: AnyObject, Sendable {
  /// Milliseconds since the Unix epoch.
  var nowMilliseconds: Int { get }
  func sleep(milliseconds: Int)
  /// The earliest time at which the services' state may change by itself
  /// (not through a call of this run): a waiting loop need not poll before.
  /// Live services may change at any moment, so by default it is now.
  var nextSpontaneousChange: Int { get }
}

extension ServiceClock {
  public var nextSpontaneousChange: Int { nowMilliseconds }
}

/// The services a session runs against.
public struct ServiceSet: Sendable {
  public var directory: any DirectoryService
  public var roles: any RoleAssignmentService
  public var dataLake: any DataLakeService
  public var dataverse: any DataverseService
  public var customerInsights: any CustomerInsightsService
  public var clock: any ServiceClock

  public init(directory: any DirectoryService, roles: any RoleAssignmentService, dataLake: any DataLakeService,
              dataverse: any DataverseService, customerInsights: any CustomerInsightsService, clock: any ServiceClock) {
    self.directory = directory; self.roles = roles; self.dataLake = dataLake; self.dataverse = dataverse
    self.customerInsights = customerInsights; self.clock = clock
  }
}
