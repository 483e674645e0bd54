import Testing

@testable import RunbookLanguage

@Suite struct LexerTests {
  /// Every punctuator's spelling lexes to it, alone and before each other
  /// punctuator (with a space where two would read as one).
  @Test func everyPunctuatorLexesAsSpelled() {
    for p in Punctuator.allCases {
      let (alone, _, problems) = Lexer.tokenize(SourceFile(path: "p", text: p.rawValue))
      #expect(problems.isEmpty)
      #expect(alone.count == 2 && alone[0].isPunctuator(p), "\(p.rawValue)")
      for q in Punctuator.allCases {
        let joined = p.rawValue + q.rawValue
        let text = Punctuator(rawValue: String(joined.prefix(2))) != nil || joined.count > 2 && Punctuator(rawValue: String(joined.suffix(2))) != nil ? p.rawValue + " " + q.rawValue : joined
        let (tokens, _, _) = Lexer.tokenize(SourceFile(path: "pq", text: text))
        #expect(tokens.count == 3 && tokens[0].isPunctuator(p) && tokens[1].isPunctuator(q), "\(text)")
      }
    }
    let (bang, _, problems) = Lexer.tokenize(SourceFile(path: "bang", text: "!"))
    #expect(bang[0].isInvalid && problems.count == 1)
  }

  @Test func integersWithSeparators() {
    #expect(sexpr("1_000_000") == "1000000")
    #expect(sexpr("42") == "42")
    // Read digit by digit up to the largest int; one more is the slow path's error.
    #expect(sexpr("9223372036854775807") == "9223372036854775807")
    #expect(sexpr("007") == "7")
  }

  @Test func floats() {
    #expect(sexpr("1.5") == "1.5")
    #expect(sexpr("2.0e3") == "2000.0")
    #expect(sexpr("1e-3") == "0.001")
  }

  @Test(arguments: [
    ("500ms", 500), ("30s", 30_000), ("10m", 600_000), ("2h", 7_200_000), ("1d", 86_400_000),
    ("1.5s", 1_500), ("1_000ms", 1_000),
  ])
  func durations(text: String, milliseconds: Int) {
    #expect(sexpr(text) == "\(milliseconds)ms")
  }

  @Test func memberAfterIntegerIsNotAFloat() {
    #expect(sexpr("x[1].y") == "(. (index x 1) y)")
  }

