import RunbookServices

extension World {
  /// A fresh Contoso tenant for `runbook run --dry-run` without `--state`:
  /// an admin user, a subscription with an HNS storage account (no
  /// `customerinsights` container yet), a Dataverse environment and a
  /// Customer Insights environment in the same region, nothing connected,
  /// and no data-lake service principal or groups yet.
  public static func demoTenant() -> World {
    // The demo state is built from constants and always validates.
    try! World(state: demoState())
  }

  /// The demo tenant's signed-in user and nothing else: for built-ins that
  /// are declared but never call their services (`check`, plain runs), so
  /// that declaring them does not build and validate a whole tenant.
  public static func signedInUserOnly() -> World {
    var state = demoState()
    state.directory = DirectoryState(
      users: state.directory.users.filter { $0.id == state.tenant.signedInUser }, servicePrincipals: [], groups: [])
    state.azure = AzureState(subscriptions: [], storageAccounts: [], roleAssignments: [])
    state.powerPlatform = PowerPlatformState(environments: [])
    state.customerInsights = CustomerInsightsState(environments: [])
    return try! World(state: state)
  }

  /// The state of `demoTenant()`, to derive scenarios from.
  public static func demoState() -> StateFile {
    let sub = "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"
    let alice = "0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c"
    let bob = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"
    let finance = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
    return StateFile(
      format: StateFile.currentFormat,
      tenant: TenantState(
        id: "72f988bf-86f1-41af-91ab-2d7cd011db47", domain: "contoso.onmicrosoft.com", seed: "contoso", idCounter: 0,
        now: "2026-01-05T09:00:00Z", signedInUser: alice, groupCreationAllowed: true, rolePropagationSeconds: 90),
      directory: DirectoryState(
        users: [
          UserState(id: alice, userPrincipalName: "alice@contoso.onmicrosoft.com", displayName: "Alice Admin"),
          UserState(id: bob, userPrincipalName: "bob@contoso.onmicrosoft.com", displayName: "Bob Analyst"),
        ],
        servicePrincipals: [],
        groups: [
          GroupState(id: finance, displayName: "Finance", mailNickname: "Finance", securityEnabled: true,
                     description: "Finance team", owners: [alice], members: [bob])
        ]),
      azure: AzureState(
        subscriptions: [SubscriptionState(id: sub, name: "Contoso Production", resourceGroups: ["rg-customerinsights", "rg-network"])],
        storageAccounts: [
          StorageAccountState(
            name: "contosolake", subscriptionId: sub, resourceGroup: "rg-customerinsights", location: "eastus",
            kind: "StorageV2", isHnsEnabled: true, privateEndpointOnly: false, blobSoftDelete: false,
            blobStorageEvents: false, filesystems: [])
        ],
        roleAssignments: []),
      powerPlatform: PowerPlatformState(environments: [
        DataverseEnvironmentState(
          id: "3f2e1d0c-9b8a-4765-8432-10fedcba9876", name: "Contoso Sales", url: "https://contososales.crm.dynamics.com/",
          region: "unitedstates", organizationId: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", linkedStorageAccount: nil,
          attachedCustomerInsights: nil,
          users: [DataverseUserState(objectId: alice, roles: ["System Administrator"], licensed: true)],
          solutions: [
            SolutionState(id: "fd140aaf-4df4-11dd-bd17-0019b9312238", uniqueName: "Default", friendlyName: "Default Solution",
                          version: "1.0", isManaged: false, publisher: "Default Publisher for contososales"),
            SolutionState(id: "25a01723-9f63-4449-a3e0-046cc23a2902", uniqueName: "System", friendlyName: "System Solution",
                          version: "9.2.25121.160", isManaged: true, publisher: "Microsoft Corporation"),
          ],
          dependencies: [], tables: [])
      ]),
      customerInsights: CustomerInsightsState(environments: [
        CIEnvironmentState(
          id: "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", name: "Contoso CI", region: "unitedstates", profileCount: 250_000,
          accountCount: 0, isB2b: false, dataverseEnvironmentId: nil, permissionIdentifier: nil)
      ]),
      faults: nil)
  }
}
