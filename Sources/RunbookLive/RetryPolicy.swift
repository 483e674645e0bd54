import Foundation
import RunbookServices

/// When and how long to wait before retrying (azure-rest.md §6):
/// 408/429/500/502/503/504 are retried, `Retry-After` (seconds or HTTP
/// date, or `retry-after-ms` / `x-ms-retry-after-ms`) is honoured, otherwise
/// capped exponential backoff with jitter; the total wait is bounded.
/// Replication-delay errors are retried a few times, briefly.
public struct RetryPolicy: Sendable {
  public var maxAttempts: Int = 6
  public var baseDelayMilliseconds: Int = 800
  public var maxDelayMilliseconds: Int = 30_000
  /// The most time spent waiting between attempts of one request.
  public var totalWaitMilliseconds: Int = 180_000
  /// A single `Retry-After` longer than this is not waited for.
  public var maxRetryAfterMilliseconds: Int = 120_000
  public var replicationAttempts: Int = 6
  public var replicationDelayMilliseconds: Int = 2_000
  /// Jitter source: a value in 0..<1 (seeded in tests).
  public var random: RandomSource

  public init(random: RandomSource = RandomSource(seed: UInt64(UInt32.random(in: 0...UInt32.max)))) {
    self.random = random
  }

  public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

  /// The wait the server asked for, in milliseconds.
  public static func retryAfter(_ response: WireResponse, now: Date = Date()) -> Int? {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
      if let v = response.header(name), let ms = Double(v.trimmingCharacters(in: .whitespaces)), ms >= 0 {
        return Int(ms)
      }
    }
    guard let v = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
    if let s = Double(v), s >= 0 { return Int(s * 1000) }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    if let d = f.date(from: v) { return max(0, Int(d.timeIntervalSince(now) * 1000)) }
    return nil
  }

  /// Exponential backoff for retry `attempt` (1-based): base·2^(n−1),
  /// capped, with ±25 % jitter.
  public func backoff(attempt: Int) -> Int {
    let exp = min(Double(baseDelayMilliseconds) * pow(2, Double(max(0, attempt - 1))), Double(maxDelayMilliseconds))
    let jitter = 0.75 + 0.5 * random.next()
    return Int(exp * jitter)
  }
}

/// A seeded pseudo-random source (splitmix64), shareable across threads.
public final class RandomSource: Sendable {
  private let state: NIOLockedBox<UInt64>
  public init(seed: UInt64) { state = NIOLockedBox(seed) }
  /// A value in 0..<1.
  public func next() -> Double {
    let x = state.withLock { s -> UInt64 in
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    return Double(x >> 11) / Double(1 << 53)
  }
}

/// How the live clients wait: real sleeps, or recorded ones in tests.
public protocol Sleeper: Sendable {
  func sleep(milliseconds: Int)
}

public struct ThreadSleeper: Sleeper {
  public init() {}
  public func sleep(milliseconds: Int) {
    guard milliseconds > 0 else { return }
    Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
  }
}
