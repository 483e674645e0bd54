import RunbookServices

/// Power Platform environments (admin API) and the Dataverse Web API v9.2
/// of each environment: solutions, uninstall and its blocking
/// dependencies, table rows read and updated with `If-Match`.
public final class DataverseClient: DataverseService {
  let rest: RESTClient
  let endpoints: LiveEndpoints
  let customerInsights: CustomerInsightsClient
  /// Environment id → org URL, learnt from the environment list.
  private let urls = NIOLockedBox<[String: String]>([:])
  /// (environment, table) → (entity set, primary id column).
  private let tables = NIOLockedBox<[String: (set: String, key: String)]>([:])

  public init(rest: RESTClient, endpoints: LiveEndpoints, customerInsights: CustomerInsightsClient) {
    self.rest = rest; self.endpoints = endpoints; self.customerInsights = customerInsights
  }

  static let odataHeaders: [(String, String)] = [
    ("OData-MaxVersion", "4.0"), ("OData-Version", "4.0"),
    ("Prefer", "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\""),
  ]

  // MARK: Environments

  public func environments() throws(ServiceError) -> [DataverseEnvironment] {
    let list = try rest.pages(
      service: "powerplatform", resource: endpoints.powerPlatformResource,
      url: endpoints.powerPlatform + "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01&$expand=properties/linkedEnvironmentMetadata")
    var result: [DataverseEnvironment] = []
    for j in list {
      let p = j["properties"], meta = p?["linkedEnvironmentMetadata"]
      guard let id = j["name"]?.string, let url = meta?["instanceUrl"]?.string else { continue }
      let trimmed = LiveEndpoints.trimSlash(url)
      urls.withLock { $0[id.lowercased()] = trimmed }
      var env = DataverseEnvironment(
        id: id, name: p?["displayName"]?.string ?? id, url: url, region: p?["location"]?.string ?? "",
        organizationID: meta?["resourceId"]?.string ?? "",
        linkedStorageAccount: meta?["storageAccountResourceId"]?.string,
        attachedCustomerInsights: meta?["customerInsightsInstanceId"]?.string, users: [])
      env.users = try users(environmentID: id)
      result.append(env)
    }
    return result
  }

  /// The Web API root of an environment: the endpoint template, or its URL.
  func apiRoot(_ environmentID: String) throws(ServiceError) -> (root: String, resource: String) {
    var url = urls.withLock { $0[environmentID.lowercased()] }
    if url == nil {
      _ = try environments()
      url = urls.withLock { $0[environmentID.lowercased()] }
    }
    guard let url else {
      throw ServiceError(service: "dataverse", status: 404, code: "EnvironmentNotFound",
                         message: "The environment '\(environmentID)' could not be found.")
    }
    let host = URLComponentsLite.host(url) ?? ""
    let org = host.split(separator: ".").first.map(String.init) ?? host
    let root = endpoints.dataverse.map { $0.replacingOccurrences(of: "{org}", with: org) } ?? url
    return (root + "/api/data/v9.2", url)
  }

  private func send(_ env: String, _ method: String, _ path: String, json: WireJSON? = nil, headers: [(String, String)] = [])
    throws(ServiceError) -> WireResponse
  {
    let (root, resource) = try apiRoot(env)
    return try rest.send(service: "dataverse", resource: resource, method: method, url: root + "/" + path,
                         headers: Self.odataHeaders + headers, json: json)
  }

  private func pages(_ env: String, _ path: String) throws(ServiceError) -> [WireJSON] {
    let (root, resource) = try apiRoot(env)
    return try rest.pages(service: "dataverse", resource: resource, url: root + "/" + path, headers: Self.odataHeaders)
  }

  func users(environmentID: String) throws(ServiceError) -> [DataverseUser] {
    try pages(environmentID, "systemusers?$select=azureactivedirectoryobjectid,accessmode&$expand=systemuserroles_association($select=name)")
      .compactMap { j in
        guard let oid = j["azureactivedirectoryobjectid"]?.string else { return nil }
        let roles = (j["systemuserroles_association"]?.array ?? []).compactMap { $0["name"]?.string }
        return DataverseUser(objectID: oid, roles: roles, licensed: j["accessmode"]?.int == 0)
      }
  }

