import RunbookRuntime

/// Registers every domain built-in (directory, roles, storage, Dataverse,
/// Customer Insights, entitlement, service clock) into the shared registry.
/// Each call goes through `services` and is recorded in `recorder`.
/// `sensitive` is told the text of every secret a built-in passes to a
/// service (a live run registers it with its redactor).
public func registerDomainBuiltins(into registry: BuiltinRegistry, services: ServiceSet, recorder: PlanRecorder,
                                   sensitive: (@Sendable (String) -> Void)? = nil) {
  let d = Domain(services: services, recorder: recorder, sensitive: sensitive)
  registry.register(d.directoryBuiltins() + d.storageBuiltins() + d.dataverseBuiltins() + d.customerInsightsBuiltins())
}

extension Domain {
  func dataverseEnvironment(_ args: Arguments, _ name: String) throws -> DataverseEnvironment {
    let v = args[name]
    let key: String
    switch v {
    case .string(let s): key = s
    case .map(let m):
      guard let id = m["id"]?.asString else { throw args.typeError(name, expected: "a Dataverse environment record, id, name or URL", got: v) }
      key = id
    default: throw args.typeError(name, expected: "a Dataverse environment record, id, name or URL", got: v)
    }
    let all = try services.dataverse.environments()
    let norm = { (s: String) -> String in
      var t = s.lowercased()
      while t.hasSuffix("/") { t.removeLast() }
      return t
    }
    if let e = all.first(where: { $0.id.lowercased() == key.lowercased() || norm($0.url) == norm(key) || $0.name == key }) {
      return e
    }
    let names = all.map { Value.quote($0.name) }.sorted().joined(separator: ", ")
    throw RuntimeError("no Dataverse environment matches \(Value.quote(key)); known: \(names)", code: "not_found")
  }

  func ciEnvironment(_ args: Arguments, _ name: String) throws -> CIEnvironment {
    let v = args[name]
    let key: String
    switch v {
    case .string(let s): key = s
    case .map(let m):
      guard let id = m["id"]?.asString else { throw args.typeError(name, expected: "a Customer Insights environment record, id or name", got: v) }
      key = id
    default: throw args.typeError(name, expected: "a Customer Insights environment record, id or name", got: v)
    }
    let all = try services.customerInsights.ciEnvironments()
    if let e = all.first(where: { $0.id.lowercased() == key.lowercased() || $0.name == key }) { return e }
    let names = all.map { Value.quote($0.name) }.sorted().joined(separator: ", ")
    throw RuntimeError("no Customer Insights environment matches \(Value.quote(key)); known: \(names)", code: "not_found")
  }

