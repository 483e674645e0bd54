import RunbookServices

/// A directory client that waits out replication delay for objects it is
/// told are new.
public protocol ReplicationAware {
  func noteCreated(_ id: String)
}

/// Microsoft Graph v1.0: the signed-in user, service principals, groups,
/// owners and members.
public final class GraphClient: DirectoryService, ReplicationAware {
  public func noteCreated(_ id: String) { rest.noteCreated(id) }

  let rest: RESTClient
  let base: String
  let resource: String

  public init(rest: RESTClient, endpoints: LiveEndpoints) {
    self.rest = rest
    base = endpoints.graph + "/v1.0"
    resource = endpoints.graphResource
  }

  private func get(_ path: String) throws(ServiceError) -> WireResponse {
    try rest.send(service: "graph", resource: resource, method: "GET", url: base + path)
  }
  private func json(_ r: WireResponse, _ url: String) throws(ServiceError) -> WireJSON {
    guard let j = try rest.check(service: "graph", r).json else { throw rest.malformed(service: "graph", url: url) }
    return j
  }

  public func signedInUser() throws(ServiceError) -> DirectoryUser {
    let path = "/me?$select=id,userPrincipalName,displayName"
    let j = try json(get(path), path)
    return DirectoryUser(id: j["id"]?.string ?? "", userPrincipalName: j["userPrincipalName"]?.string ?? "",
                         displayName: j["displayName"]?.string ?? "")
  }

  static func servicePrincipal(_ j: WireJSON) -> ServicePrincipal {
    ServicePrincipal(id: j["id"]?.string ?? "", appId: j["appId"]?.string ?? "", displayName: j["displayName"]?.string ?? "")
  }

  public func servicePrincipal(appID: String) throws(ServiceError) -> ServicePrincipal? {
    let path = "/servicePrincipals(appId=\(URLText.encode(URLText.odataString(appID))))?$select=id,appId,displayName"
    let r = try get(path)
    if r.status == 404 { return nil }
    return Self.servicePrincipal(try json(r, path))
  }

  public func createServicePrincipal(appID: String, displayName: String) throws(ServiceError) -> ServicePrincipal {
    let r = try rest.send(service: "graph", resource: resource, method: "POST", url: base + "/servicePrincipals",
                          json: ["appId": .string(appID), "displayName": .string(displayName)])
    let sp = Self.servicePrincipal(try json(r, "/servicePrincipals"))
    rest.noteCreated(sp.id)
    return sp
  }

  static func group(_ j: WireJSON) -> DirectoryGroup {
    DirectoryGroup(id: j["id"]?.string ?? "", displayName: j["displayName"]?.string ?? "",
                   mailNickname: j["mailNickname"]?.string ?? "", securityEnabled: j["securityEnabled"]?.bool ?? false,
                   description: j["description"]?.string)
  }
  static let groupSelect = "$select=id,displayName,mailNickname,securityEnabled,description"

  public func groups(displayName: String) throws(ServiceError) -> [DirectoryGroup] {
    let filter = URLText.encode("displayName eq " + URLText.odataString(displayName))
    let url = base + "/groups?$filter=\(filter)&\(Self.groupSelect)&$top=999"
    return try rest.pages(service: "graph", resource: resource, url: url).map(Self.group)
  }

  public func group(id: String) throws(ServiceError) -> DirectoryGroup? {
    let path = "/groups/\(URLText.encode(id))?\(Self.groupSelect)"
    let r = try get(path)
    if r.status == 404 && RESTClient.errorCode(service: "graph", r) == "Request_ResourceNotFound" { return nil }
    return Self.group(try json(r, path))
  }

  /// `POST /groups` binding owners at creation (`owners@odata.bind` with
  /// `…/directoryObjects/{id}` URLs, at most 20 relationships): an app-only
  /// caller with only `Group.Create` can manage the group afterwards only if
  /// it is created with owners, and there is no window in which the group
  /// exists without them.
  public func createGroup(displayName: String, mailNickname: String, description: String?, owners: [String])
    throws(ServiceError) -> DirectoryGroup
  {
    guard owners.count <= 20 else { throw .tooManyBoundReferences }
    var body: [String: WireJSON] = [
      "displayName": .string(displayName), "mailNickname": .string(mailNickname), "mailEnabled": false,
      "securityEnabled": true, "groupTypes": [],
    ]
    if let description { body["description"] = .string(description) }
    if !owners.isEmpty {
      body["owners@odata.bind"] = .array(owners.map { .string(base + "/directoryObjects/" + URLText.encode($0)) })
    }
    let r = try rest.send(service: "graph", resource: resource, method: "POST", url: base + "/groups", json: .object(body))
    let g = Self.group(try json(r, "/groups"))
    rest.noteCreated(g.id)
    return g
  }

  static func directoryObject(_ j: WireJSON) -> DirectoryObject {
    let type: PrincipalType
    switch j["@odata.type"]?.string {
    case "#microsoft.graph.user": type = .user
    case "#microsoft.graph.group": type = .group
    case "#microsoft.graph.device": type = .device
    default: type = .servicePrincipal
    }
    return DirectoryObject(id: j["id"]?.string ?? "", type: type, displayName: j["displayName"]?.string ?? "",
                           appId: j["appId"]?.string, userPrincipalName: j["userPrincipalName"]?.string)
  }

  private func references(_ property: String, _ groupID: String) throws(ServiceError) -> [DirectoryObject] {
    let url = base + "/groups/\(URLText.encode(groupID))/\(property)?$select=id,displayName&$top=999"
    return try rest.pages(service: "graph", resource: resource, url: url).map(Self.directoryObject)
  }
  public func owners(groupID: String) throws(ServiceError) -> [DirectoryObject] { try references("owners", groupID) }
  public func members(groupID: String) throws(ServiceError) -> [DirectoryObject] { try references("members", groupID) }

  /// `POST /groups/{id}/{owners|members}/$ref`. A reference already present
  /// comes back as Graph's 400 `Request_BadRequest` "already exist".
  private func addReference(_ property: String, _ groupID: String, _ objectID: String) throws(ServiceError) {
    let r = try rest.send(
      service: "graph", resource: resource, method: "POST",
      url: base + "/groups/\(URLText.encode(groupID))/\(property)/$ref",
      json: ["@odata.id": .string(base + "/directoryObjects/\(objectID)")])
    try rest.check(service: "graph", r)
  }
  public func addOwner(groupID: String, objectID: String) throws(ServiceError) { try addReference("owners", groupID, objectID) }
  public func addMember(groupID: String, objectID: String) throws(ServiceError) { try addReference("members", groupID, objectID) }

  public func object(id: String) throws(ServiceError) -> DirectoryObject? {
    let path = "/directoryObjects/\(URLText.encode(id))"
    let r = try get(path)
    if r.status == 404 && RESTClient.errorCode(service: "graph", r) == "Request_ResourceNotFound" { return nil }
    return Self.directoryObject(try json(r, path))
  }

  public func securityGroupCreationAllowed() throws(ServiceError) -> Bool {
    let path = "/policies/authorizationPolicy"
    let j = try json(try get(path), path)
    return j["defaultUserRolePermissions"]?["allowedToCreateSecurityGroups"]?.bool ?? true
  }

  /// Whether an error is Graph's "reference already exists" answer (code and
  /// phrase, not any 400).
  public static func isReferenceExists(_ e: ServiceError) -> Bool {
    e.status == 400 && e.code == "Request_BadRequest" && e.message.contains("already exist")
  }
}
