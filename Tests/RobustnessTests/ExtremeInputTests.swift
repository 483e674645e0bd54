import Foundation
import RunbookLanguage
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

/// Resource limits, bounded diagnostics and extreme values in every input:
/// each ends in an error a user can act on, never in a crash or a hang.
@Suite struct ExtremeInputTests {
  final class CapturingHost: InterpreterHost {
    var text = ""
    func write(_ text: String) { self.text += text }
    func stepStarted(_ name: String, range: SourceRange?) {}
    func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  /// Runs a program with the dry-run domain built-ins over `world`.
  func run(_ source: String, world: World = .demoTenant(), environment: EnvironmentVariables = [:]) -> (output: String, error: RuntimeError?) {
    let registry = CoreBuiltins.makeRegistry()
    registerDomainBuiltins(into: registry, services: world.services, recorder: PlanRecorder())
    let host = CapturingHost()
    let session = Session(registry: registry, host: host, environment: environment)
    let outcome = session.evaluate(source, path: "test.runbook")
    #expect(outcome.diagnostics.filter { $0.severity == .error }.isEmpty, "\(outcome.diagnostics)")
    return (host.text, outcome.error)
  }

  // MARK: Values

  @Test("a string doubled 40 times fails with a `limit` error at the line that passes the cap")
  func stringDoubling() throws {
    let (output, error) = run("""
      var s = "ab"
      for i in range(40) {
        s = s + s
      }
      """, environment: [ResourceLimits.environmentVariable: "1048576"])
    let e = try #require(error)
    #expect(e.code == "limit")
    #expect(e.range?.startLocation.line == 3)
    #expect(e.message == "a string of 2097152 bytes is over the limit of 1048576 bytes per value (set RUNBOOK_MAX_VALUE_BYTES to change it)")
    #expect(output.isEmpty)
  }

  @Test("lists, interpolation, join, replace and self-nesting lists are capped, and the cap is catchable")
  func otherGrowth() throws {
    let small: EnvironmentVariables = [ResourceLimits.environmentVariable: "65536"]
    let (output, error) = run("""
      fn code(f) {
        try { f() } catch e { return e.code }
        return "ok"
      }
      var xs = [1]
      print(code(fn() { while true { xs += xs } }))
      var ys = [0]
      print(code(fn() { while true { ys += [1, 2, 3, 4] } }))
      var s = "x"
      print(code(fn() { while true { s = "${s}${s}" } }))
      print(code(fn() { join(range(100000), ",") }))
      print(code(fn() { replace(format("{}", "a" + "a"), "a", join(range(40000), "")) }))
      var nest = [1]
      for i in range(40) { nest = [nest, nest] }
      print(code(fn() { to_string(nest) }))
      print(code(fn() { "${nest}" }))
      print(len(xs) <= 65536, type_of(nest))
      """, environment: small)
    #expect(error == nil)
    #expect(output == "limit\nlimit\nlimit\nlimit\nlimit\nlimit\nlimit\ntrue list\n")
  }

  @Test("the value cap defaults to 1 GiB and refuses a malformed setting with a message")
  func limitSetting() throws {
    #expect(ResourceLimits.standard.maxValueBytes == 1 << 30)
    #expect(ResourceLimits.standard.maxListElements == 44_739_242, "docs/language.md says 24 bytes a value")
    #expect(try ResourceLimits(environment: [ResourceLimits.environmentVariable: "4096"]).maxValueBytes == 4096)
    #expect(throws: RuntimeError.self) { try ResourceLimits(environment: [ResourceLimits.environmentVariable: "lots"]) }
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [ResourceLimits.environmentVariable: "0"])
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("limit-\(getpid()).runbook")
    try "print(1)\n".write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let (program, diagnostics) = session.compile(path: file.path)
    #expect(program == nil)
    #expect(diagnostics.first?.message == "RUNBOOK_MAX_VALUE_BYTES must be a positive number of bytes, not \"0\"")
  }

