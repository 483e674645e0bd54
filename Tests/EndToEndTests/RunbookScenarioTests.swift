import Foundation
import Testing

/// The real runbooks in `runbooks/`, run through the built binary against the
/// scenario states in `runbooks/state/` (dry runs, `--save-state`), checked
/// against the end state ByolSetup.ps1 / CreateSecurityGroups.ps1 produce
/// (`/work/shared/reference/byol-scripts.md`).
@Suite("Runbook scenarios through the binary")
struct RunbookScenarioTests {
  // MARK: Constants of the scripts

  static let lakeAppID = "546068c3-99b1-4890-8e93-c8aeadcfe56a"
  static let lakeAppName = "Common Data Service - Azure Data Lake Storage"
  static let alice = "0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c"
  static let subscription = "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"
  static let accountScope =
    "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
  static let containerScope = accountScope + "/blobServices/default/containers/customerinsights"
  static let blobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
  static let blobDelegator = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
  static let blobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
  static let byolParams = [
    "subscription_id": subscription, "resource_group": "rg-customerinsights", "storage_account_name": "contosolake",
  ]
  static let prefixParams = byolParams.merging(["group_prefix": "contoso"]) { a, _ in a }
  static let planNothing = "Plan: 0 to add, 0 to change, 0 to destroy."

  // MARK: Running

  struct Run {
    var result: BinaryResult
    /// The saved state (`--save-state`), parsed.
    var state: [String: Any]
    var statePath: String
    var status: Int32 { result.status }
    var stdout: String { result.stdout }
    var stderr: String { result.stderr }
  }

