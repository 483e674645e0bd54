import Foundation
import RunbookServices
import RunbookSimulator

extension Emulator {
  static let graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

  func graphJSON(_ status: Int, _ j: WireJSON) -> EmulatorResponse {
    .json(status, j, contentType: Self.graphContentType)
  }

  func graphFail(_ e: ServiceError) -> EmulatorResponse { Errors.graph(e.status, e.code, e.message) }

  /// One page of `items` with `@odata.nextLink` (absolute, `$skiptoken`) when more remain.
  func paged(_ items: [WireJSON], _ r: EmulatorRequest, defaultSize: Int, nextKey: String = "@odata.nextLink",
             extra: [String: WireJSON] = [:]) -> WireJSON {
    let offset = Int(r.q("$skiptoken") ?? "") ?? 0
    var size = min(Int(r.q("$top") ?? "") ?? defaultSize, 999)
    if let p = faults.pageSize { size = min(size, p) }
    size = max(1, size)
    let page = Array(items.dropFirst(offset).prefix(size))
    var body = extra
    body["value"] = .array(page)
    if offset + size < items.count {
      var q = r.query
      q["$skiptoken"] = String(offset + size)
      let query = q.sorted { $0.key < $1.key }.map { k, v in Self.encode(k) + "=" + Self.encode(v) }.joined(separator: "&")
      let path = r.segments.map(Self.encode).joined(separator: "/")
      body[nextKey] = .string("\(r.origin)/\(path)?\(query)")
    }
    return .object(body)
  }

  static func encode(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~$()'=,")) ?? s
  }

  /// `name eq 'value'` from an OData filter (quotes un-doubled).
  static func eqFilter(_ filter: String?, _ field: String) -> String? {
    guard let f = filter?.trimmingCharacters(in: .whitespaces) else { return nil }
    let prefix = "\(field) eq '"
    guard f.lowercased().hasPrefix(prefix.lowercased()), f.hasSuffix("'") else { return nil }
    return String(f.dropFirst(prefix.count).dropLast()).replacingOccurrences(of: "''", with: "'")
  }

