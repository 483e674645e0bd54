import Testing

@testable import RunbookLanguage

/// Every parser message, with its position.
@Suite struct DiagnosticTests {
  @Test(arguments: [
    ("let = 5", "1:5: expected a name after `let`, found `=`"),
    ("var step = 1", "1:5: expected a name after `var`, found the keyword `step`"),
    ("let x 5", "1:7: expected `=` after `let x`; a binding needs a value"),
    ("let x =", "1:8: expected expression after `=`"),
    ("let x =\n\n", "1:8: expected expression after `=`"),
    ("x = )", "1:5: expected expression after `=`"),
    (")", "1:1: expected a statement, found `)`"),
    ("1 + 2 = 3", "1:1: cannot assign to this expression"),
    ("f() = 3", "1:1: cannot assign to this expression"),
    ("let x = 1 2", "1:11: expected a line break or `;` after the statement, found the number `2`"),
    ("f(1 2)", "1:5: expected `,` or `)` after the argument"),
    ("f(1 +)", "1:6: expected expression after `+`"),
    ("f(1, 2", "1:7: expected `)` to close the call opened at line 1"),
    ("f(1, 2 =)", "1:8: expected `)` to close the call opened at line 1"),
    ("let x = (1 2)", "1:12: expected `)` to close the `(` opened at line 1"),
    ("let x = [1 2]", "1:12: expected `,` or `]` after the list element"),
    ("let x = [1 = 2]", "1:12: expected `]` to close the list opened at line 1"),
    ("let x = a[1 2]", "1:13: expected `]` to close the index opened at line 1"),
    ("let x = {a: 1 b: 2}", "1:15: expected `,` or `}` after the map entry"),
    ("let x = {a: 1 = 2}", "1:15: expected `}` to close the map opened at line 1"),
    ("let x = {1: 2}", "1:10: expected a map key (a name or a string), found the number `1`"),
    ("let x = {a 2}", "1:12: expected `:` after the map key `a`"),
    (#"let x = {"${k}": 2}"#, "1:10: a map key must be a name or a plain string without `${}`"),
    ("x.1", "1:3: expected a member name after `.`, found the number `1`"),
    ("x.(", "1:3: expected a member name after `.`, found `(`"),
    ("f(a: 1, 2)", "1:9: positional arguments must come before labelled arguments"),
    ("fn f(1) { }", "1:6: expected a parameter name, found the number `1`"),
    ("fn f { }", "1:6: expected `(` to start the parameter list, found `{`"),
    ("fn f(a b) { }", "1:8: expected `,` or `)` after the parameter"),
    ("fn f(a = 1 =) { }", "1:12: expected `)` to close the parameter list opened at line 1"),
    ("let g = fn h() { }", "1:12: a function expression has no name; declare `fn h(...)` as a statement or remove the name"),
    ("if x y", "1:6: expected `{` to start the body of the `if`, found `y`"),
    ("if a = b { }", "1:6: expected `{` to start the body of the `if`, found `=`; to compare values, use `==`"),
    ("if x { } else y", "1:15: expected `{` to start the body of the `else`, found `y`"),
    ("if { }", "1:4: expected expression after `if`"),
    ("while x == {a: 1} { }", "1:12: a map literal cannot appear here, where `{` starts the block; wrap it in parentheses: `({...})`"),
    ("for in xs { }", "1:5: expected a loop variable name after `for`, found the keyword `in`"),
    ("for a, in xs { }", "1:8: expected a second loop variable name after `,`, found the keyword `in`"),
    ("for x xs { }", "1:7: expected `in` after the loop variable, as in `for x in items { }`"),
    ("param : int", "1:7: expected a parameter name after `param`, found `:`"),
    ("param x int", "1:9: expected `:` and a type after `param x`, as in `param x: string`"),
    ("param x: number", "1:10: unknown type `number`; use string, int, float, bool, duration, list, map, any or secret"),
    ("param x: 3", "1:10: expected a type name (string, int, float, bool, duration, list, map, any, secret)"),
    (#"param x: int "a ${b}""#, "1:14: the doc string of a `param` must be a plain string without `${}`"),
    ("try { }", "1:8: expected `catch` after the `try` block, as in `try { } catch e { }`"),
    ("try { } finally { }", "1:9: expected `catch` after the `try` block, as in `try { } catch e { }`"),
    ("output = 1", "1:8: expected a name after `output`, found `=`"),
    ("output x 1", "1:10: expected `=` after `output x`; an output needs a value"),
    ("import lib", "1:8: expected a file path string after `import`, as in `import \"lib.runbook\"`"),
    (#"import "${x}.runbook""#, "1:8: the path of an `import` must be a plain string without `${}`"),
    ("step { }", "1:6: expected the step name as a string after `step`, as in `step \"deploy\" { }`"),
    ("else { }", "1:1: `else` without a matching `if`; put it right after the `}` of an `if` block"),
    ("catch { }", "1:1: `catch` without a matching `try`; put it right after the `}` of a `try` block"),
    ("}", "1:1: unexpected `}` with no open block to close"),
    ("x = 1 <", "1:8: expected expression after `<`"),
  ])
  func message(source: String, expected: String) {
    #expect(errors(source) == [expected])
  }

  @Test func missingClosingBraceNamesTheStep() {
    let text = """
      let a = 1
      step "deploy" {
        let b = 2
      x = [1,
        2]
      """
    let d = parse(text).diagnostics
    #expect(d.map { "\($0.range!.startLocation): \($0.message)" } == ["5:5: expected `}` to close the `step` opened at line 2"])
    #expect(d.first?.notes.first?.message == "`{` opened here")
    #expect(d.first?.notes.first?.range?.startLocation.description == "2:15")
    #expect(d.first?.isIncompleteInput == true)
  }

  @Test func missingTokenPointsRightAfterThePreviousToken() {
    let d = parse("f(1,\n  2\nlet y = 3").diagnostics
    #expect(d.map { "\($0.range!.startLocation): \($0.message)" } == ["2:4: expected `)` to close the call opened at line 1"])
  }

  @Test func rendering() {
    let d = parse("let x = (1 2)").diagnostics
    let expected = [
      "test.runbook:1:12: error: expected `)` to close the `(` opened at line 1",
      "    let x = (1 2)",
      "               ^",
      "test.runbook:1:9: note: `(` opened here",
      "    let x = (1 2)",
      "            ^",
      "",
    ]
    #expect(d.first?.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == expected)
  }
}
