import RunbookRuntime

/// The changes and notes one built-in call collects while it runs, and its
/// line to the run: progress to tell, and whether the run asks it to stop.
final class ChangeLog {
  var changes: [PlannedChange] = []
  var notes: [String] = []
  let monitor: CallMonitor
  init(monitor: CallMonitor) { self.monitor = monitor }
  func add(_ c: PlannedChange) { changes.append(c) }
  func note(_ s: String) { notes.append(s) }
}

/// What a long built-in tells while it runs (from any of its threads) and
/// how it learns that the run was interrupted (Ctrl-C): it then stops
/// starting work, lets what is in flight finish, and throws `interrupted`.
final class CallMonitor: Sendable {
  private let report: @Sendable (String, [(String, Int)]) -> Void
  private let cancelled: @Sendable () -> Bool
  private let lock = LockedBox(())

  init(report: @escaping @Sendable (String, [(String, Int)]) -> Void, cancelled: @escaping @Sendable () -> Bool) {
    self.report = report; self.cancelled = cancelled
  }

  /// A monitor that tells nobody and is never interrupted.
  static let silent = CallMonitor(report: { _, _ in }, cancelled: { false })

  var isCancelled: Bool { cancelled() }

  /// Reports are serialized: concurrent branches of one call take turns.
  func progress(_ message: String, _ counters: [(String, Int)]) {
    lock.withLock { _ in report(message, counters) }
  }

  /// Throws `interrupted` when the run was asked to stop.
  func checkCancelled() throws {
    if cancelled() { throw RuntimeError("interrupted", code: "interrupted") }
  }
}

/// What domain built-ins share: the services, the plan recorder, and who to
/// tell about a secret's text a service is given (a live run's redactor).
struct Domain: Sendable {
  let services: ServiceSet
  let recorder: PlanRecorder
  let sensitive: (@Sendable (String) -> Void)?

  typealias Body = @Sendable (Arguments, ChangeLog) throws -> Value

  /// Wraps a built-in body so its result (ok / changed / failed, with
  /// changes) is recorded and service errors surface as runtime errors.
  /// The body gets secrets' real text (`Arguments.string`); that text is
  /// shown as `(sensitive)` in what is recorded and thrown, and strings of
  /// the result holding it are secrets.
  func builtin(
    _ name: String, _ parameters: [BuiltinParameter], returns: ValueType, result: Shape? = nil, category: String,
    effect: BuiltinEffect, doc: String, _ body: @escaping Body
  ) -> Builtin {
    let recorder = self.recorder, sensitive = self.sensitive
    let shape = result ?? .type(returns)
    return Builtin(name, parameters, returns: returns, result: result, category: category, effect: effect, doc: doc) { args, context in
      let secrets = (args.values + args.rest).flatMap(\.secretTexts)
      secrets.forEach { sensitive?($0) }
      func record(_ r: CallRecord) {
        var r = r
        if r.status == .failed { r.errorAt = SourcePoint(context.range) }
        recorder.record(secrets.isEmpty ? r : r.scrubbed(secrets))
      }
      let interpreter = context.interpreter
      let log = ChangeLog(monitor: CallMonitor(
        report: { message, counters in
          recorder.progress(builtin: name, message: Secret.scrub(message, secrets), counters: counters)
        },
        cancelled: { interpreter.isCancellationRequested }))
      do {
        let value = try body(args, log)
        assert(shape.describes(value), "\(name) returned \(value.repr), which does not match its declared \(shape.description)")
        if effect != .pure {
          record(CallRecord(
            builtin: name, arguments: describe(args), argumentValues: argumentValues(args), status: log.changes.isEmpty ? .ok : .changed,
            changes: log.changes, notes: log.notes))
        }
        return secrets.isEmpty ? value : value.markingSecrets(secrets)
      } catch let error as ServiceError {
        record(CallRecord(
          builtin: name, arguments: describe(args), argumentValues: argumentValues(args), status: .failed, changes: log.changes, errorCode: error.code,
          errorMessage: error.message, notes: log.notes))
        var e = error.runtimeError
        e.message = Secret.scrub(e.message, secrets)
        e.details = e.details.markingSecrets(secrets)
        throw e
      } catch var error as RuntimeError {
        if effect != .pure {
          record(CallRecord(
            builtin: name, arguments: describe(args), argumentValues: argumentValues(args), status: .failed, changes: log.changes, errorCode: error.code,
            errorMessage: error.message, notes: log.notes))
        }
        if error.range == nil, error.code == "error" { error.code = "failed" }
        error.message = Secret.scrub(error.message, secrets)
        error.details = error.details.markingSecrets(secrets)
        throw error
      }
    }
  }
}

