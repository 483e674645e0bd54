import Testing

@testable import RunbookLanguage

@Suite struct ExpressionTests {
  @Test(arguments: [
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("1 * 2 + 3", "(+ (* 1 2) 3)"),
    ("1 - 2 - 3", "(- (- 1 2) 3)"),
    ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
    ("a % b * c", "(* (% a b) c)"),
    ("a * b % c", "(% (* a b) c)"),
    ("a or b or c", "(or (or a b) c)"),
    ("a and b and c", "(and (and a b) c)"),
    ("not a or not b and c", "(or (not a) (and (not b) c))"),
    ("-a * b", "(* (- a) b)"),
    ("-a.b", "(- (. a b))"),
    ("- -a", "(- (- a))"),
    ("a or b and c", "(or a (and b c))"),
    ("a and b or c", "(or (and a b) c)"),
    ("not a == b", "(not (== a b))"),
    ("not a and b", "(and (not a) b)"),
    ("not not a", "(not (not a))"),
    ("a + 1 < b * 2", "(< (+ a 1) (* b 2))"),
    ("a == b and c != d", "(and (== a b) (!= c d))"),
    ("x in xs", "(in x xs)"),
    ("x not in xs", "(not in x xs)"),
    ("not x in xs", "(not (in x xs))"),
    ("a <= b or a >= c", "(or (<= a b) (>= a c))"),
    ("a > b", "(> a b)"),
    ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
    ("f(a)(b)", "(call (call f a) b)"),
    ("a.b.c", "(. (. a b) c)"),
    ("a[1][2]", "(index (index a 1) 2)"),
    ("a.b(c)[d].e", "(. (index (call (. a b) c) d) e)"),
    ("e.step", "(. e step)"),
    ("f(1, c: 3)", "(call f 1 c: 3)"),
    ("range(0, 10, step: 2)", "(call range 0 10 step: 2)"),
    ("f(a, b,)", "(call f a b)"),
    ("f()", "(call f)"),
    ("[1, 2, 3,]", "(list 1 2 3)"),
    ("[]", "(list)"),
    ("{}", "(map)"),
    (#"{name: "x", "two words": 2,}"#, #"(map ("name" "x") ("two words" 2))"#),
    ("nil", "nil"),
    ("true", "true"),
    ("false", "false"),
    ("fn (a, b = 2) { a + b }", "(fn (a (b 2)) {(+ a b)})"),
    (#"step "deploy" { 1 }"#, #"(step "deploy" {1})"#),
    (#"step "deploy ${n}" { }"#, #"(step (str "deploy " n) {})"#),
    ("a +\n b", "(+ a b)"),
    ("a or\n b", "(or a b)"),
    ("f(\n a,\n b\n)", "(call f a b)"),
    ("[\n 1,\n 2\n]", "(list 1 2)"),
    ("{\n a: 1,\n b:\n 2\n}", #"(map ("a" 1) ("b" 2))"#),
    ("(a\n + b)", "(+ a b)"),
    ("[fn () { x\n y }]", "(list (fn () {x y}))"),
  ])
  func precedence(source: String, expected: String) {
    #expect(sexpr(source) == expected)
  }

  @Test func chainedComparisonIsAnError() {
    #expect(errors("a < b < c") == ["1:7: comparison operators cannot be chained; use `and`"])
    #expect(errors("a == b not in c") == ["1:8: comparison operators cannot be chained; use `and`"])
  }

  @Test func newlineEndsAnExpressionOutsideBrackets() {
    #expect(sexpr("a\n-b") == "a\n(- b)")
  }

  @Test func ranges() {
    let (unit, _) = Parser.parse(SourceFile(path: "t", text: "x = foo(1, 2) + 3"))
    guard case .assign(let target, _, let value) = unit.statements[0].kind else {
      Issue.record("not an assignment")
      return
    }
    #expect(target.range.text == "x")
    #expect(value.range.text == "foo(1, 2) + 3")
    #expect(unit.statements[0].range.text == "x = foo(1, 2) + 3")
  }
}
