import RunbookLanguage

extension Compiler {
  // MARK: - Static types

  /// The type of an expression when it is visible without running it.
  func staticType(_ e: Expr) -> ValueType? {
    switch e.kind {
    case .nilLiteral: return .null
    case .boolLiteral: return .bool
    case .intLiteral: return .int
    case .floatLiteral: return .float
    case .durationLiteral: return .duration
    case .stringLiteral, .interpolation: return .string
    case .list: return .list
    case .map: return .map
    case .function: return .function
    case .unary(.not, _): return .bool
    case .binary(let op, _, _):
      switch op {
      case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .contains, .notContains: return .bool
      default: return nil
      }
    case .call, .member, .index, .step:
      // What a declaration says: a built-in's result type, a field's type.
      guard let shape = staticShape(e) else { return nil }
      let t = shape.valueType
      return t == .any || t == .number ? nil : t
    default: return nil
    }
  }

  // MARK: - Shapes

  /// What `e` evaluates to as far as declarations tell: a built-in's
  /// declared result, a `let` bound to one, a field or element of one, a
  /// step whose last expression is one. nil when unknown. No side effects.
  func staticShape(_ e: Expr) -> Shape? {
    switch e.kind {
    case .call(let callee, _):
      if case .runbookFile(let path, _) = callee.kind, let called = calledRunbooks[path] {
        return .record(kind: "outputs of \(called.displayName)", fields: called.program.outputShapes.map {
          ShapeField(name: $0.name, shape: $0.shape)
        })
      }
      guard case .name(let name) = callee.kind, let builtin = builtinCalled(name) else { return nil }
      return builtin.result
    case .name(let name):
      return visibleBinding(name).flatMap { $0.isMutable ? nil : $0.staticShape }
    case .member(let base, let name):
      return staticShape(base)?.fields?.first { $0.name == name.name }?.shape
    case .index(let base, _):
      if case .list(let element)? = staticShape(base) { return element }
      return nil
    case .step(_, let body):
      guard case .expression(let last)? = body.statements.last?.kind, body.statements.count == 1 else { return nil }
      return staticShape(last)
    default: return nil
    }
  }

  /// The binding a name refers to here, without marking it used.
  func visibleBinding(_ name: String) -> Binding? {
    var state: FunctionState? = fn
    while let s = state {
      if let (_, b) = s.lookupLocal(name) { return b }
      if s.isMain { return globals.bindings[name] }
      state = s.parent
    }
    return nil
  }

  /// The built-in a call of `name` runs (the rule of `resolve(preferCallable:)`).
  func builtinCalled(_ name: String) -> Builtin? {
    guard let builtin = registry[name] else { return nil }
    guard let b = visibleBinding(name) else { return builtin }
    if let type = b.staticType, type != .function, type != .any { return builtin }
    return nil
  }

  /// Remembers the shape of a `let` just declared.
  func recordShape(_ shape: Shape?, of name: Identifier) {
    guard let shape else { return }
    if let (index, _) = fn.lookupLocal(name.name) {
      fn.scopes[index].staticShape = shape
    } else if fn.isMain {
      globals.bindings[name.name]?.staticShape = shape
    }
  }

  /// `sp.idd` where `sp` is known to be a service principal: an error before anything runs.
  func checkField(_ base: Expr, _ name: Identifier) {
    guard case .record(let kind, let fields, let isOpen)? = staticShape(base), !isOpen,
      !fields.contains(where: { $0.name == name.name })
    else { return }
    let what = kind.map { $0.hasPrefix("outputs of ") ? "the \($0)" : "a `\($0)` record" } ?? "this record"
    let names = fields.map(\.name)
    error("no field `\(name.name)` in \(what)\(didYouMean(name.name, in: names)) (its fields: \(names.joined(separator: ", ")))",
          name.range, code: "unknown_field")
  }

  /// `1 + "a"`: an operator applied to operands whose types are known and
  /// that the operator refuses, found by applying it to sample values of
  /// those types (so the check says exactly what running would).
  func checkOperandTypes(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, range: SourceRange) {
    guard op != .and, op != .or, let a = staticType(lhs), let b = staticType(rhs),
      let x = ValueType.sample(a), let y = ValueType.sample(b)
    else { return }
    do {
      _ = try Operators.binary(op, x, y, range: range, limits: interp.limits)
    } catch let e as RuntimeError where e.code == "type_error" {
      error(e.message, range, code: "type_mismatch")
    } catch {}
  }

