import Foundation
import RunbookEmulator
import RunbookLive
import RunbookServices
import RunbookSimulator
import Testing

/// The emulator over TLS, and its wire surface beyond what runbooks use,
/// checked against the simulator it serves.
@Suite struct EmulatorSurfaceTests {
  static func tlsServer(state: String = "journeys-connected") throws -> (EmulatorServer, URL) {
    let dir = try Support.temporaryDirectory()
    let tls = try EmulatorTLS.generate(directory: dir.appendingPathComponent("tls").path)
    let world = try World.load(path: Support.state(state))
    return (try EmulatorServer(emulator: Emulator(world: world), port: 0, tls: tls), dir)
  }

  /// The live clients reach an HTTPS emulator once they trust its CA, and
  /// refuse it when they do not.
  @Test func liveClientsWorkOverTLSWithTheGeneratedCA() throws {
    let (server, dir) = try Self.tlsServer()
    defer { server.shutdown(); try? FileManager.default.removeItem(at: dir) }
    #expect(server.baseURL.hasPrefix("https://127.0.0.1:"))
    let ca = try #require(server.trustFile)
    #expect(try String(contentsOfFile: ca, encoding: .utf8).hasPrefix("-----BEGIN CERTIFICATE-----"))
    var options = LiveServices.Options()
    options.timeoutMilliseconds = 10_000
    let live = try LiveServices(environment: Support.environment(server), options: options)
    defer { live.shutdown() }
    #expect(try live.services.directory.signedInUser().displayName == "Alice Admin")
    #expect(try live.services.dataLake.filesystemExists(account: "contosolake", filesystem: "customerinsights"))

    let untrusting = HTTPTransport(timeoutMilliseconds: 10_000)
    defer { untrusting.shutdown() }
    #expect(throws: TransportError.self) {
      try untrusting.send(WireRequest(method: "GET", url: server.baseURL + "/\(server.emulator.tenantID)/v2.0/.well-known/openid-configuration"))
    }
    let trusting = HTTPTransport(timeoutMilliseconds: 10_000, trustedCAFile: ca)
    defer { trusting.shutdown() }
    let config = try trusting.send(WireRequest(method: "GET", url: server.baseURL + "/\(server.emulator.tenantID)/v2.0/.well-known/openid-configuration"))
    #expect(config.json?["token_endpoint"]?.string == server.baseURL + "/\(server.emulator.tenantID)/oauth2/v2.0/token")
  }

  /// A sequence of DFS, ARM and Graph calls over the wire ends in the state
  /// the same calls on the simulator give.
  @Test func wireCallsEndInTheStateTheSimulatorPredicts() throws {
    let server = try Support.emulator(state: "journeys-connected")
    defer { server.shutdown() }
    let http = HTTPTransport(timeoutMilliseconds: 10_000)
    defer { http.shutdown() }
    let base = server.baseURL, tenant = server.emulator.tenantID
    func token(_ resource: String) throws -> String {
      let r = try http.send(WireRequest(
        method: "POST", url: "\(base)/\(tenant)/oauth2/v2.0/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
        body: Array("grant_type=client_credentials&client_id=t&client_secret=s&scope=\(resource)/.default".utf8)))
      return try #require(r.json?["access_token"]?.string)
    }
    let storage = try token("https://storage.azure.com"), arm = try token("https://management.azure.com")
    let graph = try token("https://graph.microsoft.com")
    func send(_ method: String, _ path: String, _ tok: String, _ headers: [(String, String)] = [], _ body: [UInt8]? = nil)
      throws -> WireResponse
    {
      try http.send(WireRequest(method: method, url: base + path, headers: [("Authorization", "Bearer " + tok)] + headers, body: body))
    }
    let fs = "/contosolake/customerinsights"
    #expect(try send("PUT", fs + "/raw/in/a.csv?resource=file", storage).status == 201)
    #expect(try send("PATCH", fs + "/raw/in/a.csv?action=append&position=0", storage, [], Array("a,b\n".utf8)).status == 202)
    #expect(try send("PATCH", fs + "/raw/in/a.csv?action=flush&position=9", storage).status == 400)
    #expect(try send("PATCH", fs + "/raw/in/a.csv?action=flush&position=4", storage).status == 200)
    #expect(try send("PUT", fs + "/curated?resource=directory", storage).status == 201)
    #expect(try send("PUT", fs + "/curated/in", storage, [("x-ms-rename-source", "/customerinsights/raw/in")]).status == 201)
    #expect(try send("PATCH", fs + "/curated?action=setAccessControl", storage, [("x-ms-permissions", "0770"), ("x-ms-group", "g1")]).status == 200)
    #expect(try send("DELETE", fs + "/raw", storage).status == 200)
    let read = try send("GET", fs + "/curated/in/a.csv", storage, [("x-ms-range", "bytes=2-3")])
    #expect(read.status == 206 && read.body == Array("b\n".utf8) && read.header("Content-Range") == "bytes 2-3/4")
    let scope = "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"
    let assignment = "5b22c89c-c2de-54fb-9d42-c98ba83ec94a"
    let url = scope + "/providers/Microsoft.Authorization/roleAssignments/\(assignment)?api-version=2022-04-01"
    #expect(try send("DELETE", url, arm).status == 200)
    #expect(try send("DELETE", url, arm).status == 204)
    #expect(try send("DELETE", "/v1.0/groups/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", graph).status == 204)
    // A Graph token is not good for storage.
    #expect(try send("GET", fs + "?resource=filesystem&recursive=true", graph).status == 401)
    let listed = try send("GET", fs + "?resource=filesystem&recursive=true", storage).json?["paths"]?.array?.compactMap { $0["name"]?.string }
    #expect(listed == ["curated", "curated/in", "curated/in/a.csv"])

    // The same calls on the simulator.
    let world = try World.load(path: Support.state("journeys-connected"))
    try world.createFile(account: "contosolake", filesystem: "customerinsights", path: "raw/in/a.csv")
    try world.appendFile(account: "contosolake", filesystem: "customerinsights", path: "raw/in/a.csv", position: 0, data: Array("a,b\n".utf8))
    _ = try world.flushFile(account: "contosolake", filesystem: "customerinsights", path: "raw/in/a.csv", position: 4)
    try world.createDirectory(account: "contosolake", filesystem: "customerinsights", path: "curated")
    try world.renamePath(account: "contosolake", filesystem: "customerinsights", source: "raw/in", destination: "curated/in")
    try world.setOwnerAndPermissions(account: "contosolake", filesystem: "customerinsights", path: "curated", owner: nil,
                                     group: "g1", permissions: try PathPermissions(parsing: "0770"))
    try world.deletePath(account: "contosolake", filesystem: "customerinsights", path: "raw", recursive: false)
    _ = try world.deleteRoleAssignment(scope: scope, name: assignment)
    try world.deleteGroup(id: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(world.stateJSON()))
  }
}
