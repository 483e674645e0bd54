import RunbookServices

// What the emulator's wire surface reads and changes beyond the service
// protocols the built-ins use: listings, deletes, file content. Each call
// costs what it touches, never a copy of the whole world (`snapshot()` is
// for saving only).

extension World {
  // MARK: Directory

  public var userList: [DirectoryUser] {
    users.map { DirectoryUser(id: $0.id, userPrincipalName: $0.userPrincipalName, displayName: $0.displayName) }
  }

  public func user(id: String) -> DirectoryUser? {
    users.first { $0.id.lowercased() == id.lowercased() }.map {
      DirectoryUser(id: $0.id, userPrincipalName: $0.userPrincipalName, displayName: $0.displayName)
    }
  }

  /// Every group, in creation order.
  public var groupList: [DirectoryGroup] {
    groups.map {
      DirectoryGroup(id: $0.id, displayName: $0.displayName, mailNickname: $0.mailNickname, securityEnabled: $0.securityEnabled,
                     description: $0.description)
    }
  }

  /// Deletes a group; it leaves the owner and member lists of other groups.
  /// Role assignments of the group stay, as in Azure (their principal is gone).
  public func deleteGroup(id: String) throws(ServiceError) {
    try checkFault("deleteGroup")
    guard let i = groups.firstIndex(where: { $0.id.lowercased() == id.lowercased() }) else { throw .graphNotFound(id) }
    let gone = groups[i].id
    groups.remove(at: i)
    for j in groups.indices {
      groups[j].owners.removeAll { $0 == gone }
      groups[j].members.removeAll { $0 == gone }
    }
  }

  // MARK: Azure

  public var subscriptionList: [SubscriptionState] { subscriptions }

  /// Storage accounts of a subscription, or of one resource group in it, by name.
  public func storageAccounts(subscriptionID: String, resourceGroup: String? = nil) -> [StorageAccount] {
    accounts.filter { a in
      a.subscriptionID.lowercased() == subscriptionID.lowercased()
        && (resourceGroup.map { a.resourceGroup.lowercased() == $0.lowercased() } ?? true)
    }.sorted { $0.name < $1.name }
  }

  /// Role assignments visible at `scope` (propagated ones only), as ARM lists them:
  /// at the scope, above it (inherited) and, unless `atScope`, below it;
  /// optionally only those of one principal.
  public func listRoleAssignments(scope: String, principalID: String? = nil, atScope: Bool = false) -> [RoleAssignment] {
    let s = Self.trimmedScope(scope)
    let delay = tenant.rolePropagationSeconds * 1000
    return assignments.filter { a, created in
      let as_ = Self.trimmedScope(a.scope)
      guard nowMilliseconds >= created + delay else { return false }
      if let principalID, a.principalID.lowercased() != principalID.lowercased() { return false }
      let above = s == as_ || s.hasPrefix(as_ + "/") || as_ == ""
      return above || (!atScope && as_.hasPrefix(s + "/"))
    }.map(\.0)
  }

  static func trimmedScope(_ scope: String) -> String {
    var s = scope.lowercased()
    while s.hasSuffix("/") { s.removeLast() }
    return s
  }

  /// The assignment named `name` at exactly `scope`.
  public func roleAssignment(scope: String, name: String) -> RoleAssignment? {
    assignments.first {
      $0.0.name.lowercased() == name.lowercased() && Self.trimmedScope($0.0.scope) == Self.trimmedScope(scope)
    }?.0
  }

  /// Deletes the assignment named `name` at `scope`; nil when there is none.
  public func deleteRoleAssignment(scope: String, name: String) throws(ServiceError) -> RoleAssignment? {
    try checkFault("deleteRoleAssignment")
    guard let i = assignments.firstIndex(where: {
      $0.0.name.lowercased() == name.lowercased() && Self.trimmedScope($0.0.scope) == Self.trimmedScope(scope)
    }) else { return nil }
    return assignments.remove(at: i).0
  }

  // MARK: Dataverse

  public var dataverseEnvironmentList: [DataverseEnvironmentState] { dvEnvironments }
  public var dataverseEnvironmentURLs: [String] { dvEnvironments.map(\.url) }

  /// The columns a table accepts: its declared `columns`, else those its rows have.
  public func columns(environmentID: String, table: String) throws(ServiceError) -> Set<String> {
    let e = try environmentIndex(environmentID)
    guard let t = dvEnvironments[e].tables.first(where: { $0.name == table || $0.entitySet == table }) else {
      throw ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(table)'.")
    }
    if let declared = t.columns { return Set(declared) }
    return Set(t.rows.flatMap { $0.columns.keys })
  }

  /// PATCH without `If-Match`: updates the row, or creates it with this id.
  public func upsertRow(environmentID: String, table: String, id: String, values: [String: FieldValue])
    throws(ServiceError) -> (Row, created: Bool)
  {
    try checkFault("upsertRow")
    let e = try environmentIndex(environmentID)
    guard let t = dvEnvironments[e].tables.firstIndex(where: { $0.name == table || $0.entitySet == table }) else {
      throw ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(table)'.")
    }
    if dvEnvironments[e].tables[t].rows.contains(where: { $0.id.lowercased() == id.lowercased() }) {
      return (try updateRow(environmentID: environmentID, table: table, id: id, values: values, ifMatch: nil), false)
    }
    let row = RowState(id: id.lowercased(), version: 1, columns: values)
    dvEnvironments[e].tables[t].rows.append(row)
    return (Row(id: row.id, etag: "W/\"\(row.version)\"", columns: row.columns), true)
  }
}
