import Foundation
import Testing

/// `fmt`, `check DIR`, `check --format json` and the documented exit codes
/// of the built `runbook` binary.
@Suite("runbook authoring commands")
struct AuthoringCommandTests {
  @Test func everyUsageErrorExitsTwoAsTheREADMESays() throws {
    let file = try BinaryRunner.temporaryFile("ok.runbook", "print(1)\n")
    for arguments in [
      ["run", file.path, "--bogus"],  // unknown flag
      ["run"],  // missing argument
      ["frobnicate"],  // unknown subcommand
      ["check"],  // missing argument
      ["run", file.path, "--format", "yaml"],  // bad option value
      ["run", file.path, "--state", "s.json"],  // failed validation
      ["fmt", "--nope", file.path],
    ] {
      let r = try BinaryRunner.run(arguments)
      #expect(r.status == 2, "\(arguments): \(r.status) \(r.stderr)")
      #expect(r.stderr.contains("Usage:") || r.stderr.contains("Error:"), "\(arguments): \(r.stderr)")
    }
    #expect(try BinaryRunner.run(["--help"]).status == 0)
    #expect(try BinaryRunner.run(["run", "--help"]).status == 0)
    // The README's table names every code the binary uses.
    let readme = try String(contentsOf: BinaryRunner.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    for code in ["| 0 |", "| 1 |", "| 2 | usage error: unknown flags", "| 3 |", "| 4 |", "| 130 |"] {
      #expect(readme.contains(code), "README lacks \(code)")
    }
  }

  @Test func boolParamsAcceptTrueAndFalseInAnyCaseOnly() throws {
    let file = try BinaryRunner.temporaryFile("b.runbook", "param oauth_only: bool = false\nprint(oauth_only)\n")
    for (given, printed) in [("true", "true"), ("FALSE", "false"), ("True", "true")] {
      let r = try BinaryRunner.run(["run", file.path, "--param", "oauth_only=\(given)"])
      #expect(r.status == 0, "\(given): \(r.stderr)")
      #expect(r.stdout == printed + "\n")
    }
    for given in ["yes", "1", "on", "no", "0", ""] {
      let r = try BinaryRunner.run(["run", file.path, "--param", "oauth_only=\(given)"])
      #expect(r.status == 2, "\(given) was accepted")
      #expect(r.stderr.contains("param `oauth_only`: expected true or false, got \"\(given)\""), "\(r.stderr)")
      #expect(r.stdout.isEmpty)
    }
  }

  @Test func checkOfADirectoryChecksEveryRunbookUnderIt() throws {
    let good = try BinaryRunner.temporaryFile("good.runbook", "print(1)\n")
    let dir = good.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("nested"), withIntermediateDirectories: true)
    try "prnt(1)\n".write(to: dir.appendingPathComponent("nested/bad.runbook"), atomically: true, encoding: .utf8)
    try "not a runbook".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
    let r = try BinaryRunner.run(["check", dir.path])
    #expect(r.status == 3)
    #expect(r.stderr.contains("nested/bad.runbook:1:1: error: unknown function `prnt`; did you mean `print`?"))
    #expect(r.stderr.contains("2 files checked: 1 error, 0 warnings"))
    let shipped = try BinaryRunner.run(["check", "runbooks"])
    #expect(shipped.status == 0, "\(shipped.stderr)")
    #expect(shipped.stderr.contains(" files checked: 0 errors"), "\(shipped.stderr)")
  }

  @Test func checkFormatJSONPrintsOneObjectPerDiagnosticAndASummary() throws {
    let file = try BinaryRunner.temporaryFile("bad.runbook", "let x = 1\nprnt(\"a\")\nlet y = 2\nprint(undefined_name)\n")
    let r = try BinaryRunner.run(["check", "--format", "json", file.path])
    #expect(r.status == 3)
    #expect(r.stderr.isEmpty, "\(r.stderr)")
    let objects = try r.stdout.split(separator: "\n").map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
    #expect(objects.count == 5, "\(r.stdout)")
    let unknown = try #require(objects.first { $0["code"] as? String == "unknown_function" })
    #expect(unknown["type"] as? String == "diagnostic")
    #expect(unknown["severity"] as? String == "error")
    #expect((unknown["file"] as? String)?.hasSuffix("bad.runbook") == true)
    #expect(unknown["line"] as? Int == 2 && unknown["column"] as? Int == 1)
    #expect((unknown["end"] as? [String: Int]) == ["line": 2, "column": 5])
    #expect(unknown["message"] as? String == "unknown function `prnt`; did you mean `print`?")
    #expect(objects.contains { $0["code"] as? String == "undefined_name" && $0["line"] as? Int == 4 })
    #expect(objects.filter { $0["code"] as? String == "unused" && $0["severity"] as? String == "warning" }.count == 2)
    let summary = try #require(objects.last)
    #expect(summary["type"] as? String == "summary")
    #expect(summary["files"] as? Int == 1 && summary["errors"] as? Int == 2 && summary["warnings"] as? Int == 2)
  }

