import Foundation
import RunbookLanguage
import RunbookRuntime
import Testing

// The conformance corpus: every `Corpus/**/*.runbook` file is a small program
// annotated with what it must print and which diagnostics it must produce.
//
//   print(1 + 2)            # expect: 3
//   let x = y               # error: undefined name `y`
//   var unused = 1          # warning: unused variable
//   # param: name=value     (supplies a `param` value; anywhere in the file)
//   import "lib/b.runbook"  # error@lib/b.runbook:3: import cycle
//
// `# expect:` lines are collected in file order and compared with the printed
// lines. `# error:` / `# warning:` must be matched by a diagnostic of that
// severity on that line (of this file, or of the file named after `@`) whose
// message contains the fragment (case-sensitive). Unannotated errors fail the
// test, and so do unannotated warnings in a file that expects no error; a file
// without `# error:` must run successfully.
// Files under a folder named `lib` are helpers for `import` and are not run.

private let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Corpus")

/// Corpus files, relative to `Corpus/`, sorted.
let corpusFiles: [String] = {
  let root = corpusRoot.standardizedFileURL.path
  guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
  var files: [String] = []
  while let relative = walker.nextObject() as? String {
    guard relative.hasSuffix(".runbook") else { continue }
    if relative.split(separator: "/").dropLast().contains("lib") { continue }
    files.append(relative)
  }
  return files.sorted()
}()

// MARK: - Annotations

struct ExpectedDiagnostic: CustomStringConvertible {
  var severity: Diagnostic.Severity
  /// Path relative to the corpus file's folder; nil for the corpus file itself.
  var otherFile: String?
  var line: Int
  var fragment: String
  var description: String {
    "\(severity) at \(otherFile.map { "\($0):" } ?? "line ")\(line): \(fragment)"
  }
}

struct Annotations {
  var expectedOutput: [String] = []
  var diagnostics: [ExpectedDiagnostic] = []
  var params: [String: String] = [:]

  private static let marker = try! NSRegularExpression(
    pattern: #"#\s*(expect|error|warning|param)(@([^:\s]+):(\d+))?:"#)

  init(source: String) {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, rawLine) in lines.enumerated() {
      let line = String(rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine)
      let ns = line as NSString
      let matches = Self.marker.matches(in: line, range: NSRange(location: 0, length: ns.length))
      for (m, match) in matches.enumerated() {
        // The text runs to the next annotation on the line, or to the end.
        let textStart = match.range.location + match.range.length
        let textEnd = m + 1 < matches.count ? matches[m + 1].range.location : ns.length
        var text = ns.substring(with: NSRange(location: textStart, length: textEnd - textStart))
        if text.hasPrefix(" ") { text.removeFirst() }
        let kind = ns.substring(with: match.range(at: 1))
        let other = match.range(at: 3).location == NSNotFound ? nil : ns.substring(with: match.range(at: 3))
        let otherLine = match.range(at: 4).location == NSNotFound ? nil : Int(ns.substring(with: match.range(at: 4)))
        switch kind {
        case "expect":
          // Exact line; only separators before a following annotation are dropped.
          expectedOutput.append(m + 1 < matches.count ? trimTrailing(text) : text)
        case "param":
          let pair = trimTrailing(text)
          if let eq = pair.firstIndex(of: "=") {
            params[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
          }
        default:
          diagnostics.append(ExpectedDiagnostic(
            severity: kind == "error" ? .error : .warning, otherFile: other,
            line: otherLine ?? index + 1, fragment: trimTrailing(text)))
        }
      }
    }
  }
}

private func trimTrailing(_ s: String) -> String {
  var s = Substring(s)
  while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
  return String(s)
}

// MARK: - Host

/// Collects everything a program prints, and its step events.
final class CapturingHost: InterpreterHost {
  private(set) var text = ""
  private(set) var events: [String] = []

  func write(_ text: String) { self.text += text }
  func stepStarted(_ name: String, range: SourceRange?) { events.append("start \(name)") }
  func stepFinished(_ name: String, error: RuntimeError?) {
    events.append("finish \(name)" + (error.map { ": \($0.message)" } ?? ""))
  }

