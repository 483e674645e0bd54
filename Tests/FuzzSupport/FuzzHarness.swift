import Foundation
import RunbookLanguage
import RunbookLive
import RunbookRuntime
import RunbookServices
import RunbookSimulator

/// A Swift-native mutation fuzzer: seeds from the repository (the corpus,
/// the shipped runbooks, state and params files, and the inputs that once
/// crashed, in Tests/FuzzRegressions), mutated by byte edits, dictionary
/// tokens, edge numbers and splices, fed to each input reader. A crash or
/// trap kills the process, so a green run means every input was survived;
/// inputs are deterministic in the seed, so a failure reproduces (the
/// release-built driver `runbook-fuzz`, run by `scripts/fuzz.sh`, also saves
/// the input being run before each run and stops on a hang).
public struct FuzzHarness {
  public enum Target: String, CaseIterable, Sendable {
    /// Lexer, parser and checker (`runbook check`).
    case check
    /// Parse, check and run with a step budget and a small value limit, core and dry-run domain built-ins.
    case interpreter
    /// The state-file loader (`--state`).
    case stateFile = "state-file"
    /// The params reader (`--params-file`, `--param name=[…]`).
    case params
    /// The journal reader (`--resume`).
    case journal
  }

  public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Random numbers from a fixed seed (SplitMix64).
  public struct Generator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
  }

  // MARK: Seeds

  public static func files(under folder: String, ending suffix: String) -> [String] {
    let base = root.appendingPathComponent(folder)
    guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
    return walker.compactMap { $0 as? URL }.filter { $0.path.hasSuffix(suffix) }.map(\.path).sorted()
  }

  /// Inputs that once crashed or hung a target: `Tests/FuzzRegressions/TARGET/*`.
  public static func regressions(for target: Target) -> [(path: String, input: [UInt8])] {
    files(under: "Tests/FuzzRegressions/\(target.rawValue)", ending: "").compactMap { path in
      FileManager.default.contents(atPath: path).map { (path, Array($0)) }
    }
  }

  public static func seeds(for target: Target) -> [[UInt8]] {
    regressions(for: target).map(\.input) + repositorySeeds(for: target)
  }

  static func repositorySeeds(for target: Target) -> [[UInt8]] {
    func read(_ paths: [String]) -> [[UInt8]] { paths.compactMap { FileManager.default.contents(atPath: $0).map { Array($0) } } }
    switch target {
    case .check, .interpreter:
      return read(files(under: "Tests/ConformanceTests/Corpus", ending: ".runbook") + files(under: "runbooks", ending: ".runbook"))
    case .stateFile:
      return read(files(under: "runbooks/state", ending: ".json")) + [Array(World.demoTenant().stateJSON().utf8)]
    case .params:
      return read(files(under: "runbooks", ending: ".params.json")) + [
        #"{"n": 9223372036854775807, "f": 1.5e300, "s": "a\u00e9\n", "l": [1, [2, {"k": null}]], "b": true}"#,
        #"{"timeout": "10m", "names": ["a", "b"], "nested": {"deep": {"deeper": [[[]]]}}}"#,
      ].map { Array($0.utf8) }
    case .journal:
      return [
        #"{"type":"run","runbook":"byol-setup.runbook","params":{"prefix":"ci","secret":"(redacted)"},"seq":1}"#,
        #"{"type":"begin","seq":2,"op":"create_group","key":"ci-readers"}"# + "\n"
          + #"{"type":"done","seq":2,"op":"create_group","key":"ci-readers","result":{"id":"0000-1","n":9007199254740993}}"#,
        #"{"type":"begin","seq":3,"op":"assign_role","key":"x|y"}"# + "\n" + #"{"type":"failed","seq":3,"code":"Conflict"}"#
          + "\n" + #"{"type":"end","status":"failed"}"#,
      ].map { Array($0.utf8) }
    }
  }

  // MARK: Mutation

  static let dictionary: [String] = [
    "9223372036854775807", "-9223372036854775808", "(-9223372036854775807 - 1)", "4611686018427387904", "0", "-1",
    "1e309", "106751991167d", "9223372036854775807ms", "nan", "{", "}", "[", "]", "(", ")", ",", ":", "\"", "\\", "\n",
    "${", "\"\"\"", "range(", "len(", "format(\"{-1}\", ", "step ", "fn ", "for x in ", "while true ", "try ", "catch e ",
    " + ", " * ", " - ", " / ", " % ", " in ", "-", "null", "true", "\"id_counter\": ", "\"generate\": ", "\"..\"",
    "\"../etc\"", "\\u0000", "\\ud800", "wait_for_role(", "wait_for(", "storage_entitlement(profiles: ", "x = x + x\n",
    "xs = [xs, xs]\n", "import \"", "param n: int = ", "output o = ", "\u{00e9}", "\u{1F600}",
  ]

  public static func mutate(_ seed: [UInt8], other: [UInt8], _ g: inout Generator) -> [UInt8] {
    var b = seed
    for _ in 0..<(1 + g.below(5)) {
      let at = g.below(b.count + 1)
      switch g.below(9) {
      case 0 where !b.isEmpty: b[min(at, b.count - 1)] = UInt8(truncatingIfNeeded: g.next())
      case 1: b.insert(UInt8(32 + g.below(95)), at: at)
      case 2 where !b.isEmpty:
        let n = min(1 + g.below(16), b.count - min(at, b.count - 1))
        b.removeSubrange(min(at, b.count - 1)..<(min(at, b.count - 1) + n))
      case 3 where !b.isEmpty:
        let start = g.below(b.count), n = min(1 + g.below(64), b.count - start)
        b.insert(contentsOf: b[start..<(start + n)], at: at)
      case 4, 5: b.insert(contentsOf: Array(dictionary[g.below(dictionary.count)].utf8), at: at)
      case 6:
        // Replace a run of digits with an edge number.
        if let d = b[min(at, max(0, b.count - 1))...].firstIndex(where: { $0 >= 48 && $0 <= 57 }) {
          let end = b[d...].firstIndex { $0 < 48 || $0 > 57 } ?? b.count
          b.replaceSubrange(d..<end, with: Array(dictionary[g.below(8)].utf8))
        }
      case 7 where !other.isEmpty:
        let start = g.below(other.count), n = min(1 + g.below(256), other.count - start)
        b.insert(contentsOf: other[start..<(start + n)], at: at)
      default: if g.below(4) == 0 { b.removeSubrange(at...) }
      }
    }
    return b.count > 65_536 ? Array(b.prefix(65_536)) : b
  }

  // MARK: Targets

  public final class DiscardingHost: InterpreterHost {
    public init() {}
    public func write(_ text: String) {}
    public func stepStarted(_ name: String, range: SourceRange?) {}
    public func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  /// Keeps the input being run in one file, rewritten in place (no open or
  /// close per input): after a crash or hang it holds the input that caused it.
  public final class InputRecorder {
    let descriptor: Int32
    public init(path: URL) throws {
      descriptor = open(path.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path.path]) }
    }
    deinit { close(descriptor) }
    func record(_ input: [UInt8]) {
      let written = input.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
      _ = ftruncate(descriptor, off_t(max(written, 0)))
    }
  }

  public let target: Target
  let scratch: URL
  /// Where each input is written before it runs (a longer campaign keeps the one that crashed).
  let recorder: InputRecorder?
  let checkSession: Session = {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: DiscardingHost(), environment: [:])
    session.checkStreamingThreshold = 0
    return session
  }()

  public init(target: Target, saveInputsTo: URL? = nil) throws {
    self.target = target
    recorder = try saveInputsTo.map(InputRecorder.init)
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-fuzz-\(getpid())-\(target.rawValue)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  /// Runs one input through the target; anything but a crash or hang is fine.
  public func run(_ input: [UInt8]) {
    recorder?.record(input)
    switch target {
    case .check:
      // The text is handed over in memory; imports it names resolve next to the scratch file.
      // One session, reset before each input: checking runs nothing, and a
      // fresh session's 65,536 global slots cost more than checking a file.
      let path = scratch.appendingPathComponent("input.runbook")
      checkSession.reset()
      let text = String(decoding: input, as: UTF8.self)
      let (_, diagnostics) = checkSession.compile(path: path.path, text: text)
      for d in Diagnostic.bounded(diagnostics) { _ = d.render() }
      // `check` streams (every file, here) and must report exactly what compiling reports.
      checkSession.reset()
      let checked = checkSession.check(path: path.path, text: text)
      precondition(checked.map { $0.render() } == diagnostics.map { $0.render() }, "check and compile disagree")
    case .interpreter:
      let world = World.demoTenant()
      let registry = CoreBuiltins.makeRegistry()
      registerDomainBuiltins(into: registry, services: world.services, recorder: PlanRecorder())
      let session = Session(registry: registry, host: DiscardingHost(), environment: [ResourceLimits.environmentVariable: "1048576"])
      session.interpreter.stepBudget = 20_000
      let outcome = session.evaluate(String(decoding: input, as: UTF8.self), path: "fuzz.runbook")
      _ = outcome.error?.diagnostic.render()
      if let v = outcome.value { _ = try? v.displayString(limits: session.interpreter.limits, nil) }
    case .stateFile:
      if let world = try? World.load(data: Data(input), file: "fuzz.json") {
        _ = world.stateJSON()
      }
    case .params:
      let text = String(decoding: input, as: UTF8.self)
      if let v = try? JSONReader.parse(text) { _ = v.repr }
      for type in ValueType.allCases { _ = ParamParsing.parse(text, as: type) }
    case .journal:
      let entries = input.split(separator: UInt8(ascii: "\n")).compactMap { WireJSON.parse($0) }
      let history = JournalHistory(entries: entries)
      _ = history.createdIDs
      _ = try? history.resumeParams(given: ["given": "x"])
    }
  }

  public struct NoSeeds: Error, CustomStringConvertible {
    public let target: Target
    public var description: String { "no seed inputs for the \(target.rawValue) target under \(FuzzHarness.root.path)" }
  }

  /// Runs the seeds, then mutated inputs until `count` in all (or until
  /// `deadline`); `progress` hears the running total before each mutated
  /// input. Returns how many ran.
  public func campaign(seed: UInt64, count: Int, deadline: Date? = nil, progress: ((Int) -> Void)? = nil) throws -> Int {
    let seeds = Self.seeds(for: target)
    guard !seeds.isEmpty else { throw NoSeeds(target: target) }
    var g = Generator(state: seed)
    for s in seeds { run(s) }
    var ran = seeds.count
    while ran < count {
      progress?(ran)
      if let deadline, ran % 256 == 0, Date() >= deadline { break }
      let base = seeds[g.below(seeds.count)], other = seeds[g.below(seeds.count)]
      run(Self.mutate(base, other: other, &g))
      ran += 1
    }
    return ran
  }
}
