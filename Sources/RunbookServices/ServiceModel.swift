import RunbookRuntime

// MARK: - Errors

/// An error answered by a service, with the real service's code and message
/// (`RoleAssignmentExists`, Graph `Request_BadRequest`, Dataverse `0x8004F01D`…).
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
  /// `graph`, `arm`, `dfs`, `dataverse` or `customerinsights`.
  public var service: String
  /// The HTTP status the real service answers with.
  public var status: Int
  public var code: String
  public var message: String

  public init(service: String, status: Int, code: String, message: String) {
    self.service = service; self.status = status; self.code = code; self.message = message
  }

  public var description: String { "\(code): \(message)" }

  /// The error a runbook sees (`e.code`, `e.message`, `e.details.status`).
  public var runtimeError: RuntimeError {
    RuntimeError(
      message, code: code,
      details: .record(fields: [("service", .string(service)), ("status", .int(status))]))
  }

  /// Graph's answer when an owner or member reference is already present.
  public static func referenceExists(_ property: String) -> ServiceError {
    ServiceError(
      service: "graph", status: 400, code: "Request_BadRequest",
      message: "One or more added object references already exist for the following modified properties: '\(property)'.")
  }
  /// More than 20 owners and members bound in one `POST /groups`
  /// (the documented limit; [UNVERIFIED] message text).
  public static let tooManyBoundReferences = ServiceError(
    service: "graph", status: 400, code: "Request_BadRequest",
    message: "At most 20 owners and members can be bound when a group is created.")
  public static func graphNotFound(_ resource: String) -> ServiceError {
    ServiceError(
      service: "graph", status: 404, code: "Request_ResourceNotFound",
      message: "Resource '\(resource)' does not exist or one of its queried reference-property objects are not present.")
  }
  /// Dataverse's "Resource not found for the segment" (an entity set or table that does not exist).
  public static let tableNotFoundCode = "0x8006088a"
  public static let roleAssignmentExists = ServiceError(
    service: "arm", status: 409, code: "RoleAssignmentExists", message: "The role assignment already exists.")
  public static let alreadyAttached = ServiceError(
    service: "customerinsights", status: 409, code: "DataverseAlreadyAttached",
    message: "This CDS organization is already attached to another Customer Insights instance")
  public static let invalidACL = ServiceError(
    service: "dfs", status: 400, code: "InvaldAccessControlList", message: "The access control list value is invalid.")
  public static let invalidPermission = ServiceError(
    service: "dfs", status: 400, code: "InvalidPermission", message: "The permission value is invalid.")
  public static let unsupportedAccountFeatures = ServiceError(
    service: "dfs", status: 409, code: "EndpointUnsupportedAccountFeatures",
    message:
      "This endpoint does not support BlobStorageEvents or SoftDelete. Please disable these account features if you would like to use this endpoint."
  )
  /// [UNVERIFIED] message text; the code is documented.
  public static let namespaceNotEnabled = ServiceError(
    service: "dfs", status: 400, code: "HierarchicalNamespaceNotEnabled",
    message: "This operation is only supported on a hierarchical namespace account.")
  public static let filesystemExists = ServiceError(
    service: "dfs", status: 409, code: "FilesystemAlreadyExists", message: "The specified filesystem already exists.")
  public static func pathNotFound() -> ServiceError {
    ServiceError(service: "dfs", status: 404, code: "PathNotFound", message: "The specified path does not exist.")
  }
  public static func filesystemNotFound() -> ServiceError {
    ServiceError(
      service: "dfs", status: 404, code: "FilesystemNotFound", message: "The specified filesystem does not exist.")
  }
  public static let notAuthorized = ServiceError(
    service: "dfs", status: 403, code: "AuthorizationPermissionMismatch",
    message: "This request is not authorized to perform this operation using this permission.")
  public static func dependenciesExist(count: Int) -> ServiceError {
    ServiceError(
      service: "dataverse", status: 400, code: "0x8004F01D",
      message: "Solution dependencies exist, cannot uninstall. DependencyCount : \(count)")
  }
  public static let recordNotFound = ServiceError(
    service: "dataverse", status: 404, code: "0x80040217", message: "The requested record was not found.")
  public static let concurrencyMismatch = ServiceError(
    service: "dataverse", status: 412, code: "0x80060882",
    message: "The version of the existing record doesn't match the RowVersion property provided.")
}

