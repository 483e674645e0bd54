import Foundation
import RunbookRuntime

/// One change a built-in asks a service to make, described by what must be
/// the same for a plan and its apply: the operation and its arguments
/// (derived values such as a role assignment's GUID and paging tokens left out).
public struct ServiceWrite: Sendable, Equatable {
  public var op: String
  /// What it changes, for messages (`group "contoso-Dataverse-readers"`).
  public var target: String
  public var args: [String: WireJSON]

  public init(op: String, target: String, args: [String: WireJSON]) {
    self.op = op; self.target = target; self.args = args
  }

  /// The arguments as one canonical text (object keys sorted).
  public var argsText: String { WireJSON.object(args).text }
  public var json: WireJSON { ["op": .string(op), "target": .string(target), "args": .object(args)] }
  public init?(json j: WireJSON) {
    guard let op = j["op"]?.string, let target = j["target"]?.string, case .object(let args)? = j["args"] else { return nil }
    self.init(op: op, target: target, args: args)
  }
}

/// Sees every change before it is made (and may refuse it) and after.
public protocol WriteGate: AnyObject, Sendable {
  /// Throws to stop the change before anything is sent.
  func willWrite(_ write: ServiceWrite) throws(ServiceError)
  /// The change was made; `createdID` is the id of an object it created.
  func didWrite(_ write: ServiceWrite, createdID: String?)
  /// Whether changes may pass it from several threads at once (a recursive
  /// ACL update keeps several requests in flight only then).
  var allowsConcurrentWrites: Bool { get }
}

extension WriteGate {
  public var allowsConcurrentWrites: Bool { false }
}

