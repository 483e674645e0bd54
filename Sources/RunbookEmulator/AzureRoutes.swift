import Foundation
import RunbookServices
import RunbookSimulator

extension Emulator {
  func armFail(_ e: ServiceError) -> EmulatorResponse {
    .json(e.status, ["error": ["code": .string(e.code), "message": .string(e.message)]])
  }

  func account(_ a: StorageAccount, origin: String) -> WireJSON {
    [
      "id": .string(a.id), "name": .string(a.name), "type": "Microsoft.Storage/storageAccounts",
      "location": .string(a.location), "kind": .string(a.kind), "sku": ["name": "Standard_LRS", "tier": "Standard"],
      "properties": [
        "isHnsEnabled": .bool(a.isHnsEnabled), "provisioningState": "Succeeded",
        "publicNetworkAccess": a.privateEndpointOnly ? "Disabled" : "Enabled",
        "primaryEndpoints": ["dfs": .string("\(origin)/\(a.name)/"), "blob": .string("\(origin)/\(a.name)/")],
      ],
    ]
  }

  func assignment(_ a: RoleAssignment) -> WireJSON {
    ["id": .string(a.id), "name": .string(a.name), "type": "Microsoft.Authorization/roleAssignments",
     "properties": [
       "scope": .string(a.scope), "roleDefinitionId": .string(a.roleDefinitionID), "principalId": .string(a.principalID),
       "principalType": .string(a.principalType.rawValue), "condition": .null, "conditionVersion": .null,
       "description": .null, "delegatedManagedIdentityResourceId": .null,
     ]]
  }

  static let assignmentNotFound = ServiceError(service: "arm", status: 404, code: "RoleAssignmentNotFound",
                                               message: "The role assignment does not exist.")

