import RunbookServices

/// The state file (`runbook-state/v1`), as stored on disk. Keys are
/// snake_case; every list is kept in a stable order when saved. See
/// `docs/state-format.md`.
public struct StateFile: Codable, Sendable {
  public static let currentFormat = "runbook-state/v1"

  public var format: String
  public var tenant: TenantState
  public var directory: DirectoryState
  public var azure: AzureState
  public var powerPlatform: PowerPlatformState
  public var customerInsights: CustomerInsightsState
  public var faults: [FaultState]?

  enum CodingKeys: String, CodingKey {
    case format, tenant, directory, azure, powerPlatform = "power_platform", customerInsights = "customer_insights", faults
  }
}

public struct TenantState: Codable, Sendable {
  public var id: String
  public var domain: String
  /// Seed of the deterministic id generator.
  public var seed: String
  /// How many ids were generated so far (part of every new id).
  public var idCounter: Int
  /// The simulated clock, `YYYY-MM-DDTHH:MM:SSZ`.
  public var now: String
  public var signedInUser: String
  /// Whether users may create security groups (false: only admins; group creation fails).
  public var groupCreationAllowed: Bool
  /// Seconds before a new role assignment becomes visible.
  public var rolePropagationSeconds: Int

  enum CodingKeys: String, CodingKey {
    case id, domain, seed, idCounter = "id_counter", now, signedInUser = "signed_in_user", groupCreationAllowed = "group_creation_allowed", rolePropagationSeconds = "role_propagation_seconds"
  }
}

public struct UserState: Codable, Sendable, Equatable {
  public var id: String
  public var userPrincipalName: String
  public var displayName: String

  enum CodingKeys: String, CodingKey {
    case id, userPrincipalName = "user_principal_name", displayName = "display_name"
  }
}

public struct ServicePrincipalState: Codable, Sendable, Equatable {
  public var id: String
  public var appId: String
  public var displayName: String

  enum CodingKeys: String, CodingKey {
    case id, appId = "app_id", displayName = "display_name"
  }
}

public struct GroupState: Codable, Sendable, Equatable {
  public var id: String
  public var displayName: String
  public var mailNickname: String
  public var securityEnabled: Bool
  public var description: String?
  public var owners: [String]
  public var members: [String]

  enum CodingKeys: String, CodingKey {
    case id, displayName = "display_name", mailNickname = "mail_nickname", securityEnabled = "security_enabled", description, owners, members
  }
}

public struct DirectoryState: Codable, Sendable {
  public var users: [UserState]
  public var servicePrincipals: [ServicePrincipalState]
  public var groups: [GroupState]

  enum CodingKeys: String, CodingKey {
    case users, servicePrincipals = "service_principals", groups
  }
}

public struct SubscriptionState: Codable, Sendable {
  public var id: String
  public var name: String
  public var resourceGroups: [String]

  enum CodingKeys: String, CodingKey {
    case id, name, resourceGroups = "resource_groups"
  }
}

public struct PathState: Codable, Sendable {
  /// Relative to the filesystem root, e.g. `a/b/file.csv`.
  public var path: String
  /// `directory` or `file`.
  public var type: String
  public var owner: String
  public var group: String
  public var acl: String
  /// Fault injection: setting this item's ACL fails with this message.
  public var aclFailure: String?

  enum CodingKeys: String, CodingKey {
    case path, type, owner, group, acl, aclFailure = "acl_failure"
  }
}

public struct FilesystemState: Codable, Sendable {
  public var name: String
  public var owner: String
  public var group: String
  /// The root directory's ACL.
  public var acl: String
  public var paths: [PathState]
  /// Load-test generators, expanded when the state is loaded (after `paths`);
  /// a saved state lists the generated items in `paths` instead.
  public var generate: [PathGeneratorState]? = nil

  enum CodingKeys: String, CodingKey {
    case name, owner, group, acl, paths, generate
  }
}

