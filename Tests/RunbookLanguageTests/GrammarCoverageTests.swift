import Foundation
import Testing

@testable import RunbookLanguage

/// Checks that `grammar/runbook.ebnf` and the parser agree: every production in
/// the grammar is exercised by some test file, and every production the parser
/// records is in the grammar.
@Suite struct GrammarCoverageTests {
  static let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// Production names: lines of the form `name = ...` at the start of a line.
  static func grammarProductions() throws -> Set<String> {
    let text = try String(contentsOf: repoRoot.appendingPathComponent("grammar/runbook.ebnf"), encoding: .utf8)
    var names: Set<String> = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      guard let first = line.first, first.isLetter else { continue }
      let parts = line.split(separator: "=", maxSplits: 1)
      guard parts.count == 2 else { continue }
      let name = parts[0].trimmingCharacters(in: .whitespaces)
      if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.insert(name) }
    }
    return names
  }

  /// Every `*.runbook` under the conformance corpus and this target's fixtures.
  static func runbookFiles() -> [URL] {
    let roots = ["Tests/ConformanceTests/Corpus", "Tests/RunbookLanguageTests/Fixtures"]
    var files: [URL] = []
    for root in roots {
      let dir = repoRoot.appendingPathComponent(root)
      guard let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { continue }
      for case let url as URL in walker where url.pathExtension == "runbook" { files.append(url) }
    }
    return files.sorted { $0.path < $1.path }
  }

  static func parsedProductions() throws -> (productions: Set<String>, fileCount: Int) {
    var used: Set<String> = []
    let files = runbookFiles()
    for url in files {
      let text = try String(contentsOf: url, encoding: .utf8)
      used.formUnion(Parser.parseTracingProductions(SourceFile(path: url.path, text: text)).productions)
    }
    return (used, files.count)
  }

  @Test func grammarHasProductions() throws {
    let names = try Self.grammarProductions()
    #expect(names.contains("sourceUnit"))
    #expect(names.contains("expression"))
    #expect(names.count > 30)
  }

  @Test func everyGrammarProductionIsExercised() throws {
    let grammar = try Self.grammarProductions()
    let (used, fileCount) = try Self.parsedProductions()
    #expect(fileCount > 0, "no .runbook files found")
    let unused = grammar.subtracting(used).sorted()
    #expect(unused.isEmpty, "productions in grammar/runbook.ebnf that no test file exercises: \(unused.joined(separator: ", "))")
  }

  @Test func everyRecordedProductionIsInTheGrammar() throws {
    let grammar = try Self.grammarProductions()
    let (used, _) = try Self.parsedProductions()
    let missing = used.subtracting(grammar).sorted()
    #expect(missing.isEmpty, "productions the parser records that grammar/runbook.ebnf lacks: \(missing.joined(separator: ", "))")
  }

  @Test func fixturesParseCleanly() throws {
    let dir = Self.repoRoot.appendingPathComponent("Tests/RunbookLanguageTests/Fixtures")
    for url in Self.runbookFiles() where url.path.hasPrefix(dir.path) {
      let text = try String(contentsOf: url, encoding: .utf8)
      let diagnostics = Parser.parse(SourceFile(path: url.lastPathComponent, text: text)).diagnostics
      #expect(diagnostics.isEmpty, "\(url.lastPathComponent): \(diagnostics.map(\.description).joined())")
    }
  }
}