extension CallRecord {
  /// The record with the `secrets`' texts shown as `(sensitive)`.
  func scrubbed(_ secrets: [String]) -> CallRecord {
    func scrub(_ s: String?) -> String? { s.map { Secret.scrub($0, secrets) } }
    var r = self
    r.arguments = Secret.scrub(arguments, secrets)
    r.argumentValues = argumentValues.mappingStrings { Secret.scrub($0, secrets) }
    r.errorMessage = scrub(errorMessage)
    r.notes = notes.map { Secret.scrub($0, secrets) }
    r.changes = changes.map { c in
      var c = c
      c.name = Secret.scrub(c.name, secrets)
      c.attributes = c.attributes.map { a in
        PlannedChange.Attribute(a.name, old: scrub(a.old), new: scrub(a.new), comment: scrub(a.comment))
      }
      return c
    }
    return r
  }
}

/// Summarises a call's arguments for the plan: records by kind and name.
func describe(_ args: Arguments) -> String {
  var parts: [String] = []
  for (i, p) in args.builtin.parameters.enumerated() where i < args.values.count {
    let v = args.values[i]
    if case .null = v { continue }
    if case .value(let d) = p.defaultValue, d == v { continue }
    parts.append("\(p.name): \(summarize(v))")
  }
  return parts.joined(separator: ", ")
}

/// The arguments `describe` shows, as JSON values by label; a service
/// object (a record with a `kind`) by its identity: `{kind, id, name, …}`.
func argumentValues(_ args: Arguments) -> JSON {
  func reference(_ v: Value) -> JSON {
    guard case .map(let m) = v, m["kind"]?.asString != nil else { return JSON(v) }
    let identity = ["kind", "id", "name", "display_name", "app_id", "user_principal_name", "url"]
    return .object(identity.compactMap { key in m[key].map { (key, JSON($0)) } })
  }
  var fields: [(String, JSON)] = []
  for (i, p) in args.builtin.parameters.enumerated() where i < args.values.count {
    let v = args.values[i]
    if case .null = v { continue }
    if case .value(let d) = p.defaultValue, d == v { continue }
    if case .list(let l) = v {
      fields.append((p.name, .array(l.items.map(reference))))
    } else {
      fields.append((p.name, reference(v)))
    }
  }
  return .object(fields)
}

func summarize(_ v: Value) -> String {
  switch v {
  case .map(let m):
    let kind = m["kind"]?.asString
    if let kind, let n = (m["display_name"] ?? m["name"] ?? m["id"])?.asString { return "<\(kind) \(Value.quote(n))>" }
    return "{\(m.count) fields}"
  case .list(let l):
    if l.items.count <= 4, l.items.allSatisfy({ $0.asString != nil }) { return v.repr }
    return "[\(l.items.count) items]"
  case .string(let s) where s.count > 72: return Value.quote(String(s.prefix(69)) + "...")
  default: return v.repr
  }
}

// MARK: - Argument validation

func valueError(_ message: String, code: String = "value_error") -> RuntimeError { RuntimeError(message, code: code) }

extension Arguments {
  /// A GUID argument, lower-cased.
  func guid(_ name: String) throws -> String {
    let s = try string(name)
    guard StableID.isGUID(s) else {
      throw valueError("argument `\(name)` of `\(builtin.name)` must be a GUID like 00000000-0000-0000-0000-000000000000, not \(Value.quote(s))", code: "invalid_guid")
    }
    return s.lowercased()
  }

  func nonEmptyString(_ name: String) throws -> String {
    let s = try string(name)
    guard !s.isEmpty else { throw valueError("argument `\(name)` of `\(builtin.name)` must not be empty") }
    return s
  }