  @Test func fmtRewritesListsChecksAndDiffsWithDocumentedExitCodes() throws {
    let file = try BinaryRunner.temporaryFile("messy.runbook", "let   x=1 # one\nif x>0 { print( x ) }\n")
    let formatted = "let x = 1 # one\nif x > 0 {\n  print(x)\n}\n"

    let check = try BinaryRunner.run(["fmt", "--check", file.path])
    #expect(check.status == 4)
    #expect(check.stdout == file.path + "\n")
    #expect(try String(contentsOf: file, encoding: .utf8) != formatted, "--check wrote the file")

    let diff = try BinaryRunner.run(["fmt", "--check", "--diff", file.path])
    #expect(diff.status == 4)
    #expect(diff.stdout.contains("--- a/\(file.path)\n+++ b/\(file.path)\n@@ -1,2 +1,4 @@\n"))
    #expect(diff.stdout.contains("-let   x=1 # one\n") && diff.stdout.contains("+let x = 1 # one\n+if x > 0 {\n"))

    let write = try BinaryRunner.run(["fmt", file.path])
    #expect(write.status == 0)
    #expect(try String(contentsOf: file, encoding: .utf8) == formatted)
    let again = try BinaryRunner.run(["fmt", "--check", file.path])
    #expect(again.status == 0 && again.stdout.isEmpty)

    let stdin = try BinaryRunner.run(["fmt", "-"], stdin: "print( 1 )\n")
    #expect(stdin.status == 0 && stdin.stdout == "print(1)\n")

    let broken = try BinaryRunner.temporaryFile("broken.runbook", "let = 3\n")
    let refused = try BinaryRunner.run(["fmt", broken.path])
    #expect(refused.status == 3)
    #expect(refused.stderr.contains("broken.runbook:1:5: error:"))
    #expect(try String(contentsOf: broken, encoding: .utf8) == "let = 3\n")

    let shipped = try BinaryRunner.run(["fmt", "--check", "runbooks", "bench"])
    #expect(shipped.status == 0, "\(shipped.stdout)")
  }

  /// Typed results: the registry's declared result shapes let `check` catch
  /// a misspelt field of a built-in's record before anything runs.
  @Test func checkKnowsTheFieldsOfBuiltInResults() throws {
    let file = try BinaryRunner.temporaryFile("fields.runbook", """
      let sp = step "Register the app" {
        ensure_service_principal(app_id: "546068c3-99b1-4890-8e93-c8aeadcfe56a", name: "lake")
      }
      let groups = create_groups(prefix: "contoso", owner: sp)
      add_group_member(group: groups.contributor.id, member: sp.idd)
      let env = dataverse_environment(name: "Contoso Sales")
      print(env.attached_ci, env.attached_customer_insights)
      let rows = get_row(environment: env, table: "t", where: {a: 1})
      print(rows.any_column)

      """)
    let r = try BinaryRunner.run(["check", file.path])
    #expect(r.status == 3)
    #expect(r.stderr.contains("fields.runbook:5:59: error: no field `idd` in a `service_principal` record; did you mean `id`? (its fields: kind, id, display_name, app_id)"), "\(r.stderr)")
    #expect(r.stderr.contains("fields.runbook:7:11: error: no field `attached_ci` in a `dataverse_environment` record; did you mean `attached_customer_insights`?"), "\(r.stderr)")
    #expect(r.stderr.contains("1 file checked: 2 errors"), "a row's columns are open: \(r.stderr)")
    let json = try BinaryRunner.run(["check", "--format", "json", file.path])
    #expect(json.stdout.contains(#""code":"unknown_field""#))

    let listing = try BinaryRunner.run(["builtins", "storage_account"])
    #expect(listing.status == 0)
    #expect(listing.stdout.contains("  returns a record with the fields:\n"))
    #expect(listing.stdout.contains("    is_hns_enabled         bool\n"), "\(listing.stdout)")
    let reference = try String(contentsOf: BinaryRunner.repositoryRoot.appendingPathComponent("docs/builtins.md"), encoding: .utf8)
    #expect(reference.contains("Returns `{kind: string, id: string, display_name: string, app_id: string}`."))
    let unknown = try BinaryRunner.run(["builtins", "ensure_grup"])
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("no built-in named `ensure_grup`; did you mean `ensure_group`?"))
  }

  /// Composition: runbooks/connect-with-own-lake.runbook calls byol-setup.runbook
  /// as a unit; its steps nest under the calling step in the plan and its JSON.
  @Test func aCalledRunbooksStepsNestUnderTheCallingStep() throws {
    let params = [
      "ci_name=Contoso CI", "dataverse_name=Contoso Sales", "subscription_id=8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f",
      "resource_group=rg-customerinsights", "storage_account_name=contosolake", "group_prefix=contoso",
    ].flatMap { ["--param", $0] }
    let base = ["run", "--dry-run", "runbooks/connect-with-own-lake.runbook", "--state", "runbooks/state/fresh-tenant.json"]
    let text = try BinaryRunner.run(base + params)
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("\nStep \"Set up the data lake\" ....."))
    #expect(text.stdout.contains("\n  Step \"Ensure the customerinsights container\" ....."), "not nested: \(text.stdout)")
    #expect(text.stdout.contains("\n    changed ensure_container(account: <storage_account \"contosolake\">)"))
    #expect(text.stdout.contains("\nStep \"Connect Customer Insights to Dataverse\" ....."))
    #expect(text.stdout.contains("Plan: 9 to add, 2 to change, 0 to destroy."))
    #expect(text.stdout.contains("permission_identifier = \"https://contosolake.dfs.core.windows.net/customerinsights?cg="))
    let setupLine = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("Step \"Set up the data lake\"") && !$0.hasSuffix(" ...") })
    #expect(setupLine.hasSuffix(" changed"), "the calling step shows what its nested steps changed")

    let json = try BinaryRunner.run(base + params + ["--format", "json"])
    #expect(json.status == 0)
    let finished = json.stdout.split(separator: "\n").filter { $0.contains(#""event":"step_finished""#) }
    #expect(finished.contains { $0.contains(#""step":"Ensure the customerinsights container""#) && $0.contains(#""parent":"Set up the data lake""#) })
    #expect(finished.contains { $0.contains(#""step":"Set up the data lake""#) && $0.contains(#""parent":null"#) })

    let check = try BinaryRunner.run(["check", "runbooks/connect-with-own-lake.runbook"])
    #expect(check.status == 0, "\(check.stderr)")
  }
}

