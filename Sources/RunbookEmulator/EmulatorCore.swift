import Foundation
import NIOConcurrencyHelpers
import RunbookServices
import RunbookSimulator

/// One HTTP request as the emulator sees it: path segments and query
/// values percent-decoded.
public struct EmulatorRequest: Sendable {
  public var method: String
  public var path: String
  public var segments: [String]
  public var query: [String: String]
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// `http` or `https`: how the request reached the emulator.
  public var scheme: String

  public init(method: String, uri: String, headers: [(String, String)], body: [UInt8], scheme: String = "http") {
    self.method = method.uppercased()
    self.scheme = scheme
    self.headers = headers
    self.body = body
    let q = uri.firstIndex(of: "?")
    path = String(uri[..<(q ?? uri.endIndex)])
    segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
      String($0).removingPercentEncoding ?? String($0)
    }
    var query: [String: String] = [:]
    if let q {
      for item in uri[uri.index(after: q)...].split(separator: "&") {
        let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let k = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
        let v = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
        query[k] = v
      }
    }
    self.query = query
  }

  public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
  /// `scheme://host[:port]` as the client addressed the emulator, for every
  /// absolute URL an answer carries: behind a proxy its `X-Forwarded-Proto`
  /// and `X-Forwarded-Host` (first value of each), else the connection's
  /// scheme and the `Host` header.
  public var origin: String {
    func first(_ name: String) -> String? {
      header(name)?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }
    let proto = first("X-Forwarded-Proto").map { $0.lowercased() }.flatMap { $0 == "http" || $0 == "https" ? $0 : nil } ?? scheme
    return "\(proto)://\(first("X-Forwarded-Host") ?? header("Host") ?? "127.0.0.1")"
  }
  public var json: WireJSON? { WireJSON.parse(body) }
  public var bodyText: String { String(decoding: body, as: UTF8.self) }
  /// The query value by case-insensitive name (`api-version`, `$filter`).
  public func q(_ name: String) -> String? { query.first { $0.key.lowercased() == name.lowercased() }?.value }
}

public struct EmulatorResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]
  public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
    self.status = status; self.headers = headers; self.body = body
  }
  static func json(_ status: Int, _ j: WireJSON, contentType: String = "application/json; charset=utf-8",
                   headers: [(String, String)] = []) -> EmulatorResponse {
    EmulatorResponse(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(j.text.utf8))
  }
}

/// Faults the emulator injects: `seed=7,rate429=0.1,rate503=0.05,latency=5ms,replication=2,fail-path=folder/x`,
/// plus `retry-after-ms=N` (the `retry-after-ms` header sent with throttling, default 20) and `page=N`
/// (page size of every list).
public struct FaultSpec: Sendable, Equatable {
  public var seed: UInt64 = 1
  public var rate429: Double = 0
  public var rate503: Double = 0
  public var latencyMilliseconds: Int = 0
  public var replication: Int = 0
  public var failPaths: [String] = []
  public var retryAfterMilliseconds: Int = 20
  public var pageSize: Int? = nil

  public init() {}

