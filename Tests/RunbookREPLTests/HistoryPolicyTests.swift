import Testing

@testable import RunbookREPL

@Suite struct HistoryPolicyTests {
  let policy = HistoryPolicy()

  @Test func pathPrefersXDGStateHome() {
    #expect(
      HistoryPolicy.historyPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/runbook/history")
    #expect(
      HistoryPolicy.historyPath(environment: ["XDG_STATE_HOME": "/s/", "HOME": "/h"]) == "/s/runbook/history")
  }

  @Test func pathFallsBackToHome() {
    #expect(HistoryPolicy.historyPath(environment: ["HOME": "/h"]) == "/h/.local/state/runbook/history")
    #expect(
      HistoryPolicy.historyPath(environment: ["XDG_STATE_HOME": "", "HOME": "/h"])
        == "/h/.local/state/runbook/history")
    // The XDG spec says relative paths are invalid and must be ignored.
    #expect(
      HistoryPolicy.historyPath(environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"])
        == "/h/.local/state/runbook/history")
  }

  @Test func noHomeMeansNoHistory() {
    #expect(HistoryPolicy.historyPath(environment: [:]) == nil)
  }

  @Test(arguments: [
    "let client_secret = \"abc\"",
    "let password = 5",
    "DB_PASSWORD",
    "let t = env(\"APP_SECRET\")",
    "let x = env(\"GITHUB_TOKEN\")",
    "token = \"ghp_x\"",
    "let key = \"abc\"",
    "let accessKey=\"abc\"",
    "create_storage(name: \"s\", account_key: \"k\")",
    "let conn = \"DefaultEndpointsProtocol=https;AccountKey=abc\"",
    "let c = {apiKey: 1}",
    "let creds = credentials()",
    "step \"x\" {\n  let pw = env(\"ADMIN_PASSWORD\")\n}",
    " let hidden = 1",
  ])
  func secretsAreNotRecorded(entry: String) {
    #expect(!policy.shouldRecord(entry))
  }

  @Test(arguments: [
    "let vm = create_vm(name: \"web\")",
    "for key, value in tags { print(key) }",
    "if key == \"env\" { print(1) }",
    ":help keys",
    "acct.region",
  ])
  func ordinaryEntriesAreRecorded(entry: String) {
    #expect(policy.shouldRecord(entry))
  }

  @Test func blankEntriesAreNotRecorded() {
    #expect(!policy.shouldRecord(""))
    #expect(!policy.shouldRecord("\n"))
  }

  @Test func sizeIsBounded() {
    #expect(HistoryPolicy().maxEntries == 1000)
    #expect(HistoryPolicy(maxEntries: 0).maxEntries == 1)
  }
}

@Suite struct CompleterTests {
  let completer = Completer(names: ["let", "list_vms", "limit", "acct", "print"]) { expression in
    switch expression {
    case "acct": return ["name", "region", "resource_group"]
    case "acct.tags": return ["env"]
    default: return nil
    }
  }

  @Test func completesNames() {
    #expect(completer.candidates(for: "li", lineBeforeWord: "") == ["limit", "list_vms"])
    #expect(completer.candidates(for: "pr", lineBeforeWord: "let x = ") == ["print"])
  }

  @Test func completesFieldsAfterDot() {
    #expect(completer.candidates(for: "acct.re", lineBeforeWord: "") == ["acct.region", "acct.resource_group"])
    #expect(completer.candidates(for: "acct.", lineBeforeWord: "print(").count == 3)
    #expect(completer.candidates(for: "acct.tags.e", lineBeforeWord: "") == ["acct.tags.env"])
    #expect(completer.candidates(for: "nope.x", lineBeforeWord: "").isEmpty)
  }

  @Test func completesMetaCommandsOnlyAtLineStart() {
    #expect(completer.candidates(for: ":pa", lineBeforeWord: "") == [":params"])
    #expect(completer.candidates(for: ":s", lineBeforeWord: "") == [":save", ":state"])
    #expect(completer.candidates(for: ":pa", lineBeforeWord: "x ").isEmpty)
    #expect(completer.candidates(for: "li", lineBeforeWord: ":help ") == ["limit", "list_vms"])
  }

  @Test func commonPrefix() {
    #expect(Completer.commonPrefix(["region", "resource_group"]) == "re")
    #expect(Completer.commonPrefix(["a"]) == "a")
    #expect(Completer.commonPrefix([]) == "")
  }
}

@Suite struct MetaCommandTests {
  @Test func parses() throws {
    #expect(try MetaCommand.parse(":help").get() == .help(nil))
    #expect(try MetaCommand.parse("  :help print ").get() == .help("print"))
    #expect(try MetaCommand.parse(":load  deploy.runbook").get() == .load("deploy.runbook"))
    #expect(try MetaCommand.parse(":state vm").get() == .state("vm"))
    #expect(
      try MetaCommand.parse(#":load /nonexistent/deploy.runbook region=westeurope "label=two words" x=a=b"#).get()
        == .load("/nonexistent/deploy.runbook", params: ["region": "westeurope", "label": "two words", "x": "a=b"]))
    #expect(throws: MetaCommand.ParseError.badArgument(":load: `oops` is not name=value; use :load FILE name=value ...")) {
      try MetaCommand.parse(":load /nonexistent/deploy.runbook oops").get()
    }
    #expect(try MetaCommand.parse(":q").get() == .quit)
  }

  @Test func rejectsUnknownAndMissingArguments() {
    #expect(throws: MetaCommand.ParseError.unknown("frobnicate")) { try MetaCommand.parse(":frobnicate").get() }
    #expect(throws: MetaCommand.ParseError.missingArgument("save")) { try MetaCommand.parse(":save").get() }
  }

  @Test func everyCommandHasHelp() {
    for name in MetaCommand.allNames { #expect(MetaCommand.help(for: name) != nil) }
  }
}
