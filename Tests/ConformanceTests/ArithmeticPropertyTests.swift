import Foundation
import RunbookLanguage
import RunbookRuntime
import Testing

/// Generated arithmetic over ints and durations, run by the interpreter and
/// compared with exact 128-bit arithmetic (every intermediate result of
/// `+ - * / %` on two 64-bit operands fits in 128 bits): each expression either
/// gives the mathematically right value or fails with `overflow` exactly when
/// that value lies outside 64 bits (`arithmetic_error` for a zero divisor).
/// Range lengths, indexing, membership and walks are checked the same way.
@Suite struct ArithmeticPropertyTests {
  /// The outcome of evaluating an expression, left operand first.
  enum Outcome: Equatable {
    case value(Int128)
    case error(String)

    var line: String {
      switch self {
      case .value(let v): return String(v)
      case .error(let code): return code
      }
    }
  }

  /// A deterministic generator (PCG-style LCG), so a failure reproduces.
  struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      var x = state
      x ^= x >> 33
      x = x &* 0xff51_afd7_ed55_8ccd
      x ^= x >> 33
      return x
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  }

  /// Values near the edges of 64 bits, and a few ordinary ones.
  static let edges: [Int] = [
    0, 1, -1, 2, -2, 3, 7, 10, 1000, Int.max, Int.min, Int.max - 1, Int.min + 1, Int.max / 2, Int.min / 2,
    1 << 31, 1 << 32, -(1 << 32), 3_037_000_499, 3_037_000_500, -3_037_000_500, 1 << 62, -(1 << 62), 86_400_000,
  ]

  /// Source text for an int constant; the smallest int has no literal.
  static func literal(_ v: Int, unit: String = "") -> String {
    if v == Int.min { return "(-9223372036854775807\(unit) - 1\(unit))" }
    return v < 0 ? "(-\(v.magnitude)\(unit))" : "\(v)\(unit)"
  }

  static func fits(_ v: Int128) -> Outcome {
    v >= Int128(Int.min) && v <= Int128(Int.max) ? .value(v) : .error("overflow")
  }

  /// The exact result of `a op b`, as the language defines it.
  static func apply(_ op: Character, _ a: Int128, _ b: Int128) -> Outcome {
    switch op {
    case "+": return fits(a + b)
    case "-": return fits(a - b)
    case "*": return fits(a * b)
    case "/": return b == 0 ? .error("arithmetic_error") : fits(a / b)
    default: return b == 0 ? .error("arithmetic_error") : fits(a % b)
    }
  }

  struct Expression {
    var text: String
    var outcome: Outcome
  }

  /// Local names bound to edge values (slot operands hit the interpreter's specialised int paths).
  static let names = (0..<edges.count).map { "v\($0)" }

  static func leaf(_ g: inout Generator, duration: Bool, useNames: Bool) -> Expression {
    let v: Int
    switch g.below(4) {
    case 0: v = Int(bitPattern: UInt(g.next()))
    case 1: v = g.below(2001) - 1000
    default: v = edges[g.below(edges.count)]
    }
    if duration {
      return Expression(text: literal(v, unit: "ms"), outcome: .value(Int128(v)))
    }
    if useNames, g.below(3) == 0, let i = edges.firstIndex(of: v) {
      return Expression(text: names[i], outcome: .value(Int128(v)))
    }
    return Expression(text: literal(v), outcome: .value(Int128(v)))
  }

  static func combine(_ a: Expression, _ op: Character, _ b: Expression) -> Expression {
    let outcome: Outcome
    switch (a.outcome, b.outcome) {
    case (.error(let e), _), (.value, .error(let e)): outcome = .error(e)
    case let (.value(x), .value(y)): outcome = apply(op, x, y)
    }
    return Expression(text: "(\(a.text) \(op) \(b.text))", outcome: outcome)
  }

  static func negate(_ a: Expression) -> Expression {
    let outcome: Outcome
    if case .value(let x) = a.outcome { outcome = fits(-x) } else { outcome = a.outcome }
    return Expression(text: "-\(a.text)", outcome: outcome)
  }

  /// An int expression (duration: false) or a duration expression in milliseconds.
  static func expression(_ g: inout Generator, depth: Int, duration: Bool, useNames: Bool) -> Expression {
    if depth == 0 || g.below(4) == 0 { return leaf(&g, duration: duration, useNames: useNames) }
    let sub = { (g: inout Generator, d: Bool) in expression(&g, depth: depth - 1, duration: d, useNames: useNames) }
    if g.below(8) == 0 { return negate(sub(&g, duration)) }
    if !duration {
      let op = Array("+-*/%")[g.below(5)]
      return combine(sub(&g, false), op, sub(&g, false))
    }
    switch g.below(5) {
    case 0: return combine(sub(&g, true), "+", sub(&g, true))
    case 1: return combine(sub(&g, true), "-", sub(&g, true))
    case 2: return combine(sub(&g, true), "*", sub(&g, false))
    case 3: return combine(sub(&g, false), "*", sub(&g, true))
    default: return combine(sub(&g, true), "/", sub(&g, false))
    }
  }

  /// A range computation with the exact answer: length, an index, membership, or a bounded walk.
  static func rangeCheck(_ g: inout Generator) -> (line: String, expected: String) {
    func pick() -> Int { g.below(3) == 0 ? g.below(21) - 10 : edges[g.below(edges.count)] }
    let a = pick(), b = pick()
    var step = pick()
    if step == 0 { step = 1 }
    let (A, B, S) = (Int128(a), Int128(b), Int128(step))
    let count: Int128 = S > 0 ? (A < B ? (B - A - 1) / S + 1 : 0) : (A > B ? (A - B - 1) / -S + 1 : 0)
    let r = "range(\(literal(a)), \(literal(b)), \(literal(step)))"
    switch g.below(4) {
    case 0:
      return ("try { print(len(\(r))) } catch e { print(e.code) }", fits(count).line)
    case 1:
      let i = pick(), I = Int128(i)
      let resolved = I < 0 ? count + I : I
      let want = resolved >= 0 && resolved < count ? String(A + resolved * S) : "index_error"
      return ("try { print(\(r)[\(literal(i))]) } catch e { print(e.code) }", want)
    case 2:
      let x = pick(), X = Int128(x)
      let inside = S > 0 ? (X >= A && X < B) : (X <= A && X > B)
      return ("print(\(literal(x)) in \(r))", String(inside && (X - A) % S == 0))
    default:
      // Walks at most three elements (the fast loop path), counting them.
      return ("if true {\n var n = 0\n for x in \(r) {\n  n += 1\n  if n == 3 { break }\n }\n print(n)\n}", String(min(count, 3)))
    }
  }

  /// One program of `count` expressions; inside a function when `local`, so names are slots.
  static func program(_ g: inout Generator, count: Int, local: Bool) -> (String, [(line: String, source: String)]) {
    var lines: [String] = []
    var expected: [(line: String, source: String)] = []
    for (i, v) in edges.enumerated() { lines.append("let \(names[i]) = \(literal(v))") }
    for _ in 0..<count {
      if g.below(6) == 0 {
        let check = rangeCheck(&g)
        lines.append(check.line)
        expected.append((check.expected, check.line))
        continue
      }
      let duration = g.below(3) == 0
      let e = expression(&g, depth: 1 + g.below(4), duration: duration, useNames: true)
      let shown = duration ? "to_int(\(e.text))" : e.text
      if !duration, g.below(6) == 0 {
        // A compound assignment: the same checks on the `+=` and `-=` paths.
        let op = g.below(2) == 0 ? "+" : "-"
        let rhs = expression(&g, depth: 1, duration: false, useNames: true)
        let total = combine(e, Character(op), rhs)
        lines.append("try { var t = \(e.text)\n t \(op)= \(rhs.text)\n print(t) } catch e { print(e.code) }")
        expected.append((total.outcome.line, lines.last!))
      } else {
        lines.append("try { print(\(shown)) } catch e { print(e.code) }")
        expected.append((e.outcome.line, lines.last!))
      }
    }
    let body = lines.joined(separator: "\n")
    return (local ? "fn batch() {\n\(body)\n}\nbatch()\n" : body + "\n", expected)
  }

  @Test func generatedArithmeticMatchesExactResults() throws {
    var g = Generator(state: 0x5EED_1234)
    let batches = 100, perBatch = 1_000
    var checked = 0, overflows = 0
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-arith-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for batch in 0..<batches {
      let (text, expected) = Self.program(&g, count: perBatch, local: batch % 2 == 1)
      let url = directory.appendingPathComponent("batch\(batch).runbook")
      try text.write(to: url, atomically: true, encoding: .utf8)
      let host = CapturingHost()
      let session = Session(registry: CoreBuiltins.makeRegistry(), host: host, environment: [:])
      let outcome = session.runFile(path: url.path, params: [:])
      #expect(outcome.succeeded, "batch \(batch): \(outcome.diagnostics.map { $0.render() }.joined()) \(outcome.error?.message ?? "")")
      var mismatches = 0
      let printed = host.lines
      for (i, want) in expected.enumerated() where i >= printed.count || printed[i] != want.line {
        mismatches += 1
        if mismatches <= 5 {
          let got = i < printed.count ? printed[i] : "(nothing)"
          Issue.record("batch \(batch) expression \(i): expected \(want.line), got \(got)\n  \(want.source)")
        }
      }
      #expect(printed.count == expected.count)
      checked += expected.count
      overflows += expected.filter { $0.line == "overflow" }.count
    }
    #expect(checked == batches * perBatch)
    // The generator must reach the edges often, or the test proves little.
    #expect(overflows > checked / 10, "only \(overflows) of \(checked) expressions overflow")
  }
}