// MARK: - Deterministic identifiers

/// Stable GUIDs derived from names: the same parts always give the same GUID
/// (a name-based, version-5-shaped UUID built from two FNV-1a/splitmix lanes).
public enum StableID {
  public static func guid(_ parts: [String]) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x8422_2325_cbf2_9ce4
    for (i, part) in parts.enumerated() {
      for byte in part.utf8 {
        a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
        b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ UInt64(i + 1)
      }
      a = (a ^ 0x1f) &* 0x100_0000_01b3
      b = (b ^ 0x7f) &* 0x100_0000_01b3
    }
    let hi = mix(a ^ (b >> 7)), lo = mix(b &+ a)
    var bytes: [UInt8] = []
    for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((hi >> UInt64(s)) & 0xff)) }
    for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((lo >> UInt64(s)) & 0xff)) }
    bytes[6] = (bytes[6] & 0x0f) | 0x50
    bytes[8] = (bytes[8] & 0x3f) | 0x80
    let hex = bytes.map { b -> String in
      let s = String(b, radix: 16)
      return s.count == 1 ? "0" + s : s
    }.joined()
    let c = Array(hex)
    return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-"
      + String(c[20..<32])
  }
  public static func guid(_ parts: String...) -> String { guid(parts) }

  private static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Whether `s` is a GUID in 8-4-4-4-12 hex form.
  public static func isGUID(_ s: String) -> Bool {
    let u = Array(s.utf8)
    guard u.count == 36 else { return false }
    for (i, c) in u.enumerated() {
      if i == 8 || i == 13 || i == 18 || i == 23 {
        if c != UInt8(ascii: "-") { return false }
      } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
        return false
      }
    }
    return true
  }
}

// MARK: - Directory

public enum PrincipalType: String, Sendable, Codable, CaseIterable {
  case user = "User", group = "Group", servicePrincipal = "ServicePrincipal", foreignGroup = "ForeignGroup",
    device = "Device"
}

public struct DirectoryUser: Sendable, Equatable {
  public var id: String
  public var userPrincipalName: String
  public var displayName: String
  public init(id: String, userPrincipalName: String, displayName: String) {
    self.id = id; self.userPrincipalName = userPrincipalName; self.displayName = displayName
  }
}

public struct ServicePrincipal: Sendable, Equatable {
  public var id: String
  public var appId: String
  public var displayName: String
  public init(id: String, appId: String, displayName: String) {
    self.id = id; self.appId = appId; self.displayName = displayName
  }
}

public struct DirectoryGroup: Sendable, Equatable {
  public var id: String
  public var displayName: String
  public var mailNickname: String
  public var securityEnabled: Bool
  public var description: String?
  public init(id: String, displayName: String, mailNickname: String, securityEnabled: Bool = true,
              description: String? = nil) {
    self.id = id; self.displayName = displayName; self.mailNickname = mailNickname
    self.securityEnabled = securityEnabled; self.description = description
  }
}

/// Any directory object, as `GET /directoryObjects/{id}` answers.
public struct DirectoryObject: Sendable, Equatable {
  public var id: String
  public var type: PrincipalType
  public var displayName: String
  /// A service principal's application id, when the answer carried it.
  public var appId: String?
  /// A user's sign-in name, when the answer carried it.
  public var userPrincipalName: String?
  public init(id: String, type: PrincipalType, displayName: String, appId: String? = nil, userPrincipalName: String? = nil) {
    self.id = id; self.type = type; self.displayName = displayName; self.appId = appId
    self.userPrincipalName = userPrincipalName
  }
}

