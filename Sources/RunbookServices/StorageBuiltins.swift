import RunbookRuntime

/// The container Customer Insights uses in the customer's own data lake.
public let ciContainerName = "customerinsights"

extension Domain {
  /// A storage account argument: a `storage_account` record or an account name.
  func account(_ args: Arguments, _ name: String) throws -> StorageAccount {
    let v = args[name]
    let accountName: String
    switch v {
    case .string(let s): accountName = s
    case .map(let m):
      guard let s = m["name"]?.asString else {
        throw args.typeError(name, expected: "a storage account record or name", got: v)
      }
      accountName = s
    default: throw args.typeError(name, expected: "a storage account record or name", got: v)
    }
    try validateAccountName(accountName)
    guard let a = try services.dataLake.storageAccount(name: accountName) else {
      throw ServiceError(
        service: "arm", status: 404, code: "ResourceNotFound",
        message: "The Resource 'Microsoft.Storage/storageAccounts/\(accountName)' was not found.")
    }
    return a
  }

  /// An account name without a lookup (pure built-ins).
  func accountName(_ args: Arguments, _ name: String) throws -> String {
    let v = args[name]
    if case .map(let m) = v, let s = m["name"]?.asString { try validateAccountName(s); return s }
    if case .string(let s) = v { try validateAccountName(s); return s }
    throw args.typeError(name, expected: "a storage account record or name", got: v)
  }

  func scope(_ args: Arguments, _ name: String) throws -> (scope: String, subscription: String) {
    let s = try args.string(name)
    let parts = s.split(separator: "/", omittingEmptySubsequences: false)
    guard s.hasPrefix("/subscriptions/"), parts.count >= 3, StableID.isGUID(String(parts[2])), !s.hasSuffix("/") else {
      throw valueError(
        "argument `\(name)` of `\(args.builtin.name)` must be an ARM scope like /subscriptions/<guid>/resourceGroups/<rg>/…, not \(Value.quote(s))",
        code: "invalid_scope")
    }
    return (s, String(parts[2]).lowercased())
  }

