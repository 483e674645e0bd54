import Foundation
import RunbookServices

/// The wall clock as the services see it live. `timeScale` > 1 compresses
/// waits for runs against an emulator started with the same scale (the
/// emulator's tenant clock then runs that much faster): both sides agree
/// on service time while wall time shrinks.
public final class LiveClock: ServiceClock {
  private let start = Date()
  private let startMilliseconds: Int
  public let timeScale: Double

  public init(timeScale: Double = 1) {
    self.timeScale = max(1, timeScale)
    startMilliseconds = Int(Date().timeIntervalSince1970 * 1000)
  }
  public var nowMilliseconds: Int { startMilliseconds + Int(Date().timeIntervalSince(start) * 1000 * timeScale) }
  public func sleep(milliseconds: Int) {
    guard milliseconds > 0 else { return }
    Thread.sleep(forTimeInterval: Double(milliseconds) / 1000 / timeScale)
  }
}

/// Every service protocol implemented over the real REST APIs, sharing one
/// transport, one token cache and one redactor.
public final class LiveServices: Sendable {
  public let transport: HTTPTransport
  public let rest: RESTClient
  public let redactor: Redactor
  public let endpoints: LiveEndpoints
  public let services: ServiceSet

  public struct Options: Sendable {
    public var retry = RetryPolicy()
    public var sleeper: any Sleeper = ThreadSleeper()
    public var timeoutMilliseconds = 60_000
    public var timeScale: Double = 1
    public var trace: (@Sendable (String) -> Void)? = nil
    public init() {}
  }

  /// Reads endpoints and credentials from the environment.
  public convenience init(environment: [String: String], options: Options = Options()) throws(LiveConfigurationError) {
    let endpoints = try LiveEndpoints.from(environment: environment)
    self.init(endpoints: endpoints, credential: TokenProvider.source(environment: environment), options: options)
  }

  public init(endpoints: LiveEndpoints, credential: TokenProvider.Source, options: Options = Options()) {
    self.endpoints = endpoints
    redactor = Redactor()
    transport = HTTPTransport(timeoutMilliseconds: options.timeoutMilliseconds, trustedCAFile: endpoints.trustedCAFile)
    let tokens = TokenProvider(source: credential, authorityHost: endpoints.authorityHost, transport: transport,
                               redactor: redactor, policy: options.retry, sleeper: options.sleeper)
    rest = RESTClient(transport: transport, tokens: tokens, audiences: TokenAudiences(endpoints: endpoints),
                      policy: options.retry, sleeper: options.sleeper,
                      redactor: redactor, trace: options.trace)
    let ci = CustomerInsightsClient(rest: rest, endpoints: endpoints)
    services = ServiceSet(
      directory: GraphClient(rest: rest, endpoints: endpoints), roles: RoleAssignmentClient(rest: rest, endpoints: endpoints),
      dataLake: DataLakeClient(rest: rest, endpoints: endpoints),
      dataverse: DataverseClient(rest: rest, endpoints: endpoints, customerInsights: ci), customerInsights: ci,
      clock: LiveClock(timeScale: options.timeScale))
  }

  public func shutdown() { transport.shutdown() }
}