// MARK: - Role assignments

/// A built-in Azure role definition.
public struct RoleDefinition: Sendable, Equatable {
  public var name: String
  public var id: String

  public static let storageBlobDataOwner = RoleDefinition(
    name: "Storage Blob Data Owner", id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b")
  public static let storageBlobDataContributor = RoleDefinition(
    name: "Storage Blob Data Contributor", id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
  public static let storageBlobDataReader = RoleDefinition(
    name: "Storage Blob Data Reader", id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
  public static let storageBlobDelegator = RoleDefinition(
    name: "Storage Blob Delegator", id: "db58b8e5-c6ad-4a2a-8342-4190687cbf4a")

  /// The well-known roles a runbook may name.
  public static let builtIn: [RoleDefinition] = [
    storageBlobDataOwner, storageBlobDataContributor, storageBlobDataReader, storageBlobDelegator,
  ]

  public static func named(_ name: String) -> RoleDefinition? {
    builtIn.first { $0.name.lowercased() == name.lowercased() }
  }
  public static func withID(_ id: String) -> RoleDefinition? {
    let guid = id.split(separator: "/").last.map(String.init)?.lowercased() ?? id.lowercased()
    return builtIn.first { $0.id == guid }
  }

  /// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
  public func resourceID(subscription: String) -> String {
    "/subscriptions/\(subscription)/providers/Microsoft.Authorization/roleDefinitions/\(id)"
  }
}

public struct RoleAssignment: Sendable, Equatable {
  /// The assignment GUID (the last segment of its id).
  public var name: String
  public var scope: String
  public var roleDefinitionID: String
  public var principalID: String
  public var principalType: PrincipalType
  public init(name: String, scope: String, roleDefinitionID: String, principalID: String, principalType: PrincipalType) {
    self.name = name; self.scope = scope; self.roleDefinitionID = roleDefinitionID
    self.principalID = principalID; self.principalType = principalType
  }
  public var id: String { "\(scope)/providers/Microsoft.Authorization/roleAssignments/\(name)" }
  public var roleGUID: String { roleDefinitionID.split(separator: "/").last.map(String.init)?.lowercased() ?? "" }
}

// MARK: - Storage

public struct StorageAccount: Sendable, Equatable {
  public var name: String
  public var subscriptionID: String
  public var resourceGroup: String
  /// Azure region, e.g. `eastus`.
  public var location: String
  public var kind: String
  public var isHnsEnabled: Bool
  /// Reachable only through a private endpoint (public network access disabled).
  public var privateEndpointOnly: Bool
  public var blobSoftDelete: Bool
  public var blobStorageEvents: Bool
  public init(name: String, subscriptionID: String, resourceGroup: String, location: String, kind: String = "StorageV2",
              isHnsEnabled: Bool, privateEndpointOnly: Bool = false, blobSoftDelete: Bool = false,
              blobStorageEvents: Bool = false) {
    self.name = name; self.subscriptionID = subscriptionID; self.resourceGroup = resourceGroup
    self.location = location; self.kind = kind; self.isHnsEnabled = isHnsEnabled
    self.privateEndpointOnly = privateEndpointOnly; self.blobSoftDelete = blobSoftDelete
    self.blobStorageEvents = blobStorageEvents
  }
  /// The ARM id, which is also the storage scope of role assignments.
  public var id: String {
    "/subscriptions/\(subscriptionID)/resourceGroups/\(resourceGroup)/providers/Microsoft.Storage/storageAccounts/\(name)"
  }
  public func containerScope(_ container: String) -> String { id + "/blobServices/default/containers/\(container)" }
  public var dfsEndpoint: String { "https://\(name).dfs.core.windows.net/" }
}

/// `HEAD …?action=getAccessControl`: owner, owning group, permissions and ACL.
public struct PathAccessControl: Sendable, Equatable {
  public var owner: String
  public var group: String
  public var acl: AccessControlList
  public var isDirectory: Bool
  public init(owner: String, group: String, acl: AccessControlList, isDirectory: Bool) {
    self.owner = owner; self.group = group; self.acl = acl; self.isDirectory = isDirectory
  }
  /// `x-ms-permissions`, e.g. `rwxr-x---+`.
  public var permissions: String { acl.permissionsString }
}

public enum ACLRecursiveMode: String, Sendable { case set, modify, remove }

public struct ACLFailedEntry: Sendable, Equatable {
  public var name: String
  /// `DIRECTORY` or `FILE`.
  public var type: String
  public var errorMessage: String
  public init(name: String, type: String, errorMessage: String) {
    self.name = name; self.type = type; self.errorMessage = errorMessage
  }
}

/// One page of `setAccessControlRecursive`.
public struct ACLRecursivePage: Sendable, Equatable {
  public var directoriesSuccessful: Int
  public var filesSuccessful: Int
  public var failureCount: Int
  public var failedEntries: [ACLFailedEntry]
  /// Items whose ACL the call actually changed (the simulator knows; live runs report nil).
  public var changedCount: Int?
  public var continuation: String?
  public init(directoriesSuccessful: Int, filesSuccessful: Int, failureCount: Int, failedEntries: [ACLFailedEntry],
              changedCount: Int?, continuation: String?) {
    self.directoriesSuccessful = directoriesSuccessful; self.filesSuccessful = filesSuccessful
    self.failureCount = failureCount; self.failedEntries = failedEntries; self.changedCount = changedCount
    self.continuation = continuation
  }
}

/// One path of a `listPaths` page.
public struct PathEntry: Sendable, Equatable {
  /// The full path from the filesystem root (`dir1/file.csv`).
  public var name: String
  public var isDirectory: Bool
  /// `x-ms-permissions` form, e.g. `rwxr-x---+` (`+`: an extended ACL).
  public var permissions: String
  /// The owner and owning group as the listing shows them (object ids:
  /// the listing is made with `upn=false`, as `getAccessControl` is); nil
  /// when the listing does not carry them.
  public var owner: String?
  public var group: String?
  /// The full ACL when the listing carries it (the simulator's does); nil
  /// from the DFS listing, which answers only `permissions`.
  public var acl: AccessControlList?
  public init(name: String, isDirectory: Bool, permissions: String, owner: String? = nil, group: String? = nil,
              acl: AccessControlList? = nil) {
    self.name = name; self.isDirectory = isDirectory; self.permissions = permissions
    self.owner = owner; self.group = group; self.acl = acl
  }

  /// Whether `permissions` marks an extended ACL (named entries, a mask or defaults).
  public var hasExtendedACL: Bool { permissions.hasSuffix("+") }

  /// The ACL of a path whose listing shows no extended ACL: owner, owning
  /// group and other from `permissions`. nil when the ACL is extended (it
  /// must be read) or `permissions` does not parse.
  public var minimalACL: AccessControlList? {
    guard !hasExtendedACL, let p = try? PathPermissions(parsing: permissions) else { return nil }
    return AccessControlList([
      AccessControlEntry(kind: .user, permissions: p.owner), AccessControlEntry(kind: .group, permissions: p.group),
      AccessControlEntry(kind: .other, permissions: p.other),
    ])
  }

  /// The ACL as far as the listing settles it: the full ACL when the
  /// listing carries it, else a file's minimal ACL. nil for a directory
  /// without the full ACL (that a default ACL alone shows `+` is not
  /// verified for Azure, docs/live.md: directories are read) and for a `+` file.
  public var listedACL: AccessControlList? { acl ?? (isDirectory ? nil : minimalACL) }

  /// Everything `getAccessControl` would answer for a file the listing shows
  /// in full (`listedACL`, owner and group present); nil when it must be read.
  public var listedFileAccessControl: PathAccessControl? {
    guard !isDirectory, let owner, let group, let acl = listedACL else { return nil }
    return PathAccessControl(owner: owner, group: group, acl: acl, isDirectory: false)
  }

  /// Everything the entry says, as one line (a listing page's fingerprint).
  public var fingerprintText: String {
    [name, isDirectory ? "d" : "f", owner ?? "-", group ?? "-", permissions, acl?.text ?? "-"].joined(separator: "|")
  }

  /// A short digest of what the listing says of this path (name, kind,
  /// owner, group, permissions, ACL if listed): a plan keeps one per listed
  /// item, so an apply whose listing page reads differently can name the items.
  public var digest: String { String(StableID.guid(["entry", fingerprintText]).prefix(8)) }
}

public struct PathListPage: Sendable, Equatable {
  public var entries: [PathEntry]
  public var continuation: String?
  public init(entries: [PathEntry], continuation: String?) { self.entries = entries; self.continuation = continuation }
}

// MARK: - Dataverse

/// A scalar column value of a Dataverse row.
public enum FieldValue: Sendable, Equatable, Codable {
  case null, bool(Bool), int(Int), double(Double), string(String)

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null }
    else if let b = try? c.decode(Bool.self) { self = .bool(b) }
    else if let i = try? c.decode(Int.self) { self = .int(i) }
    else if let d = try? c.decode(Double.self) { self = .double(d) }
    else if let s = try? c.decode(String.self) { self = .string(s) }
    else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a string, number, bool or null") }
  }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    }
  }
  public var value: Value {
    switch self {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .int(let i): return .int(i)
    case .double(let d): return .float(d)
    case .string(let s): return .string(s)
    }
  }
  public init?(_ value: Value) {
    switch value {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .int(i)
    case .float(let d): self = .double(d)
    case .string(let s): self = .string(s)
    default: return nil
    }
  }
  public var text: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d): return "\(d)"
    case .string(let s): return Value.quote(s)
    }
  }
}