  // MARK: Solutions

  static func solution(_ j: WireJSON) -> Solution {
    Solution(id: j["solutionid"]?.string ?? "", uniqueName: j["uniquename"]?.string ?? "",
             friendlyName: j["friendlyname"]?.string ?? "", version: j["version"]?.string ?? "",
             isManaged: j["ismanaged"]?.bool ?? false,
             publisher: j["publisherid"]?["uniquename"]?.string ?? "")
  }
  static let solutionSelect = "$select=solutionid,uniquename,friendlyname,ismanaged,version&$expand=publisherid($select=uniquename)"

  public func solutions(environmentID: String) throws(ServiceError) -> [Solution] {
    try pages(environmentID, "solutions?\(Self.solutionSelect)").map(Self.solution)
  }

  func solution(_ env: String, named name: String) throws(ServiceError) -> Solution? {
    let filter = URLText.encode("uniquename eq " + URLText.odataString(name))
    return try pages(env, "solutions?\(Self.solutionSelect)&$filter=\(filter)").first.map(Self.solution)
  }

  public func dependenciesForUninstall(environmentID: String, solution: String) throws(ServiceError) -> [SolutionDependency] {
    let rows = try pages(environmentID, "RetrieveDependenciesForUninstall(SolutionUniqueName=@p)?@p=\(URLText.encode(URLText.odataString(solution)))")
    let names = Dictionary(try solutions(environmentID: environmentID).map { ($0.id.lowercased(), $0.uniqueName) },
                           uniquingKeysWith: { a, _ in a })
    func name(_ j: WireJSON, _ field: String) -> String {
      j["\(field)@OData.Community.Display.V1.FormattedValue"]?.string ?? j[field]?.string ?? ""
    }
    func solutionName(_ j: WireJSON, _ field: String) -> String {
      let id = j[field]?.string ?? ""
      return names[id.lowercased()] ?? name(j, field)
    }
    return rows.map { j in
      SolutionDependency(
        id: j["dependencyid"]?.string ?? "", dependencyType: j["dependencytype"]?.int ?? 0,
        requiredComponentType: j["requiredcomponenttype"]?.int ?? 0,
        requiredComponentName: name(j, "requiredcomponentobjectid"),
        requiredSolution: solutionName(j, "requiredcomponentbasesolutionid"),
        dependentComponentType: j["dependentcomponenttype"]?.int ?? 0,
        dependentComponentName: name(j, "dependentcomponentobjectid"),
        dependentSolution: solutionName(j, "dependentcomponentbasesolutionid"))
    }
  }

  /// `DELETE solutions({id})`, found by unique name first.
  public func uninstallSolution(environmentID: String, solution: String) throws(ServiceError) {
    guard let s = try self.solution(environmentID, named: solution) else {
      throw ServiceError(service: "dataverse", status: 404, code: "0x80040217", message: "The solution \(solution) was not found.")
    }
    try rest.check(service: "dataverse", send(environmentID, "DELETE", "solutions(\(s.id))"))
  }

  // MARK: Rows

  /// The entity set and primary key column of a table given by logical or
  /// entity-set name.
  func table(_ env: String, _ table: String) throws(ServiceError) -> (set: String, key: String) {
    let cacheKey = env.lowercased() + "|" + table
    if let t = tables.withLock({ $0[cacheKey] }) { return t }
    var r = try send(env, "GET", "EntityDefinitions(LogicalName=\(URLText.encode(URLText.odataString(table))))?$select=LogicalName,EntitySetName,PrimaryIdAttribute")
    var j = r.json
    if r.status == 404 {
      let filter = URLText.encode("EntitySetName eq " + URLText.odataString(table))
      r = try send(env, "GET", "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=\(filter)")
      try rest.check(service: "dataverse", r)
      j = r.json?["value"]?.array?.first
      if j == nil {
        throw ServiceError(service: "dataverse", status: 404, code: "0x8006088a", message: "Resource not found for the segment '\(table)'.")
      }
    } else {
      try rest.check(service: "dataverse", r)
    }
    guard let set = j?["EntitySetName"]?.string, let key = j?["PrimaryIdAttribute"]?.string else {
      throw rest.malformed(service: "dataverse", url: "EntityDefinitions")
    }
    tables.withLock { $0[cacheKey] = (set, key) }
    return (set, key)
  }