  public init(parsing spec: String) throws(EmulatorError) {
    for item in spec.split(separator: ",") {
      let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard kv.count == 2 else { throw EmulatorError("fault `\(item)` is not name=value") }
      let (k, v) = (kv[0], kv[1])
      func number() throws(EmulatorError) -> Double {
        guard let d = Double(v), d.isFinite, d >= 0 else { throw EmulatorError("fault `\(k)` needs a non-negative number, got `\(v)`") }
        return d
      }
      func whole(_ range: ClosedRange<Int>) throws(EmulatorError) -> Int {
        guard let n = Int(v), range.contains(n) else {
          throw EmulatorError("fault `\(k)` needs a whole number in \(range.lowerBound)...\(range.upperBound), got `\(v)`")
        }
        return n
      }
      switch k {
      case "seed": guard let s = UInt64(v) else { throw EmulatorError("seed must be an unsigned integer") }; seed = s
      case "rate429": rate429 = try number()
      case "rate503": rate503 = try number()
      case "latency":
        let digits = v.hasSuffix("ms") ? String(v.dropLast(2)) : (v.hasSuffix("s") ? String(v.dropLast()) : v)
        let ms = Double(digits).map { v.hasSuffix("ms") ? $0 : (v.hasSuffix("s") ? $0 * 1000 : $0) }
        guard let ms, ms >= 0, ms <= 60_000 else { throw EmulatorError("latency must look like 5ms (at most 60s), got `\(v)`") }
        latencyMilliseconds = Int(ms)
      case "replication": replication = try whole(0...1_000_000)
      case "fail-path": failPaths.append(v.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
      case "retry-after-ms": retryAfterMilliseconds = try whole(0...86_400_000)
      case "page": pageSize = try whole(1...100_000)
      default: throw EmulatorError("unknown fault `\(k)` (known: seed, rate429, rate503, latency, replication, fail-path, retry-after-ms, page)")
      }
    }
    guard rate429 + rate503 <= 1 else { throw EmulatorError("rate429 + rate503 must not exceed 1") }
  }
}

public struct EmulatorError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The simulated world behind the real wire protocol of Microsoft Graph,
/// ARM, ADLS Gen2 DFS, the Power Platform admin API, the Dataverse Web API,
/// the Customer Insights API and the token endpoint. One request at a time
/// touches the world (a lock serialises them).
public final class Emulator: @unchecked Sendable {
  let lock = NIOLock()
  let world: World
  public let faults: FaultSpec
  /// Emulated milliseconds per wall millisecond: the tenant clock runs this
  /// much faster than the wall (role propagation, waits).
  public let timeScale: Double
  var rng: UInt64
  /// Issued access tokens: the audience (resource) each was issued for and the client that asked.
  var tokens: [String: IssuedToken] = [:]
  /// App credentials the token endpoint accepts (client id, lower-cased → secret); empty: any.
  let clients: [String: String]
  var replicationLeft: [String: Int] = [:]
  var lastTick = Date()
  var requestCount = 0
  /// Counts of answers by status, for tests and the exit summary.
  var statusCounts: [Int: Int] = [:]
  /// Every request's method and path (no query, headers or body: nothing
  /// secret), in order, for tests that assert what a run sent.
  var requestLines: [String] = []
  static let requestLogCap = 100_000

  public init(world: World, faults: FaultSpec = FaultSpec(), timeScale: Double = 1, clients: [String: String] = [:]) {
    self.world = world; self.faults = faults; self.timeScale = max(1, timeScale); rng = faults.seed
    self.clients = Dictionary(clients.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, b in b })
  }

  /// The emulated tenant's id (the token endpoint knows no other tenant).
  public var tenantID: String { lock.withLock { world.tenant.id } }

  /// The world as a state file (JSON), as `GET /_emulator/state` answers.
  public func stateJSON() -> String { lock.withLock { world.stateJSON() } }
  public func statusCount(_ status: Int) -> Int { lock.withLock { statusCounts[status] ?? 0 } }
  public var requestTotal: Int { lock.withLock { requestCount } }
  /// `METHOD /path` of every request so far, with `?action=…` when the
  /// request names a DFS action (`HEAD /acct/fs/a.csv?action=getAccessControl`),
  /// oldest first (the latest
  /// 50,000 to 100,000 on a long-running server).
  public var requestLog: [String] { lock.withLock { requestLines } }
  /// Changes the world between requests (tests: drift between a plan and its apply).
  public func mutateWorld<T>(_ body: (World) throws -> T) rethrows -> T { try lock.withLock { try body(world) } }
  public func save(path: String) throws { try lock.withLock { try world.save(path: path) } }

  func random() -> Double {
    rng &+= 0x9E37_79B9_7F4A_7C15
    var z = rng
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Double(z >> 11) / Double(1 << 53)
  }

  /// Answers one request (the server adds latency and transport headers).
  public func handle(_ r: EmulatorRequest) -> EmulatorResponse {
    lock.withLock {
      requestCount += 1
      requestLines.append("\(r.method) \(r.path)" + (r.q("action").map { "?action=" + $0 } ?? ""))
      // Bounded for long-running servers: the oldest half goes past the cap.
      if requestLines.count > Self.requestLogCap { requestLines.removeFirst(Self.requestLogCap / 2) }
      let now = Date()
      world.advanceClock(milliseconds: Int(now.timeIntervalSince(lastTick) * 1000 * timeScale))
      lastTick = now
      var response = route(r)
      if let id = r.header("client-request-id") ?? r.header("x-ms-client-request-id") {
        response.headers.append(("client-request-id", id))
        response.headers.append(("x-ms-client-request-id", id))
      }
      if r.segments.first?.lowercased() == "subscriptions" {
        response.headers.append((r.method == "GET" ? "x-ms-ratelimit-remaining-subscription-reads" : "x-ms-ratelimit-remaining-subscription-writes",
                                 r.method == "GET" ? "11999" : "1199"))
      }
      let requestID = StableID.guid("request", String(requestCount))
      response.headers.append(("request-id", requestID))
      response.headers.append(("x-ms-request-id", requestID))
      statusCounts[response.status, default: 0] += 1
      return response
    }
  }