  /// An id from a GUID string or a record with an `id` field.
  func objectID(_ name: String) throws -> String {
    let v = self[name]
    if case .string = v { return try guid(name) }
    if case .map(let m) = v, let id = m["id"]?.asString, StableID.isGUID(id) { return id.lowercased() }
    throw typeError(name, expected: "a GUID or a record with an `id` (a user, group or service principal)", got: v)
  }

  /// A role definition by name (`Storage Blob Data Owner`) or GUID.
  func role(_ name: String) throws -> RoleDefinition {
    let s = try string(name)
    if let r = RoleDefinition.named(s) ?? (StableID.isGUID(s) ? RoleDefinition.withID(s) : nil) { return r }
    let known = RoleDefinition.builtIn.map { Value.quote($0.name) }.joined(separator: ", ")
    throw valueError("unknown role \(Value.quote(s)); known roles: \(known)", code: "unknown_role")
  }

  /// ACL entries from a list of strings or one comma-separated string.
  func aclEntries(_ name: String) throws -> AccessControlList {
    let v = self[name]
    let text: String
    switch v {
    case .string(let s): text = s
    case .list(let l):
      text = try l.items.map { item -> String in
        guard let s = item.asString else { throw typeError(name, expected: "a list of ACL entry strings", got: item) }
        return s
      }.joined(separator: ",")
    default: throw typeError(name, expected: "a list of ACL entries like \"group:<id>:r-x\"", got: v)
    }
    do {
      return try AccessControlList(parsing: text)
    } catch {
      throw valueError("argument `\(name)` of `\(builtin.name)`: \(error.description)", code: "invalid_acl")
    }
  }

  /// A folder path under the container: `a/b`, no leading or trailing slash, no `..`.
  func folderPath(_ name: String) throws -> String {
    let s = try string(name)
    let trimmed = s.split(separator: "/", omittingEmptySubsequences: true)
    for seg in trimmed where seg == "." || seg == ".." {
      throw valueError("argument `\(name)` of `\(builtin.name)` must not contain `.` or `..` segments: \(Value.quote(s))")
    }
    return trimmed.joined(separator: "/")
  }
}

/// A Power Platform-style container name: 3–63 lower-case letters, digits, single hyphens.
func validateContainerName(_ s: String) throws {
  let ok = (3...63).contains(s.count)
    && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    && !s.hasPrefix("-") && !s.hasSuffix("-") && !s.contains("--")
  if !ok {
    throw valueError(
      "invalid container name \(Value.quote(s)): use 3-63 lower-case letters, digits and single hyphens",
      code: "invalid_name")
  }
}

func validateAccountName(_ s: String) throws {
  let ok = (3...24).contains(s.count) && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
  if !ok {
    throw valueError(
      "invalid storage account name \(Value.quote(s)): use 3-24 lower-case letters and digits", code: "invalid_name")
  }
}

// MARK: - Records

extension DirectoryUser {
  var record: Value {
    .record(fields: [
      ("kind", .string("user")), ("id", .string(id)), ("display_name", .string(displayName)),
      ("user_principal_name", .string(userPrincipalName)),
    ])
  }
}

extension ServicePrincipal {
  var record: Value {
    .record(fields: [
      ("kind", .string("service_principal")), ("id", .string(id)), ("display_name", .string(displayName)),
      ("app_id", .string(appId)),
    ])
  }
}

extension DirectoryGroup {
  var record: Value {
    .record(fields: [
      ("kind", .string("group")), ("id", .string(id)), ("display_name", .string(displayName)),
      ("mail_nickname", .string(mailNickname)), ("security_enabled", .bool(securityEnabled)),
      ("description", .optionalString(description)),
    ])
  }
}

extension DirectoryObject {
  var record: Value {
    let kind: String
    switch type {
    case .user: kind = "user"
    case .group: kind = "group"
    case .servicePrincipal: kind = "service_principal"
    case .foreignGroup: kind = "foreign_group"
    case .device: kind = "device"
    }
    return .record(fields: [("kind", .string(kind)), ("id", .string(id)), ("display_name", .string(displayName))])
  }
}