  /// Rewrites the DFS errors of non-HNS or feature-conflicting accounts as
  /// the script does ("Please use HNS Enabled Gen2 storage account.").
  func hnsHint<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as ServiceError where error.code == "EndpointUnsupportedAccountFeatures" || error.code == "HierarchicalNamespaceNotEnabled"
      || error.message.lowercased().contains("does not support blobstorageevents or softdelete")
    {
      var e = error
      e.message = "Error setting ACLs: \(error.message) Please use HNS Enabled Gen2 storage account."
      throw e
    }
  }

  func aclAddress(_ account: String, _ container: String, _ path: String) -> String {
    path.isEmpty ? "\(account)/\(container)" : "\(account)/\(container)/\(path)"
  }

  /// The display name of a named ACL entry's principal, for plan comments.
  func principalName(_ k: AccessControlEntry.Key) -> String? {
    guard (k.kind == .user || k.kind == .group), StableID.isGUID(k.id) else { return nil }
    return (try? services.directory.object(id: k.id))??.displayName
  }

  /// One plan attribute per principal whose effective permissions change:
  /// `effective group:<id> = "r-x" -> "rwx"` (with item counts for trees).
  func effectiveAttributes(_ changes: [(EffectiveChange, Int)], itemCounts: Bool) -> [PlannedChange.Attribute] {
    changes.map { c, n in
      var comment = principalName(c.key)
      if itemCounts { comment = (comment.map { $0 + ", " } ?? "") + "\(n) item\(n == 1 ? "" : "s")" }
      return .init("effective " + Domain.entryLabel(c.key), old: c.old.map { Value.quote($0.text) },
                   new: c.new.map { Value.quote($0.text) }, comment: comment)
    }
  }

  static func entryLabel(_ k: AccessControlEntry.Key) -> String {
    (k.isDefault ? "default:" : "") + k.kind.rawValue + ":" + (k.id.isEmpty ? ":" : k.id)
  }

  // MARK: Built-ins

  func storageBuiltins() -> [Builtin] {
    let cat = "storage"
    let containerParam = BuiltinParameter("container", .string, default: .value(.string(ciContainerName)))
    let widenOthersParam = BuiltinParameter("widen_others", .bool, default: .value(.bool(false)))
    return [
      builtin("storage_account",
              [BuiltinParameter("subscription", .string), BuiltinParameter("resource_group", .string),
               BuiltinParameter("name", .string)],
              returns: .map, result: .storageAccount, category: cat, effect: .reads,
              doc: "A storage account: {name, id/scope, location, is_hns_enabled, private_endpoint_only, …}.") { args, _ in
        let sub = try args.guid("subscription")
        let rg = try args.nonEmptyString("resource_group")
        let name = try args.string("name")
        try validateAccountName(name)
        return try services.dataLake.storageAccount(subscriptionID: sub, resourceGroup: rg, name: name).record
      },

      builtin("ensure_container", [BuiltinParameter("account", .any), BuiltinParameter("name", .string, default: .value(.string(ciContainerName)))],
              returns: .map, result: .container, category: cat, effect: .changes,
              doc: "The filesystem (container) `name` in the account, created when missing.") { args, log in
        let acct = try account(args, "account")
        let name = try args.string("name")
        try validateContainerName(name)
        if try !services.dataLake.filesystemExists(account: acct.name, filesystem: name) {
          try services.dataLake.createFilesystem(account: acct.name, filesystem: name)
          log.add(PlannedChange(.create, "container", "\(acct.name)/\(name)", [
            .init("scope", new: Value.quote(acct.containerScope(name))),
          ]))
        }
        return .record(fields: [
          ("kind", .string("container")), ("name", .string(name)), ("account", .string(acct.name)),
          ("scope", .string(acct.containerScope(name))), ("url", .string(acct.dfsEndpoint + name)),
        ])
      },

      builtin("ensure_directory", [BuiltinParameter("account", .any), BuiltinParameter("path", .string), containerParam],
              returns: .list, result: .list(of: .string), category: cat, effect: .changes,
              doc: "Creates each missing folder of `path` (`a/b`) in the container; returns the folder paths.") { args, log in
        let acct = try account(args, "account")
        let container = try args.string("container")
        let path = try args.folderPath("path")
        var created: [Value] = []
        var prefix = ""
        for seg in path.split(separator: "/") {
          prefix = prefix.isEmpty ? String(seg) : prefix + "/" + seg
          switch try services.dataLake.pathIsDirectory(account: acct.name, filesystem: container, path: prefix) {
          case true?: break
          case false?:
            throw ServiceError(service: "dfs", status: 409, code: "PathConflict",
                               message: "The specified path, or an element of the path, exists and its resource type is invalid for this operation. (\(prefix) is a file)")
          case nil:
            try hnsHint { () throws in
              try services.dataLake.createDirectory(account: acct.name, filesystem: container, path: prefix)
            }
            log.add(PlannedChange(.create, "directory", aclAddress(acct.name, container, prefix)))
          }
          created.append(.string(prefix))
        }
        return .list(created)
      },

      builtin("role_definition", [BuiltinParameter("name", .string)], returns: .map, result: .roleDefinition, category: "roles", effect: .pure,
              doc: "A built-in role by name: {name, id}; fails for unknown roles.") { args, _ in
        let r = try args.role("name")
        return .record(fields: [("kind", .string("role_definition")), ("name", .string(r.name)), ("id", .string(r.id))])
      },

      builtin("has_role",
              [BuiltinParameter("principal", .any), BuiltinParameter("role", .string), BuiltinParameter("scope", .string),
               BuiltinParameter("exact", .bool, default: .value(.bool(false)))],
              returns: .bool, category: "roles", effect: .reads,
              doc: "Whether a visible assignment of the role exists at the scope (or above it unless `exact`).") { args, _ in
        let p = try principal(args, "principal")
        let r = try args.role("role")
        let (s, _) = try scope(args, "scope")
        let exact = try args.bool("exact")
        return .bool(try services.roles.roleAssignments(scope: s, principalID: p.id).contains {
          $0.roleGUID == r.id && (exact ? $0.scope.lowercased() == s.lowercased() : s.lowercased().hasPrefix($0.scope.lowercased()))
        })
      },

      builtin("assign_role",
              [BuiltinParameter("principal", .any), BuiltinParameter("role", .string), BuiltinParameter("scope", .string)],
              returns: .map, result: .roleAssignment, category: "roles", effect: .changes,
              doc: "Assigns a role at a scope under a deterministic assignment GUID (ok when already assigned).") { args, log in
        let p = try principal(args, "principal")
        let r = try args.role("role")
        let (s, sub) = try scope(args, "scope")
        let existing = try services.roles.roleAssignments(scope: s, principalID: p.id)
          .first { $0.roleGUID == r.id && $0.scope.lowercased() == s.lowercased() }
        if let existing { return existing.record }
        let name = StableID.guid("role-assignment", s.lowercased(), r.id, p.id)
        let wanted = RoleAssignment(
          name: name, scope: s, roleDefinitionID: r.resourceID(subscription: sub), principalID: p.id, principalType: p.type)
        let a: RoleAssignment, created: Bool
        do {
          (a, created) = try services.roles.createRoleAssignment(wanted)
        } catch let error as ServiceError where error.code == "RoleAssignmentExists" {
          // Assigned under another name (portal, script) and not yet visible: the desired state holds.
          log.note("\(r.name) is already assigned to \(p.displayName) at this scope under another assignment name (ARM: \(error.message))")
          return wanted.record
        }
        if created {
          let short = s.split(separator: "/").suffix(2).joined(separator: "/")
          log.add(PlannedChange(.create, "role_assignment", "\(r.name) for \(p.displayName) on \(short)", [
            .init("name", new: Value.quote(a.name)), .init("principal_id", new: Value.quote(p.id)),
            .init("principal_type", new: Value.quote(p.type.rawValue)),
            .init("role_definition_id", new: Value.quote(a.roleDefinitionID)), .init("scope", new: Value.quote(s)),
          ]))
        } else {
          log.note("assignment \(a.name) already exists; it is not visible yet (role assignments propagate with a delay)")
        }
        return a.record
      },

      builtin("wait_for_role",
              [BuiltinParameter("principal", .any), BuiltinParameter("role", .string), BuiltinParameter("scope", .string),
               BuiltinParameter("timeout", .duration, default: .value(.duration(600_000)))],
              returns: .map, result: .roleVisible, category: "roles", effect: .reads,
              doc: "Polls (5 s, doubling, at most 60 s apart) until the assignment is visible; fails after `timeout`.") { args, log in
        let p = try principal(args, "principal")
        let r = try args.role("role")
        let (s, _) = try scope(args, "scope")
        let timeout = try args.durationMilliseconds("timeout")
        guard timeout >= 0 else { throw valueError("`timeout` must not be negative") }
        let clock = services.clock
        let start = clock.nowMilliseconds
        let (deadline, pastTime) = start.addingReportingOverflow(timeout)
        if pastTime {
          throw RuntimeError("`wait_for_role` with a timeout of \(Value.formatDuration(timeout)) would end past the largest representable time",
                             code: "overflow")
        }
        var delay = 5_000
        var polls = 0
        while true {
          polls += 1
          let visible = try services.roles.roleAssignments(scope: s, principalID: p.id).contains {
            $0.roleGUID == r.id && s.lowercased().hasPrefix($0.scope.lowercased())
          }
          let waited = clock.nowMilliseconds - start
          if visible {
            if waited > 0 { log.note("visible after \(Value.formatDuration(waited)) (\(polls) polls)") }
            return .record(fields: [("visible", .bool(true)), ("waited", .duration(waited)), ("polls", .int(polls))])
          }
          if waited >= timeout {
            throw RuntimeError(
              "the \(r.name) assignment of \(p.displayName) at \(s) is still not visible after \(Value.formatDuration(waited)) (\(polls) polls)",
              code: "timeout")
          }
          func tell() {
            let waited = clock.nowMilliseconds - start
            log.monitor.progress(
              "waiting for \(r.name) of \(p.displayName) to be visible: \(Value.formatDuration(waited / 1000 * 1000)) elapsed, \(polls) poll\(polls == 1 ? "" : "s"), deadline \(Value.formatDuration(timeout))",
              [("elapsed_ms", waited), ("polls", polls), ("timeout_ms", timeout)])
          }
          tell()
          var pause = min(delay, timeout - waited)
          // A simulated world changes only at known moments: once polls are at their
          // steady 60 s pace, skip the polls that cannot see a change, so a huge
          // timeout ends on the simulated clock instead of spinning.
          let quietUntil = min(clock.nextSpontaneousChange, deadline)
          if delay == 60_000, quietUntil > clock.nowMilliseconds {
            let skipped = (quietUntil - clock.nowMilliseconds) / 60_000
            if skipped > 1 {
              clock.sleep(milliseconds: (skipped - 1) * 60_000)
              polls += skipped - 1
              pause = min(delay, timeout - (clock.nowMilliseconds - start))
            }
          }
          // In slices, so Ctrl-C stops a live wait within a second and the progress line moves.
          var slept = 0
          while slept < pause {
            let slice = min(1_000, pause - slept)
            clock.sleep(milliseconds: slice)
            slept += slice
            try log.monitor.checkCancelled()
            tell()
          }
          delay = min(delay * 2, 60_000)
        }
      },

      builtin("get_acl", [BuiltinParameter("account", .any), BuiltinParameter("path", .string, default: .value(.string(""))), containerParam],
              returns: .map, result: .acl, category: cat, effect: .reads,
              doc: "The owner, owning group, permissions and ACL of a path (\"\" is the container root).") { args, _ in
        let acct = try account(args, "account")
        let container = try args.string("container")
        let path = try args.folderPath("path")
        let ac = try hnsHint { () throws in
          try services.dataLake.getAccessControl(account: acct.name, filesystem: container, path: path)
        }
        return aclRecord(path: path, ac.acl, owner: ac.owner, group: ac.group, isDirectory: ac.isDirectory)
      },

      builtin("set_acl",
              [BuiltinParameter("account", .any), BuiltinParameter("path", .string, default: .value(.string(""))),
               BuiltinParameter("entries", .any), containerParam, widenOthersParam],
              returns: .map, result: .acl, category: cat, effect: .changes,
              doc: "Merges ACL entries (access and default) into a path's ACL, keeping the others; widens a restrictive mask for them but lowers other masked entries so their effective permissions stay as they were (unless `widen_others`).") { args, log in
        let acct = try account(args, "account")
        let container = try args.string("container")
        let path = try args.folderPath("path")
        let requested = try args.aclEntries("entries")
        let widen = try args.bool("widen_others")
        let lake = services.dataLake
        let current = try hnsHint { () throws in
          try lake.getAccessControl(account: acct.name, filesystem: container, path: path)
        }
        if !current.isDirectory && requested.hasDefault {
          throw valueError("\(aclAddress(acct.name, container, path)) is a file; files have no default ACL", code: "invalid_acl")
        }
        let merged = current.acl.merging(requested, widenOthers: widen)
        if merged != current.acl {
          try hnsHint { () throws in
            try lake.setAccessControl(account: acct.name, filesystem: container, path: path, acl: merged)
          }
          let plainMerge = current.acl.merging(requested)
          var attrs: [PlannedChange.Attribute] = []
          for e in merged.canonicalEntries {
            let old = current.acl.entry(e.key)?.permissions
            if old != e.permissions {
              var comment = principalName(e.key)
              if plainMerge.entry(e.key)?.permissions != e.permissions, let kept = e.permissions {
                comment = (comment.map { $0 + "; " } ?? "") + "lowered to keep its effective \(kept.text)"
              }
              attrs.append(.init(Domain.entryLabel(e.key), old: old.map { Value.quote($0.text) },
                                 new: e.permissions.map { Value.quote($0.text) }, comment: comment))
            }
          }
          attrs += effectiveAttributes(current.acl.effectiveChanges(to: merged).map { ($0, 1) }, itemCounts: false)
          log.add(PlannedChange(.update, "acl", aclAddress(acct.name, container, path), attrs))
        }
        return aclRecord(path: path, merged, owner: current.owner, group: current.group, isDirectory: current.isDirectory)
      },

      builtin("set_acl_recursive",
              [BuiltinParameter("account", .any), BuiltinParameter("path", .string, default: .value(.string(""))),
               BuiltinParameter("entries", .any), containerParam,
               BuiltinParameter("continue_on_failure", .bool, default: .value(.bool(true))), widenOthersParam,
               BuiltinParameter("concurrency", .int, default: .value(.int(16)))],
              returns: .map, result: .recursiveACLResult, category: cat, effect: .changes,
              doc: "Merges ACL entries into a path and everything under it: reads every item's ACL first and changes only the items that need it (exactly, with other masked entries keeping their effective permissions unless `widen_others`), up to `concurrency` requests at once live. Returns {directories_successful, files_successful, failure_count, failed_entries, changed (items whose ACL changed), checked, pages, single_writes}.") { args, log in
        let acct = try account(args, "account")
        let container = try args.string("container")
        let path = try args.folderPath("path")
        let requested = try args.aclEntries("entries")
        let force = try args.bool("continue_on_failure")
        let widen = try args.bool("widen_others")
        let concurrency = try args.int("concurrency")
        guard concurrency >= 1 else { throw valueError("`concurrency` must be at least 1, not \(concurrency)") }
        let update = RecursiveACLUpdate(
          lake: services.dataLake, account: acct.name, filesystem: container, request: requested, widenOthers: widen,
          continueOnFailure: force, width: min(concurrency, services.dataLake.maxConcurrentRequests),
          monitor: log.monitor)
        func report(_ t: RecursiveACLTally) {
          if t.changed > 0 {
            var attrs: [PlannedChange.Attribute] = [
              .init("entries", new: Value.quote(requested.text)), .init("items_changed", new: String(t.changed)),
            ]
            for (l, n) in t.lowered {
              let comment = (principalName(l.key).map { $0 + "; " } ?? "")
                + "lowered to keep its effective \(l.kept?.text ?? "---"), \(n) item\(n == 1 ? "" : "s")"
              attrs.append(.init(Domain.entryLabel(l.key), old: l.stored.map { Value.quote($0.text) },
                                 new: l.kept.map { Value.quote($0.text) }, comment: comment))
            }
            attrs += effectiveAttributes(t.effective, itemCounts: true)
            log.add(PlannedChange(.update, "acl_recursive", aclAddress(acct.name, container, path), attrs))
          }
          if t.failureCount > 0 {
            let names = t.failedEntries.prefix(10).map(\.name).joined(separator: ", ")
            log.note("Unable to set ACL on the following files/folders: \(names)\(t.failedEntries.count > 10 ? ", …" : "")")
          }
        }
        let tally: RecursiveACLTally
        do {
          tally = try hnsHint { () throws in try update.run(path: path) }
        } catch let partial as PartialRecursiveACLError {
          report(partial.tally)
          try hnsHint { () throws in throw partial.error }
          throw partial.error
        }
        report(tally)
        return .record(fields: [
          ("directories_successful", .int(tally.directoriesSuccessful)), ("files_successful", .int(tally.filesSuccessful)),
          ("failure_count", .int(tally.failureCount)),
          ("failed_entries", .list(tally.failedEntries.map { f in
            .record(fields: [("name", .string(f.name)), ("type", .string(f.type)), ("error_message", .string(f.errorMessage))])
          })),
          ("changed", .int(tally.changed)), ("checked", .int(tally.checked)), ("pages", .int(tally.pages)),
          ("single_writes", .int(tally.singleWrites)),
        ])
      },

      builtin("permission_identifier",
              [BuiltinParameter("account", .any), BuiltinParameter("reader", .any), BuiltinParameter("contributor", .any),
               BuiltinParameter("path", .string, default: .value(.string(""))), containerParam],
              returns: .string, category: cat, effect: .pure,
              doc: "The permissions identifier: https://{account}.dfs.core.windows.net/{container}[/{path}]?cg={contributor}&rg={reader}.") { args, _ in
        let name = try accountName(args, "account")
        let reader = try args.objectID("reader")
        let contributor = try args.objectID("contributor")
        let path = try args.folderPath("path")
        let container = try args.string("container")
        try validateContainerName(container)
        return .string(
          "https://\(name).dfs.core.windows.net/\(container)\(path.isEmpty ? "" : "/" + path)?cg=\(contributor)&rg=\(reader)")
      },

      builtin("parse_permission_identifier", [BuiltinParameter("identifier", .string)], returns: .map, result: .permissionIdentifier, category: cat,
              effect: .pure,
              doc: "Parses a permissions identifier (script or documentation form, parameters by name): {account, container, path, reader, contributor}.") { args, _ in
        try parsePermissionIdentifier(try args.string("identifier"))
      },
    ]
  }

  func aclRecord(path: String, _ acl: AccessControlList, owner: String, group: String, isDirectory: Bool) -> Value {
    .record(fields: [
      ("kind", .string("acl")), ("path", .string(path)), ("owner", .string(owner)), ("group", .string(group)),
      ("permissions", .string(acl.permissionsString)), ("acl", .string(acl.text)),
      ("entries", .list(acl.canonicalEntries.map { .string($0.text) })), ("is_directory", .bool(isDirectory)),
    ])
  }
}

