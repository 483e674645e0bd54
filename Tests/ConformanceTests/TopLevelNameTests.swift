import RunbookLanguage
@testable import RunbookRuntime
import Testing

/// The main program's names (top-level bindings, functions, params, and the
/// locals of its blocks and steps) share one area of slots: it holds far more
/// than any runbook has, and running out is a located error.
@Suite("Top-level names")
struct TopLevelNameTests {
  @Test func moreThanSixtyFiveThousandTopLevelNamesCompileAndRun() {
    let count = 70_000
    var source = (0..<count).map { "let v\($0) = \($0)" }.joined(separator: "\n")
    source += "\nprint(v0 + v\(count - 1))\n"
    let host = SessionTests.Silent()
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: [:])
    let (program, diagnostics) = session.compile(path: "many.runbook", text: source)
    #expect(!diagnostics.contains { $0.severity == .error })
    guard let program else { Issue.record("did not compile"); return }
    #expect(session.run(program).error == nil)
    #expect(host.text == "\(count - 1)\n")
  }

  @Test func runningOutOfNamesIsALocatedError() {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: SessionTests.Silent(), environment: [:], globalCapacity: 3)
    let (program, diagnostics) = session.compile(path: "few.runbook", text: "let a = 1\nlet b = 2\nlet c = 3\nlet d = 4\nprint(a + b + c + d)\n")
    #expect(program == nil)
    let error = diagnostics.first { $0.severity == .error }
    #expect(error?.message == "too many top-level names (more than 3)")
    #expect(error?.range?.startLocation.line == 4)
  }

  @Test func aStepBeyondTheLastNameIsALocatedError() {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: SessionTests.Silent(), environment: [:], globalCapacity: 1)
    let (_, diagnostics) = session.compile(path: "step.runbook", text: "let a = 1\nstep \"s\" {\n  print(a)\n}\n")
    let error = diagnostics.first { $0.severity == .error }
    #expect(error?.message == "too many names in the main program (more than 1)")
    #expect(error?.range?.startLocation.line == 2)
  }
}
