import Foundation
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

/// The scenarios of `runbooks/state/`, derived from the demo tenant. The JSON
/// files are the artifacts; `RUNBOOK_WRITE_STATES=1 swift test` rewrites them.
enum Scenarios {
  static let fabrikamCI = "4d3c2b1a-0f9e-4d8c-b7a6-958473625140"

  static func solution(_ unique: String, _ friendly: String, _ version: String, publisher: String = "Microsoft Dynamics 365") -> SolutionState {
    SolutionState(id: StableID.guid("solution", unique), uniqueName: unique, friendlyName: friendly, version: version,
                  isManaged: true, publisher: publisher)
  }
  static func dep(_ dependent: String, _ dType: Int, _ dName: String, requires required: String, _ rType: Int, _ rName: String) -> DependencyState {
    DependencyState(dependencyType: 2, requiredSolution: required, requiredComponentType: rType, requiredComponent: rName,
                    dependentSolution: dependent, dependentComponentType: dType, dependentComponent: dName)
  }

  static let ciSolutions = [
    solution("msdyn_CustomerInsightsAnchor", "Dynamics 365 Customer Insights Base", "1.0.4211.2"),
    solution("msdyn_CustomerInsightsDataTables", "Dynamics 365 Customer Insights Data Tables", "1.0.4211.2"),
    solution("msdyn_CustomerInsights", "Dynamics 365 Customer Insights", "1.0.4211.2"),
    solution("CustomerInsightsCustomerCard", "Dynamics 365 Customer Insights Customer Card", "1.0.1277.1"),
    solution("msdyn_CustomerInsightsAppUserManagementProd", "Dynamics 365 Customer Insights Prod First Party App User Management", "1.0.112.0"),
  ]
  static let journeysSolutions = [
    solution("DynamicsMKT_AttachCIApplicationUser", "DynamicsMKT_AttachCIApplicationUser", "1.1.31046.66"),
    solution("DynamicsMKT_ConsentAttachCI", "Dynamics Marketing Consent For Customer Insights", "1.1.31046.66"),
    solution("DynamicsMKT_OrchestrationEngineAttachCI", "DynamicsMKT_OrchestrationEngineAttachCI", "1.1.31046.66"),
  ]
  /// Each solution is required only by solutions listed before it, so the documented order works.
  static let ciDependencies = [
    dep("msdyn_CustomerInsightsAnchor", 62, "Customer Insights - Data", requires: "msdyn_CustomerInsights", 1, "msdynci_customerprofile"),
    dep("msdyn_CustomerInsightsDataTables", 26, "Active alternate keys", requires: "msdyn_CustomerInsights", 1, "msdynci_customerprofile"),
    dep("msdyn_CustomerInsights", 92, "Provision CI application user", requires: "msdyn_CustomerInsightsAppUserManagementProd", 90, "AppUserProvisioner"),
    dep("CustomerInsightsCustomerCard", 61, "msdyn_/CustomerCard/card.js", requires: "msdyn_CustomerInsightsAppUserManagementProd", 90, "AppUserProvisioner"),
    dep("DynamicsMKT_OrchestrationEngineAttachCI", 29, "Customer Insights profile trigger", requires: "msdyn_CustomerInsights", 1, "msdynci_customerprofile"),
    dep("DynamicsMKT_ConsentAttachCI", 2, "msdynmkt_ciconsentprofileid", requires: "msdyn_CustomerInsightsDataTables", 1, "msdynci_alternatekey"),
    dep("DynamicsMKT_AttachCIApplicationUser", 92, "Attach CI application user", requires: "msdyn_CustomerInsightsAppUserManagementProd", 90, "AppUserProvisioner"),
  ]
  static let cxpConfigID = "6b1f2e3d-4c5b-4a69-8778-695a4b3c2d1e"
  static func tables(cxpStatus: CIStatus?) -> [TableState] {
    var t: [TableState] = []
    if let cxpStatus {
      t.append(TableState(name: "msdynmkt_configuration", entitySet: "msdynmkt_configurations", solution: nil, rows: [
        RowState(id: cxpConfigID, version: 3, columns: [
          "msdynmkt_name": .string("CXPConfig"), "msdynmkt_cistatus": .int(cxpStatus.rawValue),
        ])
      ]))
    }
    for (name, solution) in [("msdynci_customerprofile", "msdyn_CustomerInsights"), ("msdynci_alternatekey", "msdyn_CustomerInsightsDataTables"),
                             ("msdynci_unifiedactivity", "msdyn_CustomerInsightsDataTables"), ("msdynci_segmentmembership", "msdyn_CustomerInsightsDataTables")] {
      t.append(TableState(name: name, entitySet: name + "s", solution: solution, rows: []))
    }
    return t
  }

  /// The demo tenant after ByolSetup (no path), i.e. a configured tenant.
  static func configured() throws -> StateFile {
    let h = Harness()
    try byolSetup(h)
    return h.world.snapshot()
  }

  /// Configured, connected to CI-D (with the permission identifier) and, optionally, Journeys.
  static func connected(journeys: Bool) throws -> StateFile {
    let h = Harness(world: try World(state: try configured()))
    let (r, c) = (h.world.group(named: "contoso-Dataverse-readers")[0].id, h.world.group(named: "contoso-Dataverse-contributors")[0].id)
    var s = h.world.snapshot()
    let account = "/subscriptions/\(subscriptionID)/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
    s.powerPlatform.environments[0].linkedStorageAccount = account
    s.powerPlatform.environments[0].attachedCustomerInsights = s.customerInsights.environments[0].id
    s.powerPlatform.environments[0].solutions += ciSolutions + (journeys ? journeysSolutions : [])
    s.powerPlatform.environments[0].dependencies = ciDependencies.filter { journeys || !$0.dependentSolution.hasPrefix("DynamicsMKT") }
    s.powerPlatform.environments[0].tables = tables(cxpStatus: journeys ? .configured : nil)
    s.customerInsights.environments[0].dataverseEnvironmentId = s.powerPlatform.environments[0].id
    s.customerInsights.environments[0].permissionIdentifier = "https://contosolake.dfs.core.windows.net/customerinsights?cg=\(c)&rg=\(r)"
    return s
  }

