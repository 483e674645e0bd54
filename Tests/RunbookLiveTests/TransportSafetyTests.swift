import Foundation
import RunbookLive
import RunbookServices
import Testing

/// Plain http only to loopback by address; credentials only to the host they
/// belong to; nothing a service returns (a next-page link, an instance URL,
/// a redirect) can move a credential elsewhere.
@Suite struct TransportSafetyTests {
  @Test(arguments: [
    ("127.0.0.1", true), ("127.255.255.254", true), ("127.1.2.3", true), ("::1", true), ("[::1]", true),
    ("0:0:0:0:0:0:0:1", true), ("localhost", true), ("LOCALHOST", true),
    ("127.0.0.1.nip.io", false), ("127.attacker.example", false), ("127.1", false), ("127.0.0.01", false),
    ("localhost.example", false), ("localhost.", false), ("mylocalhost", false), ("::ffff:127.0.0.1", false),
    ("::2", false), ("10.203.0.2", false), ("128.0.0.1", false), ("", false),
  ])
  func loopbackIsDecidedByAddressNotByLook(host: String, loopback: Bool) {
    #expect(TransportSafety.isLoopback(host: host) == loopback, "\(host)")
  }

  static let refused = [
    "http://127.0.0.1.nip.io", "http://127.attacker.example:8443", "http://10.203.0.2", "http://localhost.example",
    "http://user:password@127.0.0.1:9", "ftp://127.0.0.1", "file:///etc/passwd", "http://[::2]:9",
  ]

  @Test func plainHTTPIsAcceptedOnlyToLoopback() {
    for url in ["https://graph.microsoft.com", "https://10.203.0.2", "http://127.0.0.1:9/x", "http://[::1]:9",
                "http://localhost:9"] {
      #expect(TransportSafety.refusal(url) == nil, "\(url)")
    }
    for url in Self.refused {
      let reason = TransportSafety.refusal(url + "/path?sig=SECRETSAS")
      #expect(reason?.contains(url.replacingOccurrences(of: "file://", with: "")) == true || url.hasPrefix("file:"), "\(url): \(reason ?? "accepted")")
      #expect(reason?.contains("SECRETSAS") == false, "the query stays out of the message")
    }
  }

  @Test func everyConfiguredEndpointIsChecked() {
    let names = LiveEndpoints.variables.map(\.0) + ["RUNBOOK_DATAVERSE_ENDPOINT", "AZURE_AUTHORITY_HOST"]
    for name in names {
      for url in ["http://127.0.0.1.nip.io", "http://127.attacker.example", "http://10.203.0.2:8080"] {
        do {
          _ = try LiveEndpoints.from(environment: [name: url])
          Issue.record("\(name)=\(url) was accepted")
        } catch {
          #expect(error.message.contains(url), "\(name): \(error.message)")
        }
      }
      #expect(throws: Never.self) { try LiveEndpoints.from(environment: [name: "http://127.0.0.1:9"]) }
    }
  }