  func sp(_ p: ServicePrincipal) -> WireJSON {
    ["@odata.type": "#microsoft.graph.servicePrincipal", "id": .string(p.id), "appId": .string(p.appId),
     "displayName": .string(p.displayName), "servicePrincipalType": "Application"]
  }
  func group(_ g: DirectoryGroup) -> WireJSON {
    let sid = Self.securityIdentifier(objectID: g.id)
    return ["@odata.type": "#microsoft.graph.group", "id": .string(g.id), "displayName": .string(g.displayName),
            "mailNickname": .string(g.mailNickname), "mailEnabled": false, "securityEnabled": .bool(g.securityEnabled),
            "groupTypes": [], "description": WireJSON(g.description), "securityIdentifier": .string(sid)]
  }
  /// Entra ID's SID of an object id: `S-1-12-1-` and the GUID's 16 bytes in
  /// .NET order (Data1, Data2 and Data3 little-endian, Data4 as written) read
  /// as four little-endian 32-bit numbers.
  static func securityIdentifier(objectID: String) -> String {
    let hex = objectID.replacingOccurrences(of: "-", with: "")
    guard hex.count == 32, let value = UInt128(hex, radix: 16) else { return "S-1-12-1-0-0-0-0" }
    var guidBytes: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: value >> (8 * (15 - $0))) }
    guidBytes.swapAt(0, 3); guidBytes.swapAt(1, 2)  // Data1
    guidBytes.swapAt(4, 5)  // Data2
    guidBytes.swapAt(6, 7)  // Data3
    let words = (0..<4).map { w in
      (0..<4).reduce(UInt32(0)) { $0 | UInt32(guidBytes[w * 4 + $1]) << (8 * UInt32($1)) }
    }
    return "S-1-12-1-" + words.map(String.init).joined(separator: "-")
  }

  func user(_ u: DirectoryUser) -> WireJSON {
    ["@odata.type": "#microsoft.graph.user", "id": .string(u.id), "displayName": .string(u.displayName),
     "userPrincipalName": .string(u.userPrincipalName), "mail": .null, "givenName": .null, "surname": .null,
     "jobTitle": .null, "officeLocation": .null, "preferredLanguage": .null, "businessPhones": [], "mobilePhone": .null]
  }

  /// `$select=a,b`: only those properties (and `@odata.type` of derived types in collections).
  func selected(_ item: WireJSON, _ r: EmulatorRequest) -> WireJSON {
    guard let select = r.q("$select"), let o = item.object else { return item }
    let keep = Set(select.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    return .object(o.filter { keep.contains($0.key.lowercased()) })
  }

  func object(_ o: DirectoryObject) -> WireJSON {
    let type: String
    switch o.type {
    case .user: type = "#microsoft.graph.user"
    case .group: type = "#microsoft.graph.group"
    case .device: type = "#microsoft.graph.device"
    default: type = "#microsoft.graph.servicePrincipal"
    }
    var j: [String: WireJSON] = ["@odata.type": .string(type), "id": .string(o.id), "displayName": .string(o.displayName)]
    if let appId = o.appId { j["appId"] = .string(appId) }
    if let upn = o.userPrincipalName { j["userPrincipalName"] = .string(upn) }
    return .object(j)
  }

  /// The object id an `@odata.bind` URL names: absolute,
  /// `…/v1.0/{directoryObjects|servicePrincipals|users|groups}/{id}`; nil when
  /// the URL has another shape. An id of the wrong type for its collection
  /// is not found, as in Graph.
  func boundObject(_ url: String) throws(ServiceError) -> String? {
    guard let u = URL(string: url), let scheme = u.scheme, ["http", "https"].contains(scheme.lowercased()), u.host != nil
    else { return nil }
    let parts = u.path.split(separator: "/").map(String.init)
    guard parts.count >= 3, parts[parts.count - 3] == "v1.0", u.query == nil else { return nil }
    let collection = parts[parts.count - 2].lowercased(), id = parts[parts.count - 1]
    let wanted: PrincipalType?
    switch collection {
    case "directoryobjects": wanted = nil
    case "serviceprincipals": wanted = .servicePrincipal
    case "users": wanted = .user
    case "groups": wanted = .group
    default: return nil
    }
    guard let o = try world.object(id: id), wanted == nil || o.type == wanted else { throw ServiceError.graphNotFound(id) }
    return o.id
  }

  func graph(_ r: EmulatorRequest) -> EmulatorResponse {
    if let delayed = replicationDelay(r) { return delayed }
    let s = Array(r.segments.dropFirst())
    do throws(ServiceError) {
      switch (r.method, s.count) {
      case ("GET", 1) where s[0] == "me":
        let u = try world.signedInUser()
        return graphJSON(200, ["@odata.type": "#microsoft.graph.user", "id": .string(u.id),
                               "userPrincipalName": .string(u.userPrincipalName), "displayName": .string(u.displayName)])
      case ("GET", 1) where s[0].hasPrefix("servicePrincipals(appId="):
        let appID = String(s[0].dropFirst("servicePrincipals(appId=".count).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        guard let p = try world.servicePrincipal(appID: appID) else { throw ServiceError.graphNotFound(appID) }
        return graphJSON(200, sp(p))
      case ("GET", 1) where s[0] == "servicePrincipals":
        guard let appID = Self.eqFilter(r.q("$filter"), "appId") else {
          return Errors.graph(400, "Request_UnsupportedQuery", "Unsupported query.")
        }
        let found = try world.servicePrincipal(appID: appID).map { [sp($0)] } ?? []
        return graphJSON(200, paged(found, r, defaultSize: 100))
      case ("POST", 1) where s[0] == "servicePrincipals":
        guard let body = r.json, let appID = body["appId"]?.string else {
          return Errors.graph(400, "Request_BadRequest", "A value is required for property 'appId' of resource 'ServicePrincipal'.")
        }
        if try world.servicePrincipal(appID: appID) != nil {
          return Errors.graph(409, "Request_MultipleObjectsWithSameKeyValue",
                              "The service principal cannot be created, updated, or restored because the service principal name \(appID) is already in use.")
        }
        let p = try world.createServicePrincipal(appID: appID, displayName: body["displayName"]?.string ?? appID)
        noteCreated(p.id)
        return graphJSON(201, sp(p))
      case ("GET", 1) where s[0] == "groups":
        var list = world.groupList
        if let filter = r.q("$filter") {
          guard let name = Self.eqFilter(filter, "displayName") else {
            return Errors.graph(400, "Request_UnsupportedQuery", "Unsupported query.")
          }
          list = try world.groups(displayName: name)
        }
        return graphJSON(200, paged(list.map { selected(group($0), r) }, r, defaultSize: 100,
                                    extra: ["@odata.context": .string("\(r.origin)/v1.0/$metadata#groups")]))
      case ("DELETE", 2) where s[0] == "groups":
        try world.deleteGroup(id: s[1])
        return EmulatorResponse(status: 204)
      case ("GET", 1) where s[0] == "users":
        var list = world.userList
        if let filter = r.q("$filter") {
          guard let name = Self.eqFilter(filter, "userPrincipalName") else {
            return Errors.graph(400, "Request_UnsupportedQuery", "Unsupported query.")
          }
          list = list.filter { $0.userPrincipalName.lowercased() == name.lowercased() }
        }
        return graphJSON(200, paged(list.map { selected(user($0), r) }, r, defaultSize: 100,
                                    extra: ["@odata.context": .string("\(r.origin)/v1.0/$metadata#users")]))
      case ("GET", 2) where s[0] == "users":
        guard let u = world.user(id: s[1]) ?? world.userList.first(where: { $0.userPrincipalName.lowercased() == s[1].lowercased() })
        else { throw ServiceError.graphNotFound(s[1]) }
        return graphJSON(200, selected(user(u), r))
      case ("POST", 1) where s[0] == "groups":
        guard let body = r.json, let name = body["displayName"]?.string, let nick = body["mailNickname"]?.string,
          body["mailEnabled"]?.bool == false, body["securityEnabled"]?.bool == true
        else {
          return Errors.graph(400, "Request_BadRequest",
                              "A security group needs displayName, mailNickname, mailEnabled: false and securityEnabled: true.")
        }
        if name.count > 256 || nick.count > 64 || nick.contains(where: { "@()\\[]\";:.<>, ".contains($0) || !$0.isASCII }) {
          return Errors.graph(400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'.")
        }
        var owners: [String] = []
        if let bind = body["owners@odata.bind"] {
          guard let refs = bind.array else {
            return Errors.graph(400, "Request_BadRequest", "Invalid URL format specified in @odata.bind for owners")
          }
          guard refs.count <= 20 else { throw ServiceError.tooManyBoundReferences }
          for ref in refs {
            guard let url = ref.string, let id = try boundObject(url) else {
              return Errors.graph(400, "Request_BadRequest", "Invalid URL format specified in @odata.bind for owners")
            }
            owners.append(id)
          }
        }
        // One request: the group is created with its owners or not at all.
        let g = try world.createGroup(displayName: name, mailNickname: nick, description: body["description"]?.string,
                                      owners: owners)
        noteCreated(g.id)
        return graphJSON(201, group(g))
      case ("GET", 2) where s[0] == "groups":
        guard let g = try world.group(id: s[1]) else { throw ServiceError.graphNotFound(s[1]) }
        return graphJSON(200, selected(group(g), r))
      case ("GET", 3) where s[0] == "groups" && (s[2] == "owners" || s[2] == "members"):
        guard try world.group(id: s[1]) != nil else { throw ServiceError.graphNotFound(s[1]) }
        let list = s[2] == "owners" ? try world.owners(groupID: s[1]) : try world.members(groupID: s[1])
        return graphJSON(200, paged(list.map(object), r, defaultSize: 100))
      case ("POST", 4) where s[0] == "groups" && (s[2] == "owners" || s[2] == "members") && s[3] == "$ref":
        guard let ref = r.json?["@odata.id"]?.string, let id = ref.split(separator: "/").last.map(String.init) else {
          return Errors.graph(400, "Request_BadRequest", "Invalid request: @odata.id is required.")
        }
        guard try world.group(id: s[1]) != nil else { throw ServiceError.graphNotFound(s[1]) }
        guard try world.object(id: id) != nil else { throw ServiceError.graphNotFound(id) }
        if s[2] == "owners" { try world.addOwner(groupID: s[1], objectID: id) } else { try world.addMember(groupID: s[1], objectID: id) }
        return EmulatorResponse(status: 204)
      case ("GET", 2) where s[0] == "policies" && s[1] == "authorizationPolicy":
        return graphJSON(200, [
          "@odata.type": "#microsoft.graph.authorizationPolicy", "id": "authorizationPolicy",
          "defaultUserRolePermissions": ["allowedToCreateSecurityGroups": .bool(try world.securityGroupCreationAllowed())],
        ])
      case ("GET", 2) where s[0] == "directoryObjects":
        guard let o = try world.object(id: s[1]) else { throw ServiceError.graphNotFound(s[1]) }
        return graphJSON(200, object(o))
      default:
        return Errors.graph(400, "BadRequest", "Resource not found for the segment '\(s.last ?? "")'.")
      }
    } catch {
      return graphFail(error)
    }
  }
}
