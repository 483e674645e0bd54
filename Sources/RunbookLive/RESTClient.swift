import Foundation
import RunbookServices

/// The request pipeline every live client shares: bearer token, standard
/// headers, retries with `Retry-After`, replication-delay retries, error
/// bodies parsed into `ServiceError` and secrets redacted from messages.
/// A request goes out only to a URL `TransportSafety` accepts, and carries a
/// token only to a host of that token's audience (`TokenAudiences`).
public final class RESTClient: Sendable {
  public let transport: HTTPTransport
  public let tokens: TokenProvider
  public let audiences: TokenAudiences
  public let policy: RetryPolicy
  public let sleeper: any Sleeper
  public let redactor: Redactor
  /// Called with one line per attempt (method, URL without query, status).
  public let trace: (@Sendable (String) -> Void)?
  /// Ids of objects this client created, and when: 404s naming them are
  /// replication delay, not absence.
  private let recent = NIOLockedBox<[String: Date]>([:])

  public init(transport: HTTPTransport, tokens: TokenProvider, audiences: TokenAudiences, policy: RetryPolicy,
              sleeper: any Sleeper = ThreadSleeper(), redactor: Redactor, trace: (@Sendable (String) -> Void)? = nil) {
    self.transport = transport; self.tokens = tokens; self.audiences = audiences; self.policy = policy; self.sleeper = sleeper
    self.redactor = redactor; self.trace = trace
  }

  public func noteCreated(_ id: String) { recent.withLock { $0[id.lowercased()] = Date() } }

  private func isRecent(_ text: String) -> Bool {
    let t = text.lowercased()
    return recent.withLock { r in r.contains { t.contains($0.key) && Date().timeIntervalSince($0.value) < 300 } }
  }

  /// Sends a request and returns its final answer (after retries), whatever
  /// its status. Use `check` to turn an error status into a `ServiceError`.
  public func send(
    service: String, resource: String, method: String, url: String, headers: [(String, String)] = [],
    json: WireJSON? = nil, body: [UInt8]? = nil
  ) throws(ServiceError) -> WireResponse {
    // Both checks come before a token is even asked for.
    if let reason = TransportSafety.refusal(url) {
      throw ServiceError(service: service, status: 0, code: "InsecureURL", message: redactor.redact(reason))
    }
    guard audiences.allows(resource: resource, url: url) else {
      throw ServiceError(
        service: service, status: 0, code: "UntrustedHost",
        message: redactor.redact(
          "refusing to send a \(Redaction.url(resource)) token to `\(Redaction.url(url))`: that host is not the token's audience nor its configured endpoint"))
    }
    var hs = headers
    var payload = body
    if let json {
      payload = Array(json.text.utf8)
      hs.append(("Content-Type", "application/json"))
    }
    if !hs.contains(where: { $0.0.lowercased() == "accept" }) { hs.append(("Accept", "application/json")) }
    hs.append(("x-ms-client-request-id", UUID().uuidString.lowercased()))
    let idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
    var attempt = 0, waited = 0, replication = 0, reauthenticated = false
    while true {
      attempt += 1
      let token = try tokens.token(resource: resource)
      let request = WireRequest(method: method, url: url, headers: hs + [("Authorization", "Bearer " + token)], body: payload)
      let r: WireResponse
      do {
        r = try transport.send(request)
      } catch {
        trace?(redactor.redact("\(method) \(Redaction.url(url)) -> \(error.message)"))
        if error.isRefused {
          throw ServiceError(service: service, status: 0, code: "InsecureURL", message: redactor.redact(error.message))
        }
        let d = policy.backoff(attempt: attempt)
        if idempotent, attempt < policy.maxAttempts, waited + d <= policy.totalWaitMilliseconds {
          sleeper.sleep(milliseconds: d); waited += d
          continue
        }
        throw ServiceError(service: service, status: 0, code: error.isTimeout ? "Timeout" : "ConnectionFailed",
                           message: redactor.redact(error.message))
      }
      trace?(redactor.redact("\(method) \(Redaction.url(url)) -> \(r.status)"))
      if r.status == 401 && !reauthenticated {
        reauthenticated = true
        tokens.invalidate(resource: resource)
        continue
      }
      if RetryPolicy.retryableStatuses.contains(r.status), attempt < policy.maxAttempts {
        let retryAfter = RetryPolicy.retryAfter(r)
        let allowed = idempotent || [500, 503, 504].contains(r.status) || retryAfter != nil
        let d = retryAfter ?? policy.backoff(attempt: attempt)
        if allowed, d <= policy.maxRetryAfterMilliseconds, waited + d <= policy.totalWaitMilliseconds {
          sleeper.sleep(milliseconds: d); waited += d
          continue
        }
      }
      if replication < policy.replicationAttempts, isReplicationDelay(service: service, response: r, url: url, body: payload) {
        replication += 1
        attempt -= 1  // replication delay has its own budget: it does not use up the throttling retries
        sleeper.sleep(milliseconds: policy.replicationDelayMilliseconds)
        continue
      }
      return r
    }
  }

