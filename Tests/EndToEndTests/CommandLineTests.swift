import Foundation
import Testing

@Suite("runbook command line")
struct CommandLineTests {
  @Test func runPrintsOutputAndOutputsAndExitsZero() throws {
    let file = try BinaryRunner.temporaryFile("hello.runbook", """
      param name: string = "world" "Who to greet"
      print("hello ${name}")
      output greeting = upper(name)
      """)
    let r = try BinaryRunner.run(["run", file.path, "--param", "name=Ann"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("hello Ann\n"))
    #expect(r.stdout.contains("Outputs:\n  greeting = \"ANN\""))
  }

  @Test func paramsFileIsReadAndFlagsWin() throws {
    let file = try BinaryRunner.temporaryFile("p.runbook", """
      param count: int
      param names: list
      param label: string
      print(count * 2, len(names), label)
      """)
    let json = file.deletingLastPathComponent().appendingPathComponent("params.json")
    try #"{"count": 21, "names": ["a", "b"], "label": "from-file"}"#.write(to: json, atomically: true, encoding: .utf8)
    let r = try BinaryRunner.run(["run", file.path, "--params", json.path, "--param", "label=from-flag"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "42 2 from-flag\n")
  }

  @Test func missingUnknownAndIllTypedParamsAreUsageErrorsBeforeAnythingRuns() throws {
    let file = try BinaryRunner.temporaryFile("params.runbook", """
      param count: int
      param enabled: bool = false
      print("ran")
      """)
    let missing = try BinaryRunner.run(["run", file.path])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("missing required param `count`"))
    #expect(!missing.stdout.contains("ran"))

    let unknown = try BinaryRunner.run(["run", file.path, "--param", "count=1", "--param", "cuont=2"])
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("unknown param `cuont`; did you mean `count`?"))

    let wrongType = try BinaryRunner.run(["run", file.path, "--param", "count=many"])
    #expect(wrongType.status == 2)
    #expect(wrongType.stderr.contains("param `count`: expected an int, got \"many\""))
    #expect(wrongType.stderr.contains("params.runbook:1:7: error:"))

    let badFlag = try BinaryRunner.run(["run", file.path, "--param", "count"])
    #expect(badFlag.status == 2)
  }

  @Test func runtimeFailureExitsOneWithCaretDiagnosticNamingTheStep() throws {
    let file = try BinaryRunner.temporaryFile("fail.runbook", """
      let groups = step "Create groups" {
        let xs = [1, 2]
        xs[5]
      }
      """)
    let r = try BinaryRunner.run(["run", file.path])
    #expect(r.status == 1)
    #expect(r.stderr.contains("fail.runbook:3:3: error: in step \"Create groups\": index 5 out of range for a list of 2 elements"))
    #expect(r.stderr.contains("    xs[5]\n"))
    #expect(r.stderr.contains("^~~~~"))
  }

  @Test func checkReportsEveryFindingAndExitsThree() throws {
    let file = try BinaryRunner.temporaryFile("bad.runbook", """
      let x = 1
      x = 2
      print(undefined_name)
      prnt("a")
      """)
    let r = try BinaryRunner.run(["check", file.path])
    #expect(r.status == 3)
    #expect(r.stderr.contains("bad.runbook:2:1: error: cannot assign to `x`: it is declared with `let`"))
    #expect(r.stderr.contains("bad.runbook:3:7: error: undefined name `undefined_name`"))
    #expect(r.stderr.contains("bad.runbook:4:1: error: unknown function `prnt`; did you mean `print`?"))
    #expect(r.stderr.contains("1 file checked: 3 errors"))
  }