/// Wraps services so every change passes a gate: a plan records the changes
/// through it, an apply checks each one against its plan. Reads pass through.
public final class GatedServices: DirectoryService, RoleAssignmentService, DataLakeService, DataverseService,
  CustomerInsightsService
{
  let inner: ServiceSet
  let gate: any WriteGate

  public init(_ inner: ServiceSet, gate: any WriteGate) { self.inner = inner; self.gate = gate }

  public var services: ServiceSet {
    ServiceSet(directory: self, roles: self, dataLake: self, dataverse: self, customerInsights: self, clock: inner.clock)
  }

  func write<T>(_ op: String, _ target: String, _ args: [String: WireJSON], createdID: (T) -> String? = { _ in nil },
                _ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
    let w = ServiceWrite(op: op, target: target, args: args)
    try gate.willWrite(w)
    let value = try body()
    gate.didWrite(w, createdID: createdID(value))
    return value
  }

  // MARK: Directory

  public func signedInUser() throws(ServiceError) -> DirectoryUser { try inner.directory.signedInUser() }
  public func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? {
    try inner.directory.servicePrincipal(appID: appID)
  }
  public func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
    try write("createServicePrincipal", "service_principal \(Value.quote(displayName))",
              ["appId": .string(appID.lowercased()), "displayName": .string(displayName)], createdID: { $0.id }) {
      () throws(ServiceError) in try inner.directory.createServicePrincipal(appID: appID, displayName: displayName)
    }
  }
  public func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
    try inner.directory.groups(displayName: displayName)
  }
  public func group(id: String) throws(ServiceError) -> DirectoryGroup? { try inner.directory.group(id: id) }
  public func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  {
    try write("createGroup", "group \(Value.quote(displayName))",
              ["displayName": .string(displayName), "mailNickname": .string(mailNickname), "description": WireJSON(description),
               "owners": .array(owners.map { .string($0.lowercased()) })], createdID: { $0.id }) { () throws(ServiceError) in
      try inner.directory.createGroup(displayName: displayName, mailNickname: mailNickname, description: description,
                                      owners: owners)
    }
  }
  public func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.directory.owners(groupID: groupID) }
  public func members(groupID: String) throws(ServiceError) -> [DirectoryObject] { try inner.directory.members(groupID: groupID) }
  public func addOwner(groupID: String, objectID: String) throws(ServiceError) {
    try write("addOwner", "owner \(objectID) of group \(groupID)",
              ["group": .string(groupID.lowercased()), "object": .string(objectID.lowercased())]) { () throws(ServiceError) in
      try inner.directory.addOwner(groupID: groupID, objectID: objectID)
    }
  }
  public func addMember(groupID: String, objectID: String) throws(ServiceError) {
    try write("addMember", "member \(objectID) of group \(groupID)",
              ["group": .string(groupID.lowercased()), "object": .string(objectID.lowercased())]) { () throws(ServiceError) in
      try inner.directory.addMember(groupID: groupID, objectID: objectID)
    }
  }
  public func object(id: String) throws(ServiceError) -> DirectoryObject? { try inner.directory.object(id: id) }
  public func securityGroupCreationAllowed() throws(ServiceError) -> Bool { try inner.directory.securityGroupCreationAllowed() }

  // MARK: Roles

  public func roleAssignments(scope: String, principalID: String) throws(ServiceError) -> [RoleAssignment] {
    try inner.roles.roleAssignments(scope: scope, principalID: principalID)
  }
  public func createRoleAssignment(_ a: RoleAssignment) throws(ServiceError) -> (RoleAssignment, created: Bool) {
    // The assignment GUID derives from the principal id, which a plan may
    // only have simulated: it is left out of the comparison.
    let role = RoleDefinition.withID(a.roleDefinitionID)?.name ?? a.roleGUID
    return try write("createRoleAssignment", "role_assignment \(Value.quote(role)) for \(a.principalID) at \(a.scope)",
                     ["scope": .string(a.scope.lowercased()), "roleDefinitionId": .string(a.roleDefinitionID.lowercased()),
                      "principalId": .string(a.principalID.lowercased()), "principalType": .string(a.principalType.rawValue)]) {
      () throws(ServiceError) in try inner.roles.createRoleAssignment(a)
    }
  }

  // MARK: Data lake

  /// Concurrent only when the gate takes changes from several threads (an
  /// apply's guard does; a plan's recorder keeps its order).
  public var maxConcurrentRequests: Int { gate.allowsConcurrentWrites ? inner.dataLake.maxConcurrentRequests : 1 }

  public func storageAccount(subscriptionID: String, resourceGroup: String, name: String) throws(ServiceError) -> StorageAccount {
    try inner.dataLake.storageAccount(subscriptionID: subscriptionID, resourceGroup: resourceGroup, name: name)
  }
  public func storageAccount(name: String) throws(ServiceError) -> StorageAccount? { try inner.dataLake.storageAccount(name: name) }
  public func filesystemExists(account: String, filesystem: String) throws(ServiceError) -> Bool {
    try inner.dataLake.filesystemExists(account: account, filesystem: filesystem)
  }
  public func createFilesystem(account: String, filesystem: String) throws(ServiceError) {
    try write("createFilesystem", "container \(account)/\(filesystem)",
              ["account": .string(account), "filesystem": .string(filesystem)]) { () throws(ServiceError) in
      try inner.dataLake.createFilesystem(account: account, filesystem: filesystem)
    }
  }
  public func pathIsDirectory(account: String, filesystem: String, path: String) throws(ServiceError) -> Bool? {
    try inner.dataLake.pathIsDirectory(account: account, filesystem: filesystem, path: path)
  }
  public func createDirectory(account: String, filesystem: String, path: String) throws(ServiceError) {
    try write("createDirectory", "directory \(account)/\(filesystem)/\(path)",
              ["account": .string(account), "filesystem": .string(filesystem), "path": .string(path)]) { () throws(ServiceError) in
      try inner.dataLake.createDirectory(account: account, filesystem: filesystem, path: path)
    }
  }
  public func getAccessControl(account: String, filesystem: String, path: String) throws(ServiceError) -> PathAccessControl {
    try inner.dataLake.getAccessControl(account: account, filesystem: filesystem, path: path)
  }
  // The one-request reads pass through as such (the protocol's defaults would send `getStatus` too).
  public func accessControlList(account: String, filesystem: String, path: String) throws(ServiceError) -> AccessControlList {
    try inner.dataLake.accessControlList(account: account, filesystem: filesystem, path: path)
  }
  public func accessControl(account: String, filesystem: String, path: String, isDirectory: Bool) throws(ServiceError)
    -> PathAccessControl
  {
    try inner.dataLake.accessControl(account: account, filesystem: filesystem, path: path, isDirectory: isDirectory)
  }
  public func listPaths(account: String, filesystem: String, directory: String, recursive: Bool, continuation: String?,
                        maxResults: Int?) throws(ServiceError) -> PathListPage {
    try inner.dataLake.listPaths(account: account, filesystem: filesystem, directory: directory, recursive: recursive,
                                 continuation: continuation, maxResults: maxResults)
  }
  public func setAccessControl(account: String, filesystem: String, path: String, acl: AccessControlList) throws(ServiceError) {
    try write("setAccessControl", "acl \(account)/\(filesystem)\(path.isEmpty ? "" : "/" + path)",
              ["account": .string(account), "filesystem": .string(filesystem), "path": .string(path),
               "acl": .string(acl.text.lowercased())]) { () throws(ServiceError) in
      try inner.dataLake.setAccessControl(account: account, filesystem: filesystem, path: path, acl: acl)
    }
  }
  public func setAccessControlRecursive(
    account: String, filesystem: String, path: String, mode: ACLRecursiveMode, acl: AccessControlList,
    continuation: String?, maxRecords: Int?, forceFlag: Bool
  ) throws(ServiceError) -> ACLRecursivePage {
    // One recursive change is one planned change: its first page is checked;
    // the pages that continue it (the service decides how many) belong to it.
    guard continuation == nil else {
      return try inner.dataLake.setAccessControlRecursive(
        account: account, filesystem: filesystem, path: path, mode: mode, acl: acl, continuation: continuation,
        maxRecords: maxRecords, forceFlag: forceFlag)
    }
    return try write("setAccessControlRecursive", "acl_recursive \(account)/\(filesystem)\(path.isEmpty ? "" : "/" + path)",
                     ["account": .string(account), "filesystem": .string(filesystem), "path": .string(path),
                      "mode": .string(mode.rawValue), "acl": .string(acl.text.lowercased()), "forceFlag": .bool(forceFlag)]) {
      () throws(ServiceError) in
      try inner.dataLake.setAccessControlRecursive(
        account: account, filesystem: filesystem, path: path, mode: mode, acl: acl, continuation: nil,
        maxRecords: maxRecords, forceFlag: forceFlag)
    }
  }

  // MARK: Dataverse

  public func environments() throws(ServiceError) -> [DataverseEnvironment] { try inner.dataverse.environments() }
  public func solutions(environmentID: String) throws(ServiceError) -> [Solution] {
    try inner.dataverse.solutions(environmentID: environmentID)
  }
  public func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency] {
    try inner.dataverse.dependenciesForUninstall(environmentID: environmentID, solution: solution)
  }
  public func uninstallSolution(environmentID: String, solution: String) throws(ServiceError) {
    try write("uninstallSolution", "solution \(solution)",
              ["environment": .string(environmentID.lowercased()), "solution": .string(solution)]) { () throws(ServiceError) in
      try inner.dataverse.uninstallSolution(environmentID: environmentID, solution: solution)
    }
  }
  public func rows(environmentID: String, table: String) throws(ServiceError) -> [Row] {
    try inner.dataverse.rows(environmentID: environmentID, table: table)
  }
  public func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
  {
    try write("updateRow", "row \(table)(\(id))",
              ["environment": .string(environmentID.lowercased()), "table": .string(table), "id": .string(id.lowercased()),
               "values": .object(values.mapValues(WireJSON.init)), "ifMatch": WireJSON(ifMatch)]) { () throws(ServiceError) in
      try inner.dataverse.updateRow(environmentID: environmentID, table: table, id: id, values: values, ifMatch: ifMatch)
    }
  }

  // MARK: Customer Insights

  public func ciEnvironments() throws(ServiceError) -> [CIEnvironment] { try inner.customerInsights.ciEnvironments() }
  public func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
                     permissionIdentifier: String?) throws(ServiceError) {
    try write("attach", "customer_insights \(ciEnvironmentID) to dataverse \(dataverseEnvironmentID)",
              ["ci": .string(ciEnvironmentID.lowercased()), "dataverse": .string(dataverseEnvironmentID.lowercased()),
               "storageAccount": WireJSON(storageAccountID?.lowercased()), "permissionIdentifier": WireJSON(permissionIdentifier?.lowercased())]) {
      () throws(ServiceError) in
      try inner.customerInsights.attach(ciEnvironmentID: ciEnvironmentID, dataverseEnvironmentID: dataverseEnvironmentID,
                                        storageAccountID: storageAccountID, permissionIdentifier: permissionIdentifier)
    }
  }
}

