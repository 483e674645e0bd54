import Foundation
import FuzzSupport
import Testing

/// A short deterministic fuzz run of every input reader, inside `swift test`
/// (so in CI). Longer campaigns run the release-built `runbook-fuzz` driver:
/// `scripts/fuzz.sh SECONDS` (docs/tooling.md records the last big one).
@Suite struct FuzzTests {
  static let shortRun: [FuzzHarness.Target: Int] = [
    .check: 4_000, .interpreter: 3_000, .stateFile: 1_500, .params: 20_000, .journal: 20_000,
  ]

  @Test("mutated inputs neither crash nor hang", arguments: FuzzHarness.Target.allCases)
  func mutatedInputs(_ target: FuzzHarness.Target) throws {
    let count = try #require(Self.shortRun[target])
    let ran = try FuzzHarness(target: target).campaign(seed: 20_261_201, count: count)
    #expect(ran == count)
  }

  @Test("inputs that once crashed or hung a target (Tests/FuzzRegressions) now run cleanly", arguments: FuzzHarness.Target.allCases)
  func regressions(_ target: FuzzHarness.Target) throws {
    let harness = try FuzzHarness(target: target)
    for regression in FuzzHarness.regressions(for: target) {
      let began = Date()
      harness.run(regression.input)
      #expect(Date().timeIntervalSince(began) < 10, "\(regression.path) took \(Date().timeIntervalSince(began))s")
    }
  }

  @Test("every target has seeds from the repository", arguments: FuzzHarness.Target.allCases)
  func seeds(_ target: FuzzHarness.Target) {
    #expect(FuzzHarness.seeds(for: target).count >= 3)
  }
}