public struct DataverseUser: Sendable, Equatable, Codable {
  public var objectID: String
  public var roles: [String]
  public var licensed: Bool
  public init(objectID: String, roles: [String], licensed: Bool) {
    self.objectID = objectID; self.roles = roles; self.licensed = licensed
  }
  enum CodingKeys: String, CodingKey { case objectID = "object_id", roles, licensed }
  /// Read-Write with a license, else Administrative (admins) or none.
  public var accessMode: String {
    if licensed { return "Read-Write" }
    return roles.contains("System Administrator") ? "Administrative" : "None"
  }
}

public struct DataverseEnvironment: Sendable, Equatable {
  public var id: String
  public var name: String
  public var url: String
  /// Power Platform geography, e.g. `unitedstates`.
  public var region: String
  public var organizationID: String
  public var linkedStorageAccount: String?
  public var attachedCustomerInsights: String?
  public var users: [DataverseUser]
  public init(id: String, name: String, url: String, region: String, organizationID: String,
              linkedStorageAccount: String?, attachedCustomerInsights: String?, users: [DataverseUser]) {
    self.id = id; self.name = name; self.url = url; self.region = region; self.organizationID = organizationID
    self.linkedStorageAccount = linkedStorageAccount; self.attachedCustomerInsights = attachedCustomerInsights
    self.users = users
  }
}

