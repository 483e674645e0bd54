import RunbookRuntime

/// The records domain built-ins return, field by field. Field names are the
/// state format's (docs/state-format.md): one vocabulary for state files,
/// results and runbooks. Exceptions, because `kind` names the record's kind:
/// a storage account's `kind` is `account_kind`. `Domain.builtin` checks in
/// debug builds that every result matches its declaration.
extension Shape {
  static let user = Shape.record("user", [
    ("kind", .string), ("id", .string), ("display_name", .string), ("user_principal_name", .string),
  ])
  static let servicePrincipal = Shape.record("service_principal", [
    ("kind", .string), ("id", .string), ("display_name", .string), ("app_id", .string),
  ])
  static let group = Shape.record("group", [
    ("kind", .string), ("id", .string), ("display_name", .string), ("mail_nickname", .string),
    ("security_enabled", .bool), ("description", .string),
  ], optional: ["description"])
  /// A user, group, service principal, foreign group or device.
  static let directoryObject = Shape.record("directory_object", [
    ("kind", .string), ("id", .string), ("display_name", .string),
  ])
  static let storageAccount = Shape.record("storage_account", [
    ("kind", .string), ("name", .string), ("id", .string), ("scope", .string), ("subscription_id", .string),
    ("resource_group", .string), ("location", .string), ("account_kind", .string), ("is_hns_enabled", .bool),
    ("private_endpoint_only", .bool), ("blob_soft_delete", .bool), ("blob_storage_events", .bool),
    ("dfs_endpoint", .string),
  ])
  static let container = Shape.record("container", [
    ("kind", .string), ("name", .string), ("account", .string), ("scope", .string), ("url", .string),
  ])
  static let roleDefinition = Shape.record("role_definition", [("kind", .string), ("name", .string), ("id", .string)])
  static let roleAssignment = Shape.record("role_assignment", [
    ("kind", .string), ("id", .string), ("name", .string), ("scope", .string), ("role", .string),
    ("role_definition_id", .string), ("principal_id", .string), ("principal_type", .string),
  ], optional: ["role"])
  static let roleVisible = Shape.record(nil, [("visible", .bool), ("waited", .duration), ("polls", .int)])
  static let acl = Shape.record("acl", [
    ("kind", .string), ("path", .string), ("owner", .string), ("group", .string), ("permissions", .string),
    ("acl", .string), ("entries", .list(of: .string)), ("is_directory", .bool),
  ])
  static let recursiveACLResult = Shape.record(nil, [
    ("directories_successful", .int), ("files_successful", .int), ("failure_count", .int),
    ("failed_entries", .list(of: .record(nil, [("name", .string), ("type", .string), ("error_message", .string)]))),
    ("changed", .int), ("checked", .int), ("pages", .int), ("single_writes", .int),
  ], optional: ["changed"])
  static let permissionIdentifier = Shape.record(nil, [
    ("account", .string), ("host", .string), ("container", .string), ("path", .string), ("reader", .string),
    ("contributor", .string), ("form", .string),
  ])
  static let dataverseEnvironment = Shape.record("dataverse_environment", [
    ("kind", .string), ("id", .string), ("name", .string), ("url", .string), ("region", .string),
    ("organization_id", .string), ("linked_storage_account", .string), ("attached_customer_insights", .string),
  ], optional: ["linked_storage_account", "attached_customer_insights"])
  static let ciEnvironment = Shape.record("ci_environment", [
    ("kind", .string), ("id", .string), ("name", .string), ("region", .string), ("profile_count", .int),
    ("account_count", .int), ("is_b2b", .bool), ("dataverse_environment_id", .string), ("permission_identifier", .string),
  ], optional: ["dataverse_environment_id", "permission_identifier"])
  static let solution = Shape.record("solution", [
    ("kind", .string), ("id", .string), ("name", .string), ("unique_name", .string), ("friendly_name", .string),
    ("version", .string), ("is_managed", .bool), ("publisher", .string),
  ])
  static let dependency = Shape.record("dependency", [
    ("kind", .string), ("id", .string), ("dependency_type", .int), ("required_component_type", .string),
    ("required_component", .string), ("required_solution", .string), ("dependent_component_type", .string),
    ("dependent_component", .string), ("dependent_solution", .string), ("description", .string),
  ])
  /// A Dataverse row: these fields and its columns.
  static let row = Shape.record(
    kind: "row", fields: ["kind", "table", "id", "etag"].map { ShapeField(name: $0, shape: .string) }, isOpen: true)
  static let prerequisiteFailure = Shape.record(nil, [("check", .string), ("code", .string), ("message", .string)])
  static let entitlement = Shape.record(nil, [
    ("profiles", .int), ("accounts", .int), ("rounding", .string), ("blocks", .number), ("database_gb", .number),
    ("file_gb", .number), ("assumption", .string),
  ])
  static let createdGroups = Shape.record(nil, [("reader", .group), ("contributor", .group)])
}