  static let financeID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
  static let bobID = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"
  static let restrictiveDirectoryACL =
    "user::rwx,user:\(bobID):rwx,group::rwx,group:\(financeID):rwx,mask::r-x,other::---,"
    + "default:user::rwx,default:user:\(bobID):rwx,default:group::r-x,default:group:\(financeID):rwx,default:mask::r-x,default:other::---"
  static let restrictiveFileACL = "user::rw-,user:\(bobID):rw-,group::rw-,group:\(financeID):rw-,mask::r--,other::---"

  /// The H1 case: a container whose existing items have a restrictive mask
  /// (`mask::r-x`, files `r--`) while Bob and Finance (and the owning
  /// group) store more; their effective access is the mask's.
  static func restrictiveMask() -> StateFile {
    var s = World.demoState()
    func item(_ path: String, _ type: String, _ acl: String) -> PathState {
      PathState(path: path, type: type, owner: "$superuser", group: "$superuser", acl: acl)
    }
    s.azure.storageAccounts[0].filesystems = [FilesystemState(
      name: ciContainerName, owner: "$superuser", group: "$superuser", acl: restrictiveDirectoryACL,
      paths: [item("readme.txt", "file", restrictiveFileACL), item("sales", "directory", restrictiveDirectoryACL),
              item("sales/2025.csv", "file", restrictiveFileACL), item("sales/2026.csv", "file", restrictiveFileACL)])]
    return s
  }

  static func all() throws -> [(String, StateFile)] {
    var attached = World.demoState()
    attached.customerInsights.environments.append(CIEnvironmentState(
      id: fabrikamCI, name: "Fabrikam CI", region: "unitedstates", profileCount: 80_000, accountCount: 0, isB2b: false,
      dataverseEnvironmentId: attached.powerPlatform.environments[0].id, permissionIdentifier: nil))
    attached.powerPlatform.environments[0].attachedCustomerInsights = fabrikamCI
    attached.powerPlatform.environments[0].solutions += ciSolutions
    attached.powerPlatform.environments[0].dependencies = ciDependencies.filter { !$0.dependentSolution.hasPrefix("DynamicsMKT") }
    attached.powerPlatform.environments[0].tables = tables(cxpStatus: nil)

    var nonHNS = World.demoState()
    nonHNS.azure.storageAccounts[0].isHnsEnabled = false
    nonHNS.azure.storageAccounts[0].blobSoftDelete = true

    var privateEndpoint = World.demoState()
    privateEndpoint.azure.storageAccounts[0].privateEndpointOnly = true

    var blocked = try connected(journeys: true)
    blocked.powerPlatform.environments[0].solutions.append(
      solution("ContosoCustomizations", "Contoso Customizations", "1.0.0.7", publisher: "Contoso"))
    blocked.powerPlatform.environments[0].solutions[blocked.powerPlatform.environments[0].solutions.count - 1].isManaged = false
    blocked.powerPlatform.environments[0].dependencies.append(
      dep("ContosoCustomizations", 60, "Contoso Customer Card", requires: "msdyn_CustomerInsights", 1, "msdynci_customerprofile"))

    var noGroupCreation = World.demoState()
    noGroupCreation.tenant.groupCreationAllowed = false

    var b2b = World.demoState()
    b2b.customerInsights.environments[0].isB2b = true
    b2b.customerInsights.environments[0].profileCount = 0
    b2b.customerInsights.environments[0].accountCount = 30_000

    return [
      ("fresh-tenant", World.demoState()),
      ("attached-elsewhere", attached),
      ("journeys-connected", try connected(journeys: true)),
      ("non-hns-account", nonHNS),
      ("private-endpoint", privateEndpoint),
      ("uninstall-blocked", blocked),
      ("configured-tenant", try configured()),
      ("group-creation-disabled", noGroupCreation),
      ("b2b-tenant", b2b),
      ("restrictive-mask", restrictiveMask()),
    ]
  }

  static var stateDirectory: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("runbooks/state")
  }

  static func load(_ name: String) throws -> World {
    try World.load(path: stateDirectory.appendingPathComponent(name + ".json").path)
  }
}

@Suite("State files in runbooks/state")
struct StateFileScenarioTests {
  @Test("each scenario file loads and equals its derivation (golden)")
  func golden() throws {
    let write = ProcessInfo.processInfo.environment["RUNBOOK_WRITE_STATES"] == "1"
    if write { try FileManager.default.createDirectory(at: Scenarios.stateDirectory, withIntermediateDirectories: true) }
    for (name, state) in try Scenarios.all() {
      let world = try World(state: state)
      let path = Scenarios.stateDirectory.appendingPathComponent(name + ".json").path
      if write { try world.save(path: path) }
      let loaded = try World.load(path: path)
      #expect(loaded.stateJSON() == world.stateJSON(), "\(name).json differs from its derivation")
      #expect(try String(contentsOfFile: path, encoding: .utf8) == world.stateJSON(), "\(name).json is not in saved form")
    }
  }
}
