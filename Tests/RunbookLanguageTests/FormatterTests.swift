import Foundation
import Testing

@testable import RunbookLanguage

@Suite("formatter")
struct FormatterTests {
  func format(_ text: String, width: Int = 100, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
    do {
      return try SourceFormatter(width: width).format(SourceFile(path: "t.runbook", text: text))
    } catch {
      Issue.record("format failed: \(error)", sourceLocation: sourceLocation)
      return text
    }
  }

  @Test func layoutIsCanonical() {
    let messy = """
      let   x=1+2*3
      var  ys = [ 1,2 ,
         3 ]
      if x>1 {print( "big" )} else if x == 0 { print("zero") }
      else { print("small") }
      fn   f(a,b=2){ return a+b }
      let m = {"name": "a", "two words": 2, step: 3}
      while (x < 10) { x += 1; break }
      """
    #expect(format(messy) == """
      let x = 1 + 2 * 3
      var ys = [1, 2, 3]
      if x > 1 {
        print("big")
      } else if x == 0 {
        print("zero")
      } else {
        print("small")
      }
      fn f(a, b = 2) {
        return a + b
      }
      let m = {name: "a", "two words": 2, step: 3}
      while x < 10 {
        x += 1
        break
      }

      """)
  }

  @Test func parenthesesAreMinimalButKeepTheMeaning() {
    #expect(format("print((1 + 2) * 3, 1 + (2 * 3), (a or b) and c, -(1 + 2), not (a and b), (a - b) - c, a - (b - c))\n")
      == "print((1 + 2) * 3, 1 + 2 * 3, (a or b) and c, -(1 + 2), not (a and b), a - b - c, a - (b - c))\n")
    // A map literal in an `if` head needs its parentheses, or `{` would open the block.
    #expect(format("if ({a: 1}) == m { print(1) }\n") == "if ({a: 1}) == m {\n  print(1)\n}\n")
    #expect(format("print((f)(1), (xs)[0], (1).x)\n") == "print(f(1), xs[0], 1.x)\n")
  }

  @Test func literalsKeepTheirSpelling() {
    let text = "let a = [1_000, 2.0e3, 90m, \"tab\\there ${a + 1}\"]\nlet b = \"\"\"\n  two\n  lines\n\"\"\"\n"
    #expect(format(text) == text)
  }

  @Test func longCallsListsAndMapsBreakOneElementPerLine() {
    let text = "let account = storage_account(subscription: subscription_id, resource_group: resource_group, name: storage_account_name)\n"
    #expect(format(text) == """
      let account = storage_account(
        subscription: subscription_id,
        resource_group: resource_group,
        name: storage_account_name,
      )

      """)
    #expect(format("let xs = [aaaa, bbbb, {k: cccc, l: dddd}]\n", width: 30) == """
      let xs = [
        aaaa,
        bbbb,
        {k: cccc, l: dddd},
      ]

      """)
    #expect(format("print(map(xs, fn(x) { let y = x * 2\n y + 1 }))\n") == """
      print(map(xs, fn(x) {
        let y = x * 2
        y + 1
      }))

      """)
    #expect(format("print(map(xs, fn(x) {\n  x * 2\n}))\n") == "print(map(xs, fn(x) { x * 2 }))\n")
  }

  @Test func commentsStayWhereTheyWere() {
    let text = """
      # header

      # about x
      let x = 1 # trailing
      if x > 0 { # on the if
        # inside
        print(x)
        # at the end of the block
      }
      let xs = [
        1, # one
        # before two
        2,
        # after the last
      ]
      let y = x + # inside an expression
        2
      # at the end
      """
    // Every comment stays on its line; only the one inside `x + 2`, where the
    // expression cannot break, moves to the end of its statement.
    let expected = text.replacingOccurrences(
      of: "let y = x + # inside an expression\n  2", with: "let y = x + 2 # inside an expression")
    #expect(expected != text)
    #expect(format(text) == expected + "\n")
  }

  @Test func blankLinesAreKeptButNotDoubled() {
    #expect(format("let a = 1\n\n\n\nlet b = 2\nlet c = 3\n\n") == "let a = 1\n\nlet b = 2\nlet c = 3\n")
    #expect(format("if a {\n\n  print(1)\n\n}\n") == "if a {\n  print(1)\n}\n")
  }

  @Test func requireMessagesMoveToTheirOwnLineWhenLong() {
    let text = "require account.hns_enabled, \"${account.name} does not have hierarchical namespace enabled. Please use a HNS account.\"\n"
    #expect(format(text) == "require account.hns_enabled,\n  \"${account.name} does not have hierarchical namespace enabled. Please use a HNS account.\"\n")
  }

  @Test func syntaxErrorsAreRefusedNotFormatted() {
    #expect(throws: SourceFormatter.Failure.self) { try SourceFormatter().format(SourceFile(path: "t.runbook", text: "let = 3\n")) }
  }

  /// Every file the project ships (runbooks/, bench/, the corpus) is formatted,
  /// formatting it again changes nothing, and its tree is what it was.
  @Test func shippedRunbooksAreFormatted() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var checked = 0
    for folder in ["runbooks", "bench", "Tests/ConformanceTests/Corpus"] {
      let enumerator = FileManager.default.enumerator(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
      for case let url as URL in enumerator! where url.pathExtension == "runbook" {
        let text = try String(contentsOf: url, encoding: .utf8)
        let file = SourceFile(path: url.path, text: text)
        // Corpus cases of syntax errors cannot be formatted; they are exempt.
        if Parser.parse(file).diagnostics.contains(where: { $0.severity == .error }) { continue }
        let formatted = try SourceFormatter().format(file)
        #expect(formatted == text, "\(url.path) is not formatted: run `runbook fmt \(folder)`")
        #expect(try SourceFormatter().format(SourceFile(path: url.path, text: formatted)) == formatted, "\(url.path): not idempotent")
        checked += 1
      }
    }
    #expect(checked > 100)
  }
}
