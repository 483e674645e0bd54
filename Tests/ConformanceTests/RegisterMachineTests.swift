import Foundation
import RunbookLanguage
@testable import RunbookRuntime
import Testing

/// The register machine runs eligible functions and `while` loops; the same
/// programs run on closures alone must print the same, fail the same way at
/// the same place, and end with the same outputs.
@Suite("Register machine")
struct RegisterMachineTests {
  struct Observed: Equatable, CustomStringConvertible {
    var printed: String
    var steps: [String]
    var diagnostics: [String]
    var error: String?
    var outputs: [String]
    var description: String {
      "printed: \(printed.debugDescription)\nsteps: \(steps)\ndiagnostics: \(diagnostics)\nerror: \(error ?? "-")\noutputs: \(outputs)"
    }
  }

  static func observe(path: String, text: String? = nil, params: [String: String] = [:], registers: Bool, budget: Int? = nil) -> Observed {
    let host = CapturingHost()
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: ["RUNBOOK_TEST_VAR": "hello"])
    session.interpreter.usesRegisterMachine = registers
    if let budget { session.interpreter.stepBudget = budget }
    let (program, diagnostics) = session.compile(path: path, text: text)
    var outcome = RunOutcome(diagnostics: diagnostics, error: nil, outputs: [])
    if let program {
      let problems = session.bindParams(program, strings: params, values: [:])
      outcome = problems.isEmpty ? session.run(program) : RunOutcome(diagnostics: diagnostics + problems, error: nil, outputs: [])
    }
    return Observed(
      printed: host.text, steps: host.events, diagnostics: outcome.diagnostics.map { $0.render() },
      error: outcome.error.map { $0.diagnostic.render() + " [\($0.code)]" },
      outputs: outcome.outputs.map { "\($0.name) = \($0.value.repr)" })
  }

  @Test("the corpus runs alike on registers and on closures", arguments: corpusFiles)
  func corpusAgrees(_ relativePath: String) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus").appendingPathComponent(relativePath)
    let params = Annotations(source: try String(contentsOf: url, encoding: .utf8)).params
    let closures = Self.observe(path: url.path, params: params, registers: false)
    let registers = Self.observe(path: url.path, params: params, registers: true)
    #expect(closures == registers, "closures:\n\(closures)\nregisters:\n\(registers)")
  }

  /// Programs made to reach every instruction and every error the machine can raise.
  static let programs: [String: String] = [
    "arithmetic": """
      fn f(a, b) {
        var r = a * b - a / b + a % b
        r += -a
        r -= b
        r *= 2
        r /= 3
        return r
      }
      print(f(17, 5), f(-17, 5), f(2.5, 2))
      print(f("x", 1))
      """,
    "overflow": """
      fn grow(n) {
        var x = n
        while true { x = x * 1000 }
      }
      grow(7)
      """,
    "overflow in a compound assignment": """
      var x = 9223372036854775000
      var i = 0
      while i < 10 { x += 100; i += 1 }
      """,
    "division by zero": """
      fn half(n) { n / 0 }
      print(half(4))
      """,
    "remainder by zero": """
      var i = 3
      while i > 0 { i = i % 0 }
      """,
    "comparisons of other types": """
      fn order(a, b) {
        var out = 0
        if a < b { out += 1 }
        if a <= b { out += 10 }
        if a > b { out += 100 }
        if a == b { out += 1000 }
        if a != b { out += 10000 }
        return out
      }
      print(order("a", "b"), order(1.5, 1), order(1, 1.0), order(2s, 1m), order([1, 2], [1, 3]))
      print(order(nil, nil) == 0, order(true, false))
      print(order("a", 1))
      """,
    "truthiness and logic": """
      fn pick(a, b) { a and b or not a }
      var i = 0
      var seen = ""
      while i < 6 {
        i += 1
        if i == 2 { continue }
        if i == 5 and pick(i, nil) == false { break }
        seen = seen + "${i}"
      }
      print(seen, pick(0, 1), pick(nil, 1), pick("", "y"), -i, not i)
      """,
    "strings and lists in loops": """
      var s = ""
      var xs = [1]
      var ys = [9]
      var i = 0
      while i < 5 {
        s = s + "ab"
        s += "c"
        xs = xs + ys
        xs += ys
        i += 1
      }
      print(s, len(xs), ys)
      """,
    "globals from functions": """
      var count = 0
      var log = ""
      fn tick(n) {
        count = count + n
        log = log + "t"
        return count
      }
      fn twice(n) { tick(n) + tick(n) }
      var i = 0
      while i < 3 {
        i = i + twice(i + 1)
      }
      print(count, log, i, count + tick(1))
      """,
    "recursion": """
      fn fib(n) {
        if n < 2 { return n }
        return fib(n - 1) + fib(n - 2)
      }
      fn ack(m, n) {
        if m == 0 { return n + 1 }
        if n == 0 { return ack(m - 1, 1) }
        return ack(m - 1, ack(m, n - 1))
      }
      fn even(n) { if n == 0 { return true }; return odd(n - 1) }
      fn odd(n) { if n == 0 { return false }; return even(n - 1) }
      print(fib(15), ack(2, 3), even(10), odd(7))
      """,
    "recursion too deep": """
      fn down(n) { return down(n + 1) + 1 }
      print(down(0))
      """,
    "recursion too deep in an argument": """
      fn id(n) { n }
      fn nest(n) { return id(nest(n + 1)) }
      nest(0)
      """,
    "a function without return": """
      fn nothing(n) {
        var x = n
        x += 1
      }
      fn early(n) {
        while true {
          if n > 3 { return n }
          n += 1
        }
      }
      print(nothing(1), early(0))
      """,
    "steps around loops": """
      var total = 0
      step "sum" {
        var i = 0
        while i < 10 { total += i; i += 1 }
        total
      }
      output total = total
      """,
    "a loop in a function on closures": """
      fn count(xs) {
        var n = 0
        var i = 0
        while i < len(xs) { n += xs[i]; i += 1 }
        let inner = 0
        var j = 0
        while j < 4 { j += 1 }
        n + j + inner
      }
      print(count([1, 2, 3]))
      """,
    "a loop of a closure capturing": """
      fn counter() {
        var c = 0
        fn next() { c += 1; c }
        var i = 0
        while i < 3 { i += 1; next() }
        return next()
      }
      print(counter())
      """,
    "one-argument calls": """
      fn id(x) { x }
      fn grow(n) { return grow(n * 1000) }
      fn show(n) {
        let s = "n"
        print(id(s + "!"), id(n < 3), id(n), id(nil), id(-n), id(n in [1, 2]))
        return id(n - 1)
      }
      print(show(2))
      print(grow(7))
      """,
    "a failing argument": """
      fn id(x) { x }
      fn bad(n) { id(n - "s") }
      bad(1)
      """,
    "a failing condition": """
      var i = 0
      while i < "ten" { i += 1 }
      """,
    "a negated string": """
      fn neg(x) { -x }
      print(neg(1), neg(1.5))
      print(neg("s"))
      """,
    "errors deep in calls, caught, then calls again": """
      fn broken(n) {
        if n == 0 { return 1 / 0 }
        return broken(n - 1) + 1
      }
      fn depth(n) {
        if n == 0 { return 0 }
        return depth(n - 1) + 1
      }
      fn keep(xs, n) {
        if n == 0 { return xs }
        return keep(xs, n - 1)
      }
      var caught = 0
      var i = 0
      while i < 3 {
        try { broken(i + 4) } catch e { caught += 1; print(e.code, e.line) }
        i += 1
      }
      var xs = keep([1, 2], 5)
      xs += [3]
      print(caught, depth(50), xs)
      """,
    "calls of several arguments and calls through closures": """
      fn add3(a, b, c) { return a + b + c }
      fn none(n) {
        var x = n
      }
      fn through(n) {
        let f = fn(m) { return inner(m) }
        return f(n)
      }
      fn inner(m) {
        if m > 2 { return m / (m - m) }
        return add3(m, m, m)
      }
      fn outer(n) { return through(n) + add3(1, 2, 3) }
      print(outer(1), none(2), add3(1, add3(1, 2, 3), 3))
      try { outer(5) } catch e { print(e.code) }
      print(outer(2))
      """,
    "returns of an operation": """
      fn sub(a, b) { return a - b }
      fn last(a, b) { a * b }
      fn both(a, b) { return a > b }
      fn glue(a, b) { return a + b }
      print(sub(3, 1), last(2, 3), both(1, 2), glue("a", "b"), glue([1], [2]))
      print(sub("s", 1))
      """,
    "top-level names in a top-level loop": """
      var s = ""
      var n = 0
      let stride = 3
      fn bump() {
        n += 10
        return 1
      }
      var i = 0
      while i < 6 {
        i += 1
        if i == 2 { continue }
        s = s + "x"
        s += "y"
        n = n + bump()
        n *= 2
        if i == 5 { break }
        i += stride - 3
      }
      print(s, n, i)
      var t = 0
      while t < 3 { t += 1 }
      print(t, s)
      """,
    "in": """
      var found = 0
      var i = 0
      while i < 5 {
        if i in [1, 3] { found += 1 }
        i += 1
      }
      fn has(x, xs) { x in xs }
      print(found, has(2, [2]), has("a", "cat"))
      print(has(1, 2))
      """,
  ]

  @Test("edge programs run alike on registers and on closures", arguments: programs.keys.sorted())
  func programsAgree(_ name: String) {
    let text = Self.programs[name]!
    let closures = Self.observe(path: "\(name).runbook", text: text, registers: false)
    let registers = Self.observe(path: "\(name).runbook", text: text, registers: true)
    // Each program must compile and show something: one that does not tests nothing.
    #expect(!closures.diagnostics.contains { $0.contains(": error: ") }, "\(closures)")
    #expect(!closures.printed.isEmpty || closures.error != nil || !closures.outputs.isEmpty, "\(closures)")
    #expect(closures == registers, "closures:\n\(closures)\nregisters:\n\(registers)")
  }

  @Test func theStepBudgetIsSpentAlike() {
    let text = "fn f(n) { if n == 0 { return 0 }; return f(n - 1) }\nvar i = 0\nwhile i < 100 { i += 1; f(3) }\nprint(i)\n"
    for budget in [0, 1, 5, 17, 60, 200, 1000] {
      let closures = Self.observe(path: "budget.runbook", text: text, registers: false, budget: budget)
      let registers = Self.observe(path: "budget.runbook", text: text, registers: true, budget: budget)
      #expect(closures == registers, "budget \(budget): closures:\n\(closures)\nregisters:\n\(registers)")
    }
  }

  /// Which code the machine takes: counted, not timed.
  @Test func eligibleFunctionsAndLoopsBecomeRegisterCode() {
    let session = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:])
    let text = """
      fn fib(n) {
        if n < 2 { return n }
        return fib(n - 1) + fib(n - 2)
      }
      fn greet(name) { print("hi ${name}") }
      fn withDefault(n, by = 1) { n + by }
      var i = 0
      while i < 3 { i += 1 }
      greet(fib(3))
      print(withDefault(i))
      """
    let (program, _) = session.compile(path: "which.runbook", text: text)
    #expect(program != nil)
    #expect(session.globals.bindings["fib"]?.functionCode?.registerCode != nil)
    #expect(session.globals.bindings["greet"]?.functionCode?.registerCode == nil, "a built-in call keeps closures")
    #expect(session.globals.bindings["withDefault"]?.functionCode?.registerCode == nil, "a default keeps closures")
  }

  /// A statement's temporaries are cleared after it only when one may hold
  /// a reference (a string, list or map, which would look shared to an
  /// in-place append): counted in the code, for arithmetic and for `+`.
  @Test func onlyTemporariesThatMayHoldAReferenceAreCleared() throws {
    func clears(_ statement: String) throws -> Int {
      let session = Session(registry: CoreBuiltins.makeRegistry(), host: CapturingHost(), environment: [:])
      let text = "fn f(n, x) {\n  var total = 0\n  var i = 0\n  while i < n {\n    \(statement)\n    i += 1\n  }\n  return total\n}\nf(3, 1)\n"
      let (program, diagnostics) = session.compile(path: "clears.runbook", text: text)
      #expect(program != nil, "\(diagnostics)")
      let code = try #require(session.globals.bindings["f"]?.functionCode?.registerCode)
      return (0..<code.instructionCount).filter { if case .clear = code.instructions[$0] { true } else { false } }.count
    }
    #expect(try clears("total += i * i % 7") == 0)
    #expect(try clears("if i * 2 > n - 1 { total -= 1 }") == 0)
    #expect(try clears("total += (x + i) * 2") == 1, "`x + i` may join two lists")
    #expect(try clears("total += f(0, x) * 2") == 1, "a call may return a list")
  }

  /// A list appended to in a loop of register code moves its buffer about
  /// log2(n) times, not n: no temporary keeps it alive to look shared. The
  /// loop is register code; `note` (a built-in call) runs on closures.
  @Test(arguments: ["xs = xs + one", "xs += one"], [false, true])
  func appendsInRegisterLoopsStayInPlace(_ append: String, inFunction: Bool) throws {
    // In a function, `xs` is a global: read into temporaries, which are cleared.
    let loop = """
      var i = 0
      while i < 10000 {
        if xs == one { i = i }
        \(append)
        note()
        i += 1
      }
      """
    let text = """
      var xs = []
      let one = [0]
      var moves = 0
      var last = buffer_address(xs)
      fn note() {
        let now = buffer_address(xs)
        if now != last {
          moves += 1
          last = now
        }
      }
      \(inFunction ? "fn grow() {\n\(loop)\n}\ngrow()" : loop)
      [moves, len(xs)]
      """
    let (session, _) = ComplexityTests().session()
    let outcome = session.evaluate(text)
    let result = try #require(outcome.value?.asList, "\(outcome.diagnostics) \(String(describing: outcome.error))")
    #expect(result[1] == .int(10000))
    #expect(try #require(result[0].asInt) < ComplexityTests.logarithmic)
    if inFunction { #expect(session.globals.bindings["grow"]?.functionCode?.registerCode != nil) }
  }
}
