import AsyncHTTPClient
import RunbookServices
import Dispatch
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP request as the live clients build it.
public struct WireRequest: Sendable {
  public var method: String
  public var url: String
  public var headers: [(String, String)]
  public var body: [UInt8]?
  public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
    self.method = method; self.url = url; self.headers = headers; self.body = body
  }
  public func header(_ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
  }
}

/// One HTTP response: status, headers (case-insensitive lookup) and body.
public struct WireResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]
  public init(status: Int, headers: [(String, String)], body: [UInt8]) {
    self.status = status; self.headers = headers; self.body = body
  }
  public func header(_ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
  }
  public var json: WireJSON? { WireJSON.parse(body) }
}

/// A request that got no HTTP answer: connection refused, timeout, TLS.
public struct TransportError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var isTimeout: Bool
  /// The request was refused before anything was sent (`TransportSafety`):
  /// retrying cannot help.
  public var isRefused = false
  public var description: String { message }
}

/// Sends requests on AsyncHTTPClient's event loops and blocks the calling
/// (interpreter) thread on a semaphore until the answer arrives: the
/// service protocols are synchronous. Every URL passes `TransportSafety`
/// before a connection is opened. Redirects are never followed, so a
/// credential is never sent to a host it was not meant for.
public final class HTTPTransport: Sendable {
  private let client: HTTPClient
  /// Per-request deadline.
  public let timeoutMilliseconds: Int
  /// HTTP/1.1 connections kept per host: requests in flight at most per host.
  public static let connectionsPerHost = 64

  /// `trustedCAFile`: PEM CA certificates trusted beside the system's.
  public init(timeoutMilliseconds: Int = 60_000, connectTimeoutMilliseconds: Int = 10_000, trustedCAFile: String? = nil) {
    self.timeoutMilliseconds = timeoutMilliseconds
    var config = HTTPClient.Configuration(
      redirectConfiguration: .disallow,
      timeout: .init(
        connect: .milliseconds(Int64(connectTimeoutMilliseconds)), read: .milliseconds(Int64(timeoutMilliseconds))))
    if let trustedCAFile {
      var tls = TLSConfiguration.makeClientConfiguration()
      tls.additionalTrustRoots = [.file(trustedCAFile)]
      config.tlsConfiguration = tls
    }
    // Connection failures come back at once; RetryPolicy decides about retries.
    config.connectionPool.retryConnectionEstablishment = false
    // Built-ins that run requests in parallel (set_acl_recursive) get a connection each.
    config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = Self.connectionsPerHost
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
  }

  /// Closes connections; the transport cannot be used afterwards.
  public func shutdown() {
    try? client.syncShutdown()
  }

  public func send(_ r: WireRequest) throws(TransportError) -> WireResponse {
    guard MultiThreadedEventLoopGroup.currentEventLoop == nil else {
      throw TransportError(message: "a blocking request was made on an event loop thread", isTimeout: false)
    }
    if let reason = TransportSafety.refusal(r.url) {
      throw TransportError(message: reason, isTimeout: false, isRefused: true)
    }
    var headers = HTTPHeaders()
    for (k, v) in r.headers { headers.add(name: k, value: v) }
    let request: HTTPClient.Request
    do {
      request = try HTTPClient.Request(
        url: r.url, method: HTTPMethod(rawValue: r.method), headers: headers,
        body: r.body.map { .byteBuffer(ByteBuffer(bytes: $0)) })
    } catch {
      throw TransportError(message: "invalid request URL \(Redaction.url(r.url)): \(error)", isTimeout: false)
    }
    let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutMilliseconds))
    let future = client.execute(request: request, deadline: deadline)
    let semaphore = DispatchSemaphore(value: 0)
    let box = NIOLockedValueBox<Result<HTTPClient.Response, any Error>?>(nil)
    future.whenComplete { result in
      box.withLockedValue { $0 = result }
      semaphore.signal()
    }
    // The client enforces the deadline; this bound only guards against a
    // future that never completes.
    if semaphore.wait(timeout: .now() + .milliseconds(timeoutMilliseconds + 5_000)) == .timedOut {
      throw TransportError(message: "\(r.method) \(Redaction.url(r.url)) timed out", isTimeout: true)
    }
    switch box.withLockedValue({ $0 }) {
    case .success(let response)?:
      var body: [UInt8] = []
      if var b = response.body { body = b.readBytes(length: b.readableBytes) ?? [] }
      return WireResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: body)
    case .failure(let error)?:
      let timeout = (error as? HTTPClientError) == .deadlineExceeded || (error as? HTTPClientError) == .readTimeout
        || (error as? HTTPClientError) == .connectTimeout
      throw TransportError(message: "\(r.method) \(Redaction.url(r.url)): \(error)", isTimeout: timeout)
    case nil:
      throw TransportError(message: "\(r.method) \(Redaction.url(r.url)): no answer", isTimeout: true)
    }
  }
}

/// Percent-encoding for URL path segments and query values.
enum URLText {
  private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

  static func encode(_ s: String, keep: String = "") -> String {
    let extra = Set(keep.utf8)
    var out = ""
    for b in s.utf8 {
      if unreserved.contains(b) || extra.contains(b) { out.unicodeScalars.append(Unicode.Scalar(b)) }
      else { out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) }
    }
    return out
  }
  /// A path (segments kept apart by `/`).
  static func path(_ s: String) -> String { encode(s, keep: "/") }
  /// `name=value&…` with each value encoded.
  static func query(_ items: [(String, String)]) -> String {
    items.map { encode($0.0, keep: "$") + "=" + encode($0.1, keep: "$") }.joined(separator: "&")
  }
  /// An OData string literal: quotes doubled.
  static func odataString(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}