/// `{"prefix": "data/part-", "folders": 1000, "files_per_folder": 999}`:
/// `folders` directories `<prefix><i>` (i zero-padded to the width of
/// `folders - 1`), each holding `files_per_folder` files `file-<j>.csv`
/// (j zero-padded likewise). Meant for load tests: a million items without a
/// 100 MB state file. Without `directory_acl` / `file_acl` the items inherit
/// their parent's default ACL (or get the service defaults 750 / 640), and
/// owner and group come from the parent.
public struct PathGeneratorState: Codable, Sendable {
  public var prefix: String
  public var folders: Int
  public var filesPerFolder: Int
  public var directoryAcl: String?
  public var fileAcl: String?

  public init(prefix: String, folders: Int, filesPerFolder: Int, directoryAcl: String? = nil, fileAcl: String? = nil) {
    self.prefix = prefix
    self.folders = folders
    self.filesPerFolder = filesPerFolder
    self.directoryAcl = directoryAcl
    self.fileAcl = fileAcl
  }

  enum CodingKeys: String, CodingKey {
    case prefix, folders, filesPerFolder = "files_per_folder", directoryAcl = "directory_acl", fileAcl = "file_acl"
  }
}

public struct StorageAccountState: Codable, Sendable {
  public var name: String
  public var subscriptionId: String
  public var resourceGroup: String
  public var location: String
  public var kind: String
  public var isHnsEnabled: Bool
  public var privateEndpointOnly: Bool
  public var blobSoftDelete: Bool
  public var blobStorageEvents: Bool
  public var filesystems: [FilesystemState]

  enum CodingKeys: String, CodingKey {
    case name, subscriptionId = "subscription_id", resourceGroup = "resource_group", location, kind, isHnsEnabled = "is_hns_enabled", privateEndpointOnly = "private_endpoint_only", blobSoftDelete = "blob_soft_delete", blobStorageEvents = "blob_storage_events", filesystems
  }
}

public struct RoleAssignmentState: Codable, Sendable, Equatable {
  public var name: String
  public var scope: String
  public var roleDefinitionId: String
  public var principalId: String
  public var principalType: String
  /// When it was created; it becomes visible `role_propagation_seconds` later.
  public var createdAt: String

  enum CodingKeys: String, CodingKey {
    case name, scope, roleDefinitionId = "role_definition_id", principalId = "principal_id", principalType = "principal_type", createdAt = "created_at"
  }
}

public struct AzureState: Codable, Sendable {
  public var subscriptions: [SubscriptionState]
  public var storageAccounts: [StorageAccountState]
  public var roleAssignments: [RoleAssignmentState]

  enum CodingKeys: String, CodingKey {
    case subscriptions, storageAccounts = "storage_accounts", roleAssignments = "role_assignments"
  }
}

public struct SolutionState: Codable, Sendable, Equatable {
  public var id: String
  public var uniqueName: String
  public var friendlyName: String
  public var version: String
  public var isManaged: Bool
  public var publisher: String

  enum CodingKeys: String, CodingKey {
    case id, uniqueName = "unique_name", friendlyName = "friendly_name", version, isManaged = "is_managed", publisher
  }
}

public struct DependencyState: Codable, Sendable, Equatable {
  /// 1 Solution Internal, 2 Published, 4 Unpublished.
  public var dependencyType: Int
  public var requiredSolution: String
  public var requiredComponentType: Int
  public var requiredComponent: String
  public var dependentSolution: String
  public var dependentComponentType: Int
  public var dependentComponent: String

  enum CodingKeys: String, CodingKey {
    case dependencyType = "dependency_type", requiredSolution = "required_solution", requiredComponentType = "required_component_type", requiredComponent = "required_component", dependentSolution = "dependent_solution", dependentComponentType = "dependent_component_type", dependentComponent = "dependent_component"
  }
}

public struct RowState: Codable, Sendable, Equatable {
  public var id: String
  public var version: Int
  public var columns: [String: FieldValue]

  enum CodingKeys: String, CodingKey {
    case id, version, columns
  }
}