  static let scratch: URL = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-scenarios-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }()

  static func statePath(_ scenario: String) -> String { "runbooks/state/\(scenario).json" }

  /// `runbook run --dry-run runbooks/<runbook>.runbook --state <state> --save-state <tmp> --param …`.
  static func run(_ runbook: String, state: String, _ params: [String: String] = [:], extra: [String] = []) throws -> Run {
    let out = scratch.appendingPathComponent("\(runbook)-\(UUID().uuidString).json").path
    var args = ["run", "--dry-run", "runbooks/\(runbook).runbook", "--state", state, "--save-state", out]
    for (k, v) in params.sorted(by: { $0.key < $1.key }) { args += ["--param", "\(k)=\(v)"] }
    let r = try BinaryRunner.run(args + extra)
    var saved: [String: Any] = [:]
    if let data = FileManager.default.contents(atPath: out) {
      saved = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
    return Run(result: r, state: saved, statePath: out)
  }

  /// Writes a state derived from a scenario file (JSON edit) and returns its path.
  static func derivedState(from scenario: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
    let data = try #require(FileManager.default.contents(atPath: BinaryRunner.repositoryRoot.appendingPathComponent(statePath(scenario)).path))
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    edit(&json)
    let url = scratch.appendingPathComponent("\(scenario)-derived-\(UUID().uuidString).json")
    try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    return url.path
  }

  /// The fresh tenant plus a `customerinsights` container that already holds data.
  static func freshTenantWithData() throws -> String {
    func item(_ path: String, _ type: String, _ acl: String) -> [String: Any] {
      ["path": path, "type": type, "owner": alice, "group": "$superuser", "acl": acl]
    }
    let dir = "user::rwx,group::r-x,other::---", file = "user::rw-,group::r--,other::---"
    return try derivedState(from: "fresh-tenant") { json in
      var azure = json["azure"] as! [String: Any]
      var accounts = azure["storage_accounts"] as! [[String: Any]]
      accounts[0]["filesystems"] = [[
        "name": "customerinsights", "owner": "$superuser", "group": "$superuser", "acl": dir,
        "paths": [
          item("a", "directory", dir), item("a/b", "directory", dir), item("a/b/c", "directory", dir),
          item("a/b/c/part-0001.csv", "file", file), item("a/b/data.csv", "file", "user::rw-,group::r--,mask::r--,other::---"),
          item("a/old.csv", "file", file), item("other", "directory", dir), item("other/x.csv", "file", file),
        ],
      ] as [String: Any]]
      azure["storage_accounts"] = accounts
      json["azure"] = azure
    }
  }

  // MARK: Reading a saved state

  struct EndState {
    let json: [String: Any]

    var directory: [String: Any] { json["directory"] as? [String: Any] ?? [:] }
    var groups: [[String: Any]] { directory["groups"] as? [[String: Any]] ?? [] }
    func groups(named name: String) -> [[String: Any]] { groups.filter { $0["display_name"] as? String == name } }
    var servicePrincipals: [[String: Any]] { directory["service_principals"] as? [[String: Any]] ?? [] }
    var lakeApp: [String: Any]? { servicePrincipals.first { $0["app_id"] as? String == lakeAppID } }
    var azure: [String: Any] { json["azure"] as? [String: Any] ?? [:] }
    /// (role GUID, scope, principal id, principal type) of every assignment.
    var roles: Set<[String]> {
      Set((azure["role_assignments"] as? [[String: Any]] ?? []).map {
        [String(($0["role_definition_id"] as? String ?? "").split(separator: "/").last ?? ""), $0["scope"] as? String ?? "",
         $0["principal_id"] as? String ?? "", $0["principal_type"] as? String ?? ""]
      })
    }
    var container: [String: Any]? {
      let accounts = azure["storage_accounts"] as? [[String: Any]] ?? []
      let fss = accounts.first?["filesystems"] as? [[String: Any]] ?? []
      return fss.first { $0["name"] as? String == "customerinsights" }
    }
    var paths: [[String: Any]] { container?["paths"] as? [[String: Any]] ?? [] }
    /// The ACL entries of the container root (`""`) or a path.
    func acl(_ path: String) -> Set<String> {
      let text = path.isEmpty ? container?["acl"] as? String : paths.first { $0["path"] as? String == path }?["acl"] as? String
      return Set((text ?? "").split(separator: ",").map(String.init))
    }
    func type(_ path: String) -> String? { paths.first { $0["path"] as? String == path }?["type"] as? String }
    var ciEnvironment: [String: Any]? {
      ((json["customer_insights"] as? [String: Any])?["environments"] as? [[String: Any]])?.first
    }
    var dataverse: [String: Any]? {
      ((json["power_platform"] as? [String: Any])?["environments"] as? [[String: Any]])?.first
    }
  }

  /// The entries byol-setup grants on a directory whose access ACL is
  /// `user::rwx,group::r-x,other::---`, with the base default entries the
  /// service adds to a default ACL (copied from those access entries).
  static func full(_ r: String, _ c: String) -> Set<String> {
    ["group:\(r):r-x", "group:\(c):rwx", "default:group:\(r):r-x", "default:group:\(c):rwx", "mask::rwx", "default:mask::rwx",
     "default:user::rwx", "default:group::r-x", "default:other::---"]
  }
  static func traverse(_ r: String, _ c: String) -> Set<String> { ["group:\(r):--x", "group:\(c):--x"] }

  /// Everything ByolSetup.ps1 leaves behind, for the given variant; returns (reader id, contributor id).
  @discardableResult
  static func expectByolEndState(_ s: EndState, path: String = "", oauthOnly: Bool = false,
                                 stdout: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (String, String) {
    let app = try #require(s.lakeApp, "no service principal for the data-lake app", sourceLocation: sourceLocation)
    #expect(app["display_name"] as? String == lakeAppName, sourceLocation: sourceLocation)
    #expect(s.servicePrincipals.count == 1, sourceLocation: sourceLocation)
    let sp = try #require(app["id"] as? String)

    let readers = s.groups(named: "contoso-Dataverse-readers"), contributors = s.groups(named: "contoso-Dataverse-contributors")
    #expect(readers.count == 1 && contributors.count == 1, sourceLocation: sourceLocation)
    let reader = try #require(readers.first), contributor = try #require(contributors.first)
    let r = try #require(reader["id"] as? String), c = try #require(contributor["id"] as? String)
    for (g, name) in [(reader, "contoso-Dataverse-readers"), (contributor, "contoso-Dataverse-contributors")] {
      #expect(g["mail_nickname"] as? String == name, sourceLocation: sourceLocation)
      #expect(g["security_enabled"] as? Bool == true, sourceLocation: sourceLocation)
      #expect(g["owners"] as? [String] == [sp], "\(name) must be owned by the data-lake app only", sourceLocation: sourceLocation)
    }
    #expect(reader["members"] as? [String] == [], sourceLocation: sourceLocation)
    #expect(contributor["members"] as? [String] == (oauthOnly ? [sp] : []), sourceLocation: sourceLocation)
    #expect(s.groups.count == 3, "Finance plus the two groups", sourceLocation: sourceLocation)

    var roles: Set<[String]> = [[blobDataOwner, accountScope, alice, "User"]]
    if !oauthOnly {
      roles.insert([blobDelegator, accountScope, sp, "ServicePrincipal"])
      roles.insert([blobDataContributor, containerScope, sp, "ServicePrincipal"])
    }
    #expect(s.roles == roles, sourceLocation: sourceLocation)

    // ACLs: container root, intermediate folders (traverse only), mount folder.
    let container = try #require(s.container, "no customerinsights container", sourceLocation: sourceLocation)
    #expect(container["name"] as? String == "customerinsights", sourceLocation: sourceLocation)
    let rootACL = s.acl("")
    if path.isEmpty {
      #expect(full(r, c).isSubset(of: rootACL), "root ACL: \(rootACL.sorted())", sourceLocation: sourceLocation)
    } else {
      #expect(traverse(r, c).isSubset(of: rootACL), "root ACL: \(rootACL.sorted())", sourceLocation: sourceLocation)
      #expect(!rootACL.contains { $0.hasPrefix("default:group:\(r)") || $0.hasPrefix("default:group:\(c)") },
              sourceLocation: sourceLocation)
      let segments = path.split(separator: "/").map(String.init)
      for i in segments.indices.dropLast() {
        let folder = segments[...i].joined(separator: "/")
        let acl = s.acl(folder)
        #expect(s.type(folder) == "directory", sourceLocation: sourceLocation)
        #expect(traverse(r, c).isSubset(of: acl), "\(folder): \(acl.sorted())", sourceLocation: sourceLocation)
        #expect(!acl.contains("group:\(r):r-x") && !acl.contains("group:\(c):rwx"), sourceLocation: sourceLocation)
        #expect(!acl.contains { $0.hasPrefix("default:group:\(r)") || $0.hasPrefix("default:group:\(c)") },
                sourceLocation: sourceLocation)
      }
      #expect(s.type(path) == "directory", sourceLocation: sourceLocation)
      #expect(full(r, c).isSubset(of: s.acl(path)), "\(path): \(s.acl(path).sorted())", sourceLocation: sourceLocation)
    }
    // The existing entries are kept (merge, not replace).
    #expect(["user::rwx", "group::r-x", "other::---"].allSatisfy(rootACL.contains), sourceLocation: sourceLocation)

    let identifier = "https://contosolake.dfs.core.windows.net/customerinsights\(path.isEmpty ? "" : "/" + path)?cg=\(c)&rg=\(r)"
    #expect(stdout.contains("permission_identifier = \"\(identifier)\""), sourceLocation: sourceLocation)
    #expect(stdout.contains("reader_group_id       = \"\(r)\""), sourceLocation: sourceLocation)
    #expect(stdout.contains("contributor_group_id  = \"\(c)\""), sourceLocation: sourceLocation)
    #expect(stdout.contains("acl_failures          = 0"), sourceLocation: sourceLocation)
    return (r, c)
  }

  /// Runs the same runbook again on the saved state: nothing changes, and
  /// `--detailed-exitcode` says so (0, not 4).
  static func expectIdempotent(_ runbook: String, after first: Run, _ params: [String: String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
    let second = try run(runbook, state: first.statePath, params)
    #expect(second.status == 0, "\(second.stderr)", sourceLocation: sourceLocation)
    #expect(second.stdout.contains(planNothing), sourceLocation: sourceLocation)
    #expect(second.stdout.contains(" 0 changed, 0 failed."), sourceLocation: sourceLocation)
    // Each step's end line (its start line ends in " ...") says ok.
    for line in second.stdout.split(separator: "\n") where line.hasPrefix("Step ") && !line.hasSuffix(" ...") {
      #expect(line.hasSuffix(" ok"), "\(line)", sourceLocation: sourceLocation)
    }
    #expect(!second.stdout.contains("changed "), sourceLocation: sourceLocation)
    #expect(NSDictionary(dictionary: second.state).isEqual(to: first.state), "the second run changed the saved state",
            sourceLocation: sourceLocation)
    let detailed = try run(runbook, state: first.statePath, params, extra: ["--detailed-exitcode"])
    #expect(detailed.status == 0, "\(detailed.stderr)", sourceLocation: sourceLocation)
  }

  // MARK: byol-setup on the fresh tenant

  @Test("byol-setup, no path: ByolSetup.ps1's end state; a second run changes nothing")
  func byolNoPath() throws {
    let first = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), Self.prefixParams)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("Plan: 9 to add, 1 to change, 0 to destroy."))
    #expect(first.stdout.contains("Steps: 2 ok, 6 changed, 0 failed."))
    let s = EndState(json: first.state)
    let (r, c) = try Self.expectByolEndState(s, stdout: first.stdout)
    #expect(s.acl("") == Set(["user::rwx", "group::r-x", "other::---"]).union(Self.full(r, c)))
    #expect(s.paths.isEmpty, "no folders are created without a path")
    try Self.expectIdempotent("byol-setup", after: first, Self.prefixParams)

    let detailed = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), Self.prefixParams, extra: ["--detailed-exitcode"])
    #expect(detailed.status == 4, "changes pending")
  }

  @Test("byol-setup, path a/b: traverse-only root and a/, full ACL on a/b; a second run changes nothing")
  func byolPath() throws {
    let params = Self.prefixParams.merging(["path": "a/b"]) { _, b in b }
    let first = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), params)
    #expect(first.status == 0, "\(first.stderr)")
    let s = EndState(json: first.state)
    let (r, c) = try Self.expectByolEndState(s, path: "a/b", stdout: first.stdout)
    #expect(s.acl("") == Set(["user::rwx", "group::r-x", "other::---", "mask::r-x"]).union(Self.traverse(r, c)))
    #expect(s.acl("a") == Set(["user::rwx", "group::r-x", "other::---", "mask::r-x"]).union(Self.traverse(r, c)))
    #expect(s.paths.map { $0["path"] as? String } == ["a", "a/b"])
    try Self.expectIdempotent("byol-setup", after: first, params)
    let detailed = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), params, extra: ["--detailed-exitcode"])
    #expect(detailed.status == 4)
  }

  @Test("byol-setup, oauth_only: no SAS roles; the app is a member of the contributors group")
  func byolOAuthOnly() throws {
    let params = Self.prefixParams.merging(["oauth_only": "true"]) { _, b in b }
    let first = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), params)
    #expect(first.status == 0, "\(first.stderr)")
    try Self.expectByolEndState(EndState(json: first.state), oauthOnly: true, stdout: first.stdout)
    #expect(first.stdout.contains("add_group_member("))
    #expect(!first.stdout.contains("Storage Blob Delegator"))
    try Self.expectIdempotent("byol-setup", after: first, params)
  }

  @Test("byol-setup with a/b path and oauth_only together")
  func byolPathOAuthOnly() throws {
    let params = Self.prefixParams.merging(["oauth_only": "true", "path": "a/b"]) { _, b in b }
    let first = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), params)
    #expect(first.status == 0, "\(first.stderr)")
    try Self.expectByolEndState(EndState(json: first.state), path: "a/b", oauthOnly: true, stdout: first.stdout)
    try Self.expectIdempotent("byol-setup", after: first, params)
  }

  @Test("byol-setup applies the ACLs to every pre-existing item under the mount point, keeping their entries")
  func byolExistingItems() throws {
    let state = try Self.freshTenantWithData()
    // No path: everything in the container.
    let first = try Self.run("byol-setup", state: state, Self.prefixParams)
    #expect(first.status == 0, "\(first.stderr)")
    let s = EndState(json: first.state)
    let (r, c) = try Self.expectByolEndState(s, stdout: first.stdout)
    let fileEntries: Set<String> = ["group:\(r):r-x", "group:\(c):rwx", "mask::rwx"]
    #expect(s.paths.count == 8)
    for item in s.paths {
      let p = try #require(item["path"] as? String)
      let acl = s.acl(p)
      if item["type"] as? String == "directory" {
        #expect(Self.full(r, c).union(["user::rwx", "group::r-x", "other::---"]) == acl, "\(p): \(acl.sorted())")
      } else {
        #expect(fileEntries.union(["user::rw-", "group::r--", "other::---"]) == acl, "\(p): \(acl.sorted())")
      }
    }
    #expect(first.stdout.range(of: #"\+ items_changed +=  ?8\n"#, options: .regularExpression) != nil)
    try Self.expectIdempotent("byol-setup", after: first, Self.prefixParams)

    // Path a/b: only what is under a/b gets the full entries; a gets traverse; a/old.csv and other/ are untouched.
    let params = Self.prefixParams.merging(["path": "a/b"]) { _, b in b }
    let withPath = try Self.run("byol-setup", state: state, params)
    #expect(withPath.status == 0, "\(withPath.stderr)")
    let t = EndState(json: withPath.state)
    try Self.expectByolEndState(t, path: "a/b", stdout: withPath.stdout)
    for dir in ["a/b", "a/b/c"] { #expect(Self.full(r, c).isSubset(of: t.acl(dir)), "\(dir)") }
    for file in ["a/b/c/part-0001.csv", "a/b/data.csv"] {
      #expect(fileEntries.isSubset(of: t.acl(file)), "\(file): \(t.acl(file).sorted())")
    }
    #expect(t.acl("a/old.csv") == ["user::rw-", "group::r--", "other::---"])
    #expect(t.acl("other") == ["user::rwx", "group::r-x", "other::---"])
    #expect(t.acl("other/x.csv") == ["user::rw-", "group::r--", "other::---"])
    #expect(withPath.stdout.range(of: #"\+ items_changed +=  ?3\n"#, options: .regularExpression) != nil)
    try Self.expectIdempotent("byol-setup", after: withPath, params)
  }

  @Test("byol-setup with group ids (after create-security-groups by an admin) reaches the same end state")
  func byolGroupsByID() throws {
    let admin = try Self.run("create-security-groups", state: Self.statePath("fresh-tenant"), ["group_prefix": "contoso"])
    #expect(admin.status == 0, "\(admin.stderr)")
    let created = EndState(json: admin.state)
    let r = try #require(created.groups(named: "contoso-Dataverse-readers").first?["id"] as? String)
    let c = try #require(created.groups(named: "contoso-Dataverse-contributors").first?["id"] as? String)
    #expect(admin.stdout.contains("reader_group_id      = \"\(r)\""))
    #expect(admin.stdout.contains("contributor_group_id = \"\(c)\""))

    // The user running byol-setup may not create groups.
    let data = try JSONSerialization.data(withJSONObject: admin.state)
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var tenant = try #require(json["tenant"] as? [String: Any])
    tenant["group_creation_allowed"] = false
    json["tenant"] = tenant
    let restricted = Self.scratch.appendingPathComponent("groups-by-id-\(UUID().uuidString).json")
    try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: restricted)

    let params = Self.byolParams.merging(["reader_group_id": r, "contributor_group_id": c]) { _, b in b }
    let run = try Self.run("byol-setup", state: restricted.path, params)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("Step \"Check the given security groups\""))
    #expect(!run.stdout.contains("create_groups("))
    let (r2, c2) = try Self.expectByolEndState(EndState(json: run.state), stdout: run.stdout)
    #expect(r2 == r && c2 == c)
    try Self.expectIdempotent("byol-setup", after: run, params)

    // One id alone, or neither ids nor prefix: the script's parameter messages.
    let one = try Self.run("byol-setup", state: restricted.path, Self.byolParams.merging(["reader_group_id": r]) { _, b in b })
    #expect(one.status == 1)
    #expect(one.stderr.contains("error: Please provide ContributorSecurityGroupId parameter (contributor_group_id)"))
    let none = try Self.run("byol-setup", state: restricted.path, Self.byolParams)
    #expect(none.status == 1)
    #expect(none.stderr.contains("error: Please provide SecurityGroupNamePrefix parameter (group_prefix)"))
  }

  // MARK: Failure scenarios

  @Test("non-hns-account: stops before any change with the HNS message")
  func nonHNS() throws {
    let r = try Self.run("byol-setup", state: Self.statePath("non-hns-account"), Self.prefixParams)
    #expect(r.status == 1)
    #expect(r.stderr.contains(
      "byol-setup.runbook:52:9: error: contosolake does not have hierarchical namespace enabled. Please use HNS Enabled Gen2 storage account."))
    #expect(r.stdout.contains(Self.planNothing))
    #expect(r.stdout.contains("Steps: 0 ok, 0 changed, 0 failed."))
    #expect(!r.stdout.contains("Step \""))

    let check = try Self.run("connect-prerequisites", state: Self.statePath("non-hns-account"),
                             ["ci_name": "Contoso CI", "dataverse_name": "Contoso Sales", "storage_account_name": "contosolake"])
    #expect(check.status == 1)
    #expect(check.stdout.contains(
      "not met: hierarchical_namespace: The storage account contosolake must have hierarchical namespace enabled (an HNS Enabled Gen2 storage account)."))
  }

  @Test("group-creation-disabled: fails at the group step with the script's advice; earlier steps are planned")
  func groupCreationDisabled() throws {
    let r = try Self.run("byol-setup", state: Self.statePath("group-creation-disabled"), Self.prefixParams)
    #expect(r.status == 1)
    let message = "Creating the security groups failed (Authorization_RequestDenied: Insufficient privileges to complete the operation.). If you are unable to create security groups, please ask your tenant admin to run create-security-groups.runbook, then rerun this runbook with reader_group_id and contributor_group_id."
    #expect(r.stderr.contains("error: in step \"Create the reader and contributor groups\": \(message)"))
    #expect(r.stdout.contains("Step \"Create the reader and contributor groups\" ....................... failed"))
    #expect(r.stdout.contains("  Error: [Authorization_RequestDenied] \(message)"))
    #expect(r.stdout.contains("Plan: 3 to add, 0 to change, 0 to destroy."))
    #expect(r.stdout.contains("Steps: 0 ok, 3 changed, 1 failed."))
    #expect(!r.stdout.contains("Grant the data lake app access"))

    let admin = try Self.run("create-security-groups", state: Self.statePath("group-creation-disabled"), ["group_prefix": "contoso"])
    #expect(admin.status == 1)
    #expect(admin.stderr.contains(
      "error: in step \"Create the reader and contributor groups owned by the app\": Insufficient privileges to complete the operation."))
  }

  @Test("private-endpoint: setup succeeds, the connection check reports the private endpoint")
  func privateEndpoint() throws {
    let setup = try Self.run("byol-setup", state: Self.statePath("private-endpoint"), Self.prefixParams)
    #expect(setup.status == 0, "\(setup.stderr)")
    try Self.expectByolEndState(EndState(json: setup.state), stdout: setup.stdout)

    let check = try Self.run("connect-prerequisites", state: Self.statePath("private-endpoint"),
                             ["ci_name": "Contoso CI", "dataverse_name": "Contoso Sales", "storage_account_name": "contosolake"])
    #expect(check.status == 1)
    #expect(check.stdout.contains(
      "not met: private_endpoint: The storage account contosolake is only reachable through a private endpoint: data sharing won't work if an Azure Private Link setup is needed, because Dataverse doesn't support connections to private endpoints."))
    #expect(check.stderr.contains(
      "error: Customer Insights - Data cannot connect to Contoso Sales until the prerequisites listed above are met"))
  }

  @Test("attached-elsewhere: connect-prerequisites reports every unmet prerequisite at once")
  func attachedElsewhere() throws {
    let params = ["ci_name": "Contoso CI", "dataverse_name": "Contoso Sales", "storage_account_name": "contosolake"]
    let check = try Self.run("connect-prerequisites", state: Self.statePath("attached-elsewhere"), params)
    #expect(check.status == 1)
    let notMet = check.stdout.split(separator: "\n").filter { $0.hasPrefix("not met: ") }
    #expect(notMet == [
      "not met: not_attached: This CDS organization is already attached to another Customer Insights instance",
      "not met: container_reader: alice@contoso.onmicrosoft.com needs at least Storage Blob Data Reader permissions on the customerinsights container of contosolake.",
    ])
    #expect(check.stdout.contains("Step \"Check the connection prerequisites\" ................................. ok"))
    #expect(check.stderr.contains(
      "error: Customer Insights - Data cannot connect to Contoso Sales until the prerequisites listed above are met"))
    #expect(NSDictionary(dictionary: check.state).isEqual(to: try Self.scenarioJSON("attached-elsewhere")), "checks change nothing")
  }

  @Test("connect-prerequisites after byol-setup: all met; connect=true connects with the permission identifier")
  func connectAfterSetup() throws {
    let setup = try Self.run("byol-setup", state: Self.statePath("fresh-tenant"), Self.prefixParams)
    #expect(setup.status == 0, "\(setup.stderr)")
    let identifier = try #require(setup.stdout.split(separator: "\n").first { $0.contains("permission_identifier = ") }?
      .split(separator: "\"").dropFirst().first.map(String.init))
    let params = ["ci_name": "Contoso CI", "dataverse_name": "Contoso Sales", "storage_account_name": "contosolake",
                  "permission_identifier": identifier, "connect": "true"]
    let connect = try Self.run("connect-prerequisites", state: setup.statePath, params)
    #expect(connect.status == 0, "\(connect.stdout)\n\(connect.stderr)")
    #expect(!connect.stdout.contains("not met: "))
    #expect(connect.stdout.contains("unmet_prerequisites = []"))
    let s = EndState(json: connect.state)
    #expect(s.ciEnvironment?["permission_identifier"] as? String == identifier)
    #expect(s.ciEnvironment?["dataverse_environment_id"] as? String == s.dataverse?["id"] as? String)
    #expect(s.dataverse?["linked_storage_account"] as? String == Self.accountScope)
  }

  @Test("journeys-connected: remove-dataverse-connection resets CXPConfig and uninstalls in order; a rerun changes nothing")
  func journeysConnected() throws {
    let params = ["dataverse_name": "Contoso Sales"]
    let first = try Self.run("remove-dataverse-connection", state: Self.statePath("journeys-connected"), params)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("Plan: 0 to add, 1 to change, 8 to destroy."))
    let uninstalled = first.stdout.split(separator: "\n").filter { $0.hasPrefix("  changed uninstall_solution(") }
      .map { $0.split(separator: "solution: \"").last.map { String($0.dropLast(2)) } ?? "" }
    #expect(uninstalled == [
      "DynamicsMKT_AttachCIApplicationUser", "DynamicsMKT_ConsentAttachCI", "DynamicsMKT_OrchestrationEngineAttachCI",
      "msdyn_CustomerInsightsAnchor", "msdyn_CustomerInsightsDataTables", "msdyn_CustomerInsights",
      "CustomerInsightsCustomerCard", "msdyn_CustomerInsightsAppUserManagementProd",
    ])
    let dv = try #require(EndState(json: first.state).dataverse)
    let solutions = (dv["solutions"] as? [[String: Any]] ?? []).compactMap { $0["unique_name"] as? String }
    #expect(solutions == ["Default", "System"])
    let tables = dv["tables"] as? [[String: Any]] ?? []
    let config = tables.first { $0["name"] as? String == "msdynmkt_configuration" }
    let row = ((config?["rows"] as? [[String: Any]])?.first?["columns"] as? [String: Any])
    #expect(row?["msdynmkt_cistatus"] as? Int == 534_121_000, "CXPConfig reset to NotConfigured")
    #expect(dv["attached_customer_insights"] == nil)
    #expect(first.stdout.contains("removed     = true"))
    try Self.expectIdempotent("remove-dataverse-connection", after: first, params)
  }

  @Test("uninstall-blocked: finds every blocker before uninstalling anything, naming the blocking solution and component")
  func uninstallBlocked() throws {
    let r = try Self.run("remove-dataverse-connection", state: Self.statePath("uninstall-blocked"), ["dataverse_name": "Contoso Sales"])
    #expect(r.status == 1)
    let message = "Nothing was uninstalled: ContosoCustomizations still depend on the solutions to remove. Remove those dependencies (uninstall the dependent solutions or delete the dependent components, see https://learn.microsoft.com/power-platform/alm/removing-dependencies), then run this runbook again."
    #expect(r.stderr.contains("error: in step \"Check that nothing blocks the removal\": \(message)"), "\(r.stderr)")
    #expect(r.stdout.contains("Step \"Check that nothing blocks the removal\" .......................... failed"), "\(r.stdout)")
    #expect(r.stdout.contains(
      "  - System Form \"Contoso Customer Card\" in solution ContosoCustomizations requires Entity \"msdynci_customerprofile\" of msdyn_CustomerInsights"))
    #expect(r.stdout.contains("Plan: 0 to add, 0 to change, 0 to destroy."))
    #expect(r.stdout.contains("Steps: 0 ok, 0 changed, 1 failed."))
    #expect(!r.stdout.contains("uninstall_solution("), "nothing is uninstalled before every blocker is known")
    #expect(!r.stdout.contains("Verify that no connection solution remains"))
  }

  @Test("b2b-tenant: storage-entitlement counts 10,000 accounts as one block")
  func b2bEntitlement() throws {
    let r = try Self.run("storage-entitlement", state: Self.statePath("b2b-tenant"), ["ci_name": "Contoso CI"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("blocks      = 3\n  database_gb = 45\n  file_gb     = 60"))
    #expect(r.stdout.contains(Self.planNothing))
    let b2c = try Self.run("storage-entitlement", state: Self.statePath("fresh-tenant"), ["profiles": "250001", "rounding": "down"])
    #expect(b2c.status == 0, "\(b2c.stderr)")
    #expect(b2c.stdout.contains("blocks      = 2\n  database_gb = 30\n  file_gb     = 40"))
  }

  @Test("create-security-groups: the app and the two groups it owns; a second run changes nothing")
  func createSecurityGroups() throws {
    let params = ["group_prefix": "contoso"]
    let first = try Self.run("create-security-groups", state: Self.statePath("fresh-tenant"), params)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("Plan: 5 to add, 0 to change, 0 to destroy."))
    let s = EndState(json: first.state)
    let sp = try #require(s.lakeApp?["id"] as? String)
    for name in ["contoso-Dataverse-readers", "contoso-Dataverse-contributors"] {
      let g = try #require(s.groups(named: name).first)
      #expect(g["owners"] as? [String] == [sp])
      #expect(g["mail_nickname"] as? String == name)
    }
    #expect(s.roles.isEmpty)
    try Self.expectIdempotent("create-security-groups", after: first, params)
  }

  // MARK: JSON lines

  @Test("--format json: one valid JSON object per line, with the same summary as the text plan")
  func jsonLines() throws {
    for (state, params) in [("fresh-tenant", Self.prefixParams), ("group-creation-disabled", Self.prefixParams)] {
      let text = try Self.run("byol-setup", state: Self.statePath(state), params)
      let json = try Self.run("byol-setup", state: Self.statePath(state), params, extra: ["--format", "json"])
      #expect(json.status == text.status)
      var objects: [[String: Any]] = []
      for line in json.stdout.split(separator: "\n") {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object != nil, "not a JSON object: \(line)")
        if let object { objects.append(object) }
      }
      let summary = try #require(objects.last)
      #expect(summary["event"] as? String == "summary")
      let plan = "Plan: \(summary["add"] as? Int ?? -1) to add, \(summary["change"] as? Int ?? -1) to change, \(summary["destroy"] as? Int ?? -1) to destroy."
      let counts = summary["steps"] as? [String: Any] ?? [:]
      let steps = "Steps: \(counts["ok"] as? Int ?? -1) ok, \(counts["changed"] as? Int ?? -1) changed, \(counts["failed"] as? Int ?? -1) failed."
      #expect(objects.first?["event"] as? String == "start")
      #expect(objects.first?["schema"] as? String == "runbook-events/v1")
      #expect(objects.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true }, "every event has its time")
      #expect(text.stdout.contains(plan), "\(plan)")
      #expect(text.stdout.contains(steps), "\(steps)")
      #expect(summary["succeeded"] as? Bool == (text.status == 0))
      #expect(NSDictionary(dictionary: json.state).isEqual(to: text.state), "same end state in both formats")
      let started = objects.filter { $0["event"] as? String == "step_started" }.compactMap { $0["step"] as? String }
      let textSteps = text.stdout.split(separator: "\n").filter { $0.hasPrefix("Step \"") && $0.hasSuffix(" ...") }
        .map { String($0.dropFirst(6).prefix { $0 != "\"" }) }
      #expect(started == textSteps)
      if text.status != 0 {
        // Errors carry where they happened.
        let error = try #require(objects.first { $0["event"] as? String == "error" })
        #expect(error["line"] as? Int != nil && error["column"] as? Int != nil, "\(error)")
        #expect((error["file"] as? String)?.hasSuffix("byol-setup.runbook") == true)
        let failed = try #require(objects.first { $0["event"] as? String == "call" && $0["status"] as? String == "failed" })
        #expect((failed["error"] as? [String: Any])?["line"] as? Int != nil, "\(failed)")
      }
    }
  }

  // MARK: Bench inputs

  @Test("bench: set_acl_recursive over the generated million-item container changes every item once")
  func aclMillion() throws {
    let r = try BinaryRunner.run(["run", "--dry-run", "bench/runbook/acl-million.runbook", "--state", "bench/state/million-items.json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.split(separator: "\n").contains("1000001 1000001 0 1000"), "root + 1,000 folders + 999,000 files, one recursive page per folder")
    #expect(r.stdout.range(of: #"\+ items_changed +=  ?1000001\n"#, options: .regularExpression) != nil)
  }

  // MARK: Golden plans

  static let goldenDirectory = BinaryRunner.repositoryRoot.appendingPathComponent("Tests/Golden/plans")

  static func scenarioJSON(_ name: String) throws -> [String: Any] {
    let data = try #require(FileManager.default.contents(atPath: BinaryRunner.repositoryRoot.appendingPathComponent(statePath(name)).path))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  /// The whole text output (plan, prints, outputs) and exit status of a run,
  /// pinned in `Tests/Golden/plans/<name>`; `RUNBOOK_WRITE_GOLDEN=1` rewrites it.
  static func checkGolden(_ name: String, _ runbook: String, state: String, _ params: [String: String],
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
    let a = try run(runbook, state: state, params), b = try run(runbook, state: state, params)
    #expect(a.stdout == b.stdout && a.status == b.status, "\(name): two runs differ (not deterministic)", sourceLocation: sourceLocation)
    let text = a.stdout + "# exit status \(a.status)\n" + (a.stderr.isEmpty ? "" : "# stderr\n" + a.stderr)
    let url = goldenDirectory.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["RUNBOOK_WRITE_GOLDEN"] == "1" {
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(text == expected, "\(name) differs from the golden file (RUNBOOK_WRITE_GOLDEN=1 rewrites it)",
            sourceLocation: sourceLocation)
  }

  @Test("golden: byol-setup on the fresh tenant, no path")
  func goldenFresh() throws {
    try Self.checkGolden("cli-byol-fresh.plan.txt", "byol-setup", state: Self.statePath("fresh-tenant"), Self.prefixParams)
  }

  @Test("golden: byol-setup on the fresh tenant, path a/b")
  func goldenPath() throws {
    try Self.checkGolden("cli-byol-path.plan.txt", "byol-setup", state: Self.statePath("fresh-tenant"),
                         Self.prefixParams.merging(["path": "a/b"]) { _, b in b })
  }

  @Test("golden: byol-setup re-run on the configured tenant (all ok)")
  func goldenRerun() throws {
    try Self.checkGolden("cli-byol-rerun.plan.txt", "byol-setup", state: Self.statePath("configured-tenant"), Self.prefixParams)
  }

  @Test("golden: remove-dataverse-connection on the blocked uninstall")
  func goldenUninstallBlocked() throws {
    try Self.checkGolden("cli-uninstall-blocked.plan.txt", "remove-dataverse-connection",
                         state: Self.statePath("uninstall-blocked"), ["dataverse_name": "Contoso Sales"])
  }
}
