import Foundation
import RunbookLanguage
import RunbookRuntime
import Testing

/// `runbook check` compiles function bodies for their diagnostics and drops
/// their code at once (`Session.check`): it must report exactly what
/// compiling for a run reports.
@Suite("Checking without keeping code")
struct CheckTests {
  static func rendered(_ diagnostics: [Diagnostic]) -> [String] { diagnostics.map { $0.render() } }

  static func session(streaming: Bool = false) -> Session {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: SilentHost(), environment: [:])
    if streaming { session.checkStreamingThreshold = 0 }
    return session
  }

  final class SilentHost: InterpreterHost {
    func write(_ t: String) {}
    func stepStarted(_ name: String, range: SourceRange?) {}
    func stepFinished(_ name: String, error: RuntimeError?) {}
  }

  @Test("check reports what compile reports", arguments: corpusFiles)
  func sameDiagnostics(_ relativePath: String) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Corpus").appendingPathComponent(relativePath).path
    let compiled = Self.rendered(Self.session().compile(path: path).diagnostics)
    let checked = Self.rendered(Self.session().check(path: path))
    #expect(checked == compiled)
    let streamed = Self.rendered(Self.session(streaming: true).check(path: path))
    #expect(streamed == compiled)
  }

  /// Diagnostics found inside function bodies (nested, unused, mistyped)
  /// are still reported when the bodies' code is dropped.
  @Test func findingsInsideFunctionBodies() {
    let text = """
      fn outer(a) {
        let unused = 1
        fn inner(b) { return b + c }
        if "yes" { return inner(a, 2) }
        return a
      }
      print(outer(1))
      """
    let checked = Self.rendered(Self.session().check(path: "bodies.runbook", text: text))
    let compiled = Self.rendered(Self.session().compile(path: "bodies.runbook", text: text).diagnostics)
    #expect(checked == compiled)
    #expect(checked.count >= 3, "\(checked)")
  }

  /// A check parses the top level first, then compiles each top-level
  /// statement as it is parsed: names declared further down, errors in
  /// the second pass only, and undoing a file's work on a syntax error in
  /// a body must all report what `compile` reports.
  static let streamingCases: [String] = [
    // A body calling functions and reading names declared further down, with wrong arguments.
    "fn first(a) { return second(a, 2) + later + third(b: 1) }\nlet later = 1\nfn second(x) { return x }\nfn third(a) { return a }\nprint(first(1))\n",
    // A top-level use before the declaration; a duplicate and a built-in's name declared later.
    "print(value)\nlet value = 1\nfn twice() { return 1 }\nfn twice() { return 2 }\nfn print() { return 3 }\n",
    // Compile errors above a syntax error in a later body: only the syntax is reported.
    "fn ok() { return missing }\nlet unused = 2\nfn broken(x) {\n  return x +\n}\n",
    // A body that is never closed.
    "fn open(x) {\n  if x { return 1 }\n",
    // A syntax error at the top level.
    "fn fine() { return 1 }\nlet = 3\nprint(fine())\n",
    // Braces inside strings and interpolations of a skipped body.
    "fn braces(m) {\n  let s = \"} ${ {a: m}[\"a\"] } {\"\n  let unused = 0\n  return s\n}\nprint(braces(1))\n",
    // Code after a top-level `fail`, and a name used only in a body.
    "let limit = 3\nfn over(x) { return x > limit }\nfail \"stop\"\nprint(over(4))\n",
    // Nested functions, closures over top-level names and an unused local function.
    "var count = 0\nfn counter() {\n  fn bump() { count += 1 }\n  fn spare() { }\n  return bump\n}\nlet f = fn(x) { return x + count }\nprint(counter(), f(1))\n",
  ]

  @Test("a streamed check reports what compile reports", arguments: streamingCases)
  func streamedCheck(_ text: String) {
    let checked = Self.rendered(Self.session(streaming: true).check(path: "streamed.runbook", text: text))
    let compiled = Self.rendered(Self.session().compile(path: "streamed.runbook", text: text).diagnostics)
    #expect(checked == compiled)
    #expect(!checked.isEmpty, "every case has a finding")
  }

  /// Imports are checked before the importing file's statements, and an
  /// import whose body has a syntax error reports that alone.
  @Test func streamedCheckOfImports() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("check-imports-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try "fn helper(a) { return a + undefined_name }\n".write(to: dir.appendingPathComponent("good.runbook"), atomically: true, encoding: .utf8)
    try "fn worse(a) { return a * }\nparam p: int\n".write(to: dir.appendingPathComponent("bad.runbook"), atomically: true, encoding: .utf8)
    for text in ["import \"good.runbook\"\nprint(helper(1, 2))\n", "import \"bad.runbook\"\nprint(1)\n",
                 "import \"good.runbook\"\nimport \"bad.runbook\"\nfn main() { return helper(x: 1) }\n"] {
      let main = dir.appendingPathComponent("main.runbook").path
      try text.write(toFile: main, atomically: true, encoding: .utf8)
      let checked = Self.rendered(Self.session(streaming: true).check(path: main))
      let compiled = Self.rendered(Self.session().compile(path: main).diagnostics)
      #expect(checked == compiled)
      #expect(!checked.isEmpty)
    }
  }

  /// Bodies that scanning their bytes must skip exactly as the lexer reads them.
  static let trickyBodies = """
    fn braces(a, b = {x: "}"}) {
      let s = "} ${ {y: a}["y"] } { \\" \\${ # not a comment"
      # a comment with } and " in it
      let t = \"\"\"
        "quoted" } ${ "${a}" + "}" } \"\" {
        \"\"\"
      return s + t + "\\u{7D}"
    }
    print(braces(1))
    """

  /// The first pass keeps every top-level statement and each function's
  /// header and exact range, with an empty body; the second hands over the
  /// statements `parse` returns.
  @Test("the top level alone, then each statement, as parsed", arguments: corpusFiles + ["tricky"])
  func declarationsAndStatementsAsParsed(_ relativePath: String) throws {
    let text = relativePath == "tricky" ? Self.trickyBodies : try String(contentsOfFile: "\(Self.corpusRoot)/\(relativePath)", encoding: .utf8)
    let file = SourceFile(path: relativePath, text: text)
    let (full, fullSyntax) = Parser.parse(file)
    let (declarations, syntax) = Parser.parseDeclarations(file)
    var handed: [String] = []
    let eachSyntax = Parser.parseEachStatement(file) { handed.append($0.sexpr) }
    #expect(eachSyntax.map { $0.render() } == fullSyntax.map { $0.render() })
    guard fullSyntax.isEmpty else { return }
    #expect(syntax.isEmpty)
    #expect(handed == full.statements.map(\.sexpr))
    #expect(declarations.statements.map(\.range) == full.statements.map(\.range))
    for (skimmed, parsed) in zip(declarations.statements, full.statements) {
      if case .function(let s) = skimmed.kind, case .function(let p) = parsed.kind {
        #expect(s.body.statements.isEmpty && s.body.range == p.body.range && s.range == p.range)
        #expect(s.parameters.map(\.name.name) == p.parameters.map(\.name.name))
      } else {
        #expect(skimmed.sexpr == parsed.sexpr)
      }
    }
    if relativePath == "tricky" { #expect(full.statements.count == 2) }
  }

  static var corpusRoot: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus").path
  }

  /// After a check, the same session compiles other files with their code.
  @Test func aSessionCompilesCodeAgainAfterACheck() {
    let session = Self.session()
    #expect(session.check(path: "first.runbook", text: "fn once(x) { return x }\nprint(once(1))\n").isEmpty)
    let (program, diagnostics) = session.compile(path: "second.runbook", text: "fn twice(x) { return 2 * x }\noutput result = twice(21)\n")
    #expect(diagnostics.isEmpty)
    let outcome = session.run(program!)
    #expect(outcome.error == nil)
    #expect(outcome.outputs.map { "\($0.name)=\($0.value.repr)" } == ["result=42"])
  }
}
