import RunbookRuntime

/// The Dataverse data-lake app (`Common Data Service - Azure Data Lake Storage`).
public let dataverseLakeAppID = "546068c3-99b1-4890-8e93-c8aeadcfe56a"
public let dataverseLakeAppName = "Common Data Service - Azure Data Lake Storage"

extension Domain {
  /// A principal argument: a record with `id` (and `kind`) or a GUID looked up in the directory.
  func principal(_ args: Arguments, _ name: String) throws -> DirectoryObject {
    let id = try args.objectID(name)
    if case .map(let m) = args[name], let kind = m["kind"]?.asString {
      let display = (m["display_name"]?.asString) ?? id
      switch kind {
      case "user": return DirectoryObject(id: id, type: .user, displayName: display)
      case "group": return DirectoryObject(id: id, type: .group, displayName: display)
      case "service_principal": return DirectoryObject(id: id, type: .servicePrincipal, displayName: display)
      default: break
      }
    }
    guard let o = try services.directory.object(id: id) else {
      throw RuntimeError(
        "no user, group or service principal has the id \(id) (argument `\(name)` of `\(args.builtin.name)`)",
        code: "not_found")
    }
    return o
  }

  /// A group argument: a group record or a group id.
  func group(_ args: Arguments, _ name: String) throws -> DirectoryGroup {
    let id = try args.objectID(name)
    guard let g = try services.directory.group(id: id) else {
      throw ServiceError.graphNotFound(id)
    }
    return g
  }

  /// Runs a Graph write, retrying `Request_ResourceNotFound` (replication
  /// delay right after creation) up to 10 times, 5 s apart on the service clock.
  func withReplicationRetry<T>(_ body: () throws -> T) throws -> T {
    var attempt = 0
    while true {
      do {
        return try body()
      } catch let error as ServiceError where error.code == "Request_ResourceNotFound" && attempt < 9 {
        attempt += 1
        services.clock.sleep(milliseconds: 5_000)
      }
    }
  }

  /// Adds `objectID` to the owners or members of a group unless present.
  /// Only Graph's `Request_BadRequest` "already exist" counts as present.
  func ensureReference(_ property: String, group: DirectoryGroup, object: DirectoryObject, log: ChangeLog) throws {
    let dir = services.directory
    let current = property == "owners" ? try dir.owners(groupID: group.id) : try dir.members(groupID: group.id)
    if current.contains(where: { $0.id == object.id }) { return }
    do {
      try withReplicationRetry { () throws -> Void in
        if property == "owners" {
          try dir.addOwner(groupID: group.id, objectID: object.id)
        } else {
          try dir.addMember(groupID: group.id, objectID: object.id)
        }
      }
    } catch let error as ServiceError where error.code == "Request_BadRequest" && error.message.contains("already exist") {
      log.note("\(object.displayName) is already in '\(property)' of \(group.displayName) (Graph: \(error.message))")
      return
    }
    log.add(referenceChange(property, group: group, object: object))
  }

  func referenceChange(_ property: String, group: DirectoryGroup, object: DirectoryObject) -> PlannedChange {
    PlannedChange(
      .create, property == "owners" ? "group_owner" : "group_member", "\(group.displayName)/\(object.displayName)",
      [.init("group_id", new: Value.quote(group.id)), .init("object_id", new: Value.quote(object.id)),
       .init("object_type", new: Value.quote(object.type.rawValue))])
  }

  /// Finds the one group with a display name, or creates it. A new group is
  /// created with `owner` bound in the same request (`owners@odata.bind`), so
  /// it never exists without its owner; an existing group gets `owner` added
  /// when it is missing.
  func ensureGroup(_ displayName: String, description: String?, owner: DirectoryObject?, log: ChangeLog) throws
    -> DirectoryGroup
  {
    let found = try services.directory.groups(displayName: displayName)
    if found.count > 1 {
      let ids = found.map(\.id).sorted().joined(separator: ", ")
      throw RuntimeError(
        "\(found.count) groups are named \(Value.quote(displayName)) (\(ids)); display names are not unique, so pass the group ids instead",
        code: "ambiguous_group", details: .list(found.map(\.record)))
    }
    if let g = found.first {
      if let owner { try ensureReference("owners", group: g, object: owner, log: log) }
      return g
    }
    let nickname = try mailNickname(displayName)
    let owners = owner.map { [$0.id] } ?? []
    // An owner created just before may not have replicated yet: Graph answers
    // 404 Request_ResourceNotFound and creates nothing, so retrying is safe.
    let g = try withReplicationRetry {
      try services.directory.createGroup(displayName: displayName, mailNickname: nickname, description: description,
                                         owners: owners)
    }
    log.add(PlannedChange(.create, "group", displayName, [
      .init("id", new: Value.quote(g.id)), .init("mail_nickname", new: Value.quote(g.mailNickname)),
      .init("security_enabled", new: "true"),
    ]))
    if let owner { log.add(referenceChange("owners", group: g, object: owner)) }
    return g
  }

  func mailNickname(_ name: String) throws -> String {
    let forbidden = Set("@()\\[]\";:.<>, ".unicodeScalars)
    let nick = String(String.UnicodeScalarView(name.unicodeScalars.filter { $0.isASCII && !forbidden.contains($0) }))
    guard !nick.isEmpty, nick.count <= 64 else {
      throw valueError(
        "cannot derive a mail nickname (1-64 ASCII characters, none of @ () \\ [] \" ; : . <> , or space) from \(Value.quote(name))",
        code: "invalid_name")
    }
    return nick
  }