  func route(_ r: EmulatorRequest) -> EmulatorResponse {
    let s = r.segments
    if s.first == "_emulator" {
      if r.method == "GET" && s.count == 2 && s[1] == "state" {
        return EmulatorResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(world.stateJSON().utf8))
      }
      return Errors.graph(404, "NotFound", "no such emulator endpoint")
    }
    if s.count >= 3, s[1] == "oauth2" || s[1] == "v2.0" { return token(r) }
    let service = serviceOf(r)
    guard let service else {
      return EmulatorResponse.json(404, ["error": ["code": "NotFound", "message": .string("No service is emulated at \(r.path)")]])
    }
    guard let auth = r.header("Authorization"), auth.hasPrefix("Bearer "), let issued = tokens[String(auth.dropFirst(7))] else {
      return Errors.of(service, ServiceError(service: service, status: 401, code: "InvalidAuthenticationToken",
                                             message: "Access token is missing or invalid."), method: r.method)
    }
    if let refused = wrongAudience(service, issued, r) { return refused }
    if let fault = injectedThrottle(service, r) { return fault }
    switch service {
    case "graph": return graph(r)
    case "arm": return arm(r)
    case "powerplatform": return powerPlatform(r)
    case "customerinsights": return customerInsights(r)
    case "dataverse": return dataverse(r)
    default: return dfs(r)
    }
  }

  func serviceOf(_ r: EmulatorRequest) -> String? {
    let s = r.segments
    guard let first = s.first else { return nil }
    if first == "v1.0" { return "graph" }
    if first.lowercased() == "subscriptions" { return "arm" }
    if first.lowercased() == "providers" { return "powerplatform" }
    if first == "v1" { return "customerinsights" }
    if s.count >= 4, s[1] == "api", s[2] == "data" { return "dataverse" }
    if (try? world.storageAccount(name: first)) ?? nil != nil { return "dfs" }
    return nil
  }

  /// Seeded throttling: 429 (503 `ServerBusy` for storage, which does not
  /// use 429) with `Retry-After` and `retry-after-ms`.
  func injectedThrottle(_ service: String, _ r: EmulatorRequest) -> EmulatorResponse? {
    guard faults.rate429 > 0 || faults.rate503 > 0 else { return nil }
    let x = random()
    let headers = [("Retry-After", "1"), ("retry-after-ms", String(faults.retryAfterMilliseconds))]
    if x < faults.rate429 {
      if service == "dfs" { return Errors.dfs(503, "ServerBusy", "The server is busy.", method: r.method, extra: headers) }
      let code = service == "dataverse" ? "0x80072322" : "TooManyRequests"
      var resp = Errors.of(service, ServiceError(service: service, status: 429, code: code,
                                                 message: "Too many requests. Please try again later."), method: r.method)
      resp.headers += headers
      return resp
    }
    if x < faults.rate429 + faults.rate503 {
      if service == "dfs" {
        return Errors.dfs(503, "ServerBusy", "Ingress is over the account limit.", method: r.method, extra: headers)
      }
      var resp = Errors.of(service, ServiceError(service: service, status: 503, code: "ServiceUnavailable",
                                                 message: "The service is temporarily unavailable."), method: r.method)
      resp.headers += headers
      return resp
    }
    return nil
  }

  /// A just-created object is not yet visible everywhere: the first
  /// `replication` requests naming it get 404 `Request_ResourceNotFound`.
  func replicationDelay(_ r: EmulatorRequest) -> EmulatorResponse? {
    guard !replicationLeft.isEmpty else { return nil }
    let text = (r.path + " " + r.bodyText).lowercased()
    for (id, left) in replicationLeft where left > 0 && text.contains(id) {
      replicationLeft[id] = left - 1
      return Errors.graph(404, "Request_ResourceNotFound",
                          "Resource '\(id)' does not exist or one of its queried reference-property objects are not present.")
    }
    return nil
  }

  func noteCreated(_ id: String) {
    if faults.replication > 0 { replicationLeft[id.lowercased()] = faults.replication }
  }

  // MARK: Token endpoint

  /// Whether `name` (a tenant id or domain in a token URL) is this tenant.
  func isTenant(_ name: String) -> Bool {
    name.lowercased() == world.tenant.id.lowercased() || name.lowercased() == world.tenant.domain.lowercased()
  }

  func unknownTenant(_ name: String) -> EmulatorResponse {
    Errors.auth(400, "invalid_tenant", "AADSTS90002: Tenant '\(name)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.")
  }

  /// OpenID discovery (`/{tenant}/v2.0/.well-known/openid-configuration`)
  /// and the client-credentials grant (`POST /{tenant}/oauth2/v2.0/token`),
  /// with Entra ID's error codes for what SDKs check.
  func token(_ r: EmulatorRequest) -> EmulatorResponse {
    let s = r.segments
    if r.method == "GET" && s.count >= 4 && s[1] == "v2.0" && s[2] == ".well-known" && s[3] == "openid-configuration" {
      guard isTenant(s[0]) else { return unknownTenant(s[0]) }
      let base = "\(r.origin)/\(s[0])"
      let tenant = world.tenant.id
      return .json(200, [
        "token_endpoint": .string(base + "/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": .string("\(r.origin)/\(tenant)/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        // MSAL checks that the issuer names the authority it was given.
        "issuer": .string("\(r.origin)/\(tenant)/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": .string(base + "/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": .string(base + "/oauth2/v2.0/devicecode"),
        "http_logout_supported": true, "frontchannel_logout_supported": true,
        "end_session_endpoint": .string(base + "/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid"],
        "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
      ])
    }
    guard r.method == "POST", s.count == 4, s[1] == "oauth2", s[2] == "v2.0", s[3] == "token" else {
      return Errors.auth(404, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
    }
    guard isTenant(s[0]) else { return unknownTenant(s[0]) }
    var form: [String: String] = [:]
    for item in r.bodyText.split(separator: "&") {
      let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let dec = { (x: Substring) in String(x).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(x) }
      form[dec(kv[0])] = kv.count > 1 ? dec(kv[1]) : ""
    }
    var secret = form["client_secret"]
    if secret == nil, let basic = r.header("Authorization"), basic.hasPrefix("Basic "),
      let data = Data(base64Encoded: String(basic.dropFirst(6))), let pair = String(data: data, encoding: .utf8),
      let colon = pair.firstIndex(of: ":")
    {
      secret = String(pair[pair.index(after: colon)...]).removingPercentEncoding
    }
    guard form["grant_type"] == "client_credentials" else {
      return Errors.auth(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
    }
    guard let clientID = form["client_id"], !clientID.isEmpty else {
      return Errors.auth(400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
    }
    guard let secret, !secret.isEmpty else {
      return Errors.auth(401, "invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
    }
    if !clients.isEmpty {
      guard let expected = clients[clientID.lowercased()] else {
        return Errors.auth(400, "unauthorized_client", "AADSTS700016: Application with identifier '\(clientID)' was not found in the directory '\(world.tenant.domain)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
      }
      guard expected == secret else {
        return Errors.auth(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientID)'.")
      }
    }
    guard let scope = form["scope"], scope.hasSuffix("/.default"), !scope.contains(" ") else {
      return Errors.auth(400, "invalid_scope", "AADSTS1002012: The provided value for scope \(form["scope"] ?? "") is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
    }
    let token = "emu." + StableID.guid("token", String(requestCount), scope).replacingOccurrences(of: "-", with: "")
    tokens[token] = IssuedToken(audience: String(scope.dropLast("/.default".count)), clientID: clientID)
    return .json(200, ["token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": .string(token)])
  }

  /// The audiences each service accepts (trailing slashes and case aside).
  /// The emulator's own origin counts for Graph and ARM: the live client
  /// asks for it when those endpoints are https (as for a sovereign cloud).
  func accepts(_ service: String, _ audience: String, _ r: EmulatorRequest) -> Bool {
    var a = audience.lowercased()
    while a.hasSuffix("/") { a.removeLast() }
    // The origin with and without its port (the live client names the host only).
    let own = [r.origin.lowercased(), URLComponents(string: r.origin).flatMap { u in u.host.map { "\(u.scheme ?? "https")://\($0)" } }?.lowercased()]
      .compactMap { $0 }
    switch service {
    case "graph": return (["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"] + own).contains(a)
    case "arm": return (["https://management.azure.com", "https://management.core.windows.net"] + own).contains(a)
    case "dfs":
      let account = r.segments.first?.lowercased() ?? ""
      return ["https://storage.azure.com", "https://\(account).dfs.core.windows.net", "https://\(account).blob.core.windows.net"].contains(a)
    case "powerplatform": return ["https://service.powerapps.com", "https://api.bap.microsoft.com"].contains(a)
    case "customerinsights": return a == "https://api.ci.ai.dynamics.com"
    case "dataverse":
      let org = r.segments.first?.lowercased() ?? ""
      return world.dataverseEnvironmentURLs.contains { url in
        let host = (URLComponents(string: url)?.host ?? "").lowercased()
        return host.split(separator: ".").first.map(String.init) == org && a == "https://\(host)"
      }
    default: return false
    }
  }

  /// 401 in the service's own shape when the token was issued for another audience.
  func wrongAudience(_ service: String, _ issued: IssuedToken, _ r: EmulatorRequest) -> EmulatorResponse? {
    guard !accepts(service, issued.audience, r) else { return nil }
    let authorize = "https://login.microsoftonline.com/\(world.tenant.id)/oauth2/authorize"
    switch service {
    case "arm":
      return .json(401, ["error": [
        "code": "InvalidAuthenticationTokenAudience",
        "message": .string("The access token has been obtained for wrong audience or resource '\(issued.audience)'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."),
      ]], headers: [("WWW-Authenticate", "Bearer authorization_uri=\"\(authorize)\", error=\"invalid_token\", error_description=\"The access token has been obtained for wrong audience or resource.\"")])
    case "graph":
      return Errors.graph(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    case "dfs":
      return Errors.dfs(401, "InvalidAuthenticationInfo",
                        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
                        method: r.method,
                        extra: [("WWW-Authenticate", "Bearer authorization_uri=\(authorize) resource_id=https://storage.azure.com")])
    case "dataverse":
      // Dataverse answers a token for another resource with an empty 401 and the reason in WWW-Authenticate.
      return EmulatorResponse(status: 401, headers: [
        ("WWW-Authenticate", "Bearer error=invalid_token, error_description=\"Error during token validation!\", authorization_uri=\(authorize), resource_id=\(r.origin)/\(r.segments.first ?? "")/"),
        ("Content-Length", "0"),
      ])
    default:
      return .json(401, ["error": ["code": "InvalidAuthenticationTokenAudience",
                                   "message": .string("The access token was issued for '\(issued.audience)', not this service.")]])
    }
  }
}

/// What the token endpoint issued a token for.
struct IssuedToken: Sendable {
  var audience: String
  var clientID: String
}

/// Error bodies in each service's own shape.
enum Errors {
  static func of(_ service: String, _ e: ServiceError, method: String) -> EmulatorResponse {
    switch service {
    case "graph": return graph(e.status, e.code, e.message)
    case "dfs": return dfs(e.status, e.code, e.message, method: method)
    case "auth": return auth(e.status, e.code, e.message)
    default: return .json(e.status, ["error": ["code": .string(e.code), "message": .string(e.message)]])
    }
  }

  static func graph(_ status: Int, _ code: String, _ message: String) -> EmulatorResponse {
    .json(status, ["error": [
      "code": .string(code), "message": .string(message),
      "innerError": ["date": .string(iso8601(Int(Date().timeIntervalSince1970 * 1000))), "request-id": .string(StableID.guid("graph", message))],
    ]], contentType: Emulator.graphContentType)
  }

  static func dfs(_ status: Int, _ code: String, _ message: String, method: String, extra: [(String, String)] = [])
    -> EmulatorResponse
  {
    let headers = [("x-ms-error-code", code)] + extra
    if method == "HEAD" { return EmulatorResponse(status: status, headers: headers) }
    return .json(status, ["error": ["code": .string(code), "message": .string(message + "\nRequestId:\(StableID.guid("dfs", message))\nTime:\(iso8601(Int(Date().timeIntervalSince1970 * 1000)))")]],
                 headers: headers)
  }

  static func auth(_ status: Int, _ error: String, _ description: String) -> EmulatorResponse {
    let code = description.split(separator: ":").first.map { String($0.dropFirst("AADSTS".count)) }.flatMap { Int($0) } ?? 0
    return .json(status, [
      "error": .string(error), "error_description": .string(description), "error_codes": [WireJSON(code)],
      "timestamp": .string(iso8601(Int(Date().timeIntervalSince1970 * 1000))), "trace_id": .string(StableID.guid("trace", description)),
      "correlation_id": .string(StableID.guid("correlation", description)),
    ])
  }
}
