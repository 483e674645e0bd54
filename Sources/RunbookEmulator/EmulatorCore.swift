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

  public init(method: String, uri: String, headers: [(String, String)], body: [UInt8]) {
    self.method = method.uppercased()
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
  var tokens: Set<String> = []
  var replicationLeft: [String: Int] = [:]
  var lastTick = Date()
  var requestCount = 0
  /// Counts of answers by status, for tests and the exit summary.
  var statusCounts: [Int: Int] = [:]
  /// Every request's method and path (no query, headers or body: nothing
  /// secret), in order, for tests that assert what a run sent.
  var requestLines: [String] = []

  public init(world: World, faults: FaultSpec = FaultSpec(), timeScale: Double = 1) {
    self.world = world; self.faults = faults; self.timeScale = max(1, timeScale); rng = faults.seed
  }

  /// The world as a state file (JSON), as `GET /_emulator/state` answers.
  public func stateJSON() -> String { lock.withLock { world.stateJSON() } }
  public func statusCount(_ status: Int) -> Int { lock.withLock { statusCounts[status] ?? 0 } }
  public var requestTotal: Int { lock.withLock { requestCount } }
  /// `METHOD /path` of every request so far, oldest first.
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
      requestLines.append("\(r.method) \(r.path)")
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
    guard let auth = r.header("Authorization"), auth.hasPrefix("Bearer "), tokens.contains(String(auth.dropFirst(7))) else {
      return Errors.of(service, ServiceError(service: service, status: 401, code: "InvalidAuthenticationToken",
                                             message: "Access token is missing or invalid."), method: r.method)
    }
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

  func token(_ r: EmulatorRequest) -> EmulatorResponse {
    let s = r.segments
    if r.method == "GET" && s.count >= 4 && s[1] == "v2.0" && s[2] == ".well-known" {
      let base = "http://\(r.header("Host") ?? "127.0.0.1")/\(s[0])"
      return .json(200, [
        "authorization_endpoint": .string(base + "/oauth2/v2.0/authorize"), "token_endpoint": .string(base + "/oauth2/v2.0/token"),
        "issuer": .string("https://login.microsoftonline.com/\(s[0])/v2.0"),
      ])
    }
    guard r.method == "POST", s.count == 4, s[1] == "oauth2", s[2] == "v2.0", s[3] == "token" else {
      return Errors.auth(404, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
    }
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
    guard let clientID = form["client_id"], !clientID.isEmpty, let secret, !secret.isEmpty else {
      return Errors.auth(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    }
    guard let scope = form["scope"], scope.hasSuffix("/.default"), !scope.contains(" ") else {
      return Errors.auth(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
    }
    let token = "emu." + StableID.guid("token", String(requestCount), scope).replacingOccurrences(of: "-", with: "")
    tokens.insert(token)
    return .json(200, ["token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": .string(token)])
  }
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
    let code = description.split(separator: ":").first.map { String($0.dropFirst(5)) }.flatMap { Int($0) } ?? 0
    return .json(status, [
      "error": .string(error), "error_description": .string(description), "error_codes": [WireJSON(code)],
      "timestamp": .string(iso8601(Int(Date().timeIntervalSince1970 * 1000))), "trace_id": .string(StableID.guid("trace", description)),
      "correlation_id": .string(StableID.guid("correlation", description)),
    ])
  }
}