  /// `if "false" { }`: a condition whose type is known and is not bool is
  /// always true (only `false` and `nil` are false).
  func checkCondition(_ e: Expr) {
    guard let t = staticType(e), t != .bool, t != .null, t != .any, t != .number else { return }
    let hint = t == .string ? "; compare it, e.g. `x == \"false\"`" : ""
    error("this condition is \(t.article) \(t.rawValue), which is always true (only `false` and `nil` are false)\(hint)",
          e.range, code: "type_mismatch")
  }

  // MARK: - Expressions

  func compileExpr(_ e: Expr) -> ExprCode {
    let range = e.range
    switch e.kind {
    case .nilLiteral: return made { { _ in .null } }
    case .boolLiteral(let b):
      let v = Value.bool(b)
      return made { { _ in v } }
    case .intLiteral(let i):
      let v = Value.int(i)
      return made { { _ in v } }
    case .floatLiteral(let d):
      let v = Value.float(d)
      return made { { _ in v } }
    case .durationLiteral(let ms):
      let v = Value.duration(ms)
      return made { { _ in v } }
    case .stringLiteral(let s):
      let v = Value.string(s)
      return made { { _ in v } }

    case .interpolation(let parts):
      let codes: [(String?, ExprBox?)] = parts.map {
        switch $0 {
        case .text(let t): return (t, nil)
        case .expression(let x): return (nil, ExprBox(compileExpr(x)))
        }
      }
      if codes.count == 2, let text = codes[0].0, let code = codes[1].1?.run {
        // "prefix-${x}": the common shape, without the loop.
        let limits = interp.limits
        return made { { f in
          let v = try code(f)
          if case .secret(let secret) = v {
            try limits.checkSum(text.utf8.count, secret.revealed.utf8.count, isString: true, range)
            return .secret(text + secret.revealed)
          }
          if case .int(let n) = v {
            try limits.checkSum(text.utf8.count, 20, isString: true, range)
            return .string(Compiler.appendingDecimal(n, to: text))
          }
          let s = try v.displayString(limits: limits, range)
          try limits.checkSum(text.utf8.count, s.utf8.count, isString: true, range)
          return .string(text + s)
        } }
      }
      // Text interpolating a secret is a secret (of the real text).
      let limits = interp.limits
      return made { { f in
        var s = ""
        var isSecret = false
        for (text, code) in codes {
          if let text {
            s += text
          } else if let code {
            let v = try code.run(f)
            if case .secret(let secret) = v {
              s += secret.revealed
              isSecret = true
            } else {
              s += try v.displayString(limits: limits, range)
            }
          }
          // Checked as it grows: each piece is itself a value within the limit.
          try limits.checkString(byteCount: s.utf8.count, range)
        }
        return isSecret ? .secret(s) : .string(s)
      } }

    case .name(let name):
      guard let r = resolve(name, range: range) else {
        reportUndefined(name, range: range)
        return made { { _ in .null } }
      }
      if registerRecording > 0 { registerHints.names[.init(range)] = r.resolution }
      return loadCode(r.resolution)

    case .list(let items):
      let codes = items.map { ExprBox(compileExpr($0)) }
      return made { { f in
        var values: [Value] = []
        values.reserveCapacity(codes.count)
        for c in codes { values.append(try c.run(f)) }
        return .list(ListBox(values))
      } }

    case .map(let entries):
      // One error per duplicated key, at its second appearance, however often it repeats.
      var occurrences: [String: (first: SourceRange, second: SourceRange?, count: Int)] = [:]
      var duplicated: [String] = []
      for entry in entries {
        if var o = occurrences[entry.key] {
          if o.second == nil { o.second = entry.keyRange; duplicated.append(entry.key) }
          o.count += 1
          occurrences[entry.key] = o
        } else {
          occurrences[entry.key] = (entry.keyRange, nil, 1)
        }
      }
      for key in duplicated {
        guard let o = occurrences[key], let second = o.second else { continue }
        let times = o.count == 2 ? "twice" : "\(o.count) times"
        let first = o.first.startLocation
        let place = first.line == second.startLocation.line ? "column \(first.column)" : "line \(first.line)"
        error("key `\(key)` appears \(times) in this map (first at \(place))", second)
      }
      let keys = entries.map { MapKey($0.key) }
      let codes = entries.map { ExprBox(compileExpr($0.value)) }
      return made { { f in
        var values: [Value] = []
        values.reserveCapacity(codes.count)
        for c in codes { values.append(try c.run(f)) }
        return .map(MapBox(keys: keys, values: values))
      } }

    case .unary(let op, let operand):
      let c = compileExpr(operand)
      switch op {
      case .negate: return made { { f in try Operators.negate(c(f), range) } }
      case .not: return made { { f in .bool(!(try c(f).isTruthy)) } }
      }

    case .binary(let op, let lhs, let rhs):
      checkOperandTypes(op, lhs, rhs, range: range)
      return compileBinary(op, lhs, rhs, range: range)

    case .call(let callee, let arguments):
      return compileCall(callee: callee, arguments: arguments, range: range)

    case .member(let base, let name):
      let b = compileExpr(base)
      checkField(base, name)
      let key = MapKey(name.name)
      let field = name.name
      return made { { f in
        let v = try b(f)
        if case .map(let m) = v, let found = m[key] { return found }
        return try Operators.member(v, key, name: field, range: range)
      } }

    case .index(let base, let index):
      let b = compileExpr(base), i = compileExpr(index)
      let characters = interp.characterIndex
      return made { { f in
        let container = try b(f)
        let idx = try i(f)
        if case .list(let l) = container, case .int(let n) = idx, n >= 0, n < l.items.count { return l.items[n] }
        return try Operators.index(container, idx, characters: characters, range: range)
      } }

    case .function(let decl):
      return compileFunctionExpression(decl)

    case .step(let nameExpr, let body):
      return compileStep(nameExpr: nameExpr, body: body, range: range)

    case .runbookFile(let path, _):
      error("a runbook is called with its params: runbook \"\(path)\"(name: value, ...)", range, code: "argument_error")
      return made { { _ in .null } }

    case .invalid:
      return made { { _ in throw RuntimeError("this expression could not be parsed", code: "syntax_error", range: range) } }
    }
  }