extension StorageAccount {
  var record: Value {
    .record(fields: [
      ("kind", .string("storage_account")), ("name", .string(name)), ("id", .string(id)), ("scope", .string(id)),
      ("subscription_id", .string(subscriptionID)), ("resource_group", .string(resourceGroup)),
      ("location", .string(location)), ("account_kind", .string(kind)), ("is_hns_enabled", .bool(isHnsEnabled)),
      ("private_endpoint_only", .bool(privateEndpointOnly)), ("blob_soft_delete", .bool(blobSoftDelete)),
      ("blob_storage_events", .bool(blobStorageEvents)), ("dfs_endpoint", .string(dfsEndpoint)),
    ])
  }
}

extension RoleAssignment {
  var record: Value {
    .record(fields: [
      ("kind", .string("role_assignment")), ("id", .string(id)), ("name", .string(name)), ("scope", .string(scope)),
      ("role", .optionalString(RoleDefinition.withID(roleGUID)?.name)), ("role_definition_id", .string(roleDefinitionID)),
      ("principal_id", .string(principalID)), ("principal_type", .string(principalType.rawValue)),
    ])
  }
}

extension DataverseEnvironment {
  var record: Value {
    .record(fields: [
      ("kind", .string("dataverse_environment")), ("id", .string(id)), ("name", .string(name)), ("url", .string(url)),
      ("region", .string(region)), ("organization_id", .string(organizationID)),
      ("linked_storage_account", .optionalString(linkedStorageAccount)),
      ("attached_customer_insights", .optionalString(attachedCustomerInsights)),
    ])
  }
}

extension CIEnvironment {
  var record: Value {
    .record(fields: [
      ("kind", .string("ci_environment")), ("id", .string(id)), ("name", .string(name)), ("region", .string(region)),
      ("profile_count", .int(profileCount)), ("account_count", .int(accountCount)), ("is_b2b", .bool(isB2B)),
      ("dataverse_environment_id", .optionalString(dataverseEnvironmentID)),
      ("permission_identifier", .optionalString(permissionIdentifier)),
    ])
  }
}

extension Solution {
  var record: Value {
    .record(fields: [
      ("kind", .string("solution")), ("id", .string(id)), ("name", .string(uniqueName)),
      ("unique_name", .string(uniqueName)), ("friendly_name", .string(friendlyName)), ("version", .string(version)),
      ("is_managed", .bool(isManaged)), ("publisher", .string(publisher)),
    ])
  }
}

extension SolutionDependency {
  static func componentTypeName(_ t: Int) -> String {
    switch t {
    case 1: return "Entity"
    case 2: return "Attribute"
    case 24: return "Form"
    case 26: return "Saved Query"
    case 29: return "Workflow"
    case 60: return "System Form"
    case 61: return "Web Resource"
    case 62: return "Site Map"
    case 90: return "Plugin Type"
    case 91: return "Plugin Assembly"
    case 92: return "SDK Message Processing Step"
    case 300: return "Canvas App"
    case 380: return "Environment Variable Definition"
    case 381: return "Environment Variable Value"
    default: return "Component type \(t)"
    }
  }
  /// `Form "Contact card" (CustomerInsightsCustomerCard) requires Entity "msdynci_customerprofile"`.
  var sentence: String {
    "\(Self.componentTypeName(dependentComponentType)) \(Value.quote(dependentComponentName)) in solution "
      + "\(dependentSolution) requires \(Self.componentTypeName(requiredComponentType)) "
      + "\(Value.quote(requiredComponentName)) of \(requiredSolution)"
  }
  var record: Value {
    .record(fields: [
      ("kind", .string("dependency")), ("id", .string(id)), ("dependency_type", .int(dependencyType)),
      ("required_component_type", .string(Self.componentTypeName(requiredComponentType))),
      ("required_component", .string(requiredComponentName)), ("required_solution", .string(requiredSolution)),
      ("dependent_component_type", .string(Self.componentTypeName(dependentComponentType))),
      ("dependent_component", .string(dependentComponentName)), ("dependent_solution", .string(dependentSolution)),
      ("description", .string(sentence)),
    ])
  }
}

extension Row {
  func record(table: String) -> Value {
    var fields: [(String, Value)] = [("kind", .string("row")), ("table", .string(table)), ("id", .string(id)),
                                     ("etag", .string(etag))]
    for k in columns.keys.sorted() { fields.append((k, columns[k]!.value)) }
    return .record(fields: fields)
  }
}