  @Test func anEndpointsFileIsCheckedLikeTheVariables() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("endpoints.json").path
    try #"{"authority_host": "http://127.0.0.1.nip.io"}"#.write(toFile: file, atomically: true, encoding: .utf8)
    #expect { try LiveEndpoints.from(environment: ["RUNBOOK_ENDPOINTS_FILE": file]) } throws: {
      ($0 as? LiveConfigurationError)?.message.contains("http://127.0.0.1.nip.io") == true
    }
  }

  @Test func theTransportRefusesBeforeConnecting() {
    let transport = HTTPTransport(timeoutMilliseconds: 2_000)
    defer { transport.shutdown() }
    for url in Self.refused {
      do {
        _ = try transport.send(WireRequest(method: "GET", url: url + "/x"))
        Issue.record("\(url) was sent")
      } catch {
        #expect(error.isRefused, "\(url): \(error.message)")
      }
    }
  }

  // MARK: Credentials stay with their hosts

  static let secret = "CLIENT-SECRET-" + UUID().uuidString
  static let token = "TOKEN-" + UUID().uuidString

  /// Live services whose every endpoint is `service` (a scripted loopback
  /// server), with a client secret.
  static func live(_ service: RecordingServer, dataverseTemplate: Bool = true) -> LiveServices {
    var e = LiveEndpoints.emulator(service.baseURL)
    if !dataverseTemplate { e.dataverse = nil }
    var options = LiveServices.Options()
    options.retry = RetryPolicy(random: RandomSource(seed: 1))
    options.retry.maxAttempts = 2
    options.retry.replicationAttempts = 0
    options.sleeper = RecordingSleeper()
    options.timeoutMilliseconds = 5_000
    return LiveServices(endpoints: e, credential: .clientSecret(tenant: "t", clientID: "c", secret: secret), options: options)
  }

  /// The scripted service: tokens for the client secret; `answer` for the rest.
  static func service(_ answer: @escaping @Sendable (RecordingServer.Request) -> RecordingServer.Answer) throws -> RecordingServer {
    try RecordingServer { request, _ in
      if request.target.hasSuffix("/oauth2/v2.0/token") {
        return .json(#"{"access_token": "\#(token)", "token_type": "Bearer", "expires_in": 3600}"#)
      }
      return answer(request)
    }
  }

  @Test func aNextLinkToAnotherHostIsNotFollowed() throws {
    let elsewhere = try RecordingServer(address: "127.0.0.2")
    defer { elsewhere.stop() }
    for link in [elsewhere.baseURL + "/v1.0/groups?$skiptoken=1", "https://graph.attacker.invalid/v1.0/groups"] {
      let service = try Self.service { _ in .json(#"{"value": [], "@odata.nextLink": "\#(link)"}"#) }
      defer { service.stop() }
      let live = Self.live(service)
      defer { live.shutdown() }
      #expect { try live.services.directory.groups(displayName: "g") } throws: { error in
        let e = error as? ServiceError
        return e?.code == "UntrustedNextLink" && e?.message.contains(link.components(separatedBy: "?")[0]) == true
      }
    }
    #expect(elsewhere.bytes.isEmpty, "the other host got \(elsewhere.bytes.count) bytes")
  }

  @Test func aRedirectIsNotFollowed() throws {
    let elsewhere = try RecordingServer(address: "127.0.0.2")
    defer { elsewhere.stop() }
    for status in [301, 302, 307, 308] {
      let service = try Self.service { _ in
        RecordingServer.Answer(status: status, headers: [("Location", elsewhere.baseURL + "/v1.0/me")])
      }
      defer { service.stop() }
      let live = Self.live(service)
      defer { live.shutdown() }
      #expect { try live.services.directory.signedInUser() } throws: { error in
        let e = error as? ServiceError
        return e?.code == "Redirected" && e?.message.contains(elsewhere.baseURL + "/v1.0/me") == true
      }
    }
    #expect(elsewhere.bytes.isEmpty, "the other host got \(elsewhere.bytes.count) bytes")
  }

  @Test func aTokenGoesOnlyToItsAudience() throws {
    let elsewhere = try RecordingServer(address: "127.0.0.2")
    defer { elsewhere.stop() }
    let service = try Self.service { _ in .json("{}") }
    defer { service.stop() }
    let live = Self.live(service)
    defer { live.shutdown() }
    let graph = live.endpoints.graphResource
    #expect {
      try live.rest.send(service: "graph", resource: graph, method: "GET", url: elsewhere.baseURL + "/v1.0/me")
    } throws: { ($0 as? ServiceError)?.code == "UntrustedHost" }
    // A storage token may go to the configured DFS host, not to Graph's public host.
    #expect(live.rest.audiences.allows(resource: live.endpoints.storageResource, url: service.baseURL + "/acct/fs"))
    #expect(!live.rest.audiences.allows(resource: live.endpoints.storageResource, url: "https://graph.microsoft.com/v1.0"))
    #expect(service.requests.isEmpty, "not even a token was asked for")
    #expect(elsewhere.bytes.isEmpty)
  }

  @Test func dfsAndDataverseTemplatesMatchOneLabel() {
    var e = LiveEndpoints()
    e.dataverse = "https://{org}.crm4.dynamics.com"
    let a = TokenAudiences(endpoints: e)
    #expect(a.allows(resource: "https://storage.azure.com", url: "https://contosolake.dfs.core.windows.net/fs/p"))
    #expect(!a.allows(resource: "https://storage.azure.com", url: "https://a.b.dfs.core.windows.net/fs"))
    #expect(!a.allows(resource: "https://storage.azure.com", url: "https://dfs.core.windows.net.attacker.example/fs"))
    #expect(!a.allows(resource: "https://storage.azure.com", url: "http://contosolake.dfs.core.windows.net/fs"))
    #expect(a.allows(resource: "https://contoso.crm.dynamics.com", url: "https://contoso.crm.dynamics.com/api/data/v9.2/x"))
    #expect(a.allows(resource: "https://contoso.crm.dynamics.com", url: "https://contoso.crm4.dynamics.com/api"))
    #expect(!a.allows(resource: "https://contoso.crm.dynamics.com", url: "https://fabrikam.crm4.dynamics.com/api"))
    #expect(!a.allows(resource: "https://graph.microsoft.com", url: "https://contoso.crm.dynamics.com/api"))
  }

  @Test func aPlainHTTPInstanceURLFromTheServiceIsRefused() throws {
    let instance = "http://contoso.crm.attacker.invalid"
    let service = try Self.service { request in
      guard request.target.contains("/environments") else { return .json("{}", status: 404) }
      return .json(#"{"value": [{"name": "env1", "properties": {"displayName": "Contoso", "linkedEnvironmentMetadata": {"instanceUrl": "\#(instance)"}}}]}"#)
    }
    defer { service.stop() }
    let live = Self.live(service, dataverseTemplate: false)
    defer { live.shutdown() }
    #expect { try live.services.dataverse.solutions(environmentID: "env1") } throws: { error in
      let e = error as? ServiceError
      return e?.code == "InsecureURL" && e?.message.contains(instance) == true
    }
  }

  @Test func theClientSecretGoesOnlyToTheTokenEndpoint() throws {
    let service = try Self.service { request in
      request.target.hasPrefix("/v1.0/me")
        ? .json(#"{"id": "u1", "userPrincipalName": "a@b", "displayName": "A"}"#) : .json("{}", status: 404)
    }
    defer { service.stop() }
    let live = Self.live(service)
    defer { live.shutdown() }
    #expect(try live.services.directory.signedInUser().id == "u1")
    let requests = service.requests
    #expect(requests.count == 2)
    for r in requests {
      let text = r.headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + String(decoding: r.body, as: UTF8.self)
      if r.target == "/t/oauth2/v2.0/token" {
        #expect(r.method == "POST" && text.contains(Self.secret) && !text.contains(Self.token))
      } else {
        #expect(!text.contains(Self.secret), "\(r.target) got the client secret")
        #expect(r.headers.first { $0.0.lowercased() == "authorization" }?.1 == "Bearer " + Self.token)
      }
    }
  }
}
