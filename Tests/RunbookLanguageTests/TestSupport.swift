import Testing

@testable import RunbookLanguage

/// Parses `text` and returns the S-expression of the whole unit plus the diagnostics.
func parse(_ text: String) -> (sexpr: String, diagnostics: [Diagnostic]) {
  let (unit, diagnostics) = Parser.parse(SourceFile(path: "test.runbook", text: text))
  return (unit.sexpr, diagnostics)
}

/// The S-expression of a single expression statement; records an issue on any diagnostic.
func sexpr(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
  let (s, diagnostics) = parse(text)
  #expect(diagnostics.isEmpty, "unexpected diagnostics: \(diagnostics.map(\.message))", sourceLocation: sourceLocation)
  return s
}

/// Diagnostics as `line:col: message` strings.
func errors(_ text: String) -> [String] {
  parse(text).diagnostics.map { d in "\(d.range!.startLocation): \(d.message)" }
}

func tokenKinds(_ text: String) -> (tokens: [TokenKind], diagnostics: [Diagnostic]) {
  let (tokens, _, diagnostics) = Lexer.tokenize(SourceFile(path: "t.runbook", text: text))
  return (tokens.map(\.kind), diagnostics)
}