  /// A table's logical name from a logical or entity-set name.
  func tableName(_ args: Arguments, _ name: String) throws -> String {
    let t = try args.nonEmptyString(name)
    guard t.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || ($0 >= 65 && $0 <= 90) }) else {
      throw valueError("invalid table name \(Value.quote(t))", code: "invalid_name")
    }
    return t
  }

  func fieldValues(_ args: Arguments, _ name: String) throws -> [(String, FieldValue)] {
    let m = try args.map(name)
    var out: [(String, FieldValue)] = []
    for (i, k) in m.keys.enumerated() {
      guard case .string(let column) = k.storage else { throw valueError("column names in `\(name)` must be strings") }
      guard let fv = FieldValue(m.values[i]) else {
        throw valueError("column \(column) in `\(name)` must be a string, number, bool or nil, not \(m.values[i].typeName)")
      }
      out.append((column, fv))
    }
    return out
  }

  static func describeField(_ column: String, _ v: FieldValue?) -> String {
    guard let v else { return "null" }
    if column == "msdynmkt_cistatus", case .int(let i) = v, let s = CIStatus(rawValue: i) { return "\(i) (\(s.label))" }
    return v.text
  }

  // MARK: Built-ins

  func dataverseBuiltins() -> [Builtin] {
    let cat = "dataverse"
    let envParam = BuiltinParameter("environment", .any)
    return [
      builtin("dataverse_environment", [BuiltinParameter("name", .string)], returns: .map, result: .dataverseEnvironment, category: cat, effect: .reads,
              doc: "A Dataverse environment by id, name or URL: {id, name, url, region, organization_id, …}.") { args, _ in
        try dataverseEnvironment(args, "name").record
      },

      builtin("list_solutions", [envParam], returns: .list, result: .list(of: .solution), category: cat, effect: .reads,
              doc: "The solutions installed in a Dataverse environment.") { args, _ in
        let env = try dataverseEnvironment(args, "environment")
        return .list(try services.dataverse.solutions(environmentID: env.id).map(\.record))
      },

      builtin("solution_dependencies", [envParam, BuiltinParameter("solution", .string)], returns: .list, result: .list(of: .dependency), category: cat,
              effect: .reads,
              doc: "What blocks uninstalling a solution (RetrieveDependenciesForUninstall).") { args, _ in
        let env = try dataverseEnvironment(args, "environment")
        let name = try args.nonEmptyString("solution")
        return .list(try services.dataverse.dependenciesForUninstall(environmentID: env.id, solution: name).map(\.record))
      },

      builtin("uninstall_solution", [envParam, BuiltinParameter("solution", .string)], returns: .bool, category: cat,
              effect: .destructive,
              doc: "Uninstalls a solution (ok when not installed); fails naming the dependencies that block it.") { args, log in
        let env = try dataverseEnvironment(args, "environment")
        let name = try args.nonEmptyString("solution")
        let dv = services.dataverse
        guard let sol = try dv.solutions(environmentID: env.id).first(where: { $0.uniqueName.lowercased() == name.lowercased() }) else {
          log.note("\(name) is not installed in \(env.name)")
          return .bool(false)
        }
        do {
          try dv.uninstallSolution(environmentID: env.id, solution: sol.uniqueName)
        } catch let error as ServiceError where error.code == "0x8004F01D" {
          let deps = try dv.dependenciesForUninstall(environmentID: env.id, solution: sol.uniqueName)
          let blockers = Array(Set(deps.map(\.dependentSolution))).sorted()
          let lines = deps.map { "  - " + $0.sentence }.joined(separator: "\n")
          throw RuntimeError(
            "\(error.message)\nCannot uninstall \(sol.uniqueName) from \(env.name): it is required by \(blockers.joined(separator: ", ")). "
              + "Uninstall those solutions first, or remove the dependent components:\n\(lines)",
            code: error.code,
            details: .record(fields: [
              ("service", .string("dataverse")), ("status", .int(error.status)),
              ("blocking_solutions", .list(blockers.map { .string($0) })), ("dependencies", .list(deps.map(\.record))),
            ]))
        }
        log.add(PlannedChange(.delete, "solution", "\(env.name)/\(sol.uniqueName)", [
          .init("friendly_name", old: Value.quote(sol.friendlyName)), .init("version", old: Value.quote(sol.version)),
        ]))
        return .bool(true)
      },

      builtin("get_row",
              [envParam, BuiltinParameter("table", .string),
               BuiltinParameter("where", .map, default: .value(.map(MapBox())))],
              returns: .any, category: cat, effect: .reads,
              doc: "The row of a table whose columns equal `where` (nil when none, or when the table does not exist; fails when several match).") { args, log in
        let env = try dataverseEnvironment(args, "environment")
        let table = try tableName(args, "table")
        let filter = try fieldValues(args, "where")
        let all: [Row]
        do {
          all = try services.dataverse.rows(environmentID: env.id, table: table)
        } catch let error as ServiceError where error.code == ServiceError.tableNotFoundCode {
          // A read that finds nothing succeeded: the table is not installed (e.g. Journeys' configuration).
          log.note("table \(table) does not exist in \(env.name): no row")
          return .null
        }
        let rows = all.filter { row in filter.allSatisfy { row.columns[$0.0] == $0.1 } }
        if rows.count > 1 {
          throw RuntimeError("\(rows.count) rows of \(table) match; narrow `where`", code: "ambiguous_row")
        }
        return rows.first?.record(table: table) ?? .null
      },

      builtin("update_row",
              [envParam, BuiltinParameter("table", .string), BuiltinParameter("id", .any), BuiltinParameter("values", .map),
               BuiltinParameter("etag", .string, default: .value(.null), optional: true)],
              returns: .map, result: .row, category: cat, effect: .changes,
              doc: "Updates columns of an existing row (If-Match: the etag, or *); ok when they already hold the values.") { args, log in
        let env = try dataverseEnvironment(args, "environment")
        let table = try tableName(args, "table")
        let id = try args.objectID("id")
        let values = try fieldValues(args, "values")
        let etag = try args.optionalString("etag")
        let dv = services.dataverse
        guard let row = try dv.rows(environmentID: env.id, table: table).first(where: { $0.id == id }) else {
          throw ServiceError.recordNotFound
        }
        let diff = values.filter { row.columns[$0.0] != $0.1 }
        if diff.isEmpty { return row.record(table: table) }
        let updated = try dv.updateRow(
          environmentID: env.id, table: table, id: id, values: Dictionary(uniqueKeysWithValues: diff), ifMatch: etag)
        log.add(PlannedChange(.update, "row", "\(table)(\(id))", diff.map { c in
          .init(c.0, old: Domain.describeField(c.0, row.columns[c.0]), new: Domain.describeField(c.0, c.1))
        }))
        return updated.record(table: table)
      },

      builtin("ci_status", [BuiltinParameter("label", .string)], returns: .int, category: cat, effect: .pure,
              doc: "The msdynmkt_cistatus choice value of a label (NotConfigured, Configured, FailedToConfigure, Removed, FailedToRemove).") { args, _ in
        let label = try args.string("label")
        guard let s = CIStatus(label: label) else {
          throw valueError("unknown Customer Insights status \(Value.quote(label)); use one of \(CIStatus.allCases.map(\.label).joined(separator: ", "))")
        }
        return .int(s.rawValue)
      },
    ]
  }

  func customerInsightsBuiltins() -> [Builtin] {
    let cat = "customer_insights"
    return [
      builtin("ci_environment", [BuiltinParameter("name", .string)], returns: .map, result: .ciEnvironment, category: cat, effect: .reads,
              doc: "A Customer Insights - Data environment by id or name: {id, name, region, profiles, accounts, b2b, …}.") { args, _ in
        try ciEnvironment(args, "name").record
      },

      builtin("check_connection_prerequisites",
              [BuiltinParameter("ci_environment", .any), BuiltinParameter("dataverse_environment", .any),
               BuiltinParameter("account", .any, default: .value(.null), optional: true)],
              returns: .list, result: .list(of: .prerequisiteFailure), category: cat, effect: .reads,
              doc: "Every unmet prerequisite for connecting (region, admin role, license, attachment, storage): a list of {check, code, message}.") { args, _ in
        let ci = try ciEnvironment(args, "ci_environment")
        let dv = try dataverseEnvironment(args, "dataverse_environment")
        var acct: StorageAccount? = nil
        if case .null = args["account"] {} else { acct = try account(args, "account") }
        let user = try services.directory.signedInUser()
        var failures: [Value] = []
        func fail(_ check: String, _ code: String, _ message: String) {
          failures.append(.record(fields: [("check", .string(check)), ("code", .string(code)), ("message", .string(message))]))
        }
        if ci.region != dv.region {
          fail("same_region", "RegionMismatch",
               "Customer Insights and Dataverse environments must be hosted in the same region (Customer Insights: \(ci.region), Dataverse: \(dv.region)).")
        }
        let dvUser = dv.users.first { $0.objectID == user.id }
        if !(dvUser?.roles.contains("System Administrator") ?? false) {
          fail("admin_role", "NotSystemAdministrator",
               "\(user.userPrincipalName) needs the System Administrator role in the Dataverse environment \(dv.name).")
        }
        if let dvUser, !dvUser.licensed {
          fail("license", "AdministrativeAccessMode",
               "No Dataverse license is assigned to \(user.userPrincipalName): unlicensed administrators get Administrative access mode only; Read-Write access mode is required.")
        }
        if let attached = dv.attachedCustomerInsights, attached != ci.id {
          fail("not_attached", ServiceError.alreadyAttached.code, ServiceError.alreadyAttached.message)
        }
        if let acct {
          if let geo = Regions.geography(ofAzureRegion: acct.location), geo != ci.region {
            fail("storage_region", "RegionMismatch",
                 "The storage account \(acct.name) is in \(acct.location) (\(geo)); it must be in the Customer Insights region (\(ci.region)).")
          }
          if let linked = dv.linkedStorageAccount, linked.lowercased() != acct.id.lowercased() {
            let linkedName = linked.split(separator: "/").last.map(String.init) ?? linked
            fail("single_storage_account", "StorageAccountAlreadyLinked",
                 "The Dataverse environment \(dv.name) is already connected to the storage account \(linkedName); the target storage account can't be changed.")
          }
          if acct.privateEndpointOnly {
            fail("private_endpoint", "PrivateEndpointNotSupported",
                 "The storage account \(acct.name) is only reachable through a private endpoint: data sharing won't work if an Azure Private Link setup is needed, because Dataverse doesn't support connections to private endpoints.")
          }
          if !acct.isHnsEnabled {
            fail("hierarchical_namespace", "HierarchicalNamespaceNotEnabled",
                 "The storage account \(acct.name) must have hierarchical namespace enabled (an HNS Enabled Gen2 storage account).")
          }
          let containerScope = acct.containerScope(ciContainerName).lowercased()
          let readerRoles: Set<String> = [RoleDefinition.storageBlobDataReader.id, RoleDefinition.storageBlobDataContributor.id,
                                          RoleDefinition.storageBlobDataOwner.id]
          let canRead = try services.roles.roleAssignments(scope: acct.containerScope(ciContainerName), principalID: user.id)
            .contains { readerRoles.contains($0.roleGUID) && containerScope.hasPrefix($0.scope.lowercased()) }
          if !canRead {
            fail("container_reader", "MissingStorageBlobDataReader",
                 "\(user.userPrincipalName) needs at least Storage Blob Data Reader permissions on the \(ciContainerName) container of \(acct.name).")
          }
        }
        return .list(failures)
      },

      builtin("connect_dataverse",
              [BuiltinParameter("ci_environment", .any), BuiltinParameter("dataverse_environment", .any),
               BuiltinParameter("account", .any, default: .value(.null), optional: true),
               BuiltinParameter("permission_identifier", .string, default: .value(.null), optional: true)],
              returns: .map, result: .ciEnvironment, category: cat, effect: .changes,
              doc: "Attaches the Dataverse environment to the Customer Insights environment (with own ADLS: account and identifier).") { args, log in
        let ci = try ciEnvironment(args, "ci_environment")
        let dv = try dataverseEnvironment(args, "dataverse_environment")
        var acct: StorageAccount? = nil
        if case .null = args["account"] {} else { acct = try account(args, "account") }
        let identifier = try args.optionalString("permission_identifier")
        if let identifier {
          let parsed = try parsePermissionIdentifier(identifier)
          if let acct, parsed["account"]?.asString != acct.name {
            throw valueError("the permissions identifier names the account \(parsed["account"]?.asString ?? "?"), not \(acct.name)", code: "invalid_identifier")
          }
        }
        if identifier != nil && acct == nil {
          throw valueError("a permissions identifier needs the storage `account` it grants access to")
        }
        let same = ci.dataverseEnvironmentID == dv.id && dv.attachedCustomerInsights == ci.id
          && ci.permissionIdentifier == identifier
          && (acct == nil || dv.linkedStorageAccount?.lowercased() == acct!.id.lowercased())
        if !same {
          try services.customerInsights.attach(
            ciEnvironmentID: ci.id, dataverseEnvironmentID: dv.id, storageAccountID: acct?.id, permissionIdentifier: identifier)
          var attrs: [PlannedChange.Attribute] = [
            .init("dataverse_environment", old: ci.dataverseEnvironmentID.map(Value.quote) ?? "null", new: Value.quote(dv.id)),
          ]
          if let acct { attrs.append(.init("storage_account", old: dv.linkedStorageAccount.map(Value.quote) ?? "null", new: Value.quote(acct.id))) }
          if let identifier {
            attrs.append(.init("permission_identifier", old: ci.permissionIdentifier.map(Value.quote) ?? "null", new: Value.quote(identifier)))
          }
          log.add(PlannedChange(.update, "ci_environment", ci.name, attrs))
        }
        return try ciEnvironment(args, "ci_environment").record
      },

      builtin("storage_entitlement",
              [BuiltinParameter("profiles", .int, default: .value(.int(0))), BuiltinParameter("accounts", .int, default: .value(.int(0))),
               BuiltinParameter("rounding", .string, default: .value(.string("up")))],
              returns: .map, result: .entitlement, category: cat, effect: .pure,
              doc: "Extra Dataverse capacity: 15 GB database + 20 GB file per 100,000 profiles (B2B: 10,000 accounts); rounding up|down|prorata is an assumption.") { args, _ in
        let profiles = try args.int("profiles"), accounts = try args.int("accounts")
        guard profiles >= 0, accounts >= 0 else { throw valueError("`profiles` and `accounts` must not be negative") }
        let rounding = try args.string("rounding")
        // Blocks in units of 1/100,000 profile-equivalents: 1 account = 10 profiles.
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Int {
          if r.overflow {
            throw RuntimeError("`storage_entitlement`: \(profiles) profiles and \(accounts) accounts are too many to count in an int",
                               code: "overflow")
          }
          return r.partialValue
        }
        let units = try checked(profiles.addingReportingOverflow(try checked(accounts.multipliedReportingOverflow(by: 10))))
        let blockSize = 100_000
        var fields: [(String, Value)] = [("profiles", .int(profiles)), ("accounts", .int(accounts)), ("rounding", .string(rounding))]
        switch rounding {
        case "up", "down":
          // Rounding up without `units + blockSize - 1`, which overflows near the largest int.
          let blocks = units / blockSize + (rounding == "up" && units % blockSize != 0 ? 1 : 0)
          fields += [("blocks", .int(blocks)), ("database_gb", .int(try checked(blocks.multipliedReportingOverflow(by: 15)))),
                     ("file_gb", .int(try checked(blocks.multipliedReportingOverflow(by: 20))))]
        case "prorata":
          let blocks = Double(units) / Double(blockSize)
          fields += [("blocks", .float(blocks)), ("database_gb", .float(blocks * 15)), ("file_gb", .float(blocks * 20))]
        default:
          throw valueError("`rounding` must be \"up\", \"down\" or \"prorata\", not \(Value.quote(rounding))")
        }
        fields.append(("assumption", .string(
          "15 GB database + 20 GB file per 100,000 profiles (B2B: 10,000 accounts = one block) as in the documentation's example; how partial blocks count is not documented (rounding: \(rounding)). Log capacity is not incremental.")))
        return .record(fields: fields)
      },

      builtin("service_time", [], returns: .string, category: "clock", effect: .reads,
              doc: "The services' current time (simulated in dry runs), ISO 8601 UTC.") { _, _ in
        .string(iso8601(services.clock.nowMilliseconds))
      },

      builtin("wait_for", [BuiltinParameter("duration", .duration)], returns: .null, category: "clock", effect: .reads,
              doc: "Waits on the services' clock (costs no wall time in dry runs).") { args, _ in
        let ms = try args.durationMilliseconds("duration")
        guard ms >= 0 else { throw valueError("`duration` must not be negative") }
        guard !services.clock.nowMilliseconds.addingReportingOverflow(ms).overflow else {
          throw RuntimeError("`wait_for` of \(Value.formatDuration(ms)) would take the clock past the largest representable time",
                             code: "overflow")
        }
        services.clock.sleep(milliseconds: ms)
        return .null
      },
    ]
  }
}

/// `2026-01-01T00:00:00Z` from milliseconds since the epoch (proleptic Gregorian, UTC).
public func iso8601(_ ms: Int) -> String {
  // Floor division without `ms - 999`, which overflows at the smallest int.
  let secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0)
  var days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
  let rem = secs - days * 86_400
  days += 719_468
  let era = (days >= 0 ? days : days - 146_096) / 146_097
  let doe = days - era * 146_097
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
  var y = yoe + era * 400
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
  let mp = (5 * doy + 2) / 153
  let d = doy - (153 * mp + 2) / 5 + 1
  let m = mp < 10 ? mp + 3 : mp - 9
  if m <= 2 { y += 1 }
  func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
  return "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
}
