import RunbookLanguage
import RunbookRuntime
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The session API the REPL uses: entries continue one program.
@Suite("REPL sessions")
struct SessionTests {
  final class Silent: InterpreterHost {
    var text = ""
    func write(_ t: String) { text += t }
    func stepStarted(_ name: String, range: SourceRange?) {}
    func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  func session() -> (Session, Silent) {
    let host = Silent()
    return (Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: [:]), host)
  }

  @Test func entriesSeeEarlierNamesAndShowTheLastValue() {
    let (s, _) = session()
    #expect(s.evaluate("let base = 40").value == nil)
    #expect(s.evaluate("fn add(x, y = 2) { x + y }").succeeded)
    #expect(s.evaluate("add(base)").value == .int(42))
    #expect(s.globalNames.contains("base") && s.globalNames.contains("add"))
  }

  @Test func aNameCanBeRedefinedFromItsOldValue() {
    let (s, _) = session()
    _ = s.evaluate("let x = 1")
    #expect(s.evaluate("let x = x + 1").succeeded)
    #expect(s.evaluate("x").value == .int(2))
    let dup = s.evaluate("let x = 5; let x = 6")
    #expect(dup.diagnostics.contains { $0.message.contains("already defined") })
    #expect(s.evaluate("x").value == .int(2))
  }

  @Test func aFailedEntryLeavesNoHalfDefinedNames() {
    let (s, _) = session()
    let bad = s.evaluate("let fresh = 1\nundefined_thing")
    #expect(!bad.succeeded)
    #expect(s.evaluate("fresh").diagnostics.contains { $0.message.contains("undefined name `fresh`") })
  }

  @Test func runtimeErrorsKeepTheSessionUsable() {
    let (s, host) = session()
    let failed = s.evaluate("let xs = [1]\nxs[3]")
    #expect(failed.error?.code == "index_error")
    #expect(s.evaluate("print(len(xs))").succeeded)
    #expect(host.text == "1\n")
  }

  @Test func envReadsTheProcessEnvironmentAtLookUpOrAFixedSet() throws {
    let path = String(cString: try #require(getenv("PATH")))
    #expect(EnvironmentVariables.process["PATH"] == path)
    #expect(EnvironmentVariables.process["RUNBOOK_TEST_SURELY_UNSET_VARIABLE"] == nil)
    let fixed: EnvironmentVariables = ["GREETING": "hello"]
    #expect(fixed["GREETING"] == "hello" && fixed["PATH"] == nil)

    let host = Silent()
    let own = Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: fixed)
    #expect(own.evaluate(#"print(env("GREETING"), env("PATH", default: "none"))"#).succeeded)
    let processWide = Session(registry: CoreBuiltins.makeRegistry(), host: host)
    #expect(processWide.evaluate(#"print(env("PATH") == "\#(path)")"#).succeeded)
    #expect(host.text == "hello none\ntrue\n")
  }

  @Test func incompleteInputIsDetected() {
    #expect(Session.isIncomplete("step \"x\" {"))
    #expect(Session.isIncomplete("let xs = [1,"))
    #expect(Session.isIncomplete("let s = \"\"\"abc"))
    #expect(Session.isIncomplete("let s = \"\"\"\na ${x}"))
    #expect(Session.isIncomplete("if x {\n  let y = f(1,"))
    // A one-line string ends with its line: more lines cannot close it.
    #expect(!Session.isIncomplete("print(\"abc"))
    #expect(!Session.isIncomplete("let s = \"a${1 +"))
    // An error before the end stands whatever follows.
    #expect(!Session.isIncomplete("print(1 2, ["))
    #expect(!Session.isIncomplete("print(1)"))
    #expect(!Session.isIncomplete("print(1))"))
  }

  @Test func cancelInterruptsALongLoop() async throws {
    let (s, _) = session()
    let interpreter = s.interpreter
    // Cancel repeatedly: a request that arrives before the entry starts is dropped by design.
    Task.detached {
      for _ in 0..<50 {
        try await Task.sleep(nanoseconds: 100_000_000)
        interpreter.cancel()
      }
    }
    let outcome = s.evaluate("var i = 0\nwhile true { i += 1 }")
    #expect(outcome.error?.code == "interrupted")
    #expect(s.evaluate("1 + 1").value == .int(2))
  }
}
