import Foundation
import Testing

@testable import RunbookLanguage

/// editors/vscode/syntaxes/runbook.tmLanguage.json against the lexer: every
/// keyword is highlighted as one, and the keyword, constant and number rules
/// classify the tokens of every shipped runbook as the lexer does.
@Suite("TextMate grammar")
struct TextMateGrammarTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static func repository() throws -> [String: [String: Any]] {
    let url = root.appendingPathComponent("editors/vscode/syntaxes/runbook.tmLanguage.json")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    return try #require(json["repository"] as? [String: [String: Any]])
  }

  static func rule(_ name: String) throws -> NSRegularExpression {
    let pattern = try #require(try repository()[name]?["match"] as? String, "no match rule \(name)")
    return try NSRegularExpression(pattern: pattern)
  }

  static func matchesWhole(_ regex: NSRegularExpression, _ text: String) -> Bool {
    let range = NSRange(text.startIndex..., in: text)
    return regex.firstMatch(in: text, options: [.anchored], range: range)?.range == range
  }

  @Test func everyPatternCompiles() throws {
    for (name, rule) in try Self.repository() {
      for key in ["match", "begin", "end"] {
        guard let pattern = rule[key] as? String else { continue }
        #expect(throws: Never.self, "\(name).\(key)") { _ = try NSRegularExpression(pattern: pattern) }
      }
    }
  }

  @Test func everyKeywordIsHighlighted() throws {
    let rules = try ["keyword", "word-operator", "constant"].map(Self.rule)
    for keyword in Keyword.allCases {
      #expect(rules.contains { Self.matchesWhole($0, keyword.rawValue) }, "`\(keyword.rawValue)` is not highlighted")
    }
  }

  @Test func shippedRunbooksAreClassifiedAsTheLexerDoes() throws {
    let words = try ["keyword", "word-operator", "constant"].map(Self.rule)
    let number = try Self.rule("number"), duration = try Self.rule("duration")
    var tokens = 0
    for folder in ["runbooks", "Tests/ConformanceTests/Corpus"] {
      let enumerator = FileManager.default.enumerator(at: Self.root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
      for case let url as URL in enumerator! where url.pathExtension == "runbook" {
        let file = SourceFile(path: url.path, text: try String(contentsOf: url, encoding: .utf8))
        let (found, _, diagnostics) = Lexer.tokenize(file)
        if !diagnostics.isEmpty { continue }
        for token in found {
          let text = token.range(in: file).text
          switch token.kind {
          case .keyword: #expect(words.contains { Self.matchesWhole($0, text) }, "\(url.lastPathComponent): keyword \(text)")
          case .name: #expect(!words.contains { Self.matchesWhole($0, text) }, "\(url.lastPathComponent): name \(text)")
          case .int, .float: #expect(Self.matchesWhole(number, text), "\(url.lastPathComponent): number \(text)")
          case .duration: #expect(Self.matchesWhole(duration, text), "\(url.lastPathComponent): duration \(text)")
          default: continue
          }
          tokens += 1
        }
      }
    }
    #expect(tokens > 1_000)
  }
}
