import Foundation
import RunbookLanguage
import RunbookLive
import RunbookRuntime
import RunbookServices
import RunbookSimulator

/// A Swift-native mutation fuzzer: seeds from the repository (the corpus,
/// the shipped runbooks, state and params files), mutated by byte edits,
/// dictionary tokens, edge numbers and splices, fed to each input reader.
/// A crash or trap kills the process, so a green run means every input was
/// survived; inputs are deterministic in the seed, so a failure reproduces
/// (`scripts/fuzz.sh` also saves the input being run before each run).
struct FuzzHarness {
  enum Target: String, CaseIterable, Sendable {
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

  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Random numbers from a fixed seed (SplitMix64).
  struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
  }

  // MARK: Seeds

  static func files(under folder: String, ending suffix: String) -> [String] {
    let base = root.appendingPathComponent(folder)
    guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
    return walker.compactMap { $0 as? URL }.filter { $0.path.hasSuffix(suffix) }.map(\.path).sorted()
  }

  static func seeds(for target: Target) -> [[UInt8]] {
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

  static func mutate(_ seed: [UInt8], other: [UInt8], _ g: inout Generator) -> [UInt8] {
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

  final class DiscardingHost: InterpreterHost {
    func write(_ text: String) {}
    func stepStarted(_ name: String, range: SourceRange?) {}
    func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  let target: Target
  let scratch: URL
  /// Where each input is written before it runs (a longer campaign keeps the one that crashed).
  let saveInputsTo: URL?

  init(target: Target, saveInputsTo: URL? = nil) throws {
    self.target = target
    self.saveInputsTo = saveInputsTo
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-fuzz-\(getpid())-\(target.rawValue)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  /// Runs one input through the target; anything but a crash or hang is fine.
  func run(_ input: [UInt8]) throws {
    if let saveInputsTo { try Data(input).write(to: saveInputsTo) }
    switch target {
    case .check:
      let path = scratch.appendingPathComponent("input.runbook")
      try Data(input).write(to: path)
      let session = Session(registry: CoreBuiltins.makeRegistry(), host: DiscardingHost(), environment: [:])
      let (_, diagnostics) = session.compile(path: path.path)
      for d in Diagnostic.bounded(diagnostics) { _ = d.render() }
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
    }
  }

  /// Runs `count` mutated inputs (or until `deadline`); returns how many ran.
  func campaign(seed: UInt64, count: Int, deadline: Date? = nil) throws -> Int {
    let seeds = Self.seeds(for: target)
    precondition(!seeds.isEmpty, "no seeds for \(target)")
    var g = Generator(state: seed)
    for s in seeds { try run(s) }
    var ran = seeds.count
    while ran < count {
      if let deadline, ran % 64 == 0, Date() >= deadline { break }
      let base = seeds[g.below(seeds.count)], other = seeds[g.below(seeds.count)]
      try run(Self.mutate(base, other: other, &g))
      ran += 1
    }
    return ran
  }
}