  /// Printed lines; a final line break does not start another line.
  var lines: [String] {
    if text.isEmpty { return [] }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if text.hasSuffix("\n") { lines.removeLast() }
    return lines
  }
}

// MARK: - The test

@Test("conformance", arguments: corpusFiles)
func conformance(_ relativePath: String) throws {
  let url = corpusRoot.appendingPathComponent(relativePath)
  let source = try String(contentsOf: url, encoding: .utf8)
  let annotations = Annotations(source: source)

  let host = CapturingHost()
  let session = Session(
    registry: CoreBuiltins.makeRegistry(), host: host, environment: ["RUNBOOK_TEST_VAR": "hello"])
  var outcome = session.runFile(path: url.path, params: annotations.params)
  if let error = outcome.error { outcome.diagnostics.append(error.diagnostic) }

  var problems: [String] = []

  // Printed output, line by line, then the outputs of a successful run as `name = value`.
  var actual = host.lines
  if outcome.succeeded { actual += outcome.outputs.map { "\($0.name) = \($0.value.repr)" } }
  let expected = annotations.expectedOutput
  if actual != expected {
    var report = "output differs (expected \(expected.count) lines, got \(actual.count)):\n"
    for i in 0..<max(actual.count, expected.count) {
      let want = i < expected.count ? expected[i] : nil
      let got = i < actual.count ? actual[i] : nil
      let mark = want == got ? " " : "✗"
      report += "  \(mark) \(i + 1): expected \(want.map { "\"\($0)\"" } ?? "(nothing)"), got \(got.map { "\"\($0)\"" } ?? "(nothing)")\n"
    }
    problems.append(String(report.dropLast()))
  }

  // Diagnostics: every annotation matched, nothing unannotated.
  let folder = url.deletingLastPathComponent()
  func inExpectedFile(_ diagnostic: Diagnostic, _ expected: ExpectedDiagnostic) -> Bool {
    guard let file = diagnostic.range?.file.path else { return false }
    let wanted = expected.otherFile.map { folder.appendingPathComponent($0) } ?? url
    return URL(fileURLWithPath: file).standardizedFileURL.path == wanted.standardizedFileURL.path
  }
  var unmatched = outcome.diagnostics.filter { $0.severity != .note }
  for expected in annotations.diagnostics {
    if let i = unmatched.firstIndex(where: {
      $0.severity == expected.severity && $0.range?.startLocation.line == expected.line
        && inExpectedFile($0, expected) && $0.message.contains(expected.fragment)
    }) {
      unmatched.remove(at: i)
    } else {
      problems.append("missing \(expected)")
    }
  }
  let expectsError = annotations.diagnostics.contains { $0.severity == .error }
  for diagnostic in unmatched {
    // Once a file has an expected error, further warnings are follow-on noise.
    if diagnostic.severity == .warning && expectsError { continue }
    let loc = diagnostic.range.map {
      "\(URL(fileURLWithPath: $0.file.path).lastPathComponent):\($0.startLocation.line)"
    } ?? "(no location)"
    problems.append("unexpected \(diagnostic.severity) at \(loc): \(diagnostic.message)")
  }

  if expectsError && outcome.succeeded {
    problems.append("the run succeeded, but errors were expected")
  } else if !expectsError && !outcome.succeeded {
    problems.append("the run failed, but no error was expected")
  }

  if !problems.isEmpty {
    let rendered = outcome.diagnostics.map { $0.render() }.joined()
    Issue.record(Comment(rawValue: """
      \(relativePath):
      \(problems.map { "- " + $0 }.joined(separator: "\n"))
      diagnostics:
      \(rendered.isEmpty ? "(none)\n" : rendered)\
      printed:
      \(host.text.isEmpty ? "(nothing)" : host.text)
      steps: \(host.events.joined(separator: "; "))
      """))
  }
}

@Test("the corpus is present")
func corpusIsPresent() {
  #expect(corpusFiles.count >= 170, "found \(corpusFiles.count) corpus files under \(corpusRoot.path)")
}
