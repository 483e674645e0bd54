import Testing

@testable import RunbookLanguage

@Suite struct StatementTests {
  @Test(arguments: [
    ("let x = 1", "(let x 1)"),
    ("var x =\n 1", "(var x 1)"),
    ("x = 1", "(= x 1)"),
    ("x += 1", "(+= x 1)"),
    ("x -= 1", "(-= x 1)"),
    ("x *= 2", "(*= x 2)"),
    ("x /= 2", "(/= x 2)"),
    ("a[0] = 1", "(= (index a 0) 1)"),
    ("a.b = 1", "(= (. a b) 1)"),
    ("if a { b }", "(if (a {b}))"),
    ("if a { b } else { c }", "(if (a {b}) (else {c}))"),
    ("if a { b } else if c { d } else if e { f } else { g }", "(if (a {b}) (c {d}) (e {f}) (else {g}))"),
    ("if a {\n b\n}\nelse {\n c\n}", "(if (a {b}) (else {c}))"),
    ("for x in xs { f(x) }", "(for x xs {(call f x)})"),
    ("for k, v in m { }", "(for k v m {})"),
    ("for i in range(3) { if i == 1 { continue }; break }", "(for i (call range 3) {(if ((== i 1) {(continue)})) (break)})"),
    ("while a < 3 { a += 1 }", "(while (< a 3) {(+= a 1)})"),
    ("fn f(a, b, c = 10) { return a }", "(fn f (a b (c 10)) {(return a)})"),
    ("fn f(\n a,\n b,\n) {\n return\n}", "(fn f (a b) {(return)})"),
    ("fn f() { return }", "(fn f () {(return)})"),
    ("fn f() { return; 1 }", "(fn f () {(return) 1})"),
    ("param region: string", "(param region string)"),
    (#"param count: int = 3 "how many""#, #"(param count int 3 doc: "how many")"#),
    (#"param tags: list "doc""#, #"(param tags list doc: "doc")"#),
    ("param t: duration = 30s", "(param t duration 30000ms)"),
    (#"require x > 0, "x must be positive""#, #"(require (> x 0) "x must be positive")"#),
    ("require ok", "(require ok)"),
    (#"fail "boom""#, #"(fail "boom")"#),
    (#"fail "boom", "my_code""#, #"(fail "boom" "my_code")"#),
    ("try { f() } catch e { g(e.message) }", "(try {(call f)} (catch e {(call g (. e message))}))"),
    ("try { f() }\ncatch { }", "(try {(call f)} (catch {}))"),
    ("output url = \"x\"", #"(output url "x")"#),
    (#"import "lib.runbook""#, #"(import "lib.runbook")"#),
    (#"step "a" { step "b" { 1 } }"#, #"(step "a" {(step "b" {1})})"#),
    ("let f = fn (x) { x * 2 }", "(let f (fn (x) {(* x 2)}))"),
    ("fn (x) { x }(3)", "(call (fn (x) {x}) 3)"),
    ("a; b;; c", "a\nb\nc"),
    ("\n\n# only comments\n\n", ""),
    ("{a: 1}", #"(map ("a" 1))"#),
  ])
  func statements(source: String, expected: String) {
    #expect(sexpr(source) == expected)
  }

  @Test func ifHeadBraceStartsTheBlock() {
    #expect(sexpr("if x { }") == "(if (x {}))")
    #expect(sexpr("while ok {}") == "(while ok {})")
    #expect(sexpr("for x in [1] { }") == "(for x (list 1) {})")
    #expect(sexpr("if f({a: 1}) { }") == #"(if ((call f (map ("a" 1))) {}))"#)
    #expect(sexpr("if (x) { }") == "(if (x {}))")
  }

  @Test func blockOnTheNextLine() {
    #expect(sexpr("if a\n{\n b\n}") == "(if (a {b}))")
  }

  /// Whether a function contains another decides whether its locals live in
  /// cells; the parser records it, wherever the inner function is.
  @Test(arguments: [
    ("fn f(a) { return a + 1 }", false),
    ("fn f(a) { fn g() { a }\n return g() }", true),
    ("fn f(a) { let g = fn() { a }\n return g() }", true),
    ("fn f(a) { if a { for x in [1] { print(map([x], fn(y) { y })) } } }", true),
    ("fn f(a = fn() { 1 }) { a }", true),
    ("fn f(a) { print(\"${map([a], fn(y) { y })}\") }", true),
    ("fn f(a) { print(\"${a}\") }\nfn g() { fn h() { 1 }\n h() }", false),
  ])
  func functionsKnowWhetherTheyContainFunctions(source: String, contains: Bool) {
    let (unit, diagnostics) = Parser.parse(SourceFile(path: "t", text: source))
    #expect(diagnostics.isEmpty)
    guard case .function(let decl)? = unit.statements.first?.kind else {
      Issue.record("not a function declaration: \(source)")
      return
    }
    #expect(decl.containsFunction == contains, "\(source)")
  }
}

