import Foundation
import Testing

/// A short deterministic fuzz run of every input reader, inside `swift test`
/// (so in CI). `scripts/fuzz.sh SECONDS` sets RUNBOOK_FUZZ_SECONDS for a
/// longer campaign with a fresh seed, saving each target's current input.
@Suite struct FuzzTests {
  static let shortRun: [FuzzHarness.Target: Int] = [
    .check: 4_000, .interpreter: 3_000, .stateFile: 1_500, .params: 20_000, .journal: 20_000,
  ]

  @Test("mutated inputs neither crash nor hang", arguments: FuzzHarness.Target.allCases)
  func mutatedInputs(_ target: FuzzHarness.Target) throws {
    let environment = ProcessInfo.processInfo.environment
    if let seconds = environment["RUNBOOK_FUZZ_SECONDS"].flatMap(Double.init) {
      let out = URL(fileURLWithPath: environment["RUNBOOK_FUZZ_OUT"] ?? FileManager.default.temporaryDirectory.path)
      let seed = environment["RUNBOOK_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
      let harness = try FuzzHarness(target: target, saveInputsTo: out.appendingPathComponent("current-\(target.rawValue)"))
      let perTarget = seconds / Double(FuzzHarness.Target.allCases.count)
      let ran = try harness.campaign(seed: seed, count: Int.max, deadline: Date().addingTimeInterval(perTarget))
      try "\(ran)\n".write(to: out.appendingPathComponent("count-\(target.rawValue)"), atomically: true, encoding: .utf8)
      return
    }
    let count = try #require(Self.shortRun[target])
    let ran = try FuzzHarness(target: target).campaign(seed: 20_261_201, count: count)
    #expect(ran == count)
  }
}
