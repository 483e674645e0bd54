import Testing

@testable import RunbookLanguage

@Suite struct RecoveryTests {
  @Test func reportsEveryBadStatement() {
    let text = """
      let = 1
      let ok = 2
      var x 3
      if a { let = } else { b }
      f(1 2)
      x = [1, 2
      y = 3 +
      z = 4
      param p: number
      """
    #expect(errors(text) == [
      "1:5: expected a name after `let`, found `=`",
      "3:7: expected `=` after `var x`; a binding needs a value",
      "4:12: expected a name after `let`, found `=`",
      "5:5: expected `,` or `)` after the argument",
      "6:10: expected `,` or `]` after the list element",
      "9:10: unknown type `number`; use string, int, float, bool, duration, list, map, any or secret",
    ])
  }

  @Test func goodStatementsAroundErrorsStillParse() {
    let (unit, d) = Parser.parse(SourceFile(path: "t", text: "let a = 1\nlet = 2\nlet c = 3"))
    #expect(d.count == 1)
    #expect(unit.statements.count == 3)
    #expect(unit.statements.last?.sexpr == "(let c 3)")
  }

  @Test func oneErrorPerBrokenStatement() {
    #expect(errors("let x = (1 + * 2) ) ] }").count == 1)
    #expect(errors("f(,,,)").count == 1)
    #expect(errors("a = = = =").count == 1)
  }

  @Test func errorsInsideBlocksRecoverInsideTheBlock() {
    let text = """
      fn f() {
        let = 1
        return 2 3
      }
      step "s" {
        ) 
      }
      """
    #expect(errors(text) == [
      "2:7: expected a name after `let`, found `=`",
      "3:12: expected a line break or `;` after the statement, found the number `3`",
      "6:3: expected a statement, found `)`",
    ])
  }

  @Test func strayClosingBraces() {
    #expect(errors("}\n}\nlet x = 1") == [
      "1:1: unexpected `}` with no open block to close",
      "2:1: unexpected `}` with no open block to close",
    ])
  }

  @Test func lexicalErrorsDoNotCascade() {
    #expect(errors("let x = 12abc + 1\nlet y = @\nlet z = \"\\q\"") == [
      "1:9: invalid number `12abc`; a number may only be followed by a duration unit (ms, s, m, h, d)",
      "2:9: unexpected character `@`",
      #"3:10: invalid escape sequence `\q`; use \n \t \r \\ \" \$ \0 or \u{...}"#,
    ])
  }

  @Test(arguments: [
    "let x = ((((", "f(", "[1, [2, {a: (", "if x {", "while", "x = \"\"\"abc", "fn f(a,", "step \"s\" {\n  let x = 1\n",
    "try { } catch e {", "let x =", "1 +", "a.", "if a { } else", "for x in",
  ])
  func incompleteInputIsFlagged(text: String) {
    let d = parse(text).diagnostics
    #expect(!d.isEmpty)
    #expect(d.contains { $0.isIncompleteInput }, "\(d.map(\.message))")
  }

  @Test(arguments: [
    "let x = 1", "x = )", "f(1 2)", "let x = [1 2]", "}", "let x = \"abc\nlet y = 2", "a < b < c", "if x { } }",
    "let x = 12abc", "1 + 2 = 3",
    // A one-line string ends with its line, inside an interpolation too.
    "x = \"abc ${", "let y = \"a ${f(\"b\"", "print(\"abc",
  ])
  func completeInputIsNeverFlagged(text: String) {
    #expect(parse(text).diagnostics.allSatisfy { !$0.isIncompleteInput })
  }
}

@Suite struct NestingTests {
  static let message = "nesting is too deep (more than 200 levels)"

  @Test func twoHundredLevelsAreFine() {
    let text = String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)
    #expect(parse(text).diagnostics.isEmpty)
    let lists = String(repeating: "[", count: 199) + String(repeating: "]", count: 199)
    #expect(parse(lists).diagnostics.isEmpty)
  }

  @Test(arguments: ["(", "[", "-", "not ", "{a:", "f(", "x[", "if x {", "fn() {", "\"${"])
  func deepNestingIsOneError(opener: String) {
    let prefix = opener.hasPrefix("if") ? "" : "let v = "
    let text = prefix + String(repeating: opener, count: 100_000)
    let d = parse(text).diagnostics
    #expect(d.map(\.message) == [Self.message])
    #expect(d.first?.isIncompleteInput == false)
  }

  @Test func deepButClosedNesting() {
    let text = String(repeating: "(", count: 300) + "1" + String(repeating: ")", count: 300) + "\nlet y = 1"
    #expect(parse(text).diagnostics.map(\.message) == [Self.message])
  }

  @Test func deepBlocks() {
    let text = String(repeating: "if x {\n", count: 500) + String(repeating: "}\n", count: 500)
    #expect(parse(text).diagnostics.map(\.message) == [Self.message])
  }
}

@Suite struct MoreRecoveryTests {
  @Test func missingCommaInMultiLineLiteralIsOneError() {
    let text = """
      let m = {
        a: 1
        b: [
          1
          2
        ]
      }
      let = 2
      """
    #expect(errors(text) == ["2:7: expected `,` or `}` after the map entry", "8:5: expected a name after `let`, found `=`"])
  }

  @Test func mapLiteralInLoopHeadIsOneError() {
    let text = """
      for key, value in {a: 1, "b c": 2,} {
        require key != "", "keys are never empty"
      }
      let y = 2
      let = 3
      """
    #expect(errors(text) == ["1:19: a map literal cannot appear here, where `{` starts the block; wrap it in parentheses: `({...})`", "5:5: expected a name after `let`, found `=`"])
  }
}
