import Testing

@testable import RunbookLanguage

/// Random token soup must never crash, hang or trip a loop-progress assertion,
/// and every diagnostic must point inside the text.
@Suite struct FuzzTests {
  static let pieces = [
    "let", "var", "fn", "return", "if", "else", "for", "in", "while", "break", "continue", "step", "param",
    "require", "fail", "try", "catch", "output", "import", "true", "false", "nil", "and", "or", "not",
    "x", "y", "f", "1", "2.5", "30s", "\"s\"", "\"a ${x} b\"", "\"\"\"t\"\"\"", "(", ")", "[", "]", "{", "}",
    ",", ":", ";", ".", "=", "+=", "==", "<", "+", "-", "*", "/", "%", "\n", "\n", " ", "#c\n", "\"${", "@", "12ab",
  ]

  struct Generator {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(bound))
    }
  }

  @Test func tokenSoup() {
    var generator = Generator(state: 42)
    for _ in 0..<3_000 {
      let count = 1 + generator.next(40)
      var text = ""
      for _ in 0..<count { text += Self.pieces[generator.next(Self.pieces.count)] + " " }
      let file = SourceFile(path: "fuzz", text: text)
      let (unit, diagnostics) = Parser.parse(file)
      _ = unit.sexpr
      for d in diagnostics {
        #expect(d.range.map { $0.start >= 0 && $0.end <= file.bytes.count } ?? false, "\(text.debugDescription): \(d.message)")
      }
    }
  }
}
