import Foundation
import RunbookEmulator
import Testing

/// Proves on a real network path that no credential leaves in clear: a
/// listener on a private address inside a network namespace of the test's
/// own records every byte it receives, and live runs of the binary are
/// pointed at it over plain http in every way a URL reaches the client —
/// configured (variables, endpoints file), and returned by a service (an
/// instance URL, a `nextLink`, a redirect). Each run must refuse, naming
/// the URL, and the listener must receive nothing; a probe at the end shows
/// the path to it was open all along.
///
/// Needs root (CI runs as root). Without it the test fails: it never passes
/// without having looked.
@Suite(.serialized) struct NetworkNamespaceTests {
  struct Case: CustomStringConvertible {
    var description: String
    var environment: [String: String] = [:]
    var runbook = "create-security-groups.runbook"
    var params = ["--param", "group_prefix=contoso"]
    var state = "fresh-tenant"
    /// A scripted Graph on loopback in front of the emulator, answering with
    /// a URL on the private host.
    var graph: (@Sendable (RecordingServer.Request, String) -> RecordingServer.Answer)? = nil
  }

  static func cases(_ target: String, dir: URL) throws -> [Case] {
    let endpointsFile = dir.appendingPathComponent("endpoints.json").path
    try #"{"authority_host": "\#(target)"}"#.write(toFile: endpointsFile, atomically: true, encoding: .utf8)
    // The environment's instance URL, as the Power Platform API returns it.
    let statePath = dir.appendingPathComponent("plain-instance.json").path
    let original = try String(contentsOfFile: Support.state("journeys-connected"), encoding: .utf8)
    try original.replacingOccurrences(of: "https://contososales.crm.dynamics.com/", with: target + "/")
      .write(toFile: statePath, atomically: true, encoding: .utf8)
    let servicePrincipal = #"{"id": "5a1c2b3d-0000-4000-8000-000000000001", "appId": "546068c3-99b1-4890-8e93-c8aeadcfe56a", "displayName": "Lake"}"#
    return [
      Case(description: "token endpoint (RUNBOOK_AUTHORITY_HOST)", environment: ["RUNBOOK_AUTHORITY_HOST": target]),
      Case(description: "token endpoint (AZURE_AUTHORITY_HOST)",
           environment: ["RUNBOOK_AUTHORITY_HOST": "", "AZURE_AUTHORITY_HOST": target]),
      Case(description: "token endpoint (endpoints file)",
           environment: ["RUNBOOK_AUTHORITY_HOST": "", "RUNBOOK_ENDPOINTS_FILE": endpointsFile]),
      Case(description: "Graph endpoint", environment: ["RUNBOOK_GRAPH_ENDPOINT": target]),
      Case(description: "ARM endpoint", environment: ["RUNBOOK_ARM_ENDPOINT": target]),
      Case(description: "DFS endpoint", environment: ["RUNBOOK_DFS_ENDPOINT": target + "/{account}"]),
      Case(description: "Dataverse endpoint", environment: ["RUNBOOK_DATAVERSE_ENDPOINT": target + "/{org}"],
           runbook: "remove-dataverse-connection.runbook", params: ["--param", "dataverse_name=Contoso Sales"],
           state: "journeys-connected"),
      Case(description: "Dataverse instance URL from the service", environment: ["RUNBOOK_DATAVERSE_ENDPOINT": ""],
           runbook: "remove-dataverse-connection.runbook", params: ["--param", "dataverse_name=Contoso Sales"],
           state: statePath),
      Case(description: "nextLink from the service", graph: { request, target in
        if request.target.contains("/servicePrincipals") { return .json(servicePrincipal) }
        if request.target.contains("/groups") {
          return .json(#"{"value": [], "@odata.nextLink": "\#(target)/v1.0/groups?$skiptoken=2"}"#)
        }
        return .json(#"{"error": {"code": "NotFound", "message": "scripted"}}"#, status: 404)
      }),
      Case(description: "redirect from the service", graph: { request, target in
        RecordingServer.Answer(status: 307, headers: [("Location", target + request.target)])
      }),
    ]
  }

  @Test func noCredentialReachesAPlainHTTPHostOnAPrivateNetwork() throws {
    let network = try PrivateNetwork()
    defer { network.close() }
    let canaryToken = "TOKEN-CANARY-" + UUID().uuidString
    // Answers like a token endpoint and a service would, so a client that
    // did connect would go on to send everything it has.
    let listener = try RecordingServer(address: network.insideAddress, port: 80, namespace: network.name) { request, _ in
      request.target.contains("oauth2")
        ? .json(#"{"access_token": "\#(canaryToken)", "token_type": "Bearer", "expires_in": 3600}"#)
        : .json(#"{"value": []}"#)
    }
    defer { listener.stop() }
    let target = "http://\(network.insideAddress)"
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }

    for c in try Self.cases(target, dir: dir) {
      let server = try Support.emulator(state: c.state)
      defer { server.shutdown() }
      var env = Support.environment(server)
      var scripted: RecordingServer?
      if let graph = c.graph {
        scripted = try RecordingServer { request, _ in graph(request, target) }
        env["RUNBOOK_GRAPH_ENDPOINT"] = scripted!.baseURL
      }
      defer { scripted?.stop() }
      for (k, v) in c.environment { env[k] = v.isEmpty ? nil : v }
      let journal = dir.appendingPathComponent("journal-\(UUID().uuidString).jsonl").path
      let run = try Child(["run", "--live", Support.runbook(c.runbook), "--journal", journal, "--yes"] + c.params,
                          environment: env, directory: dir).wait(seconds: 60)
      #expect(run.status != 0, "\(c): the run should have refused: \(run.output)")
      #expect(run.output.contains(target), "\(c): the refusal should name \(target): \(run.output)")
      #expect(listener.bytes.count == 0, "\(c): bytes reached \(target)")
      if let scripted {
        #expect(!scripted.requests.isEmpty, "\(c): the scripted service was never asked")
      }
      let journalText = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
      for text in [run.output, journalText] {
        #expect(!text.contains(Support.canary) && !text.contains(canaryToken), "\(c): a credential was printed")
      }
    }

    // The private host was reachable all along: a probe gets through.
    let probe = try Self.probe(network.insideAddress, port: 80)
    #expect(probe.hasPrefix("HTTP/1.1 200"), "probe answer: \(probe)")
    #expect(listener.requests.map(\.target) == ["/probe"], "\(listener.requests.map(\.target))")
    #expect(!listener.received(Support.canary) && !listener.received(canaryToken))
  }

  /// A plain GET over TCP from this namespace; the first bytes of the answer.
  static func probe(_ address: String, port: Int) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, address, &sin.sin_addr)
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &sin) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw PrivateNetwork.Unavailable(description: "probe connect failed: errno \(errno)") }
    let request = Array("GET /probe HTTP/1.1\r\nHost: \(address)\r\nContent-Length: 0\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var buffer = [UInt8](repeating: 0, count: 512)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
  }
}
