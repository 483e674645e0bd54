import Foundation
import RunbookLanguage
import RunbookRuntime
import Testing

/// `runbook check` compiles function bodies for their diagnostics and drops
/// their code at once (`Session.check`): it must report exactly what
/// compiling for a run reports.
@Suite("Checking without keeping code")
struct CheckTests {
  static func rendered(_ diagnostics: [Diagnostic]) -> [String] { diagnostics.map { $0.render() } }

  static func session() -> Session {
    Session(registry: CoreBuiltins.makeRegistry(), host: SilentHost(), environment: [:])
  }

  final class SilentHost: InterpreterHost {
    func write(_ t: String) {}
    func stepStarted(_ name: String, range: SourceRange?) {}
    func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  @Test("check reports what compile reports", arguments: corpusFiles)
  func sameDiagnostics(_ relativePath: String) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Corpus").appendingPathComponent(relativePath).path
    let compiled = Self.rendered(Self.session().compile(path: path).diagnostics)
    let checked = Self.rendered(Self.session().check(path: path))
    #expect(checked == compiled)
  }

  /// Diagnostics found inside function bodies (nested, unused, mistyped)
  /// are still reported when the bodies' code is dropped.
  @Test func findingsInsideFunctionBodies() {
    let text = """
      fn outer(a) {
        let unused = 1
        fn inner(b) { return b + c }
        if "yes" { return inner(a, 2) }
        return a
      }
      print(outer(1))
      """
    let checked = Self.rendered(Self.session().check(path: "bodies.runbook", text: text))
    let compiled = Self.rendered(Self.session().compile(path: "bodies.runbook", text: text).diagnostics)
    #expect(checked == compiled)
    #expect(checked.count >= 3, "\(checked)")
  }

  /// After a check, the same session compiles other files with their code.
  @Test func aSessionCompilesCodeAgainAfterACheck() {
    let session = Self.session()
    #expect(session.check(path: "first.runbook", text: "fn once(x) { return x }\nprint(once(1))\n").isEmpty)
    let (program, diagnostics) = session.compile(path: "second.runbook", text: "fn twice(x) { return 2 * x }\noutput result = twice(21)\n")
    #expect(diagnostics.isEmpty)
    let outcome = session.run(program!)
    #expect(outcome.error == nil)
    #expect(outcome.outputs.map { "\($0.name)=\($0.value.repr)" } == ["result=42"])
  }
}
