import RunbookLanguage
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

/// An interpreter host that ignores output (built-ins are called directly).
final class SilentHost: InterpreterHost {
  func write(_ text: String) {}
  func stepStarted(_ name: String, range: SourceRange?) {}
  func stepFinished(_ name: String, error: RuntimeError?) {}
}

/// A world, a registry with the domain built-ins, and a plan recorder.
struct Harness {
  let world: World
  let registry: BuiltinRegistry
  let recorder: PlanRecorder
  let interpreter: Interpreter

  init(world: World = .demoTenant()) {
    self.world = world
    registry = BuiltinRegistry()
    recorder = PlanRecorder()
    registerDomainBuiltins(into: registry, services: world.services, recorder: recorder)
    interpreter = Interpreter(host: SilentHost(), registry: registry, environment: [:])
  }

  /// Calls a built-in with labelled arguments; absent ones take their default.
  @discardableResult
  func call(_ name: String, _ labelled: KeyValuePairs<String, Value> = [:]) throws -> Value {
    guard let b = registry[name] else { throw RuntimeError("no built-in \(name)", code: "name_error") }
    var given: [String: Value] = [:]
    for (k, v) in labelled {
      guard b.parameters.contains(where: { $0.name == k }) else { throw RuntimeError("\(name) has no parameter \(k)", code: "type_error") }
      given[k] = v
    }
    let values = try b.parameters.map { p -> Value in
      if let v = given[p.name] { return v }
      if case .value(let d) = p.defaultValue { return d }
      throw RuntimeError("missing argument \(p.name) of \(name)", code: "type_error")
    }
    var args = Arguments(values: values, rest: [], builtin: b)
    return try b.implementation(&args, CallContext(interpreter: interpreter, range: nil))
  }

  /// The error code and message a call fails with.
  func failure(_ name: String, _ labelled: KeyValuePairs<String, Value> = [:]) -> RuntimeError? {
    do {
      _ = try call(name, labelled)
      return nil
    } catch let e as RuntimeError {
      return e
    } catch {
      return RuntimeError("\(error)", code: "unexpected")
    }
  }
}

extension Value: ExpressibleByStringInterpolation {
  public init(stringLiteral value: String) { self = .string(value) }
  public init(stringInterpolation: DefaultStringInterpolation) { self = .string(String(stringInterpolation: stringInterpolation)) }
}

extension Value {
  var s: String { asString ?? "<\(typeName)>" }
  func get(_ field: String) -> Value { self[field] ?? .null }
}

let subscriptionID = "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"
let aliceID = "0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c"
let storageScope =
  "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
let containerScope = storageScope + "/blobServices/default/containers/customerinsights"

/// The ByolSetup.ps1 flow, written with the domain built-ins the way
/// `runbooks/byol-setup.runbook` does it.
@discardableResult
func byolSetup(
  _ h: Harness, account accountName: String = "contosolake", path: String = "", oauthOnly: Bool = false,
  prefix: String = "contoso", groupIDs: (reader: String, contributor: String)? = nil
) throws -> String {
  let recorder = h.recorder
  func step<T>(_ name: String, _ body: () throws -> T) throws -> T {
    recorder.beginStep(name)
    do {
      let v = try body()
      recorder.endStep(name, error: nil)
      return v
    } catch let e as RuntimeError {
      recorder.endStep(name, error: e)
      throw e
    }
  }
  let account = try h.call("storage_account", ["subscription": .string(subscriptionID), "resource_group": "rg-customerinsights", "name": .string(accountName)])
  let container = try step("Ensure the customerinsights container") { try h.call("ensure_container", ["account": account]) }
  let user = try h.call("current_user")
  try step("Grant the signed-in user Storage Blob Data Owner") {
    try h.call("assign_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": account.get("scope")])
  }
  let lake = try step("Register the Dataverse data lake app") { try h.call("ensure_service_principal") }
  let groups: Value
  if let groupIDs {
    groups = .record(fields: [("reader", .string(groupIDs.reader)), ("contributor", .string(groupIDs.contributor))])
  } else {
    groups = try step("Create the reader and contributor groups") { try h.call("create_groups", ["prefix": .string(prefix), "owner": lake]) }
  }
  let reader = groups.get("reader"), contributor = groups.get("contributor")
  let r = reader.asString ?? reader.get("id").s, c = contributor.asString ?? contributor.get("id").s
  try step("Grant the data lake app access") {
    if oauthOnly {
      try h.call("add_group_member", ["group": contributor, "member": lake])
    } else {
      try h.call("assign_role", ["principal": lake, "role": "Storage Blob Delegator", "scope": account.get("scope")])
      try h.call("assign_role", ["principal": lake, "role": "Storage Blob Data Contributor", "scope": container.get("scope")])
    }
  }
  try step("Wait for the Storage Blob Data Owner assignment to propagate") {
    try h.call("wait_for_role", ["principal": user, "role": "Storage Blob Data Owner", "scope": account.get("scope")])
  }
  let full: Value = .list([.string("group:\(r):r-x"), .string("group:\(c):rwx"), .string("default:group:\(r):r-x"), .string("default:group:\(c):rwx")])
  let traverse: Value = .list([.string("group:\(r):--x"), .string("group:\(c):--x")])
  try step("Set ACLs on the container and the mount folder") {
    if path.isEmpty {
      try h.call("set_acl", ["account": account, "entries": full])
    } else {
      try h.call("ensure_directory", ["account": account, "path": .string(path)])
      try h.call("set_acl", ["account": account, "entries": traverse])
      let segments = path.split(separator: "/").map(String.init)
      for i in 0..<(segments.count - 1) {
        try h.call("set_acl", ["account": account, "path": .string(segments[0...i].joined(separator: "/")), "entries": traverse])
      }
      try h.call("set_acl", ["account": account, "path": .string(path), "entries": full])
    }
  }
  try step("Apply the ACLs to existing items under the mount point") {
    try h.call("set_acl_recursive", ["account": account, "path": .string(path), "entries": full])
  }
  return try h.call("permission_identifier", ["account": account, "reader": reader, "contributor": contributor, "path": .string(path)]).s
}