  @Test func escapes() {
    let (unit, diagnostics) = Parser.parse(SourceFile(path: "t", text: #""a\n\t\r\\\"\$\0\u{1F600}b""#))
    #expect(diagnostics.isEmpty)
    guard case .expression(let e) = unit.statements.first?.kind, case .stringLiteral(let s) = e.kind else {
      Issue.record("not a string literal")
      return
    }
    #expect(s == "a\n\t\r\\\"$\0\u{1F600}b")
  }

  @Test func dollarWithoutBraceIsText() {
    #expect(sexpr(#""cost: $5""#) == #""cost: $5""#)
  }

  @Test func interpolation() {
    #expect(sexpr(#""a ${x + 1} b""#) == #"(str "a " (+ x 1) " b")"#)
  }

  @Test func interpolationWithNestedStrings() {
    #expect(sexpr(#""a ${f("b ${c} d", {k: "}"})} e""#) == #"(str "a " (call f (str "b " c " d") (map ("k" "}"))) " e")"#)
  }

  @Test func escapedDollarIsNotInterpolation() {
    // A plain string holding `${x}`: the dump re-escapes it so it reads back the same.
    #expect(sexpr(#""\${x}""#) == #""\${x}""#)
    #expect(sexpr(#""cost: $5""#) == #""cost: $5""#)
  }

  @Test func tripleQuotedStrings() {
    let text = "\"\"\"\nline 1\n  \"quoted\" ${name}\nend\"\"\""
    #expect(sexpr(text) == #"(str "line 1\n  \"quoted\" " name "\nend")"#)
  }

  @Test func tripleQuotedInterpolationMaySpanLines() {
    #expect(sexpr("\"\"\"${\n  a +\n  b\n}\"\"\"") == "(str (+ a b))")
  }

  @Test func commentsAndNewlines() {
    let (kinds, diagnostics) = tokenKinds("a # comment\n\n\nb; c")
    #expect(diagnostics.isEmpty)
    #expect(kinds.count == 6)  // a NEWLINE b ; c EOF
  }

  @Test func keywordsAreNotNames() {
    let (kinds, _) = tokenKinds("let lettuce")
    guard case .keyword(.let) = kinds[0], case .name = kinds[1] else {
      Issue.record("got \(kinds)")
      return
    }
  }

  @Test func badNumber() {
    #expect(errors("let x = 12abc") == ["1:9: invalid number `12abc`; a number may only be followed by a duration unit (ms, s, m, h, d)"])
  }

  @Test func integerTooLarge() {
    #expect(errors("99999999999999999999") == ["1:1: integer literal `99999999999999999999` is too large; the largest int is 9223372036854775807"])
  }

  @Test func durationTooLarge() {
    #expect(errors("9999999999999999d") == ["1:1: duration `9999999999999999d` is too large"])
  }

  @Test func badEscape() {
    let d = parse(#"let s = "a\qb""#).diagnostics
    #expect(d.map(\.message) == [#"invalid escape sequence `\q`; use \n \t \r \\ \" \$ \0 or \u{...}"#])
    #expect(d.first?.range?.startLocation.description == "1:11")
    #expect(d.first?.range?.text == #"\q"#)
  }

  @Test func badUnicodeEscape() {
    #expect(errors(#"x = "\u{110000}""#) == [#"1:6: invalid unicode escape; write `\u{` then 1 to 6 hex digits of a valid code point, then `}`"#])
    #expect(errors(#"x = "\u12""#).count == 1)
  }

  @Test func unknownCharacter() {
    #expect(errors("let a = 1 @ 2") == ["1:11: unexpected character `@`"])
    #expect(errors("if !a { }") == ["1:4: unexpected character `!`; use `not` to negate, or `!=` to compare"])
    #expect(errors("a && b") == ["1:3: unexpected `&&`; use `and`"])
    #expect(errors("a || b") == ["1:3: unexpected `||`; use `or`"])
    #expect(errors("a & b") == ["1:3: unexpected character `&`; use `and`"])
    #expect(errors("x = 'a'") == ["1:5: unexpected character `'`; strings use double quotes"])
    #expect(errors("é") == ["1:1: unexpected character `é`"])
  }

  @Test func unterminatedStringAtEndOfInputIsNotIncomplete() {
    // The line break that ends the input ends a one-line string: no further
    // line can close it, so the REPL reports it at once.
    let d = parse(#"let s = "abc"#).diagnostics
    #expect(d.count == 1)
    #expect(d.first?.isIncompleteInput == false)
    #expect(d.first?.message == #"unterminated string; close it with `"` before the end of the line (use `\n` or `"""` for line breaks)"#)
  }

  @Test func unterminatedStringBeforeMoreLinesIsNotIncomplete() {
    let d = parse("let s = \"abc\nlet t = 1").diagnostics
    #expect(d.count == 1)
    #expect(d.first?.isIncompleteInput == false)
    #expect(d.first?.range?.startLocation.description == "1:9")
  }

  @Test func unterminatedTripleStringIsIncomplete() {
    let d = parse("let s = \"\"\"abc\nmore").diagnostics
    #expect(d.map(\.message) == [#"unterminated string; close it with `"""`"#])
    #expect(d.first?.isIncompleteInput == true)
  }

  @Test func unterminatedNestedStringReportedOnce() {
    let d = parse(#"let s = "a ${f("b"#).diagnostics
    #expect(d.count == 1)
    #expect(d.first?.isIncompleteInput == false)
  }

  @Test func backslashAtEndOfLineIsOneError() {
    let d = parse("x = \"abc\\\ny = 1").diagnostics
    #expect(d.map(\.message) == [#"unterminated string; close it with `"` before the end of the line (use `\n` or `"""` for line breaks)"#])
  }

  @Test func emptyInterpolation() {
    #expect(errors(#"x = "a ${} b""#) == ["1:8: expected an expression inside `${}`"])
  }

  @Test func junkInInterpolation() {
    #expect(errors(#"x = "${a b}""#) == ["1:10: expected `}` to end the interpolation, found `b`"])
    #expect(errors(#"x = "${a +}""#) == ["1:11: expected expression after `+`"])
  }

  @Test func tokenRanges() {
    let file = SourceFile(path: "t", text: "let  abc = 30s")
    let (tokens, _, _) = Lexer.tokenize(file)
    #expect(tokens.map { $0.range(in: file).text } == ["let", "abc", "=", "30s", ""])
    #expect(tokens[1].range(in: file).startLocation.description == "1:6")
  }
}