/// Records the changes a plan makes, with the ids of what they create.
public final class PlannedWrites: WriteGate, @unchecked Sendable {
  public struct Entry: Sendable, Equatable {
    public var write: ServiceWrite
    public var createdID: String?
  }
  public private(set) var entries: [Entry] = []
  public init() {}
  public func willWrite(_ write: ServiceWrite) throws(ServiceError) {}
  public func didWrite(_ write: ServiceWrite, createdID: String?) { entries.append(Entry(write: write, createdID: createdID)) }
}

/// What an apply found that its plan did not foresee.
public struct PlanDivergence: Sendable, Equatable {
  public var planned: ServiceWrite?
  public var actual: ServiceWrite?
  public var index: Int

  /// Planned vs now, one line each.
  public var message: String {
    switch (planned, actual) {
    case let (p?, a?):
      var lines = ["the change the runbook asks for now differs from the plan's change #\(index + 1):"]
      lines.append("  planned: \(p.op) \(p.target) \(p.argsText)")
      lines.append("  now:     \(a.op) \(a.target) \(a.argsText)")
      return lines.joined(separator: "\n")
    case let (nil, a?):
      return "the runbook asks for a change the plan does not have (it planned \(index) change(s)):\n  now: \(a.op) \(a.target) \(a.argsText)"
    case let (p?, nil):
      return "the plan's change #\(index + 1) was not asked for:\n  planned: \(p.op) \(p.target) \(p.argsText)"
    case (nil, nil): return "the apply diverged from the plan"
    }
  }
}

