/// S-expression rendering of the syntax tree, for tests and debugging:
/// `1 + 2 * 3` is `(+ 1 (* 2 3))`.

extension Expr {
  public var sexpr: String {
    switch kind {
    case .nilLiteral: return "nil"
    case .boolLiteral(let b): return "\(b)"
    case .intLiteral(let i): return "\(i)"
    case .floatLiteral(let d): return "\(d)"
    case .durationLiteral(let ms): return "\(ms)ms"
    case .stringLiteral(let s): return quote(s)
    case .interpolation(let parts):
      let inner = parts.map { part -> String in
        switch part {
        case .text(let t): return quote(t)
        case .expression(let e): return e.sexpr
        }
      }
      return "(str \(inner.joined(separator: " ")))"
    case .name(let n): return n
    case .list(let items): return "(list" + items.map { " " + $0.sexpr }.joined() + ")"
    case .map(let entries): return "(map" + entries.map { " (\(quote($0.key)) \($0.value.sexpr))" }.joined() + ")"
    case .unary(let op, let e): return "(\(op.rawValue) \(e.sexpr))"
    case .binary(let op, let l, let r): return "(\(op.rawValue) \(l.sexpr) \(r.sexpr))"
    case .call(let callee, let args):
      let rendered = args.map { a in a.label.map { "\($0.name): " + a.value.sexpr } ?? a.value.sexpr }
      return "(call \(callee.sexpr)" + rendered.map { " " + $0 }.joined() + ")"
    case .member(let base, let name): return "(. \(base.sexpr) \(name.name))"
    case .index(let base, let i): return "(index \(base.sexpr) \(i.sexpr))"
    case .function(let decl): return decl.sexpr
    case .step(let name, let body): return "(step \(name.sexpr) \(body.sexpr))"
    case .runbookFile(let path, _): return "(runbook \(quote(path)))"
    case .invalid: return "<invalid>"
    }
  }
}

private func quote(_ s: String) -> String { quotedStringLiteral(s) }

extension Block {
  public var sexpr: String { "{" + statements.map(\.sexpr).joined(separator: " ") + "}" }
}

extension FunctionDecl {
  public var sexpr: String {
    let params = parameters.map { p in p.defaultValue.map { "(\(p.name.name) \($0.sexpr))" } ?? p.name.name }
    return "(fn\(name.map { " " + $0.name } ?? "") (\(params.joined(separator: " "))) \(body.sexpr))"
  }
}

extension Stmt {
  public var sexpr: String {
    switch kind {
    case .expression(let e): return e.sexpr
    case .binding(let name, let isMutable, let value): return "(\(isMutable ? "var" : "let") \(name.name) \(value.sexpr))"
    case .assign(let target, let op, let value): return "(\(op.rawValue) \(target.sexpr) \(value.sexpr))"
    case .ifElse(let branches, let elseBody):
      let bs = branches.map { "(\($0.condition.sexpr) \($0.body.sexpr))" }.joined(separator: " ")
      return "(if \(bs)\(elseBody.map { " (else \($0.sexpr))" } ?? ""))"
    case .forIn(let first, let second, let iterable, let body):
      return "(for \(first.name)\(second.map { " " + $0.name } ?? "") \(iterable.sexpr) \(body.sexpr))"
    case .whileLoop(let c, let body): return "(while \(c.sexpr) \(body.sexpr))"
    case .breakLoop: return "(break)"
    case .continueLoop: return "(continue)"
    case .returnValue(let e): return e.map { "(return \($0.sexpr))" } ?? "(return)"
    case .function(let decl): return decl.sexpr
    case .param(let p):
      var s = "(param \(p.name.name) \(p.type.name)"
      if let d = p.defaultValue { s += " \(d.sexpr)" }
      if let doc = p.doc { s += " doc: \(quote(doc))" }
      return s + ")"
    case .require(let c, let m): return "(require \(c.sexpr)\(m.map { " " + $0.sexpr } ?? ""))"
    case .fail(let m, let c): return "(fail \(m.sexpr)\(c.map { " " + $0.sexpr } ?? ""))"
    case .tryCatch(let body, let name, let handler):
      return "(try \(body.sexpr) (catch\(name.map { " " + $0.name } ?? "") \(handler.sexpr)))"
    case .output(let name, let value): return "(output \(name.name) \(value.sexpr))"
    case .importFile(let path, _): return "(import \(quote(path)))"
    }
  }
}

extension SourceUnit {
  public var sexpr: String { statements.map(\.sexpr).joined(separator: "\n") }
}
