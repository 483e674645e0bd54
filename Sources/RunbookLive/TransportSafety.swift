import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a request may go in clear, and where a credential may go at all.
///
/// The rules (docs/live.md, "Transport safety"):
/// - `https://` anywhere; plain `http://` only when the host is an IPv4
///   literal in 127.0.0.0/8, the IPv6 literal `::1`, or exactly `localhost`.
///   The host is parsed as an address, never matched by prefix, so
///   `127.0.0.1.nip.io` and `127.attacker.example` are ordinary names.
/// - No other scheme, and no user name or password in a URL.
///
/// The transport applies these to every request before a byte is sent,
/// whatever the URL came from (configuration, an environment variable, an
/// instance URL a service returned, a `nextLink`).
public enum TransportSafety {
  /// Whether `host` is loopback by address (or exactly `localhost`).
  /// Brackets around an IPv6 literal are accepted.
  public static func isLoopback(host: String) -> Bool {
    var h = host.lowercased()
    if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
    if h == "localhost" { return true }
    var v4 = in_addr()
    // inet_pton takes exactly four decimal parts (no `127.1`, no octal, no
    // trailing text), so a name that merely starts with `127.` is no address.
    if inet_pton(AF_INET, h, &v4) == 1 {
      return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, h, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
    }
    return false
  }

  /// Why a request to `url` must not be sent, or nil when it may be.
  /// The reason names the URL (without its query, which may hold a SAS or
  /// skip token).
  public static func refusal(_ url: String) -> String? {
    let shown = Redaction.url(url)
    // Foundation's parser is the one AsyncHTTPClient uses to find the host it
    // connects to: the check and the connection agree on what the host is.
    guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty else {
      return "`\(shown)` is not a URL"
    }
    if u.user != nil || u.password != nil {
      return "`\(shown)` carries a user name or password; credentials never go in a URL"
    }
    switch scheme {
    case "https": return nil
    case "http":
      if isLoopback(host: host) { return nil }
      return "refusing plain http to `\(shown)`: credentials would cross the network in clear"
        + " (plain http is accepted only for 127.0.0.0/8, ::1 and localhost; use https)"
    default:
      return "refusing `\(shown)`: only https (and http to loopback) is used"
    }
  }

  /// Scheme, host and port of `url` (the default port filled in), or nil
  /// when it has no host.
  public static func origin(_ url: String) -> Origin? {
    guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased(), !host.isEmpty
    else { return nil }
    let port = u.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
    return Origin(scheme: scheme, host: host, port: port)
  }

  public struct Origin: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String, host: String, port: Int
    public var description: String { "\(scheme)://\(host):\(port)" }
  }
}

/// Which hosts a bearer token for a resource (its audience) may be sent
/// to: the audience's own host, and the endpoint configured for that
/// service (a sovereign cloud, the emulator). A Dataverse token's audience
/// is the environment's instance URL; with a `RUNBOOK_DATAVERSE_ENDPOINT`
/// template it may also go to the template's host for that org. Nothing
/// else, so a `nextLink` or instance URL that names another host never
/// gets a token.
public struct TokenAudiences: Sendable {
  /// Resource → origins (patterns: `{account}` and `{org}` stand for one
  /// DNS label) its tokens may go to.
  var origins: [String: [String]]
  var dataverseTemplate: String?

  public init(endpoints e: LiveEndpoints) {
    func add(_ resource: String, _ endpoints: [String]) -> (String, [String]) { (resource, [resource] + endpoints) }
    origins = Dictionary(
      [
        add(e.graphResource, [e.graph]), add(e.armResource, [e.arm]), add(e.storageResource, [e.dfs]),
        add(e.powerPlatformResource, [e.powerPlatform]), add(e.customerInsightsResource, [e.customerInsights]),
      ], uniquingKeysWith: { a, b in a + b })
    dataverseTemplate = e.dataverse
  }

  /// Whether a token for `resource` may travel with a request to `url`.
  public func allows(resource: String, url: String) -> Bool {
    guard let target = TransportSafety.origin(url) else { return false }
    var allowed = origins[resource] ?? [resource]
    if origins[resource] == nil, let template = dataverseTemplate, let host = URL(string: resource)?.host {
      let org = host.split(separator: ".").first.map(String.init) ?? host
      allowed.append(template.replacingOccurrences(of: "{org}", with: org))
    }
    return allowed.contains { Self.matches(pattern: $0, origin: target) }
  }

  /// `pattern`'s origin equals `origin`, where a `{…}` placeholder in the
  /// pattern's host stands for exactly one DNS label.
  static func matches(pattern: String, origin: TransportSafety.Origin) -> Bool {
    let placeholder = "runbook-placeholder-label"
    let probe = pattern.replacingOccurrences(of: #"\{[a-z]+\}"#, with: placeholder, options: .regularExpression)
    guard let p = TransportSafety.origin(probe), p.scheme == origin.scheme, p.port == origin.port else { return false }
    let want = p.host.split(separator: ".", omittingEmptySubsequences: false)
    let have = origin.host.split(separator: ".", omittingEmptySubsequences: false)
    guard want.count == have.count else { return false }
    return zip(want, have).allSatisfy { w, h in w == h || (w == placeholder && !h.isEmpty) }
  }
}