  /// Only a Graph 404 or an ARM 400 can be one: no other answer's body is
  /// parsed here (a listing page's would be, on every page).
  private func isReplicationDelay(service: String, response r: WireResponse, url: String, body: [UInt8]?) -> Bool {
    if service == "graph", r.status == 404, Self.errorCode(service: service, r) == "Request_ResourceNotFound" {
      return isRecent(url) || body.map { isRecent(String(decoding: $0, as: UTF8.self)) } == true
    }
    if service == "arm", r.status == 400, Self.errorCode(service: service, r) == "PrincipalNotFound" { return true }
    return false
  }

  static func errorCode(service: String, _ r: WireResponse) -> String? {
    if let c = r.header("x-ms-error-code") { return c }
    return r.json?["error"]?["code"]?.string
  }

  /// The response itself when its status is 2xx, else its error.
  @discardableResult
  public func check(service: String, _ r: WireResponse) throws(ServiceError) -> WireResponse {
    if (200..<300).contains(r.status) { return r }
    if (300..<400).contains(r.status), let location = r.header("Location") {
      throw ServiceError(
        service: service, status: r.status, code: "Redirected",
        message: redactor.redact(
          "the service redirected to `\(Redaction.url(location))`; redirects are not followed, so credentials stay with the host they belong to"))
    }
    throw error(service: service, r)
  }

  /// The service error an answer carries (code and message as the service wrote them).
  public func error(service: String, _ r: WireResponse) -> ServiceError {
    let body = r.json
    let errorField: WireJSON? = body?["error"]
    let code = r.header("x-ms-error-code") ?? errorField?["code"]?.string ?? errorField?.string ?? "HTTP\(r.status)"
    var message = errorField?["message"]?.string ?? body?["error_description"]?.string ?? body?["message"]?.string
    if service == "dfs", let m = message, let cut = m.range(of: "\nRequestId:") { message = String(m[..<cut.lowerBound]) }
    let text = message ?? Self.knownMessages[code] ?? "the service answered \(r.status) with no error body"
    return ServiceError(service: service, status: r.status, code: code, message: redactor.redact(text))
  }

  /// Messages of errors that arrive without a body (HEAD answers).
  static let knownMessages: [String: String] = [
    "PathNotFound": "The specified path does not exist.",
    "FilesystemNotFound": "The specified filesystem does not exist.",
    "HierarchicalNamespaceNotEnabled": ServiceError.namespaceNotEnabled.message,
    "EndpointUnsupportedAccountFeatures": ServiceError.unsupportedAccountFeatures.message,
    "AccountNotFound": "The specified account does not exist.",
    "AuthorizationPermissionMismatch": ServiceError.notAuthorized.message,
  ]

  /// Follows `@odata.nextLink` (or ARM `nextLink`) pages, refusing links that
  /// leave the endpoint the first page came from.
  public func pages(service: String, resource: String, url: String, headers: [(String, String)] = [])
    throws(ServiceError) -> [WireJSON]
  {
    var items: [WireJSON] = []
    var next: String? = url
    var count = 0
    let origin = TransportSafety.origin(url)
    while let u = next {
      count += 1
      guard count <= 1000 else {
        throw ServiceError(service: service, status: 0, code: "TooManyPages", message: "more than 1000 pages at \(Redaction.url(url))")
      }
      guard let here = TransportSafety.origin(u), here == origin else {
        throw ServiceError(
          service: service, status: 0, code: "UntrustedNextLink",
          message: redactor.redact("the next-page link `\(Redaction.url(u))` leaves \(origin.map(String.init(describing:)) ?? Redaction.url(url)); not followed"))
      }
      let r = try check(service: service, send(service: service, resource: resource, method: "GET", url: u, headers: headers))
      guard let body = r.json else { throw malformed(service: service, url: u) }
      items += body["value"]?.array ?? []
      next = body["@odata.nextLink"]?.string ?? body["nextLink"]?.string
    }
    return items
  }

  func malformed(service: String, url: String) -> ServiceError {
    ServiceError(service: service, status: 0, code: "MalformedResponse",
                 message: "the answer from \(Redaction.url(url)) is not the WireJSON expected")
  }
}