  /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`:
  /// unfiltered, `atScope()`, `principalId eq '…'` or both joined by `and`.
  func listAssignments(_ r: EmulatorRequest, scope: String) throws(ServiceError) -> EmulatorResponse {
    var atScope = false, principal: String? = nil
    if let filter = r.q("$filter"), !filter.trimmingCharacters(in: .whitespaces).isEmpty {
      for clause in filter.components(separatedBy: " and ").map({ $0.trimmingCharacters(in: .whitespaces) }) {
        if clause.lowercased() == "atscope()" { atScope = true; continue }
        guard let id = Self.eqFilter(clause, "principalId") else {
          throw ServiceError(service: "arm", status: 400, code: "UnsupportedQuery",
                             message: "The filter '\(filter)' is not supported. Supported filters are 'atScope()', 'principalId eq {id}' and 'assignedTo({id})'.")
        }
        principal = id
      }
    }
    let list = world.listRoleAssignments(scope: scope, principalID: principal, atScope: atScope).map(assignment)
    return .json(200, paged(list, r, defaultSize: 1000, nextKey: "nextLink"))
  }

  func arm(_ r: EmulatorRequest) -> EmulatorResponse {
    guard r.q("api-version") != nil else {
      return armFail(ServiceError(service: "arm", status: 400, code: "MissingApiVersionParameter",
                                  message: "The api-version query parameter (?api-version=) is required for all requests."))
    }
    let s = r.segments
    let lower = s.map { $0.lowercased() }
    let origin = r.origin
    do throws(ServiceError) {
      // Role assignments at any scope.
      if let p = lower.lastIndex(of: "providers"), p + 2 < lower.count, lower[p + 1] == "microsoft.authorization",
        lower[p + 2] == "roleassignments"
      {
        let scope = "/" + s[..<p].joined(separator: "/")
        if r.method == "GET" && p + 3 == s.count { return try listAssignments(r, scope: scope) }
        if r.method == "GET" && p + 4 == s.count {
          guard let a = world.roleAssignment(scope: scope, name: s[p + 3]) else { throw Self.assignmentNotFound }
          return .json(200, assignment(a))
        }
        if r.method == "DELETE" && p + 4 == s.count {
          // 200 with the deleted assignment, then 204 when it is gone.
          guard let a = try world.deleteRoleAssignment(scope: scope, name: s[p + 3]) else { return EmulatorResponse(status: 204) }
          return .json(200, assignment(a))
        }
        if r.method == "PUT" && p + 4 == s.count {
          guard let props = r.json?["properties"], let role = props["roleDefinitionId"]?.string,
            let principal = props["principalId"]?.string
          else {
            return armFail(ServiceError(service: "arm", status: 400, code: "InvalidRequestContent",
                                        message: "The request content was invalid and could not be deserialized."))
          }
          let type = props["principalType"]?.string.flatMap(PrincipalType.init(rawValue:))
          if type == nil, replicationLeft[principal.lowercased(), default: 0] > 0 {
            replicationLeft[principal.lowercased()]! -= 1
            return armFail(ServiceError(service: "arm", status: 400, code: "PrincipalNotFound",
                                        message: "Principal \(principal.replacingOccurrences(of: "-", with: "")) does not exist in the directory \(world.tenant.id)."))
          }
          let known = try world.object(id: principal)?.type
          let (a, created) = try world.createRoleAssignment(RoleAssignment(
            name: s[p + 3], scope: scope, roleDefinitionID: role, principalID: principal,
            principalType: type ?? known ?? .servicePrincipal))
          return .json(created ? 201 : 200, assignment(a))
        }
      }
      if r.method != "GET" {
        return armFail(ServiceError(service: "arm", status: 405, code: "MethodNotAllowed", message: "The requested method is not allowed."))
      }
      // GET /subscriptions
      if s.count == 1 {
        let subs = world.subscriptionList.map { sub -> WireJSON in
          ["id": .string("/subscriptions/\(sub.id)"), "subscriptionId": .string(sub.id), "displayName": .string(sub.name),
           "state": "Enabled", "tenantId": .string(world.tenant.id)]
        }
        return .json(200, paged(subs, r, defaultSize: 1000, nextKey: "nextLink"))
      }
      guard world.subscriptionList.contains(where: { $0.id.lowercased() == lower[1] }) else {
        throw ServiceError(service: "arm", status: 404, code: "SubscriptionNotFound", message: "The subscription '\(s[1])' could not be found.")
      }
      let accounts = world.storageAccounts(subscriptionID: s[1])
      // GET /subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts
      if lower.count == 4, lower[2] == "providers", lower[3] == "microsoft.storage" {
        return armFail(ServiceError(service: "arm", status: 404, code: "NotFound", message: "Not found"))
      }
      if lower.count == 5, lower[2] == "providers", lower[3] == "microsoft.storage", lower[4] == "storageaccounts" {
        return .json(200, paged(accounts.map { account($0, origin: origin) }, r, defaultSize: 1000, nextKey: "nextLink"))
      }
      // /subscriptions/{sub}/resourceGroups/{rg}/providers/...
      if lower.count >= 6, lower[2] == "resourcegroups", lower[4] == "providers" {
        let rg = s[3]
        guard world.subscriptionList.first(where: { $0.id.lowercased() == lower[1] })?.resourceGroups
          .contains(where: { $0.lowercased() == rg.lowercased() }) == true
        else {
          throw ServiceError(service: "arm", status: 404, code: "ResourceGroupNotFound", message: "Resource group '\(rg)' could not be found.")
        }
        if lower.count >= 7, lower[5] == "microsoft.storage", lower[6] == "storageaccounts" {
          guard lower.count >= 8 else {
            let list = world.storageAccounts(subscriptionID: s[1], resourceGroup: rg).map { account($0, origin: origin) }
            return .json(200, paged(list, r, defaultSize: 1000, nextKey: "nextLink"))
          }
          let a = try world.storageAccount(subscriptionID: s[1], resourceGroup: rg, name: s[7])
          if lower.count == 8 { return .json(200, account(a, origin: origin)) }
          if lower.count == 10, lower[8] == "blobservices", lower[9] == "default" {
            return .json(200, ["id": .string(a.id + "/blobServices/default"), "name": "default",
                               "type": "Microsoft.Storage/storageAccounts/blobServices",
                               "properties": ["deleteRetentionPolicy": ["enabled": .bool(a.blobSoftDelete), "days": 7]]])
          }
        }
        if lower.count == 7, lower[5] == "microsoft.eventgrid", lower[6] == "systemtopics" {
          let topics = accounts.filter { $0.resourceGroup.lowercased() == rg.lowercased() && $0.blobStorageEvents }.map { a -> WireJSON in
            let id = a.id
            return ["id": .string("/subscriptions/\(a.subscriptionID)/resourceGroups/\(a.resourceGroup)/providers/Microsoft.EventGrid/systemTopics/\(a.name)-events"),
                    "name": .string("\(a.name)-events"), "type": "Microsoft.EventGrid/systemTopics",
                    "properties": ["source": .string(id), "topicType": "Microsoft.Storage.StorageAccounts"]]
          }
          return .json(200, paged(topics, r, defaultSize: 1000, nextKey: "nextLink"))
        }
      }
      return armFail(ServiceError(service: "arm", status: 404, code: "InvalidResourceType",
                                  message: "The resource type could not be found in the namespace for api version '\(r.q("api-version") ?? "")'."))
    } catch {
      return armFail(error)
    }
  }

  // MARK: Power Platform admin API

  func powerPlatform(_ r: EmulatorRequest) -> EmulatorResponse {
    let lower = r.segments.map { $0.lowercased() }
    guard r.method == "GET", lower == ["providers", "microsoft.businessappplatform", "scopes", "admin", "environments"] else {
      return .json(404, ["error": ["code": "NotFound", "message": .string("No route for \(r.path)")]])
    }
    guard let envs = try? world.environments() else { return .json(500, ["error": ["code": "InternalError", "message": "failed"]]) }
    let list = envs.map { e -> WireJSON in
      ["id": .string("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/\(e.id)"), "name": .string(e.id),
       "type": "Microsoft.BusinessAppPlatform/scopes/environments", "location": .string(e.region),
       "properties": [
         "displayName": .string(e.name), "location": .string(e.region), "environmentSku": "Production",
         "linkedEnvironmentMetadata": [
           "instanceUrl": .string(e.url), "resourceId": .string(e.organizationID),
           "storageAccountResourceId": WireJSON(e.linkedStorageAccount),
           "customerInsightsInstanceId": WireJSON(e.attachedCustomerInsights),
         ],
       ]]
    }
    return .json(200, paged(list, r, defaultSize: 1000, nextKey: "nextLink"))
  }

  // MARK: Customer Insights API

  func customerInsights(_ r: EmulatorRequest) -> EmulatorResponse {
    let s = r.segments
    do throws(ServiceError) {
      if r.method == "GET" && s == ["v1", "instances"] {
        let list = try world.ciEnvironments().map { c -> WireJSON in
          ["instanceId": .string(c.id), "name": .string(c.name), "region": .string(c.region),
           "profileCount": WireJSON(c.profileCount), "accountCount": WireJSON(c.accountCount), "isB2B": .bool(c.isB2B),
           "cdsOrgInfo": ["environmentId": WireJSON(c.dataverseEnvironmentID)],
           "byolStorage": ["permissionIdentifier": WireJSON(c.permissionIdentifier)]]
        }
        return .json(200, .array(list))
      }
      if r.method == "PATCH" && s.count == 3 && s[0] == "v1" && s[1] == "instances" {
        guard let body = r.json, let env = body["cdsOrgInfo"]?["environmentId"]?.string else {
          return .json(400, ["error": ["code": "InvalidRequest", "message": "cdsOrgInfo.environmentId is required."]])
        }
        try world.attach(ciEnvironmentID: s[2], dataverseEnvironmentID: env,
                         storageAccountID: body["byolStorage"]?["storageAccountResourceId"]?.string,
                         permissionIdentifier: body["byolStorage"]?["permissionIdentifier"]?.string)
        return EmulatorResponse(status: 204)
      }
      return .json(404, ["error": ["code": "NotFound", "message": .string("No route for \(r.path)")]])
    } catch {
      return .json(error.status, ["error": ["code": .string(error.code), "message": .string(error.message)]])
    }
  }
}