public struct Solution: Sendable, Equatable {
  public var id: String
  public var uniqueName: String
  public var friendlyName: String
  public var version: String
  public var isManaged: Bool
  public var publisher: String
  public init(id: String, uniqueName: String, friendlyName: String, version: String, isManaged: Bool, publisher: String) {
    self.id = id; self.uniqueName = uniqueName; self.friendlyName = friendlyName; self.version = version
    self.isManaged = isManaged; self.publisher = publisher
  }
}

/// A `dependency` row from `RetrieveDependenciesForUninstall`.
public struct SolutionDependency: Sendable, Equatable {
  public var id: String
  /// 1 Solution Internal, 2 Published, 4 Unpublished.
  public var dependencyType: Int
  public var requiredComponentType: Int
  public var requiredComponentName: String
  public var requiredSolution: String
  public var dependentComponentType: Int
  public var dependentComponentName: String
  public var dependentSolution: String
  public init(id: String, dependencyType: Int, requiredComponentType: Int, requiredComponentName: String,
              requiredSolution: String, dependentComponentType: Int, dependentComponentName: String,
              dependentSolution: String) {
    self.id = id; self.dependencyType = dependencyType; self.requiredComponentType = requiredComponentType
    self.requiredComponentName = requiredComponentName; self.requiredSolution = requiredSolution
    self.dependentComponentType = dependentComponentType; self.dependentComponentName = dependentComponentName
    self.dependentSolution = dependentSolution
  }
}

