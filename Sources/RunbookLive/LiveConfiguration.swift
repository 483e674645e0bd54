import Foundation
import RunbookServices

/// Where each service lives. The defaults are Azure's public cloud; every
/// endpoint can be moved (sovereign clouds, the emulator) by environment
/// variables. Plain `http://` is accepted only for loopback hosts.
public struct LiveEndpoints: Sendable, Equatable {
  /// Token authority host (`AZURE_AUTHORITY_HOST`, `RUNBOOK_AUTHORITY_HOST`).
  public var authorityHost: String = "https://login.microsoftonline.com"
  /// Microsoft Graph root, without `/v1.0`.
  public var graph: String = "https://graph.microsoft.com"
  public var arm: String = "https://management.azure.com"
  /// The DFS endpoint of an account: `{account}` is replaced by its name.
  public var dfs: String = "https://{account}.dfs.core.windows.net"
  /// Dataverse org root. nil: the environment's own URL. A template may use
  /// `{org}` (the first label of the environment URL's host).
  public var dataverse: String? = nil
  /// Power Platform admin API (environment list).
  public var powerPlatform: String = "https://api.bap.microsoft.com"
  /// Customer Insights - Data API.
  public var customerInsights: String = "https://api.ci.ai.dynamics.com"
  /// A PEM file of CA certificates trusted beside the system's
  /// (`RUNBOOK_CA_FILE`), e.g. the one `runbook emulator --tls` prints.
  public var trustedCAFile: String? = nil

  public init() {}

  /// The environment variables that move endpoints.
  public static var variables: [(String, WritableKeyPath<LiveEndpoints, String>)] {
    [
    ("RUNBOOK_AUTHORITY_HOST", \.authorityHost), ("RUNBOOK_GRAPH_ENDPOINT", \.graph), ("RUNBOOK_ARM_ENDPOINT", \.arm),
    ("RUNBOOK_DFS_ENDPOINT", \.dfs), ("RUNBOOK_POWERPLATFORM_ENDPOINT", \.powerPlatform),
    ("RUNBOOK_CI_ENDPOINT", \.customerInsights),
    ]
  }

  /// Keys of an endpoints file (`RUNBOOK_ENDPOINTS_FILE`, a JSON object) and
  /// the variables they stand for.
  public static let fileKeys: [(String, String)] = [
    ("authority_host", "RUNBOOK_AUTHORITY_HOST"), ("graph", "RUNBOOK_GRAPH_ENDPOINT"), ("arm", "RUNBOOK_ARM_ENDPOINT"),
    ("dfs", "RUNBOOK_DFS_ENDPOINT"), ("dataverse", "RUNBOOK_DATAVERSE_ENDPOINT"),
    ("power_platform", "RUNBOOK_POWERPLATFORM_ENDPOINT"), ("customer_insights", "RUNBOOK_CI_ENDPOINT"),
  ]

  /// Reads the endpoints file named by `RUNBOOK_ENDPOINTS_FILE` (if any),
  /// then the endpoint variables, which win; fails on a URL that is not
  /// https (or http to loopback).
  public static func from(environment given: [String: String]) throws(LiveConfigurationError) -> LiveEndpoints {
    var env = given
    if let file = given["RUNBOOK_ENDPOINTS_FILE"], !file.isEmpty {
      guard let data = FileManager.default.contents(atPath: file), let j = WireJSON.parse(data), let o = j.object else {
        throw LiveConfigurationError(message: "RUNBOOK_ENDPOINTS_FILE `\(file)` is not a readable JSON object")
      }
      for key in o.keys where !fileKeys.contains(where: { $0.0 == key }) {
        throw LiveConfigurationError(
          message: "unknown key `\(key)` in `\(file)` (known: \(fileKeys.map(\.0).joined(separator: ", ")))")
      }
      for (key, variable) in fileKeys {
        guard let v = o[key] else { continue }
        guard let s = v.string else { throw LiveConfigurationError(message: "`\(key)` in `\(file)` must be a string") }
        if given[variable] == nil { env[variable] = s }
      }
    }
    var e = LiveEndpoints()
    if env["RUNBOOK_AUTHORITY_HOST"] == nil, let host = env["AZURE_AUTHORITY_HOST"], !host.isEmpty {
      e.authorityHost = host.hasPrefix("http") ? host : "https://" + host
    }
    for (name, key) in variables {
      if let v = env[name], !v.isEmpty { e[keyPath: key] = trimSlash(v) }
    }
    if let v = env["RUNBOOK_DATAVERSE_ENDPOINT"], !v.isEmpty { e.dataverse = trimSlash(v) }
    e.authorityHost = trimSlash(e.authorityHost)
    for (name, key) in variables { try check(e[keyPath: key], name) }
    if let d = e.dataverse { try check(d, "RUNBOOK_DATAVERSE_ENDPOINT") }
    if let ca = env["RUNBOOK_CA_FILE"], !ca.isEmpty {
      guard FileManager.default.isReadableFile(atPath: ca) else {
        throw LiveConfigurationError(message: "RUNBOOK_CA_FILE `\(ca)` is not a readable file")
      }
      e.trustedCAFile = ca
    }
    return e
  }