  func reportUndefined(_ name: String, range: SourceRange) {
    // Keywords too: `retrun` or `ture` are read as names.
    let candidates = Array(globals.bindings.keys) + fn.scopes.names + registry.builtins.keys
      + Keyword.allCases.map(\.rawValue)
    if let suggestion = closestName(to: name, in: candidates) {
      error("undefined name `\(name)`; did you mean `\(suggestion)`?", range, code: "undefined_name")
    } else {
      error("undefined name `\(name)`", range, code: "undefined_name")
    }
  }

  /// Compiles an expression used as a condition, skipping the boxed bool for comparisons.
  func compileCondition(_ e: Expr) -> CondCode {
    if case .binary(let op, let lhs, let rhs) = e.kind {
      let range = e.range
      switch op {
      case .less, .lessEqual, .greater, .greaterEqual:
        let sym = op.rawValue
        let order: (Int) -> Bool
        let test: (Int, Int) -> Bool
        switch op {
        case .less: order = { $0 < 0 }; test = { $0 < $1 }
        case .lessEqual: order = { $0 <= 0 }; test = { $0 <= $1 }
        case .greater: order = { $0 > 0 }; test = { $0 > $1 }
        default: order = { $0 >= 0 }; test = { $0 >= $1 }
        }
        return comparison(lhs, rhs, test) { a, b in order(try Operators.compare(a, b, op: sym, range: range)) }
      case .equal, .notEqual:
        let negate = op == .notEqual
        if case .stringLiteral = rhs.kind {
          let l = compileExpr(lhs), r = compileExpr(rhs)
          return made { { f in
            let a = try l(f), b = try r(f)
            if case .string(let x) = a, case .string(let y) = b { return (x == y) != negate }
            return (a == b) != negate
          } }
        }
        return comparison(lhs, rhs, { ($0 == $1) != negate }) { a, b in (a == b) != negate }
      case .and:
        let l = compileCondition(lhs), r = compileCondition(rhs)
        return made { { f in try l(f) && r(f) } }
      case .or:
        let l = compileCondition(lhs), r = compileCondition(rhs)
        return made { { f in try l(f) || r(f) } }
      default: break
      }
    }
    if case .unary(.not, let operand) = e.kind {
      let c = compileCondition(operand)
      return made { { f in !(try c(f)) } }
    }
    let c = compileExpr(e)
    return made { { f in try c(f).isTruthy } }
  }

