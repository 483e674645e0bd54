import Foundation
import FuzzSupport

// runbook-fuzz: the fuzz campaign outside `swift test`, built in release
// (scripts/fuzz.sh) so a million inputs take minutes, not hours. Each
// target runs its seeds, then mutated inputs, for a number of inputs or a
// share of the time; OUT/current-TARGET holds the input being run (after a
// crash or hang, the one that caused it) and OUT/count-TARGET the count run.
// A watchdog ends the campaign with exit status 2 when one input runs longer
// than --hang-seconds.

let usage = """
  usage: runbook-fuzz [--seconds S | --inputs N] [--seed N] [--out DIR] [--targets a,b,...] [--hang-seconds S]
    --seconds S       total time, shared equally by the targets
    --inputs N        inputs per target (seeds included)
    --targets         any of: \(FuzzHarness.Target.allCases.map(\.rawValue).joined(separator: ", ")) (default: all)
  """

struct Options {
  var seconds: Double?
  var inputs: Int?
  var seed = UInt64(Date().timeIntervalSince1970)
  var out = URL(fileURLWithPath: FileManager.default.temporaryDirectory.path).appendingPathComponent("runbook-fuzz")
  var targets = FuzzHarness.Target.allCases
  var hangSeconds = 10.0
}

/// One line on standard output, unbuffered, so a log shows progress as it happens.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("runbook-fuzz: \(message)\n\(usage)\n".utf8))
  exit(64)
}

func parseOptions(_ arguments: [String]) -> Options {
  var options = Options()
  var rest = arguments[...]
  while let flag = rest.popFirst() {
    guard let value = rest.popFirst() else { fail("\(flag) needs a value") }
    switch flag {
    case "--seconds":
      guard let s = Double(value), s > 0, s.isFinite else { fail("--seconds wants a positive number, not `\(value)`") }
      options.seconds = s
    case "--inputs":
      guard let n = Int(value), n > 0 else { fail("--inputs wants a positive count, not `\(value)`") }
      options.inputs = n
    case "--seed":
      guard let n = UInt64(value) else { fail("--seed wants a non-negative integer, not `\(value)`") }
      options.seed = n
    case "--out": options.out = URL(fileURLWithPath: value)
    case "--hang-seconds":
      guard let s = Double(value), s > 0, s.isFinite else { fail("--hang-seconds wants a positive number, not `\(value)`") }
      options.hangSeconds = s
    case "--targets":
      options.targets = value.split(separator: ",").map { name in
        FuzzHarness.Target(rawValue: String(name)) ?? { fail("unknown target `\(name)`") }()
      }
    default: fail("unknown option `\(flag)`")
    }
  }
  if options.seconds == nil, options.inputs == nil { fail("give --seconds or --inputs") }
  return options
}

/// When the input being run started, watched by a thread that ends the
/// process if one input takes longer than the hang limit.
final class Watchdog: @unchecked Sendable {
  private let lock = NSLock()
  private var target: String?
  private var startedAt = Date()
  private var lastCount = 0

  func begin(_ target: String) { lock.withLock { self.target = target; startedAt = Date(); lastCount = 0 } }
  func progress(_ count: Int) { lock.withLock { if count != lastCount { lastCount = count; startedAt = Date() } } }
  func end() { lock.withLock { target = nil } }

  func start(limit: Double, out: URL) {
    Thread.detachNewThread { [self] in
      while true {
        Thread.sleep(forTimeInterval: 1)
        let (running, since, count) = lock.withLock { (target, startedAt, lastCount) }
        guard let running, Date().timeIntervalSince(since) > limit else { continue }
        let input = out.appendingPathComponent("current-\(running)").path
        FileHandle.standardError.write(Data("runbook-fuzz: HANG in \(running) after input \(count): \(input)\n".utf8))
        exit(2)
      }
    }
  }
}

/// Runs every chosen target in turn; returns the number of inputs run.
func runCampaign(_ options: Options) -> Int {
  do {
    try FileManager.default.createDirectory(at: options.out, withIntermediateDirectories: true)
  } catch {
    fail("cannot create \(options.out.path): \(error)")
  }
  say("runbook-fuzz: seed \(options.seed), targets \(options.targets.map(\.rawValue).joined(separator: ",")), inputs in \(options.out.path)")
  let watchdog = Watchdog()
  watchdog.start(limit: options.hangSeconds, out: options.out)
  var total = 0
  for target in options.targets {
    let harness: FuzzHarness
    do {
      harness = try FuzzHarness(target: target, saveInputsTo: options.out.appendingPathComponent("current-\(target.rawValue)"))
    } catch {
      fail("cannot record inputs in \(options.out.path): \(error)")
    }
    let started = Date()
    let deadline = options.seconds.map { started.addingTimeInterval($0 / Double(options.targets.count)) }
    var lastReport = started
    watchdog.begin(target.rawValue)
    let ran: Int
    do {
      ran = try harness.campaign(seed: options.seed, count: options.inputs ?? Int.max, deadline: deadline) { count in
        watchdog.progress(count)
        if count % 256 == 0, Date().timeIntervalSince(lastReport) >= 60 {
          lastReport = Date()
          say("  \(target.rawValue): \(count) inputs (\(Int(Double(count) / Date().timeIntervalSince(started)))/s)")
        }
      }
    } catch {
      fail("\(error)")
    }
    watchdog.end()
    let seconds = Date().timeIntervalSince(started)
    total += ran
    try? "\(ran)\n".write(to: options.out.appendingPathComponent("count-\(target.rawValue)"), atomically: true, encoding: .utf8)
    say("\(target.rawValue): \(ran) inputs in \(Int(seconds.rounded()))s (\(Int(Double(ran) / max(seconds, 0.001)))/s), no crash, no hang")
  }
  return total
}

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
let campaignStart = Date()
let total = runCampaign(options)
say("total: \(total) inputs in \(Int(Date().timeIntervalSince(campaignStart).rounded()))s, seed \(options.seed)")
