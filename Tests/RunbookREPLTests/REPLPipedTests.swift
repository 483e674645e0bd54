import Foundation
import Testing

/// The REPL with standard input from a pipe: no prompts, no editing,
/// results printed and flushed, non-zero exit when an entry failed.
@Suite struct REPLPipedTests {
  struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  func run(_ input: String, arguments: [String] = []) throws -> Run {
    let home = try TemporaryDirectory()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try Fixture.executable())
    process.arguments = arguments
    process.environment = Fixture.environment(home: home)
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(20)
    while process.isRunning, Date() < deadline { usleep(10_000) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      Issue.record("repl-fixture did not exit")
    }
    let out = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    // No history is written when not interactive.
    #expect(!FileManager.default.fileExists(atPath: home.path + "/state/runbook/history"))
    return Run(status: process.terminationStatus, stdout: out, stderr: err)
  }

  @Test func printsResultsWithoutPromptsAndExitsZero() throws {
    let result = try run("let a = 20\na + 22\nstep \"s\" {\n  a * 2\n}\n{name: \"vm\", id: 7}\n")
    #expect(result.status == 0)
    #expect(result.stdout == "42\n40\nname: \"vm\"\nid:   7\n")
    #expect(result.stderr == "")
  }

  @Test func failedEntryGivesNonZeroExitButTheRestRuns() throws {
    let result = try run("let a = 1\nnope\na + 1\n")
    #expect(result.status == 70)
    #expect(result.stdout == "2\n")
    #expect(result.stderr.contains("<repl:2>:1:1: error: unknown name `nope`"))
  }

  @Test func stopOnErrorStopsAtTheFirstFailure() throws {
    let result = try run("1 +\n2 * 3\n", arguments: ["--stop-on-error"])
    #expect(result.status == 65)
    #expect(result.stdout == "")
  }

  @Test func unfinishedEntryAtEndOfInputFails() throws {
    let result = try run("step \"s\" {\n  1\n")
    #expect(result.status == 65)
    #expect(result.stderr.contains("expected `}`"))
  }

  @Test func saveThenLoadReproducesTheSession() throws {
    let dir = try TemporaryDirectory()
    let file = dir.path + "/session.runbook"
    let first = try run("let a = 40\n1 +\nlet b = a + 2\n:save \(file)\n")
    #expect(first.status == 65)
    let saved = try String(contentsOfFile: file, encoding: .utf8)
    #expect(saved.contains("let a = 40\nlet b = a + 2\n"))
    #expect(!saved.contains("1 +"))
    let second = try run(":load \(file)\nb\n:plan\n")
    #expect(second.status == 0)
    #expect(second.stdout == "42\n+ a = 40\n+ b = 42\n")
  }

  @Test func metaCommandErrorsCountAsFailures() throws {
    let result = try run(":frobnicate\n:load /nonexistent/file.runbook\n:help sleep\n")
    #expect(result.status == 1)
    #expect(result.stderr.contains("unknown command :frobnicate"))
    #expect(result.stderr.contains("cannot read /nonexistent/file.runbook"))
    #expect(result.stdout.contains("sleep(ms)"))
  }
}
