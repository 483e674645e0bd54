import Testing

@testable import RunbookLanguage

@Suite struct ScaleTests {
  /// Every token and syntax node holds a range: their sizes are the memory of a large check.
  /// A token holds no reference (copying one retains nothing).
  @Test func rangesAndTokensStaySmall() {
    #expect(MemoryLayout<SourceRange>.size == 16)
    #expect(MemoryLayout<Token>.stride == 24)
    #expect(_isPOD(Token.self))
    let big = Token(.int(1), start: 1 << 40, end: 1 << 41, isFirstOnLine: false)
    #expect(big.start == Int(UInt32.max) && big.end == Int(UInt32.max))
    let file = SourceFile(path: "big.runbook", text: "")
    let clamped = SourceRange(file: file, start: 1 << 40, end: 1 << 41)
    #expect(clamped.start == Int(UInt32.max) && clamped.end == Int(UInt32.max))
    let ordered = SourceRange(file: file, start: 7, end: 3)
    #expect(ordered.start == 7 && ordered.end == 7)
  }

  /// A chain of binary or postfix operators nests the tree too, so it is
  /// bounded by the same limit (the tree's consumers recurse over it).
  @Test func longOperatorChains() {
    let ok = "let x = " + Array(repeating: "1", count: 150).joined(separator: " + ")
    #expect(parse(ok).diagnostics.isEmpty)
    let sum = "let x = " + Array(repeating: "1", count: 20_000).joined(separator: " + ")
    #expect(parse(sum).diagnostics.map(\.message) == [NestingTests.message])
    let members = "let y = a" + String(repeating: ".b", count: 20_000)
    #expect(parse(members).diagnostics.map(\.message) == [NestingTests.message])
    let mixed = "let z = a" + String(repeating: " or b and c", count: 20_000)
    #expect(parse(mixed).diagnostics.map(\.message) == [NestingTests.message])
  }

  @Test func manyStatements() {
    var text = ""
    for i in 0..<5_000 { text += "let v\(i) = f(\(i), [1, 2], {k: \"s ${i}\"})\n" }
    let (unit, d) = Parser.parse(SourceFile(path: "t", text: text))
    #expect(d.isEmpty)
    #expect(unit.statements.count == 5_000)
  }
}