/// Lets an apply make exactly the plan's changes, in order: the first change
/// that differs (operation or arguments, once the ids of objects the plan
/// only simulated are replaced by the real ones) is refused before it is
/// sent, and every change after it too.
public final class PlanGuard: WriteGate, @unchecked Sendable {
  let planned: [PlannedWrites.Entry]
  /// Planned indexes already applied by an earlier, interrupted apply.
  let done: Set<Int>
  private(set) var next = 0
  /// Planned indexes after `next` already matched: concurrent ACL writes of
  /// one recursive update arrive in any order.
  private var usedAhead: Set<Int> = []
  /// Every method runs under this lock: ACL writes come from several threads.
  private let lock = NSLock()
  public var allowsConcurrentWrites: Bool { true }
  /// Ids the plan simulated → the ids the apply created.
  public private(set) var idMap: [String: String]
  public private(set) var divergence: PlanDivergence?
  /// Called with the planned index of each change as it is made.
  public var onApplied: (@Sendable (Int, String?) -> Void)?

  /// Continuing an interrupted apply: changes it made may be found in place.
  let resuming: Bool

  public init(planned: [PlannedWrites.Entry], done: Set<Int> = [], idMap: [String: String] = [:], resuming: Bool = false) {
    self.planned = planned; self.done = done; self.idMap = idMap; self.resuming = resuming
    skipDone()
  }

  private func skipDone() {
    while next < planned.count && (done.contains(next) || usedAhead.contains(next)) {
      usedAhead.remove(next)
      next += 1
    }
  }

  /// ACL changes: the ones a recursive update may send concurrently.
  static let orderFreeOps: Set<String> = ["setAccessControl", "setAccessControlRecursive"]

  /// A later planned change in the run of ACL changes starting at `next`
  /// that `write` is (out of order, as concurrent requests go).
  private func matchAhead(_ write: ServiceWrite) -> Int? {
    guard Self.orderFreeOps.contains(write.op) else { return nil }
    var j = next
    while j < planned.count && Self.orderFreeOps.contains(planned[j].write.op) {
      if !done.contains(j) && !usedAhead.contains(j) && matches(j, write) { return j }
      j += 1
    }
    return nil
  }

  /// The planned write with simulated ids replaced by the real ones.
  func resolved(_ w: ServiceWrite) -> String {
    var text = w.argsText.lowercased()
    for (simulated, real) in idMap { text = text.replacingOccurrences(of: simulated.lowercased(), with: real.lowercased()) }
    return text
  }

