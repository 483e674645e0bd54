import Foundation
import RunbookServices

/// Bearer tokens, one per resource, cached until shortly before they
/// expire. Client credentials (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_CLIENT_SECRET`) are used when all three are set, else
/// `az account get-access-token --resource R`. Secrets and tokens are
/// registered with the redactor the moment they are known. The client
/// secret goes only to the token endpoint (`{authorityHost}/{tenant}/…`),
/// in the body of a POST whose redirects are never followed.
public final class TokenProvider: Sendable {
  public enum Source: Sendable {
    case clientSecret(tenant: String, clientID: String, secret: String)
    case azureCLI(tenant: String?)
  }

  public let source: Source
  private let authorityHost: String
  private let transport: HTTPTransport
  private let redactor: Redactor
  private let policy: RetryPolicy
  private let sleeper: any Sleeper
  private let cache = NIOLockedBox<[String: (token: String, expires: Date)]>([:])
  /// The Azure CLI command (a name looked up on PATH, or a path).
  private let azureCLICommand: String

  public init(source: Source, authorityHost: String, transport: HTTPTransport, redactor: Redactor, policy: RetryPolicy,
              sleeper: any Sleeper, azureCLICommand: String = "az") {
    self.source = source; self.authorityHost = authorityHost; self.transport = transport; self.redactor = redactor
    self.policy = policy; self.sleeper = sleeper; self.azureCLICommand = azureCLICommand
    if case .clientSecret(_, _, let secret) = source { redactor.add(secret) }
  }

  /// The credential the environment describes (EnvironmentCredential order).
  public static func source(environment env: [String: String]) -> Source {
    if let t = env["AZURE_TENANT_ID"], let c = env["AZURE_CLIENT_ID"], let s = env["AZURE_CLIENT_SECRET"],
      !t.isEmpty, !c.isEmpty, !s.isEmpty
    {
      return .clientSecret(tenant: t, clientID: c, secret: s)
    }
    return .azureCLI(tenant: env["AZURE_TENANT_ID"].flatMap { $0.isEmpty ? nil : $0 })
  }

  /// Forgets the cached token of `resource` (after a 401).
  public func invalidate(resource: String) { _ = cache.withLock { $0.removeValue(forKey: resource) } }

  /// A token for `resource` (e.g. `https://graph.microsoft.com`).
  public func token(resource: String) throws(ServiceError) -> String {
    if let c = cache.withLock({ $0[resource] }), c.expires > Date().addingTimeInterval(120) { return c.token }
    let (token, expires): (String, Date)
    switch source {
    case .clientSecret(let tenant, let clientID, let secret):
      (token, expires) = try clientCredentials(tenant: tenant, clientID: clientID, secret: secret, resource: resource)
    case .azureCLI(let tenant):
      (token, expires) = try azureCLI(resource: resource, tenant: tenant)
    }
    redactor.add(token)
    cache.withLock { $0[resource] = (token, expires) }
    return token
  }

  static func scope(_ resource: String) -> String {
    (resource.hasSuffix("/") ? String(resource.dropLast()) : resource) + "/.default"
  }

  private func clientCredentials(tenant: String, clientID: String, secret: String, resource: String)
    throws(ServiceError) -> (String, Date)
  {
    let form = URLText.query([
      ("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", secret),
      ("scope", Self.scope(resource)),
    ])
    let request = WireRequest(
      method: "POST", url: "\(authorityHost)/\(URLText.encode(tenant))/oauth2/v2.0/token",
      headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
                ("x-ms-lib-capability", "retry-after, h429")],
      body: Array(form.utf8))
    var attempt = 0
    var waited = 0
    while true {
      attempt += 1
      let r: WireResponse
      do {
        r = try transport.send(request)
      } catch {
        if error.isRefused { throw ServiceError(service: "auth", status: 0, code: "InsecureURL", message: error.message) }
        if attempt < policy.maxAttempts {
          let d = policy.backoff(attempt: attempt)
          sleeper.sleep(milliseconds: d); waited += d
          continue
        }
        throw ServiceError(service: "auth", status: 0, code: error.isTimeout ? "Timeout" : "ConnectionFailed",
                           message: redactor.redact(error.message))
      }
      if RetryPolicy.retryableStatuses.contains(r.status), attempt < policy.maxAttempts {
        let d = RetryPolicy.retryAfter(r) ?? policy.backoff(attempt: attempt)
        if d <= policy.maxRetryAfterMilliseconds, waited + d <= policy.totalWaitMilliseconds {
          sleeper.sleep(milliseconds: d); waited += d
          continue
        }
      }
      let body = r.json
      guard r.status == 200, let token = body?["access_token"]?.string else {
        let code = body?["error"]?.string ?? "HTTP\(r.status)"
        let message = body?["error_description"]?.string ?? "the token endpoint answered \(r.status)"
        throw ServiceError(service: "auth", status: r.status, code: code, message: redactor.redact(message))
      }
      redactor.add(token)
      let seconds = body?["expires_in"]?.int ?? Int(body?["expires_in"]?.string ?? "") ?? 3599
      return (token, Date().addingTimeInterval(Double(seconds)))
    }
  }

  private func azureCLI(resource: String, tenant: String?) throws(ServiceError) -> (String, Date) {
    var args = ["account", "get-access-token", "--output", "json", "--resource",
                resource.hasSuffix("/.default") ? String(resource.dropLast(9)) : resource]
    if let tenant { args += ["--tenant", tenant] }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [azureCLICommand] + args
    p.currentDirectoryURL = URL(fileURLWithPath: "/bin")
    var env = ProcessInfo.processInfo.environment
    env["AZURE_CORE_NO_COLOR"] = "true"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch {
      throw ServiceError(service: "auth", status: 0, code: "CredentialUnavailable",
                         message: "Azure CLI not found on path; set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or run 'az login'")
    }
    let deadline = Date().addingTimeInterval(10)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if p.isRunning {
      p.terminate()
      throw ServiceError(service: "auth", status: 0, code: "CredentialUnavailable", message: "az account get-access-token timed out after 10 s")
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    if p.terminationStatus == 127 {
      throw ServiceError(
        service: "auth", status: 0, code: "CredentialUnavailable",
        message: "no credentials: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or install the Azure CLI and run 'az login' (Azure CLI not found on path)")
    }
    guard p.terminationStatus == 0, let json = WireJSON.parse(stdout), let token = json["accessToken"]?.string else {
      let needsLogin = (stderr.contains("az login") || stderr.contains("az account set")) && !stderr.contains("AADSTS")
      throw ServiceError(
        service: "auth", status: 0, code: "CredentialUnavailable",
        message: needsLogin ? "Please run 'az login' to set up an account" : redactor.redact(String(stderr.prefix(400))))
    }
    redactor.add(token)
    if let epoch = json["expires_on"]?.int ?? json["expires_on"]?.string.flatMap({ Int($0) }) {
      return (token, Date(timeIntervalSince1970: Double(epoch)))
    }
    if let s = json["expiresOn"]?.string {
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
      if let d = f.date(from: s) { return (token, d) }
    }
    return (token, Date().addingTimeInterval(300))
  }
}
