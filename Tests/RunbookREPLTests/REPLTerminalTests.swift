import Foundation
import PTYTestSupport
import Testing

/// The REPL driven through `repl-fixture` under a pseudo-terminal, as a user
/// would: prompts, keys, and the program's own output. Serialized so that
/// the pty tests don't compete for the (often busy) CPUs.
@Suite(.serialized) struct REPLTerminalTests {
  static let up = "\u{1B}[A"
  static let ctrlC = "\u{03}"
  static let ctrlD = "\u{04}"

  @Test func tabCompletesDefinedNamesAndFields() throws {
    let home = try TemporaryDirectory()
    let repl = try Fixture.start(home: home)
    try repl.expectPrompt("runbook> ")
    try repl.send("let accountName = 41\r")
    try repl.expectPrompt("runbook> ")
    try repl.send("acc\t+ 1\r")
    try repl.expect("\r\n42\r\n")
    try repl.expectPrompt("runbook> ")
    try repl.send("let acct = {region: \"westeurope\", name: \"ops\"}\r")
    try repl.expectPrompt("runbook> ")
    try repl.send("acct.reg\t\r")
    try repl.expect("\"westeurope\"")
    try repl.expectPrompt("runbook> ")
    // Two matches: the first Tab completes nothing, the second lists both.
    try repl.send(":s\t\t")
    try repl.expect(":state")
    try repl.send("\r")
    try repl.expect("unknown command :s")
    try repl.expectPrompt("runbook> ")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func upArrowRecallsHistoryFromAnEarlierRun() throws {
    let home = try TemporaryDirectory()
    do {
      let first = try Fixture.start(home: home)
      try first.expectPrompt("runbook> ")
      try first.send("let zebra = 6\r")
      try first.expectPrompt("runbook> ")
      try first.send("let password = 1234\r")
      try first.expectPrompt("runbook> ")
      try first.send("zebra * 7\r")
      try first.expect("42")
      try first.expectPrompt("runbook> ")
      try first.send(Self.ctrlD)
      #expect(try first.waitForExit() == .exited(0))
    }
    let history = try String(contentsOfFile: home.path + "/state/runbook/history", encoding: .utf8)
    #expect(history.contains("zebra"))
    #expect(!history.contains("password"), "a secret line was written to history")

    let second = try Fixture.start(home: home)
    try second.expectPrompt("runbook> ")
    try second.send(Self.up + Self.up + "\r")  // let zebra = 6
    try second.expectPrompt("runbook> ")
    try second.send(Self.up + Self.up + "\r")  // zebra * 7
    try second.expect("42")
    try second.expectPrompt("runbook> ")
    try second.send(Self.ctrlD)
    #expect(try second.waitForExit() == .exited(0))
  }

  @Test func unfinishedBlockContinuesOnContinuationPrompt() throws {
    let home = try TemporaryDirectory()
    let repl = try Fixture.start(home: home)
    try repl.expectPrompt("runbook> ")
    try repl.send("step \"deploy\" {\r")
    try repl.expectPrompt("...> ")
    try repl.send("let half = 21\r")
    try repl.expectPrompt("...> ")
    try repl.send("half * 2\r")
    try repl.expectPrompt("...> ")
    try repl.send("}\r")
    try repl.expect("42")
    try repl.expectPrompt("runbook> ")
    try repl.send(":quit\r")
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func errorIsReportedWithCaretAndSessionGoesOn() throws {
    let home = try TemporaryDirectory()
    let repl = try Fixture.start(home: home)
    try repl.expectPrompt("runbook> ")
    try repl.send("let n = 10\r")
    try repl.expectPrompt("runbook> ")
    try repl.send("n / 0\r")
    try repl.expect("<repl:2>:1:3: error: division by zero")
    try repl.expect("n / 0")
    try repl.expect("  ^")
    try repl.expectPrompt("runbook> ")
    try repl.send("n * 4 + 2\r")
    try repl.expect("42")
    try repl.expectPrompt("runbook> ")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test(arguments: ["dumb", nil])
  func editingWorksWithDumbOrMissingTerm(term: String?) throws {
    let home = try TemporaryDirectory()
    var environment = Fixture.environment(home: home)
    environment["TERM"] = term
    let repl = try PTYProcess(executable: Fixture.executable(), environment: environment)
    try repl.expectPrompt("runbook> ")
    try repl.send("let longName = 40\r")
    try repl.expectPrompt("runbook> ")
    try repl.send("longN\t+ 2\r")
    try repl.expect("42")
    try repl.expectPrompt("runbook> ")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func ctrlDOnEmptyLineExitsWithZero() throws {
    let home = try TemporaryDirectory()
    let repl = try Fixture.start(home: home)
    try repl.expectPrompt("runbook> ")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func ctrlCCancelsTheLineAndInterruptsEvaluation() throws {
    let home = try TemporaryDirectory()
    let repl = try Fixture.start(home: home, launch: .forkpty)
    try repl.expectPrompt("runbook> ")
    // Cancel a half-typed line: it must not run.
    try repl.send("undefined_thing")
    try repl.expect("undefined_thing")
    try repl.send(Self.ctrlC)
    try repl.expectPrompt("runbook> ")
    try repl.send("6 * 7\r")
    try repl.expect("42")
    #expect(!repl.outputContains("unknown name"))
    // Cancel an unfinished multi-line entry.
    try repl.expectPrompt("runbook> ")
    try repl.send("step \"x\" {\r")
    try repl.expectPrompt("...> ")
    try repl.send(Self.ctrlC)
    try repl.expectPrompt("runbook> ")
    // Interrupt a long-running entry through the session's cancel hook.
    try repl.send("sleep(60000)\r")
    try repl.expect("sleeping")
    try repl.send(Self.ctrlC)
    try repl.expect("error: interrupted")
    try repl.expectPrompt("runbook> ")
    try repl.send("40 + 2\r")
    try repl.expect("42")
    try repl.expectPrompt("runbook> ")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }
}

/// Starting `repl-fixture` with a private home and state directory.
enum Fixture {
  static func executable() throws -> String {
    guard let path = PTYProcess.productExecutable(named: "repl-fixture") else {
      throw PTYError(message: "repl-fixture not found near \(Bundle.main.bundleURL.path)", transcript: "")
    }
    return path
  }

  static func environment(home: TemporaryDirectory) -> [String: String] {
    [
      "HOME": home.path, "XDG_STATE_HOME": home.path + "/state", "TERM": "xterm", "NO_COLOR": "1",
      "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
    ]
  }

  static func start(home: TemporaryDirectory, launch: PTYProcess.Launch = .process) throws -> PTYProcess {
    try PTYProcess(executable: executable(), environment: environment(home: home), launch: launch)
  }
}

/// A directory removed when the value is released.
final class TemporaryDirectory {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("repl-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