  private func compileBinary(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, range: SourceRange) -> ExprCode {
    switch op {
    case .and:
      let l = compileExpr(lhs), r = compileExpr(rhs)
      return made { { f in
        let a = try l(f)
        return a.isTruthy ? try r(f) : a
      } }
    case .or:
      let l = compileExpr(lhs), r = compileExpr(rhs)
      return made { { f in
        let a = try l(f)
        return a.isTruthy ? a : try r(f)
      } }
    case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
      let c = compileCondition(Expr(.binary(op, lhs, rhs), range))
      return made { { f in .bool(try c(f)) } }
    default: break
    }
    let limits = interp.limits
    switch op {
    case .add:
      return intSpecialized(lhs, rhs, fast: { a, b in
        let (s, o) = a.addingReportingOverflow(b)
        return o ? nil : .int(s)
      }, slow: { a, b in try Operators.add(a, b, range, limits: limits) })
    case .subtract:
      return intSpecialized(lhs, rhs, fast: { a, b in
        let (s, o) = a.subtractingReportingOverflow(b)
        return o ? nil : .int(s)
      }, slow: { a, b in try Operators.arithmetic(.subtract, a, b, range) })
    case .multiply:
      return intSpecialized(lhs, rhs, fast: { a, b in
        let (s, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : .int(s)
      }, slow: { a, b in try Operators.arithmetic(.multiply, a, b, range) })
    case .remainder:
      return intSpecialized(lhs, rhs, fast: { a, b in b > 0 && a >= 0 ? .int(a % b) : nil },
                            slow: { a, b in try Operators.arithmetic(.remainder, a, b, range) })
    default:
      let l = compileExpr(lhs), r = compileExpr(rhs)
      return made { { f in try Operators.binary(op, l(f), r(f), range: range, limits: limits) } }
    }
  }


  /// `"\(prefix)\(n)"` written into one buffer: making the digits a string
  /// of their own and then joining two strings was a tenth of a loop of
  /// `"item-${i}"`.
  static func appendingDecimal(_ n: Int, to prefix: String) -> String {
    var prefix = prefix
    var length = n < 0 ? 2 : 1
    var rest = n.magnitude / 10
    while rest > 0 {
      length += 1
      rest /= 10
    }
    // The exact size: a result of up to 15 bytes is stored in the string itself, not allocated.
    return prefix.withUTF8 { head in
      String(unsafeUninitializedCapacity: head.count + length) { buffer in
        guard let out = buffer.baseAddress else { return 0 }
        if let source = head.baseAddress { out.update(from: source, count: head.count) }
        var at = head.count
        if n < 0 {
          out[at] = UInt8(ascii: "-")
          at += 1
        }
        var magnitude = n.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, most significant last
        let count = withUnsafeMutableBytes(of: &digits) { scratch in
          var k = 0
          repeat {
            scratch[k] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            k += 1
          } while magnitude > 0
          for j in 0..<k { out[at + j] = scratch[k - 1 - j] }
          return k
        }
        return at + count
      }
    }
  }

  /// How an operand can be read: straight from a slot, as a constant, or by running code.
  enum Operand {
    case slot(Int)
    case constant(Int)
    case code(ExprCode)
  }

  func operand(_ e: Expr) -> Operand {
    if case .intLiteral(let i) = e.kind { return .constant(i) }
    if case .name(let n) = e.kind, let r = resolve(n, range: e.range) {
      if registerRecording > 0 { registerHints.names[.init(e.range)] = r.resolution }
      if case .slot(let s) = r.resolution { return .slot(s) }
      return .code(loadCode(r.resolution))
    }
    return .code(compileExpr(e))
  }

  /// Code for an int operation with a fast path when both operands are ints,
  /// specialised so slot and constant operands cost no closure call.
  func intSpecialized(
    _ lhs: Expr, _ rhs: Expr, fast: @escaping (Int, Int) -> Value?, slow: @escaping (Value, Value) throws -> Value
  ) -> ExprCode {
    switch (operand(lhs), operand(rhs)) {
    case (.slot(let a), .constant(let k)):
      let kv = Value.int(k)
      return made { { f in
        let x = f.slots[a]
        if case .int(let i) = x, let v = fast(i, k) { return v }
        return try slow(x, kv)
      } }
    case (.slot(let a), .slot(let b)):
      return made { { f in
        let x = f.slots[a], y = f.slots[b]
        if case .int(let i) = x, case .int(let j) = y, let v = fast(i, j) { return v }
        return try slow(x, y)
      } }
    case (.code(let l), .constant(let k)):
      let kv = Value.int(k)
      return made { { f in
        let x = try l(f)
        if case .int(let i) = x, let v = fast(i, k) { return v }
        return try slow(x, kv)
      } }
    case (let lo, let ro):
      let l = code(lo), r = code(ro)
      return made { { f in
        let x = try l(f), y = try r(f)
        if case .int(let i) = x, case .int(let j) = y, let v = fast(i, j) { return v }
        return try slow(x, y)
      } }
    }
  }

  func code(_ o: Operand) -> ExprCode {
    switch o {
    case .slot(let s): return made { { f in f.slots[s] } }
    case .constant(let k):
      let v = Value.int(k)
      return made { { _ in v } }
    case .code(let c): return c
    }
  }

  /// A comparison of two operands as a Bool, with int fast paths.
  func comparison(_ lhs: Expr, _ rhs: Expr, _ test: @escaping (Int, Int) -> Bool, slow: @escaping (Value, Value) throws -> Bool) -> CondCode {
    switch (operand(lhs), operand(rhs)) {
    case (.slot(let a), .constant(let k)):
      let kv = Value.int(k)
      return made { { f in
        let x = f.slots[a]
        if case .int(let i) = x { return test(i, k) }
        return try slow(x, kv)
      } }
    case (.slot(let a), .slot(let b)):
      return made { { f in
        let x = f.slots[a], y = f.slots[b]
        if case .int(let i) = x, case .int(let j) = y { return test(i, j) }
        return try slow(x, y)
      } }
    case (.code(let l), .constant(let k)):
      let kv = Value.int(k)
      return made { { f in
        let x = try l(f)
        if case .int(let i) = x { return test(i, k) }
        return try slow(x, kv)
      } }
    case (let lo, let ro):
      let l = code(lo), r = code(ro)
      return made { { f in
        let x = try l(f), y = try r(f)
        if case .int(let i) = x, case .int(let j) = y { return test(i, j) }
        return try slow(x, y)
      } }
    }
  }

  // MARK: - Steps

  private func compileStep(nameExpr: Expr, body: Block, range: SourceRange) -> ExprCode {
    let name = compileExpr(nameExpr)
    // The step's value lives in a hidden local of the enclosing code.
    let resultSlot: Resolution
    if fn.isMain {
      guard let s = globals.allocate() else {
        error("too many names in the main program (more than \(globals.capacity))", range)
        return made { { _ in .null } }
      }
      resultSlot = .slot(s)
    } else {
      resultSlot = .slot(fn.nextSlot)
      fn.nextSlot += 1
      fn.maxSlots = max(fn.maxSlots, fn.nextSlot)
    }
    let load = loadCode(resultSlot), store = storeCode(resultSlot)
    let savedLoopDepth = fn.loopDepth
    fn.loopDepth = 0
    fn.stepDepth += 1
    let b = compileBlock(body, tail: .store(store))
    fn.stepDepth -= 1
    fn.loopDepth = savedLoopDepth
    let interp = self.interp
    let headerRange = nameExpr.range.union(SourceRange(file: range.file, start: range.start, end: nameExpr.range.end))
    return made { { f in
      let stepName = try name(f).displayString
      try store(f, .null)
      let outer = interp.currentStep
      interp.currentStep = stepName
      interp.host.stepStarted(stepName, range: headerRange)
      do {
        _ = try b(f)
      } catch var e as RuntimeError {
        if e.stepName == nil { e.stepName = stepName }
        interp.currentStep = outer
        interp.host.stepFinished(stepName, error: e)
        throw e
      }
      interp.currentStep = outer
      interp.host.stepFinished(stepName, error: nil)
      let v = try load(f)
      try store(f, .null)
      return v
    } }
  }
}