  @Test("a step budget ends any program, even one that catches the budget error")
  func stepBudget() throws {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:])
    session.interpreter.stepBudget = 10_000
    let outcome = session.evaluate("fn f(n) { return f(n + 1) }\nwhile true { try { f(0) } catch e { } }")
    #expect(outcome.error?.code == "step_budget")
  }

  // MARK: Domain built-ins and the simulated clock

  @Test("domain built-ins given extreme numbers report overflow")
  func domainNumbers() throws {
    let (output, error) = run("""
      let e = storage_entitlement(profiles: 9223372036854775807)
      print(e.blocks, e.database_gb)
      try { storage_entitlement(accounts: 9223372036854775807) } catch e { print(e.code) }
      try { storage_entitlement(profiles: 9223372036854775807, accounts: 1) } catch e { print(e.code) }
      try { wait_for(106751991167d) } catch e { print(e.code, e.line) }
      wait_for(1000d)
      print(starts_with(service_time(), "2028-"))
      """)
    #expect(error == nil)
    #expect(output == "92233720368548 1383505805528220\noverflow\noverflow\noverflow 5\ntrue\n")
  }

  /// The polls `wait_for_role` makes when nothing becomes visible for `quiet` ms, with `timeout`.
  static func pollSchedule(timeout: Int, visibleAt: Int) -> (polls: Int, waited: Int) {
    var now = 0, delay = 5_000, polls = 0
    while true {
      polls += 1
      if now >= visibleAt || now >= timeout { return (polls, now) }
      now += min(delay, timeout - now)
      delay = min(delay * 2, 60_000)
    }
  }

  @Test("a dry-run wait_for_role with a huge timeout ends on the simulated clock, with the polls it would make")
  func hugeWait() throws {
    let world = World.demoTenant()
    let start = world.nowMilliseconds
    let began = Date()
    let (output, error) = run("""
      let me = current_user()
      let scope = "\(storageScope)"
      try { wait_for_role(me, "Storage Blob Data Reader", scope, timeout: 36500d) } catch e { print(e.code, e.message) }
      try { wait_for_role(me, "Storage Blob Data Reader", scope, timeout: 106751991167d) } catch e { print(e.code) }
      """, world: world)
    #expect(Date().timeIntervalSince(began) < 10)
    #expect(error == nil)
    let timeout = 36_500 * 86_400_000
    let expected = Self.pollSchedule(timeout: timeout, visibleAt: Int.max)
    #expect(world.nowMilliseconds - start == timeout)
    #expect(output.hasPrefix("timeout "))
    #expect(output.contains("(\(expected.polls) polls)"), "\(output)")
    #expect(output.hasSuffix("overflow\n"))
  }

  @Test("skipping quiet polls still sees an assignment exactly when the unskipped schedule would")
  func waitSeesPropagation() throws {
    var state = World.demoState()
    state.tenant.rolePropagationSeconds = 86_400
    let world = try World(state: state)
    let (output, error) = run("""
      let me = current_user()
      let scope = "\(storageScope)"
      assign_role(me, "Storage Blob Data Reader", scope)
      let r = wait_for_role(me, "Storage Blob Data Reader", scope, timeout: 30d)
      print(to_int(r.waited), r.polls)
      """, world: world)
    #expect(error == nil, "\(String(describing: error))")
    let expected = Self.pollSchedule(timeout: 30 * 86_400_000, visibleAt: 86_400_000)
    #expect(output == "\(expected.waited) \(expected.polls)\n")
  }

  let storageScope =
    "/subscriptions/8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-customerinsights/providers/Microsoft.Storage/storageAccounts/contosolake"

  // MARK: State files

  func loadError(_ edit: (String) -> String) -> StateFileError? {
    let text = edit(World.demoTenant().stateJSON())
    do {
      _ = try World.load(data: Data(text.utf8), file: "s.json")
      return nil
    } catch {
      return error
    }
  }

  @Test("extreme values in a state file are refused with their JSON path")
  func stateExtremes() throws {
    let counter = try #require(loadError { $0.replacingOccurrences(of: "\"id_counter\": 0", with: "\"id_counter\": 9223372036854775807") })
    #expect(counter.jsonPath == "$.tenant.id_counter")
    #expect(counter.message == "must be at most 9007199254740992 (2^53)")
    let propagation = try #require(loadError {
      $0.replacingOccurrences(of: #""role_propagation_seconds": \d+"#, with: "\"role_propagation_seconds\": 9223372036854775807", options: .regularExpression)
    })
    #expect(propagation.jsonPath == "$.tenant.role_propagation_seconds")
    let tooBig = try #require(loadError { $0.replacingOccurrences(of: "\"id_counter\": 0", with: "\"id_counter\": 9223372036854775808") })
    #expect(tooBig.line == counter.line)
    #expect(tooBig.message == "the number 9223372036854775808 does not fit in a 64-bit integer (-9223372036854775808...9223372036854775807)")
    let wrongType = try #require(loadError { $0.replacingOccurrences(of: "\"users\": [", with: "\"users\": 5, \"x\": [") })
    #expect(!wrongType.message.contains("Expected to decode"))
    let deep = try #require(loadError { _ in String(repeating: "[", count: 100_000) })
    #expect(deep.message == "nested more than 64 levels deep")
  }

  @Test("generated item counts at Int.max and `..` paths in a filesystem are refused")
  func stateGenerateAndPaths() throws {
    var state = World.demoState()
    let fs = FilesystemState(name: "gen", owner: "$superuser", group: "$superuser", acl: "user::rwx,group::r-x,other::---",
                             paths: [], generate: [PathGeneratorState(prefix: "data/part-", folders: Int.max, filesPerFolder: Int.max)])
    state.azure.storageAccounts[0].filesystems.append(fs)
    #expect(throws: StateValidationError.self) { try World(state: state) }
    for (folders, files) in [(Int.max, 0), (2, Int.max), (1 << 62, 4)] {
      state.azure.storageAccounts[0].filesystems[state.azure.storageAccounts[0].filesystems.count - 1].generate = [
        PathGeneratorState(prefix: "data/part-", folders: folders, filesPerFolder: files),
      ]
      do {
        _ = try World(state: state)
        Issue.record("accepted \(folders) folders of \(files) files")
      } catch {
        #expect(error.message.hasPrefix("at most 20,000,000 generated items"))
      }
    }
    state.azure.storageAccounts[0].filesystems[state.azure.storageAccounts[0].filesystems.count - 1].generate = [
      PathGeneratorState(prefix: "../etc/part-", folders: 1, filesPerFolder: 1),
    ]
    #expect(throws: StateValidationError.self) { try World(state: state) }
    state.azure.storageAccounts[0].filesystems[state.azure.storageAccounts[0].filesystems.count - 1].generate = nil
    state.azure.storageAccounts[0].filesystems[state.azure.storageAccounts[0].filesystems.count - 1].paths = [
      PathState(path: "a/../../etc", type: "directory", owner: "$superuser", group: "$superuser", acl: "user::rwx,group::r-x,other::---", aclFailure: nil),
    ]
    do {
      _ = try World(state: state)
      Issue.record("accepted a `..` path")
    } catch {
      #expect(error.message.contains("`..`"))
    }
  }

  // MARK: Params

  @Test("params JSON: syntax errors with line and column, duplicate keys, 64-bit ints, deep nesting")
  func paramsJSON() throws {
    #expect(throws: JSONReader.Failure(line: 2, column: 7, message: "invalid value tru (strings need double quotes)")) {
      try JSONReader.parse("{\"a\": 1,\n \"b\": tru}")
    }
    #expect(throws: JSONReader.Failure(line: 1, column: 10, message: "duplicate key \"a\"")) { try JSONReader.parse("{\"a\": 1, \"a\": 2}") }
    #expect(try JSONReader.parse("{\"n\": 9223372036854775807}") == .record(["n": .int(Int.max)]))
    #expect(throws: JSONReader.Failure.self) { try JSONReader.parse("{\"n\": 9223372036854775808}") }
    #expect(throws: JSONReader.Failure(line: 1, column: 257, message: "nested more than 256 levels deep")) {
      try JSONReader.parse(String(repeating: "[", count: 100_000))
    }
    #expect(try JSONReader.parse(#"{"z": 1, "a": [1.5, "\u00e9\ud83d\ude00", null, false]}"#).repr == #"{z: 1, a: [1.5, "é😀", nil, false]}"#)
    guard case .failure = ParamParsing.parse("999999999999999999999d", as: .duration) else {
      Issue.record("a duration past 64 bits was accepted")
      return
    }
  }

  // MARK: Deep and long source

  @Test("100,000 levels of nesting, of each kind, are one `syntax` error at the level past the cap", arguments: [
    ("(", ")", "1"), ("[", "]", ""), ("-", "", "1"), ("not ", "", "true"), ("\"${", "}\"", "1"),
  ])
  func deepNesting(open: String, close: String, middle: String) throws {
    let n = 100_000
    let text = "let x = " + String(repeating: open, count: n) + middle + String(repeating: close, count: n) + "\n"
    let (_, diagnostics) = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:])
      .compile(path: "deep.runbook", text: text)
    let first = try #require(diagnostics.first)
    #expect(first.message == "nesting is too deep (more than \(Parser.maxNesting) levels)")
    #expect(first.code == "syntax")
    #expect(first.range?.startLocation.line == 1)
    let column = try #require(first.range?.startLocation.column)
    #expect((9 + Parser.maxNesting * open.count)...(9 + (Parser.maxNesting + 2) * open.count) ~= column)
    #expect(diagnostics.count <= 2, "\(diagnostics.map(\.message))")
  }

  @Test("a chain of 100,000 `else if` branches compiles, runs and is freed without overflowing the stack")
  func longElseIfChain() throws {
    // Found by fuzzing: each branch used to be a closure wrapping the next.
    let n = 100_000
    var text = "var x = \(n - 2)\nvar hit = -1\nif x == -1 {\n"
    for i in 0..<n { text += "} else if x == \(i) {\nhit = \(i)\n" }
    text += "} else {\nhit = -2\n}\nprint(hit)\n"
    let host = CapturingHost()
    var session: Session? = Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: [:])
    var (program, diagnostics) = session!.compile(path: "chain.runbook", text: text)
    #expect(diagnostics.isEmpty, "\(diagnostics.prefix(3).map(\.message))")
    let outcome = session!.run(try #require(program))
    #expect(outcome.error == nil)
    #expect(host.text == "\(n - 2)\n")
    // The compiled code is freed here, on this thread's ordinary stack.
    (program, diagnostics, session) = (nil, [], nil)
  }

  @Test("a journal line nested 100,000 levels deep is skipped like a torn line")
  func deepJournalLine() {
    #expect(WireJSON.parse(Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)) == nil)
    #expect(WireJSON.parse(Array(#"{"type":"end"}"#.utf8)) == ["type": "end"])
  }

  // MARK: Diagnostics

  @Test("100,000 duplicate keys: one diagnostic, found in linear time")
  func duplicateKeys() throws {
    let text = "let m = {" + String(repeating: "a: 1, ", count: 100_000) + "}\nprint(m)\n"
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("dups-\(getpid()).runbook")
    try text.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let began = Date()
    let (_, diagnostics) = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:]).compile(path: file.path)
    #expect(Date().timeIntervalSince(began) < 20)
    #expect(diagnostics.map(\.message) == ["key `a` appears 100000 times in this map (first at column 10)"])
    let rendered = diagnostics[0].render()
    #expect(rendered.utf8.count < 600, "\(rendered.utf8.count) bytes")
  }

  @Test("a 50 KB line of distinct duplicate keys prints a bounded report")
  func manyFaultsOnOneLine() throws {
    var text = "let _m = {"
    var k = 0
    while text.utf8.count < 50_000 { text += "k\(k): 1, k\(k): 2, "; k += 1 }
    text += "}\n"
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("line-\(getpid()).runbook")
    try text.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let (_, diagnostics) = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:]).compile(path: file.path)
    #expect(diagnostics.count == k)
    let shown = Diagnostic.bounded(diagnostics)
    let output = shown.map { $0.render() }.joined()
    #expect(output.utf8.count < 200_000, "\(output.utf8.count) bytes")
    #expect(output.hasSuffix("note: and \(Diagnostic.grouped(k - 200)) more diagnostics not shown (fix the ones above first)\n"))
    // The same message many times folds into a count.
    let same = Array(repeating: Diagnostic(.error, "undefined name `x`", at: nil), count: 10_000)
    let folded = Diagnostic.bounded(same)
    #expect(folded.count == 3)
    #expect(folded[2].notes.map(\.message) == ["and 9,997 more like this"])
  }
}
