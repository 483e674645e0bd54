import Foundation
import NIOConcurrencyHelpers
import RunbookServices
import RunbookSimulator

extension Emulator {
  // MARK: Dataverse Web API v9.2 (`/{org}/api/data/v9.2/…`)

  func dvFail(_ e: ServiceError) -> EmulatorResponse {
    .json(e.status, ["error": ["code": .string(e.code), "message": .string(e.message)]],
          headers: [("OData-Version", "4.0")])
  }
  func dvJSON(_ status: Int, _ j: WireJSON) -> EmulatorResponse {
    .json(status, j, contentType: "application/json; odata.metadata=minimal", headers: [("OData-Version", "4.0")])
  }

  func dataverse(_ r: EmulatorRequest) -> EmulatorResponse {
    let org = r.segments[0].lowercased()
    guard r.segments[3] == "v9.2" || r.segments[3] == "v9.1" || r.segments[3] == "v9.0" else {
      return dvFail(ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(r.segments[3])'."))
    }
    guard let env = world.dataverseEnvironmentList.first(where: {
      (URLComponents(string: $0.url)?.host ?? "").split(separator: ".").first.map { $0.lowercased() } == org
    }) else {
      return dvFail(ServiceError(service: "dataverse", status: 404, code: "OrganizationNotFound", message: "The organization '\(org)' does not exist."))
    }
    let s = Array(r.segments.dropFirst(4))
    guard s.count == 1 else {
      return dvFail(ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(s.last ?? "")'."))
    }
    let seg = s[0]
    do throws(ServiceError) {
      if r.method == "GET" && seg == "WhoAmI" {
        // A client-credentials token acts as the app's application user.
        let client = r.header("Authorization").flatMap { tokens[String($0.dropFirst(7))]?.clientID } ?? ""
        return dvJSON(200, [
          "@odata.context": .string("\(r.origin)/\(r.segments[0])/api/data/\(r.segments[3])/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"),
          "BusinessUnitId": .string(StableID.guid("businessunit", env.id)),
          "UserId": .string(StableID.guid("systemuser", env.id, client.lowercased())),
          "OrganizationId": .string(env.organizationId),
        ])
      }
      if r.method == "GET" && seg == "systemusers" {
        let users = env.users.map { u -> WireJSON in
          let mode = u.licensed ? 0 : (u.roles.contains("System Administrator") ? 1 : 4)
          return ["systemuserid": .string(StableID.guid("systemuser", env.id, u.objectId)),
                  "azureactivedirectoryobjectid": .string(u.objectId), "accessmode": WireJSON(mode),
                  "systemuserroles_association": .array(u.roles.map { ["name": .string($0)] })]
        }
        return dvJSON(200, paged(users, r, defaultSize: 5000))
      }
      if r.method == "GET" && seg == "solutions" {
        var list = try world.solutions(environmentID: env.id)
        if let f = r.q("$filter") {
          guard let name = Self.eqFilter(f, "uniquename") else {
            return dvFail(ServiceError(service: "dataverse", status: 400, code: "0x80060888", message: "Unsupported $filter."))
          }
          list = list.filter { $0.uniqueName.lowercased() == name.lowercased() }
        }
        let rows = list.map { sol -> WireJSON in
          ["solutionid": .string(sol.id), "uniquename": .string(sol.uniqueName), "friendlyname": .string(sol.friendlyName),
           "version": .string(sol.version), "ismanaged": .bool(sol.isManaged),
           "publisherid": ["uniquename": .string(sol.publisher)]]
        }
        return dvJSON(200, paged(rows, r, defaultSize: 5000))
      }
      if r.method == "DELETE" && seg.hasPrefix("solutions(") && seg.hasSuffix(")") {
        let id = String(seg.dropFirst(10).dropLast())
        guard let sol = try world.solutions(environmentID: env.id).first(where: { $0.id.lowercased() == id.lowercased() }) else {
          throw ServiceError.recordNotFound
        }
        try world.uninstallSolution(environmentID: env.id, solution: sol.uniqueName)
        return EmulatorResponse(status: 204, headers: [("OData-Version", "4.0")])
      }
      if r.method == "GET" && seg.hasPrefix("RetrieveDependenciesForUninstall(") {
        var name = seg.dropFirst("RetrieveDependenciesForUninstall(SolutionUniqueName=".count).dropLast()
        if name == "@p" { name = Substring(r.q("@p") ?? "") }
        let unique = String(name).trimmingCharacters(in: CharacterSet(charactersIn: "'")).replacingOccurrences(of: "''", with: "'")
        let ids = Dictionary(try world.solutions(environmentID: env.id).map { ($0.uniqueName.lowercased(), $0.id) }, uniquingKeysWith: { a, _ in a })
        let deps = try world.dependenciesForUninstall(environmentID: env.id, solution: unique).map { d -> WireJSON in
          let req = StableID.guid("component", env.id, d.requiredSolution, d.requiredComponentName)
          let dep = StableID.guid("component", env.id, d.dependentSolution, d.dependentComponentName)
          return [
            "dependencyid": .string(d.id), "dependencytype": WireJSON(d.dependencyType),
            "requiredcomponenttype": WireJSON(d.requiredComponentType), "requiredcomponentobjectid": .string(req),
            "requiredcomponentobjectid@OData.Community.Display.V1.FormattedValue": .string(d.requiredComponentName),
            "requiredcomponentbasesolutionid": .string(ids[d.requiredSolution.lowercased()] ?? StableID.guid("solution", d.requiredSolution)),
            "dependentcomponenttype": WireJSON(d.dependentComponentType), "dependentcomponentobjectid": .string(dep),
            "dependentcomponentobjectid@OData.Community.Display.V1.FormattedValue": .string(d.dependentComponentName),
            "dependentcomponentbasesolutionid": .string(ids[d.dependentSolution.lowercased()] ?? StableID.guid("solution", d.dependentSolution)),
          ]
        }
        return dvJSON(200, ["value": .array(deps)])
      }
      if r.method == "GET" && seg.hasPrefix("EntityDefinitions") {
        var table: TableState?
        if seg.hasPrefix("EntityDefinitions(LogicalName=") {
          let name = String(seg.dropFirst("EntityDefinitions(LogicalName=".count).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
          table = env.tables.first { $0.name == name }
          guard let t = table else { throw ServiceError(service: "dataverse", status: 404, code: "0x80040217", message: "Could not find an entity with specified key value: \(name)") }
          return dvJSON(200, definition(t))
        }
        var tables = env.tables
        if let filter = r.q("$filter") {
          if let set = Self.eqFilter(filter, "EntitySetName") {
            tables = tables.filter { $0.entitySet == set }
          } else if let name = Self.eqFilter(filter, "LogicalName") {
            tables = tables.filter { $0.name == name }
          } else {
            return dvFail(ServiceError(service: "dataverse", status: 400, code: "0x80060888", message: "Unsupported $filter."))
          }
        }
        return dvJSON(200, [
          "@odata.context": .string("\(r.origin)/\(r.segments[0])/api/data/\(r.segments[3])/$metadata#EntityDefinitions"),
          "value": .array(tables.map(definition)),
        ])
      }
      // Table rows: `{set}` and `{set}({id})`.
      let (setName, key): (String, String?) = {
        guard let open = seg.firstIndex(of: "("), seg.hasSuffix(")") else { return (seg, nil) }
        return (String(seg[..<open]), String(seg[seg.index(after: open)..<seg.index(before: seg.endIndex)]))
      }()
      guard let table = env.tables.first(where: { $0.entitySet == setName }) else {
        throw ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(setName)'.")
      }
      let primary = table.name + "id"
      func json(_ row: Row) -> WireJSON {
        var o = row.columns.mapValues(WireJSON.init)
        o[primary] = .string(row.id)
        o["@odata.etag"] = .string(row.etag)
        return .object(o)
      }
      let rows = try world.rows(environmentID: env.id, table: table.name)
      switch (r.method, key) {
      case ("GET", nil):
        return dvJSON(200, paged(rows.map(json), r, defaultSize: 5000))
      case ("GET", let id?):
        guard let row = rows.first(where: { $0.id.lowercased() == id.lowercased() }) else { throw ServiceError.recordNotFound }
        return dvJSON(200, json(row))
      case ("PATCH", let id?):
        // Without If-Match a PATCH is an upsert; `If-Match: *` updates only.
        return try patch(r, env.id, table, id, ifMatch: r.header("If-Match"), json: json)
      default:
        return dvFail(ServiceError(service: "dataverse", status: 405, code: "0x80060891", message: "The requested method is not allowed."))
      }
    } catch {
      return dvFail(error)
    }
  }

  private func patch(_ r: EmulatorRequest, _ env: String, _ table: TableState, _ id: String, ifMatch: String?,
                     json: (Row) -> WireJSON) throws(ServiceError) -> EmulatorResponse {
    guard StableID.isGUID(id) else {
      throw ServiceError(service: "dataverse", status: 400, code: "0x80060888",
                         message: "Bad Request - Error in query syntax.")
    }
    guard let body = r.json?.object else {
      throw ServiceError(service: "dataverse", status: 400, code: "0x80040216", message: "The request body is not a JSON object.")
    }
    let known = try world.columns(environmentID: env, table: table.name)
    var values: [String: FieldValue] = [:]
    for (k, v) in body.sorted(by: { $0.key < $1.key }) where !k.hasPrefix("@") {
      guard known.contains(k) || k == table.name + "id" else {
        throw ServiceError(service: "dataverse", status: 400, code: "0x80060888",
                           message: "The property '\(k)' does not exist on type 'Microsoft.Dynamics.CRM.\(table.name)'. Make sure to only use property names that are defined by the type.")
      }
      guard let f = v.fieldValue else {
        throw ServiceError(service: "dataverse", status: 400, code: "0x80040216", message: "Column '\(k)' has an unsupported value.")
      }
      if k != table.name + "id" { values[k] = f }
    }
    let result: (Row, created: Bool)
    if let ifMatch {
      result = (try world.updateRow(environmentID: env, table: table.name, id: id, values: values, ifMatch: ifMatch), false)
    } else {
      result = try world.upsertRow(environmentID: env, table: table.name, id: id, values: values)
    }
    let (row, created) = result
    let entityID = "\(r.origin)/\(r.segments[0])/api/data/\(r.segments[3])/\(table.entitySet)(\(row.id))"
    if r.header("Prefer")?.contains("return=representation") == true {
      var resp = dvJSON(created ? 201 : 200, json(row))
      resp.headers.append(("OData-EntityId", entityID))
      return resp
    }
    return EmulatorResponse(status: 204, headers: [("OData-Version", "4.0"), ("OData-EntityId", entityID)])
  }

  func definition(_ t: TableState) -> WireJSON {
    ["LogicalName": .string(t.name), "EntitySetName": .string(t.entitySet), "PrimaryIdAttribute": .string(t.name + "id"),
     "MetadataId": .string(StableID.guid("entity", t.name))]
  }

  // MARK: ADLS Gen2 DFS: see DFSRoutes.swift

  func recursive(_ r: EmulatorRequest, _ account: String, _ fs: String, _ path: String,
                 _ ok: (Int, [(String, String)], WireJSON?) -> EmulatorResponse) throws(ServiceError) -> EmulatorResponse {
    guard let modeText = r.q("mode"), let mode = ACLRecursiveMode(rawValue: modeText) else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                         message: "Value for one of the query parameters specified in the request URI is invalid.")
    }
    guard let text = r.header("x-ms-acl") else {
      throw ServiceError(service: "dfs", status: 400, code: "MissingRequiredHeader", message: "An HTTP header that's mandatory for this request is not specified.")
    }
    let acl: AccessControlList
    do { acl = try AccessControlList(parsing: text, requirePermissions: mode != .remove) } catch { throw ServiceError.invalidACL }
    let maxRecords = try Self.intQuery(r, "maxRecords")
    let force = r.q("forceFlag")?.lowercased() == "true"
    // `fail-path` faults: the named items (and what is under them) refuse the change for this request only.
    let tree = world.filesystem(account: account, name: fs)
    var injected: [PathTree.Node] = []
    if let tree, !faults.failPaths.isEmpty {
      for n in tree.sortedNodes() {
        let p = tree.path(of: n)
        if faults.failPaths.contains(where: { p == $0 || p.hasPrefix($0 + "/") }), tree.injectedFault(n) == nil {
          tree.setInjectedFault(n, "This request is not authorized to perform this operation using this permission.")
          injected.append(n)
        }
      }
    }
    defer { for n in injected { tree?.setInjectedFault(n, nil) } }
    let page = try world.setAccessControlRecursive(
      account: account, filesystem: fs, path: path, mode: mode, acl: acl, continuation: r.q("continuation"),
      maxRecords: maxRecords, forceFlag: force)
    let body: WireJSON = [
      "directoriesSuccessful": WireJSON(page.directoriesSuccessful), "filesSuccessful": WireJSON(page.filesSuccessful),
      "failureCount": WireJSON(page.failureCount),
      "failedEntries": .array(page.failedEntries.map { ["name": .string($0.name), "type": .string($0.type), "errorMessage": .string($0.errorMessage)] }),
    ]
    return ok(200, page.continuation.map { [("x-ms-continuation", $0)] } ?? [], body)
  }

  /// An optional integer query parameter; 400 `InvalidQueryParameterValue` when it is not one.
  static func intQuery(_ r: EmulatorRequest, _ name: String) throws(ServiceError) -> Int? {
    guard let text = r.q(name) else { return nil }
    guard let n = Int(text) else {
      throw ServiceError(service: "dfs", status: 400, code: "InvalidQueryParameterValue",
                         message: "Value for one of the query parameters specified in the request URI is invalid.")
    }
    return n
  }

  /// The current time as an HTTP date, formatted once per second (a new
  /// DateFormatter per response cost more than the rest of a HEAD).
  static func httpDate() -> String {
    let now = Date()
    let second = Int(now.timeIntervalSince1970)
    return httpDates.withLockedValue { cache in
      if cache.second == second, let text = cache.text { return text }
      let text = cache.formatter.string(from: now)
      cache.second = second
      cache.text = text
      return text
    }
  }

  struct HTTPDateCache: @unchecked Sendable {
    let formatter: DateFormatter = {
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.timeZone = TimeZone(identifier: "GMT")
      f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
      return f
    }()
    var second = -1
    var text: String? = nil
  }
  static let httpDates = NIOLockedValueBox(HTTPDateCache())
}
