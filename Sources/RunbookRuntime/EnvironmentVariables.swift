#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The environment variables a session reads (`env()`, the value limit):
/// the process's own, each looked up when it is asked for, or a fixed set
/// (tests; a called runbook gets its caller's). Looking up is cheaper than
/// `ProcessInfo.environment`, which copies every variable into a
/// `[String: String]` (a sixth of running a one-line runbook).
public struct EnvironmentVariables: Sendable, ExpressibleByDictionaryLiteral {
  private let fixed: [String: String]?

  /// The process's environment, read at each look-up (nothing here sets it).
  public static var process: EnvironmentVariables { EnvironmentVariables(fixed: nil) }

  private init(fixed: [String: String]?) { self.fixed = fixed }
  public init(_ values: [String: String]) { fixed = values }
  public init(dictionaryLiteral elements: (String, String)...) {
    fixed = Dictionary(elements, uniquingKeysWith: { _, last in last })
  }

  public subscript(name: String) -> String? {
    if let fixed { return fixed[name] }
    return getenv(name).map { String(cString: $0) }
  }
}