  static func row(_ j: WireJSON, key: String) -> Row {
    var columns: [String: FieldValue] = [:]
    for (k, v) in j.object ?? [:] where !k.contains("@") && k != key {
      if let f = v.fieldValue { columns[k] = f }
    }
    return Row(id: j[key]?.string ?? "", etag: j["@odata.etag"]?.string ?? "", columns: columns)
  }

  public func rows(environmentID: String, table: String) throws(ServiceError) -> [Row] {
    let t = try self.table(environmentID, table)
    return try pages(environmentID, t.set).map { Self.row($0, key: t.key) }
  }

  public func updateRow(environmentID: String, table: String, id: String, values: [String: FieldValue], ifMatch: String?)
    throws(ServiceError) -> Row
  {
    let t = try self.table(environmentID, table)
    let path = "\(t.set)(\(id))"
    let r = try rest.check(
      service: "dataverse",
      send(environmentID, "PATCH", path, json: .object(values.mapValues(WireJSON.init)),
           headers: [("If-Match", ifMatch ?? "*"), ("Prefer", "return=representation")]))
    if r.status == 200, let j = r.json { return Self.row(j, key: t.key) }
    let g = try rest.check(service: "dataverse", send(environmentID, "GET", path))
    guard let j = g.json else { throw rest.malformed(service: "dataverse", url: path) }
    return Self.row(j, key: t.key)
  }
}

/// Customer Insights - Data instances. **[UNVERIFIED]** field names beyond
/// `instanceId` and `name`; the emulator serves the same shape.
public final class CustomerInsightsClient: CustomerInsightsService {
  let rest: RESTClient
  let base: String
  let resource: String

  public init(rest: RESTClient, endpoints: LiveEndpoints) {
    self.rest = rest; base = endpoints.customerInsights + "/v1"; resource = endpoints.customerInsightsResource
  }

  public func ciEnvironments() throws(ServiceError) -> [CIEnvironment] {
    let url = base + "/instances"
    let r = try rest.check(service: "customerinsights", rest.send(service: "customerinsights", resource: resource, method: "GET", url: url))
    guard let list = r.json?.array ?? r.json?["value"]?.array else { throw rest.malformed(service: "customerinsights", url: url) }
    return list.map { j in
      CIEnvironment(
        id: j["instanceId"]?.string ?? "", name: j["name"]?.string ?? "", region: j["region"]?.string ?? "",
        profileCount: j["profileCount"]?.int ?? 0, accountCount: j["accountCount"]?.int ?? 0,
        isB2B: j["isB2B"]?.bool ?? false, dataverseEnvironmentID: j["cdsOrgInfo"]?["environmentId"]?.string,
        permissionIdentifier: j["byolStorage"]?["permissionIdentifier"]?.string)
    }
  }

  public func attach(ciEnvironmentID: String, dataverseEnvironmentID: String, storageAccountID: String?,
                     permissionIdentifier: String?) throws(ServiceError) {
    var body: [String: WireJSON] = ["cdsOrgInfo": ["environmentId": .string(dataverseEnvironmentID)]]
    if storageAccountID != nil || permissionIdentifier != nil {
      body["byolStorage"] = ["storageAccountResourceId": WireJSON(storageAccountID), "permissionIdentifier": WireJSON(permissionIdentifier)]
    }
    try rest.check(service: "customerinsights",
                   rest.send(service: "customerinsights", resource: resource, method: "PATCH",
                             url: base + "/instances/\(URLText.encode(ciEnvironmentID))", json: .object(body)))
  }
}

/// Host of a URL without Foundation's URL parsing quirks.
enum URLComponentsLite {
  static func host(_ url: String) -> String? {
    guard let r = url.range(of: "://") else { return nil }
    let rest = url[r.upperBound...]
    let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
    let hostPort = rest[..<end]
    return String(hostPort.split(separator: ":").first ?? hostPort)
  }
}