  /// `check PATH...` without flags and `--version` skip the argument parser
  /// (start-up); what they print and their exit status are the parser's.
  @Test func theParserlessCommandsAnswerAsTheParserDoes() throws {
    let bad = try BinaryRunner.temporaryFile("bad.runbook", "let x = 1\nx = 2\n")
    let good = try BinaryRunner.temporaryFile("good.runbook", "print(1)\n")
    for paths in [[bad.path], [good.path], [good.path, bad.path], [good.deletingLastPathComponent().path]] {
      let direct = try BinaryRunner.run(["check"] + paths)
      let parsed = try BinaryRunner.run(["check", "--format", "text"] + paths)
      #expect(direct.status == parsed.status)
      #expect(direct.stdout == parsed.stdout)
      #expect(direct.stderr == parsed.stderr)
    }
    // `run FILE` is answered without the parser; `run -- FILE` goes through it.
    let fails = try BinaryRunner.temporaryFile("fails.runbook", "print(\"before\")\nlet xs = [1]\nprint(xs[3])\n")
    let needsParam = try BinaryRunner.temporaryFile("param.runbook", "param name: string\nprint(name)\n")
    let callsService = try BinaryRunner.temporaryFile("service.runbook", "let g = add_group_member(group: \"g\", member: \"m\")\n")
    let outputs = try BinaryRunner.temporaryFile("outputs.runbook", "output total = 1 + 2\nprint(\"done\")\n")
    for file in [good.path, bad.path, fails.path, needsParam.path, callsService.path, outputs.path, "/nonexistent/x.runbook"] {
      let direct = try BinaryRunner.run(["run", file])
      let parsed = try BinaryRunner.run(["run", "--", file])
      #expect(direct.status == parsed.status, "\(file)")
      #expect(direct.stdout == parsed.stdout, "\(file)")
      #expect(direct.stderr == parsed.stderr, "\(file)")
    }
    let runHelp = try BinaryRunner.run(["run", "--help"])
    #expect(runHelp.status == 0 && runHelp.stdout.contains("USAGE: runbook run"))
    let version = try BinaryRunner.run(["--version"])
    #expect(version.status == 0 && version.stdout == "0.1.0\n" && version.stderr.isEmpty)
    let missing = try BinaryRunner.run(["check"])
    #expect(missing.status == 2 && missing.stderr.contains("Missing expected argument"))
    let help = try BinaryRunner.run(["check", "--help"])
    #expect(help.status == 0 && help.stdout.contains("USAGE: runbook check"))
  }

  @Test func checkOfACleanFileExitsZero() throws {
    let file = try BinaryRunner.temporaryFile("ok.runbook", "let greeting = \"hi\"\nprint(greeting)\n")
    let r = try BinaryRunner.run(["check", file.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("0 errors, 0 warnings"))
  }

  @Test func syntaxErrorsExitThreeAndNothingRuns() throws {
    let file = try BinaryRunner.temporaryFile("syntax.runbook", "print(\"before\")\nlet = 3\n")
    let r = try BinaryRunner.run(["run", file.path])
    #expect(r.status == 3)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr.contains("syntax.runbook:2:"))
  }

  @Test func missingFileIsReported() throws {
    let r = try BinaryRunner.run(["run", "/nonexistent/x.runbook"])
    #expect(r.status == 3)
    #expect(r.stderr.contains("cannot read `/nonexistent/x.runbook`: no such file"))
  }

  @Test func builtinsListsSignaturesAndDocLines() throws {
    let all = try BinaryRunner.run(["builtins"])
    #expect(all.status == 0)
    for name in ["print", "len", "keys", "values", "contains", "split", "join", "upper", "lower", "trim",
                 "starts_with", "ends_with", "replace", "format", "range", "sort", "map", "filter",
                 "to_string", "to_int", "type_of", "env"] {
      #expect(all.stdout.contains("  \(name)("), "missing \(name)")
    }
    let one = try BinaryRunner.run(["builtins", "split"])
    #expect(one.status == 0)
    #expect(one.stdout.hasPrefix("split(text: string, separator: string? = nil) -> list\n"))
    let unknown = try BinaryRunner.run(["builtins", "nosuch"])
    #expect(unknown.status == 2)
  }

  @Test func helpIsAvailableEverywhere() throws {
    for args in [["--help"], ["run", "--help"], ["check", "--help"], ["builtins", "--help"]] {
      let r = try BinaryRunner.run(args)
      #expect(r.status == 0, "\(args)")
      #expect(r.stdout.contains("USAGE:"), "\(args)")
    }
  }

  @Test func unboundedRecursionEndsWithAClearErrorNotACrash() throws {
    let file = try BinaryRunner.temporaryFile("deep.runbook", "fn down(n) { down(n + 1) }\ndown(0)\n")
    let r = try BinaryRunner.run(["run", file.path])
    #expect(r.status == 1)
    #expect(r.stderr.contains("recursion is too deep"))
  }

  @Test func deepNestingInSourceIsAnErrorNotACrash() throws {
    let file = try BinaryRunner.temporaryFile("nest.runbook", "let x = " + String(repeating: "[", count: 50_000) + "\n")
    let r = try BinaryRunner.run(["check", file.path])
    #expect(r.status == 3)
    #expect(r.stderr.contains("nesting is too deep"))
  }
}

@Suite("REPL :save check")
struct REPLSaveCheckTests {
  @Test func savingASessionWhoseFailedEntryLeftANameWarns() throws {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("saved-\(UUID().uuidString).runbook")
    let script = "let x = [1][5]\nprint(x)\n:save \(out.path)\n"
    let r = try BinaryRunner.run(["repl"], stdin: script, environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path])
    #expect(r.status != 0)
    #expect(r.stderr.contains("warning: the saved runbook does not check cleanly"))
    #expect(r.stderr.contains("undefined name `x`"))
    let saved = try String(contentsOf: out, encoding: .utf8)
    #expect(saved.contains("print(x)") && !saved.contains("[1][5]"))
  }
}