  func validatePrefix(_ prefix: String) throws {
    guard !prefix.isEmpty else {
      throw valueError("Please provide SecurityGroupNamePrefix parameter: the group name prefix is empty", code: "invalid_name")
    }
    guard prefix.count <= 230 else { throw valueError("the group name prefix is longer than 230 characters", code: "invalid_name") }
  }

  // MARK: Built-ins

  func directoryBuiltins() -> [Builtin] {
    let cat = "directory"
    return [
      builtin("current_user", [], returns: .map, result: .user, category: cat, effect: .reads,
              doc: "The signed-in user: {id, display_name, user_principal_name}.") { _, _ in
        try services.directory.signedInUser().record
      },

      builtin("ensure_service_principal",
              [BuiltinParameter("app_id", .string, default: .value(.string(dataverseLakeAppID))),
               BuiltinParameter("name", .string, default: .value(.string(dataverseLakeAppName)))],
              returns: .map, result: .servicePrincipal, category: cat, effect: .changes,
              doc: "Finds the service principal of an app id, creating it when missing.") { args, log in
        let appID = try args.guid("app_id")
        let name = try args.nonEmptyString("name")
        if let sp = try services.directory.servicePrincipal(appID: appID) { return sp.record }
        let sp = try services.directory.createServicePrincipal(appID: appID, displayName: name)
        log.add(PlannedChange(.create, "service_principal", sp.displayName, [
          .init("app_id", new: Value.quote(appID)), .init("id", new: Value.quote(sp.id)),
        ]))
        return sp.record
      },

      builtin("find_groups", [BuiltinParameter("name", .string)], returns: .list, result: .list(of: .group), category: cat, effect: .reads,
              doc: "Groups with a display name (display names are not unique: 0..n records).") { args, _ in
        let name = try args.nonEmptyString("name")
        return .list(try services.directory.groups(displayName: name).sorted { $0.id < $1.id }.map(\.record))
      },

      builtin("ensure_group",
              [BuiltinParameter("name", .string), BuiltinParameter("description", .string, default: .value(.null), optional: true),
               BuiltinParameter("owner", .any, default: .value(.null), optional: true)],
              returns: .map, result: .group, category: cat, effect: .changes,
              doc: "The security group with a display name, created when missing (with `owner` bound at creation; an existing group gets `owner` added when missing); fails when the name is ambiguous.") { args, log in
        let name = try args.nonEmptyString("name")
        let description = try args.optionalString("description")
        let owner = args["owner"] == .null ? nil : try principal(args, "owner")
        return try ensureGroup(name, description: description, owner: owner, log: log).record
      },

      builtin("add_group_owner", [BuiltinParameter("group", .any), BuiltinParameter("owner", .any)],
              returns: .map, result: .group, category: cat, effect: .changes,
              doc: "Makes a principal an owner of a group (ok when it already is).") { args, log in
        let g = try group(args, "group")
        let o = try principal(args, "owner")
        try ensureReference("owners", group: g, object: o, log: log)
        return g.record
      },

      builtin("add_group_member", [BuiltinParameter("group", .any), BuiltinParameter("member", .any)],
              returns: .map, result: .group, category: cat, effect: .changes,
              doc: "Makes a principal a member of a group (ok when it already is).") { args, log in
        let g = try group(args, "group")
        let m = try principal(args, "member")
        try ensureReference("members", group: g, object: m, log: log)
        return g.record
      },

      builtin("get_group", [BuiltinParameter("id", .string)], returns: .map, result: .group, category: cat, effect: .reads,
              doc: "The group with an object id; fails with Request_ResourceNotFound when there is none.") { args, _ in
        let id = try args.guid("id")
        guard let g = try services.directory.group(id: id) else { throw ServiceError.graphNotFound(id) }
        return g.record
      },

      builtin("group_owners", [BuiltinParameter("group", .any)], returns: .list, result: .list(of: .directoryObject), category: cat, effect: .reads,
              doc: "The owners of a group.") { args, _ in
        let g = try group(args, "group")
        return .list(try services.directory.owners(groupID: g.id).map(\.record))
      },

      builtin("group_members", [BuiltinParameter("group", .any)], returns: .list, result: .list(of: .directoryObject), category: cat, effect: .reads,
              doc: "The members of a group.") { args, _ in
        let g = try group(args, "group")
        return .list(try services.directory.members(groupID: g.id).map(\.record))
      },

      builtin("create_groups",
              [BuiltinParameter("prefix", .string),
               BuiltinParameter("owner", .any)],
              returns: .map, result: .createdGroups, category: cat, effect: .changes,
              doc: "The `<prefix>-Dataverse-readers` / `-contributors` groups, owned by `owner`: {reader, contributor}.") { args, log in
        let prefix = try args.string("prefix")
        try validatePrefix(prefix)
        let owner = try principal(args, "owner")
        let reader = try ensureGroup("\(prefix)-Dataverse-readers", description: nil, owner: owner, log: log)
        let contributor = try ensureGroup("\(prefix)-Dataverse-contributors", description: nil, owner: owner, log: log)
        return .record(fields: [("reader", reader.record), ("contributor", contributor.record)])
      },
    ]
  }
}