/// Parses `https://{account}[.dfs.core.windows.net]/{container}[/{path}]?cg=…&rg=…`
/// (query parameters by name, in either order).
func parsePermissionIdentifier(_ text: String) throws -> Value {
  func bad(_ why: String) -> RuntimeError {
    RuntimeError("invalid permissions identifier \(Value.quote(text)): \(why)", code: "invalid_identifier")
  }
  guard text.hasPrefix("https://") else { throw bad("it must start with https://") }
  let rest = text.dropFirst("https://".count)
  let (location, query) = { () -> (Substring, Substring) in
    if let q = rest.firstIndex(of: "?") { return (rest[..<q], rest[rest.index(after: q)...]) }
    return (rest, "")
  }()
  let segments = location.split(separator: "/", omittingEmptySubsequences: true)
  guard segments.count >= 2 else { throw bad("expected https://<account>/<container>") }
  let host = String(segments[0])
  let account = String(host.split(separator: ".").first ?? "")
  let form: String
  if host == account {
    form = "documentation"
  } else if host.lowercased() == "\(account.lowercased()).dfs.core.windows.net" {
    form = "script"
  } else {
    throw bad("the host must be <account> or <account>.dfs.core.windows.net, not \(host)")
  }
  var params: [String: String] = [:]
  for pair in query.split(separator: "&") {
    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    let key = String(kv[0]).lowercased()
    guard params[key] == nil else { throw bad("`\(key)` is given twice") }
    params[key] = kv.count > 1 ? String(kv[1]) : ""
  }
  guard let rg = params["rg"] else { throw bad("the reader group parameter `rg` is missing") }
  guard let cg = params["cg"] else { throw bad("the contributor group parameter `cg` is missing") }
  guard StableID.isGUID(rg) else { throw bad("`rg` (reader group id) is not a GUID: \(rg)") }
  guard StableID.isGUID(cg) else { throw bad("`cg` (contributor group id) is not a GUID: \(cg)") }
  return .record(fields: [
    ("account", .string(account)), ("host", .string(host)), ("container", .string(String(segments[1]))),
    ("path", .string(segments.dropFirst(2).joined(separator: "/"))), ("reader", .string(rg.lowercased())),
    ("contributor", .string(cg.lowercased())), ("form", .string(form)),
  ])
}
