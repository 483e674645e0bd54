import Foundation
import PTYTestSupport
import Testing

/// The real `runbook repl` (a dry run against the embedded demo tenant),
/// driven under a pseudo-terminal as a user would: prompts, keys, and the
/// program's own output. Every wait has a deadline (PTYProcess), the child
/// is SIGKILLed when its `PTYProcess` is released, and each test has its own
/// `XDG_STATE_HOME`, so history never leaks between tests or into the
/// user's home. Serialized so that the pty tests don't compete for the
/// (often busy) CPUs.
@Suite("runbook repl end to end", .serialized)
struct REPLEndToEndTests {
  static let prompt = "runbook> "
  static let continuation = "...> "
  static let up = "\u{1B}[A"
  static let left = "\u{1B}[D"
  static let ctrlC = "\u{03}"
  static let ctrlD = "\u{04}"
  static let acct =
    #"let acct = storage_account(subscription: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", resource_group: "rg-customerinsights", name: "contosolake")"#

  // MARK: - Editing

  @Test func tabCompletesBuiltinNamesAndFieldsOfABoundRecord() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    // A core-style built-in: only the completed name is a known function.
    try repl.send(#"storage_acc\#t(subscription: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", resource_group: "rg-customerinsights", name: "contosolake").kind"# + "\r")
    try repl.expect("\r\n\"storage_account\"\r\n")
    try repl.expectPrompt(Self.prompt)
    // A domain built-in.
    try repl.send("ensure_serv\t().kind\r")
    try repl.expect("\r\n\"service_principal\"\r\n")
    try repl.expectPrompt(Self.prompt)
    // Fields of a record bound in the session.
    try repl.send(Self.acct + "\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("acct.is_hns\t\r")
    try repl.expect("\r\ntrue\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send("acct.dfs_end\t\r")
    try repl.expect("\"https://contosolake.dfs.core.windows.net/\"")
    try repl.expectPrompt(Self.prompt)
    #expect(!repl.outputContains("undefined name"), "a completion did not happen")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  /// Found by hand: "café 日本" typed at the prompt became "caf " (libedit in
  /// the "C" locale drops non-ASCII bytes).
  @Test func unicodeInputIsAcceptedEchoedAndEditableOverMultiByteCharacters() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    // Pasted: all bytes at once.
    try repl.send("print(\"café 日本\")\r")
    try repl.expect("\r\ncafé 日本\r\n")
    try repl.expectPrompt(Self.prompt)
    // Typed: one character at a time, echoed as typed.
    for character in #"len("ü€😀")"# { try repl.send(String(character)) }
    try repl.expect("ü€😀")
    try repl.send("\r")
    try repl.expect("\r\n3\r\n")
    try repl.expectPrompt(Self.prompt)
    // The cursor moves over whole characters: two Lefts from the end of
    // `let s = "日本"` land before `本`, where `é` is inserted.
    try repl.send(#"let s = "日本""#)
    try repl.expect("日本")
    try repl.send(Self.left + Self.left + "é\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("s\r")
    try repl.expect("\r\n\"日é本\"\r\n")
    try repl.expectPrompt(Self.prompt)
    #expect(!repl.outputContains("error"), "\(repl.transcript)")
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func multiLineEntriesReportTheLineWithinTheEntryAndHelpExplainsKeywords() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    try repl.send("step \"x\" {\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("1 + 1\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("undefined_name\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("}\r")
    try repl.expect("<entry 1>:3:1: error: undefined name `undefined_name`")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":help for\r")
    try repl.expect("keyword `for`: for X in LIST_OR_RANGE { }")
    try repl.expect("Runs the body once per element.")
    try repl.expectPrompt(Self.prompt)
    try repl.send("nosuch_builtin(1)\r")
    try repl.expect("<entry 2>:1:1: error: unknown function `nosuch_builtin`; type `:builtins` to list the built-ins")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":hlep\r")
    try repl.expect("unknown command :hlep (did you mean :help? try :help)")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func upArrowRecallsHistoryFromAnEarlierRun() throws {
    let home = try ScratchDirectory()
    do {
      let first = try REPLProcess.start(home: home)
      try first.expectPrompt(Self.prompt)
      try first.send("let zebra = 6\r")
      try first.expectPrompt(Self.prompt)
      try first.send("zebra * 7\r")
      try first.expect("\r\n42\r\n")
      try first.expectPrompt(Self.prompt)
      try first.send(Self.ctrlD)
      #expect(try first.waitForExit() == .exited(0))
    }
    let history = try String(contentsOfFile: home.path + "/state/runbook/history", encoding: .utf8)
    #expect(history.contains("zebra"))

    let second = try REPLProcess.start(home: home)
    try second.expectPrompt(Self.prompt)
    try second.send(Self.up + Self.up + "\r")  // let zebra = 6
    try second.expectPrompt(Self.prompt)
    try second.send(Self.up + Self.up + "\r")  // zebra * 7
    try second.expect("\r\n42\r\n")
    try second.expectPrompt(Self.prompt)
    #expect(!second.outputContains("undefined name"))
    try second.send(Self.ctrlD)
    #expect(try second.waitForExit() == .exited(0))
  }

  @Test func aStepBlockContinuesOnTheContinuationPromptAndPrintsItsValue() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    try repl.send("step \"x\" {\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("let half = 21\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("half * 2\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("}\r")
    try repl.expect("\r\n42\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":quit\r")
    #expect(try repl.waitForExit() == .exited(0))
  }

  // MARK: - Keys that end things

  @Test func ctrlCCancelsATypedLineAndInterruptsALongLoop() throws {
    let home = try ScratchDirectory()
    // forkpty: the pty is the controlling terminal, so Ctrl-C is a real SIGINT.
    let repl = try REPLProcess.start(home: home, launch: .forkpty)
    try repl.expectPrompt(Self.prompt)
    try repl.send("undefined_name")
    try repl.expect("undefined_name")
    try repl.waitUntilBlocked()  // see PTYProcess.waitUntilBlocked: a Ctrl-C mid-redraw waits for the next key
    try repl.send(Self.ctrlC)
    try repl.expectPrompt(Self.prompt)
    try repl.send("6 * 7\r")
    try repl.expect("\r\n42\r\n")
    #expect(!repl.outputContains("undefined name"), "the cancelled line ran")
    try repl.expectPrompt(Self.prompt)
    // A running entry: Ctrl-C interrupts it and the session goes on.
    try repl.send("var i = 0; while true { i += 1; if i == 1 { print(\"looping\") } }\r")
    try repl.expect("looping\r\n")
    try repl.send(Self.ctrlC)
    try repl.expect("error: interrupted")
    try repl.expectPrompt(Self.prompt)
    try repl.send("i > 0\r")
    try repl.expect("\r\ntrue\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func ctrlDOnAnEmptyLineExitsZero() throws {
    let home = try ScratchDirectory()
    // `runbook` without arguments on a terminal starts the REPL too.
    let repl = try REPLProcess.start(home: home, arguments: [])
    try repl.expect("dry run against the demo tenant")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  // MARK: - Results, errors and meta commands

  @Test func anErrorPrintsACaretDiagnosticAndTheSessionGoesOn() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    try repl.send("let n = 40\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("undefined_name\r")
    try repl.expect("error: undefined name `undefined_name`")
    try repl.expect("    undefined_name\r\n")
    try repl.expect("    ^~~~~~~~~~~~~~")
    try repl.expectPrompt(Self.prompt)
    try repl.send("n + 2\r")
    try repl.expect("\r\n42\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  @Test func planShowsAChangeAndStateShowsTheDirectory() throws {
    let home = try ScratchDirectory()
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    try repl.send(":plan\r")
    try repl.expect("nothing planned yet")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.acct + "\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("ensure_container(acct)\r")
    try repl.expect("url:     \"https://contosolake.dfs.core.windows.net/customerinsights\"")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":plan\r")
    try repl.expect("changed ensure_container(account: <storage_account \"contosolake\">)")
    try repl.expect("+ container[\"contosolake/customerinsights\"]")
    try repl.expect("Plan: 1 to add, 0 to change, 0 to destroy.")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":state directory\r")
    try repl.expect("\"groups\" : [")
    try repl.expect("\"display_name\" : \"Finance\"")
    try repl.expect("alice@contoso.onmicrosoft.com")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
  }

  /// The issue's "done when": build up a step interactively, save it as a
  /// runbook, and run that runbook with `runbook run --dry-run` to the same result.
  @Test func savedSessionRunsWithDryRunToTheSameResult() throws {
    let home = try ScratchDirectory()
    let saved = home.path + "/container.runbook"
    let repl = try REPLProcess.start(home: home)
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.acct + "\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("undefined_name\r")  // failed entries are not saved
    try repl.expect("error: undefined name")
    try repl.expectPrompt(Self.prompt)
    try repl.send("let c = step \"container\" {\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("ensure_container(acct, name: \"raw\")\r")
    try repl.expectPrompt(Self.continuation)
    try repl.send("}\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("print(c.url)\r")
    try repl.expect("\r\nhttps://contosolake.dfs.core.windows.net/raw\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":plan\r")
    try repl.expect("Step \"container\"")
    try repl.expect("changed ensure_container(account: <storage_account \"contosolake\">, name: \"raw\")")
    let replPlan = try repl.expect("Steps: ")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":save \(saved)\r")
    try repl.expect("Saved 3 entries to \(saved).")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))

    let text = try String(contentsOfFile: saved, encoding: .utf8)
    #expect(!text.contains("undefined_name"))
    let run = try BinaryRunner.run(["run", "--dry-run", saved], environment: ["XDG_STATE_HOME": home.path + "/state"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.split(separator: "\n").contains("https://contosolake.dfs.core.windows.net/raw"), "the print, in its place: \(run.stdout)")
    #expect(run.stdout.contains("Step \"container\""))
    #expect(run.stdout.contains("changed ensure_container(account: <storage_account \"contosolake\">, name: \"raw\")"))
    let runPlan = run.stdout.split(separator: "\n").first { $0.hasPrefix("Plan: ") }.map(String.init)
    let replPlanLine = replPlan.split(separator: "\r\n").first { $0.hasPrefix("Plan: ") }.map(String.init)
    #expect(runPlan == "Plan: 1 to add, 0 to change, 0 to destroy.")
    #expect(replPlanLine == runPlan, "the REPL's plan and the dry run's differ")
  }

  /// Found by hand: `:load` of a runbook with required params, `:params`,
  /// `:state groups`, `:help`, and a `nil` echoed after `print`.
  @Test func loadWithParamsParamsStateAndHelpWorkAsAdvertised() throws {
    let home = try ScratchDirectory()
    let byol = BinaryRunner.repositoryRoot.appendingPathComponent("runbooks/byol-setup.runbook").path
    let script = """
      :load \(byol)
      :params
      :load \(byol) subscription_id=8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f resource_group=rg-customerinsights storage_account_name=contosolake group_prefix=contoso
      :params
      print(container_name)
      :state groups
      :help

      """
    let r = try BinaryRunner.run(["repl"], stdin: script, environment: ["XDG_STATE_HOME": home.path + "/state"])
    #expect(r.status != 0, "the first :load failed")
    #expect(r.stderr.contains("missing required param `subscription_id` (string); pass it as :load FILE subscription_id=VALUE"))
    #expect(r.stderr.contains("subscription_id=VALUE resource_group=VALUE storage_account_name=VALUE runs it with its params"))
    #expect(!r.stderr.contains("--param"))
    #expect(r.stdout.contains("did not run; its params (give them as :load FILE name=value ...):"))
    #expect(r.stdout.contains("  subscription_id: string (required)    # Subscription that holds the storage account"))
    // The retry with params ran the runbook (no "unknown param" from a half-loaded first try).
    #expect(!r.stderr.contains("unknown param"), "\(r.stderr)")
    #expect(r.stdout.contains("subscription_id: string = \"8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f\""))
    #expect(r.stdout.contains("\ncustomerinsights\n"))
    #expect(!r.stdout.contains("\nnil\n"), "print echoed its nil result")
    #expect(r.stdout.contains("contoso-Dataverse-readers"), ":state groups did not find directory.groups")
    #expect(r.stdout.components(separatedBy: "Meta commands:").count == 2, ":help lists the meta commands twice")
  }

  /// A canary secret, from a `secret` param (`:load FILE name=value`) and
  /// from the environment, is shown as (sensitive) and reaches no history
  /// line, even on entries that quote its text without naming a secret.
  @Test func secretsStayOutOfTheDisplayAndTheHistory() throws {
    let home = try ScratchDirectory()
    let paramCanary = "PARAM-CANARY-" + UUID().uuidString.prefix(8)
    let envCanary = "ENV-CANARY-" + UUID().uuidString.prefix(8)
    let file = home.path + "/keyed.runbook"
    try "param api: secret \"an API key\"\nlet shown = \"plain\"\n".write(toFile: file, atomically: true, encoding: .utf8)
    let repl = try REPLProcess.start(home: home, extraEnvironment: ["RUNBOOK_CANARY_ENV": envCanary])
    try repl.expectPrompt(Self.prompt)
    try repl.send(":load \(file) api=\(paramCanary)\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("api\r")
    try repl.expect("\r\n(sensitive)\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send("let from_env = secret(env(\"RUNBOOK_CANARY_ENV\"))\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send("[from_env, \"x=${api}\"]\r")
    try repl.expect("\r\n[(sensitive), (sensitive)]\r\n")
    try repl.expectPrompt(Self.prompt)
    // Quotes the text of a secret the session holds: not recorded.
    try repl.send("from_env == \"\(envCanary)\"\r")
    try repl.expect("\r\ntrue\r\n")
    try repl.expectPrompt(Self.prompt)
    try repl.send(":params\r")
    try repl.expect("api: secret = (sensitive)")
    try repl.expectPrompt(Self.prompt)
    try repl.send("shown\r")
    try repl.expectPrompt(Self.prompt)
    try repl.send(Self.ctrlD)
    #expect(try repl.waitForExit() == .exited(0))
    let history = try String(contentsOfFile: home.path + "/state/runbook/history", encoding: .utf8)
    #expect(history.contains("shown"), "history was written: \(history)")
    #expect(!history.contains(paramCanary) && !history.contains(envCanary), "\(history)")
  }

  // MARK: - Without a terminal

  @Test func pipedInputPrintsResultsWithoutPromptsAndExitsZero() throws {
    let home = try ScratchDirectory()
    let r = try BinaryRunner.run(
      ["repl"], stdin: "let x = 40\nx + 2\nstep \"s\" {\n  x * 2\n}\n:state tenant.domain\n",
      environment: ["XDG_STATE_HOME": home.path + "/state"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "42\n80\ncontoso.onmicrosoft.com\n")
    #expect(!r.stdout.contains("runbook>") && !r.stdout.contains("...>"))
    #expect(r.stderr.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: home.path + "/state/runbook/history"), "piped input went to history")
  }

  @Test func pipedInputWithAFailedEntryRunsTheRestAndExitsNonZero() throws {
    let home = try ScratchDirectory()
    let r = try BinaryRunner.run(
      ["repl"], stdin: "1 + 1\nundefined_name\n3 + 3\n", environment: ["XDG_STATE_HOME": home.path + "/state"])
    #expect(r.status != 0)
    #expect(r.stdout == "2\n6\n")
    #expect(r.stderr.contains("error: undefined name `undefined_name`"))

    let stopped = try BinaryRunner.run(
      ["repl", "--stop-on-error"], stdin: "1 + 1\nfail \"boom\"\n3 + 3\n",
      environment: ["XDG_STATE_HOME": home.path + "/state"])
    #expect(stopped.status != 0)
    #expect(stopped.stdout == "2\n")
    #expect(stopped.stderr.contains("boom"))
  }
}

/// Starting the built `runbook` under a pty with a private home and state directory.
enum REPLProcess {
  static func environment(home: ScratchDirectory) -> [String: String] {
    [
      "HOME": home.path, "XDG_STATE_HOME": home.path + "/state", "TERM": "xterm", "NO_COLOR": "1",
      "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
    ]
  }

  static func start(
    home: ScratchDirectory, arguments: [String] = ["repl"], launch: PTYProcess.Launch = .process,
    extraEnvironment: [String: String] = [:]
  ) throws -> PTYProcess {
    try PTYProcess(
      executable: BinaryRunner.executable.path, arguments: arguments,
      environment: environment(home: home).merging(extraEnvironment) { _, extra in extra },
      launch: launch, columns: 200)
  }
}

/// A directory removed when the value is released.
final class ScratchDirectory {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("repl-e2e-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