/// A Dataverse row: its id, etag and column values.
public struct Row: Sendable, Equatable {
  public var id: String
  public var etag: String
  public var columns: [String: FieldValue]
  public init(id: String, etag: String, columns: [String: FieldValue]) {
    self.id = id; self.etag = etag; self.columns = columns
  }
}

/// Choice values of `msdynmkt_cistatus` (Customer Insights Status).
public enum CIStatus: Int, CaseIterable, Sendable {
  case notConfigured = 534_121_000, configured = 534_121_001, failedToConfigure = 534_121_002, removed = 534_121_003,
    failedToRemove = 534_121_004
  public var label: String {
    switch self {
    case .notConfigured: return "NotConfigured"
    case .configured: return "Configured"
    case .failedToConfigure: return "FailedToConfigure"
    case .removed: return "Removed"
    case .failedToRemove: return "FailedToRemove"
    }
  }
  public init?(label: String) {
    guard let s = CIStatus.allCases.first(where: { $0.label.lowercased() == label.lowercased() }) else { return nil }
    self = s
  }
}

// MARK: - Customer Insights

public struct CIEnvironment: Sendable, Equatable {
  public var id: String
  public var name: String
  public var region: String
  public var profileCount: Int
  public var accountCount: Int
  public var isB2B: Bool
  public var dataverseEnvironmentID: String?
  public var permissionIdentifier: String?
  public init(id: String, name: String, region: String, profileCount: Int, accountCount: Int, isB2B: Bool,
              dataverseEnvironmentID: String?, permissionIdentifier: String?) {
    self.id = id; self.name = name; self.region = region; self.profileCount = profileCount
    self.accountCount = accountCount; self.isB2B = isB2B; self.dataverseEnvironmentID = dataverseEnvironmentID
    self.permissionIdentifier = permissionIdentifier
  }
}

// MARK: - Regions

public enum Regions {
  /// The Power Platform geography an Azure region belongs to.
  public static func geography(ofAzureRegion location: String) -> String? {
    let table: [String: String] = [
      "eastus": "unitedstates", "eastus2": "unitedstates", "westus": "unitedstates", "westus2": "unitedstates",
      "westus3": "unitedstates", "centralus": "unitedstates", "northcentralus": "unitedstates",
      "southcentralus": "unitedstates", "westcentralus": "unitedstates",
      "westeurope": "europe", "northeurope": "europe",
      "uksouth": "unitedkingdom", "ukwest": "unitedkingdom",
      "francecentral": "france", "francesouth": "france",
      "germanywestcentral": "germany", "germanynorth": "germany",
      "switzerlandnorth": "switzerland", "switzerlandwest": "switzerland",
      "norwayeast": "norway", "norwaywest": "norway",
      "canadacentral": "canada", "canadaeast": "canada",
      "brazilsouth": "southamerica",
      "australiaeast": "australia", "australiasoutheast": "australia",
      "japaneast": "japan", "japanwest": "japan",
      "centralindia": "india", "southindia": "india",
      "eastasia": "asia", "southeastasia": "asia",
      "koreacentral": "korea", "koreasouth": "korea",
      "southafricanorth": "southafrica", "southafricawest": "southafrica",
      "uaenorth": "unitedarabemirates", "uaecentral": "unitedarabemirates",
    ]
    return table[location.lowercased()]
  }
}