  /// Whether `actual` is the planned change `index`. A simulated id whose
  /// real id is not known yet (an interrupted apply created the object but
  /// never recorded its answer) matches any GUID, the same one everywhere in
  /// the change, and is learned from it.
  func matches(_ index: Int, _ actual: ServiceWrite) -> Bool {
    let p = planned[index].write
    guard p.op == actual.op else { return false }
    let wanted = resolved(p), got = actual.argsText.lowercased()
    if wanted == got { return true }
    guard resuming else { return false }
    let unbound = planned.compactMap { $0.createdID?.lowercased() }.filter { idMap[$0] == nil && wanted.contains($0) }
    guard !unbound.isEmpty else { return false }
    var pattern = NSRegularExpression.escapedPattern(for: wanted)
    for (n, id) in unbound.enumerated() {
      let escaped = NSRegularExpression.escapedPattern(for: id)
      guard let first = pattern.range(of: escaped) else { continue }
      let rest = pattern[first.upperBound...].replacingOccurrences(of: escaped, with: "\\k<g\(n)>")
      pattern = pattern[..<first.lowerBound] + "(?<g\(n)>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})" + rest
    }
    guard let regex = try? NSRegularExpression(pattern: "^" + pattern + "$"),
      let m = regex.firstMatch(in: got, range: NSRange(got.startIndex..., in: got))
    else { return false }
    for (n, id) in unbound.enumerated() {
      if let r = Range(m.range(withName: "g\(n)"), in: got) { idMap[id] = String(got[r]) }
    }
    return true
  }

  /// The planned indexes of the changes in flight, by their text (several
  /// ACL changes may be in flight at once).
  private var inFlight: [String: [Int]] = [:]

  /// A change that matches the next planned one is that planned change, made
  /// as planned even when the service then answers that it was already so
  /// (a built-in may take `RoleAssignmentExists` as done).
  public func willWrite(_ write: ServiceWrite) throws(ServiceError) {
    lock.lock()
    defer { lock.unlock() }
    if divergence == nil, !(next < planned.count && matches(next, write)), let j = matchAhead(write) {
      usedAhead.insert(j)
      inFlight[write.op + write.argsText, default: []].append(j)
      return
    }
    if divergence == nil, !(next < planned.count && matches(next, write)) {
      if resuming {
        // A built-in may send again what the interrupted apply made (a
        // recursive ACL change starts over): the same change, not a new one.
        if done.contains(where: { matches($0, write) }) { return }
        // Planned changes the interrupted apply made without recording them
        // are found in place by the built-ins and not asked for again.
        if let j = (next..<planned.count).first(where: { !done.contains($0) && matches($0, write) }) { next = j }
      }
      if !(next < planned.count && matches(next, write)) {
        divergence = PlanDivergence(planned: next < planned.count ? planned[next].write : nil, actual: write, index: next)
      }
    }
    if let divergence { throw PlanGuard.error(divergence) }
    inFlight[write.op + write.argsText, default: []].append(next)
    next += 1
    skipDone()
  }

  public func didWrite(_ write: ServiceWrite, createdID: String?) {
    lock.lock()
    defer { lock.unlock() }
    let key = write.op + write.argsText
    guard var waiting = inFlight[key], !waiting.isEmpty else { return }
    let index = waiting.removeFirst()
    inFlight[key] = waiting.isEmpty ? nil : waiting
    if let simulated = planned[index].createdID, let createdID, simulated.lowercased() != createdID.lowercased() {
      idMap[simulated.lowercased()] = createdID.lowercased()
    }
    onApplied?(index, createdID)
  }

  /// The plan's changes that were never asked for (checked when the run ends).
  public func checkComplete() -> PlanDivergence? {
    lock.lock()
    defer { lock.unlock() }
    if let divergence { return divergence }
    if next < planned.count && !resuming {
      let d = PlanDivergence(planned: planned[next].write, actual: nil, index: next)
      divergence = d
      return d
    }
    return nil
  }

  public static func error(_ d: PlanDivergence) -> ServiceError {
    ServiceError(service: "runbook", status: 409, code: "plan_diverged",
                 message: d.message + "\nNothing of this change was sent. The tenant or the runbook changed since the plan: plan again.")
  }
}