public struct TableState: Codable, Sendable, Equatable {
  public var name: String
  public var entitySet: String
  /// The solution that owns the table; uninstalling it removes the table.
  public var solution: String?
  /// The table's columns (logical names); nil: the columns its rows have.
  public var columns: [String]?
  public var rows: [RowState]

  enum CodingKeys: String, CodingKey {
    case name, entitySet = "entity_set", solution, columns, rows
  }

  public init(name: String, entitySet: String, solution: String?, columns: [String]? = nil, rows: [RowState]) {
    self.name = name; self.entitySet = entitySet; self.solution = solution; self.columns = columns; self.rows = rows
  }
}

public struct DataverseUserState: Codable, Sendable, Equatable {
  public var objectId: String
  public var roles: [String]
  public var licensed: Bool

  enum CodingKeys: String, CodingKey {
    case objectId = "object_id", roles, licensed
  }
}

public struct DataverseEnvironmentState: Codable, Sendable {
  public var id: String
  public var name: String
  public var url: String
  public var region: String
  public var organizationId: String
  public var linkedStorageAccount: String?
  public var attachedCustomerInsights: String?
  public var users: [DataverseUserState]
  public var solutions: [SolutionState]
  public var dependencies: [DependencyState]
  public var tables: [TableState]

  enum CodingKeys: String, CodingKey {
    case id, name, url, region, organizationId = "organization_id", linkedStorageAccount = "linked_storage_account", attachedCustomerInsights = "attached_customer_insights", users, solutions, dependencies, tables
  }
}

public struct PowerPlatformState: Codable, Sendable {
  public var environments: [DataverseEnvironmentState]

  enum CodingKeys: String, CodingKey {
    case environments
  }
}

public struct CIEnvironmentState: Codable, Sendable, Equatable {
  public var id: String
  public var name: String
  public var region: String
  public var profileCount: Int
  public var accountCount: Int
  public var isB2b: Bool
  public var dataverseEnvironmentId: String?
  public var permissionIdentifier: String?

  enum CodingKeys: String, CodingKey {
    case id, name, region, profileCount = "profile_count", accountCount = "account_count", isB2b = "is_b2b", dataverseEnvironmentId = "dataverse_environment_id", permissionIdentifier = "permission_identifier"
  }
}

public struct CustomerInsightsState: Codable, Sendable {
  public var environments: [CIEnvironmentState]

  enum CodingKeys: String, CodingKey {
    case environments
  }
}

/// An injected failure: the next `times` calls of `operation` fail with this error.
public struct FaultState: Codable, Sendable, Equatable {
  /// e.g. `createGroup`, `addOwner`, `createRoleAssignment`, `setAccessControl`, `attach`.
  public var operation: String
  public var status: Int
  public var code: String
  public var message: String
  public var times: Int

  enum CodingKeys: String, CodingKey {
    case operation, status, code, message, times
  }
}

// MARK: - Time

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into milliseconds since the epoch.
func parseISO8601(_ s: String) -> Int? {
  let u = Array(s.utf8)
  guard u.count == 20, u[4] == 45, u[7] == 45, u[10] == 84, u[13] == 58, u[16] == 58, u[19] == 90 else { return nil }
  func num(_ r: Range<Int>) -> Int? {
    var v = 0
    for i in r { guard u[i] >= 48 && u[i] <= 57 else { return nil }; v = v * 10 + Int(u[i] - 48) }
    return v
  }
  guard var y = num(0..<4), let m = num(5..<7), let d = num(8..<10), let hh = num(11..<13), let mm = num(14..<16),
    let ss = num(17..<19), (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60
  else { return nil }
  if m <= 2 { y -= 1 }
  let era = (y >= 0 ? y : y - 399) / 400
  let yoe = y - era * 400
  let mp = m > 2 ? m - 3 : m + 9
  let doy = (153 * mp + 2) / 5 + d - 1
  let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
  let days = era * 146_097 + doe - 719_468
  return ((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000
}