  static func trimSlash(_ s: String) -> String {
    var s = s
    while s.hasSuffix("/") { s.removeLast() }
    return s
  }

  /// https anywhere; http only to 127.0.0.0/8, ::1 or localhost, by address
  /// (see `TransportSafety`).
  public static func check(_ url: String, _ name: String) throws(LiveConfigurationError) {
    let probe = url.replacingOccurrences(of: "{account}", with: "account").replacingOccurrences(of: "{org}", with: "org")
    if let reason = TransportSafety.refusal(probe) {
      throw LiveConfigurationError(message: "\(name): \(reason)")
    }
  }

  /// Every endpoint on one emulator at `base` (e.g. `http://127.0.0.1:8443`).
  public static func emulator(_ base: String) -> LiveEndpoints {
    var e = LiveEndpoints()
    let b = trimSlash(base)
    e.authorityHost = b; e.graph = b; e.arm = b; e.powerPlatform = b; e.customerInsights = b
    e.dfs = b + "/{account}"
    e.dataverse = b + "/{org}"
    return e
  }

  /// The token resource for a service whose public default is `publicResource`:
  /// the endpoint's own origin for https endpoints (sovereign clouds), the
  /// public resource for loopback endpoints.
  func resource(for endpoint: String, publicResource: String) -> String {
    guard let u = URLComponents(string: endpoint), let host = u.host, u.scheme == "https", !host.contains("{") else {
      return publicResource
    }
    return "https://\(host)"
  }

  public var graphResource: String { resource(for: graph, publicResource: "https://graph.microsoft.com") }
  public var armResource: String { resource(for: arm, publicResource: "https://management.azure.com") }
  public var storageResource: String { "https://storage.azure.com" }
  public var powerPlatformResource: String { "https://service.powerapps.com/" }
  public var customerInsightsResource: String { "https://api.ci.ai.dynamics.com" }
}

public struct LiveConfigurationError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}

/// Removes secrets from anything that may be printed, logged or journaled.
public final class Redactor: Sendable {
  private let secrets: NIOLockedBox<[String]>
  public init(_ initial: [String] = []) { secrets = NIOLockedBox(initial.filter { $0.count >= 4 }) }
  public func add(_ secret: String) {
    guard secret.count >= 4 else { return }
    secrets.withLock { if !$0.contains(secret) { $0.append(secret) } }
  }
  public func redact(_ text: String) -> String {
    var t = text
    for s in secrets.withLock({ $0 }) where t.contains(s) { t = t.replacingOccurrences(of: s, with: "[REDACTED]") }
    return Redaction.bearer(t)
  }
  public func redact(_ e: ServiceError) -> ServiceError {
    var e = e
    e.message = redact(e.message)
    return e
  }
}

enum Redaction {
  /// A URL without its query (SAS tokens and skip tokens stay out of messages).
  static func url(_ s: String) -> String {
    guard let q = s.firstIndex(of: "?") else { return s }
    return String(s[..<q])
  }
  /// `Bearer xyz` → `Bearer [REDACTED]`, for any text that quotes a header.
  static func bearer(_ s: String) -> String {
    guard s.contains("Bearer ") else { return s }
    return s.replacingOccurrences(of: #"Bearer [A-Za-z0-9._\-~+/=]+"#, with: "Bearer [REDACTED]", options: .regularExpression)
  }
}

import NIOConcurrencyHelpers

/// A tiny lock-protected box (NIOLockedValueBox without the generic noise).
final class NIOLockedBox<T: Sendable>: Sendable {
  private let box: NIOLockedValueBox<T>
  init(_ value: T) { box = NIOLockedValueBox(value) }
  func withLock<R>(_ body: (inout T) -> R) -> R { box.withLockedValue(body) }
}
