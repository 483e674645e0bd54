import RunbookLanguage

extension Compiler {
  // MARK: - Calls

  func compileCall(callee: Expr, arguments: [Argument], range: SourceRange) -> ExprCode {
    if case .runbookFile(let path, let pathRange) = callee.kind {
      return compileRunbookCall(path: path, pathRange: pathRange, arguments: arguments, range: range)
    }
    let labels = arguments.map { $0.label?.name }
    let argCodes = arguments.map { ExprBox(compileExpr($0.value)) }
    let interp = self.interp

    if case .name(let name) = callee.kind {
      guard let resolved = resolve(name, range: callee.range, preferCallable: true) else {
        let candidates = Array(globals.bindings.keys) + fn.scopes.names + registry.builtins.keys
        // The hint names the listing of wherever the user is: the REPL's own command, else the CLI's.
        let listing = isREPL ? "type `:builtins` to list the built-ins" : "run `runbook builtins` to list the built-ins"
        let hint = closestName(to: name, in: candidates).map { "; did you mean `\($0)`?" } ?? "; \(listing)"
        error("unknown function `\(name)`\(hint)", callee.range, code: "unknown_function")
        return made { { _ in .null } }
      }
      if case .builtin(let builtin) = resolved.resolution {
        return compileBuiltinCall(builtin, arguments: arguments, argCodes: argCodes, range: range)
      }
      if case .function(let signature)? = resolved.binding?.kind {
        return compileStaticUserCall(
          signature, code: resolved.binding?.functionCode, load: loadCode(resolved.resolution), arguments: arguments,
          argCodes: argCodes, range: range)
      }
    }

    let calleeCode = compileExpr(callee)
    return made { { f in
      let target = try calleeCode(f)
      guard case .function(let box) = target else {
        throw RuntimeError("cannot call \(target.typeName); only functions can be called", code: "type_error", range: callee.range)
      }
      var values: [Value] = []
      values.reserveCapacity(argCodes.count)
      for c in argCodes { values.append(try c.run(f)) }
      do {
        return try interp.call(box, arguments: values, labels: labels, range: range)
      } catch var e as RuntimeError where e.code == "argument_error" && e.range == nil {
        e.range = range
        throw e
      }
    } }
  }

  /// The range of the argument an argument error points at.
  private func argumentRange(_ error: RuntimeError, _ arguments: [Argument], _ fallback: SourceRange) -> SourceRange {
    guard case .int(let i) = error.details, i < arguments.count else { return fallback }
    let a = arguments[i]
    return a.label.map { $0.range.union(a.value.range) } ?? a.value.range
  }

  private func compileStaticUserCall(
    _ signature: FunctionSignature, code knownCode: CompiledFunction?, load: @escaping ExprCode, arguments: [Argument],
    argCodes: [ExprBox], range: SourceRange
  ) -> ExprCode {
    let binding: ArgumentBinding
    do {
      binding = try ArgumentBinding.bind(
        parameters: signature.parameters.map { ($0.0, $0.1, false) }, labels: arguments.map { $0.label?.name },
        functionName: signature.name)
    } catch let e as RuntimeError {
      error(e.message, argumentRange(e, arguments, range))
      return made { { _ in .null } }
    } catch { return made { { _ in .null } } }
    // Arguments are evaluated in source order, straight into the callee's slots.
    var writes: [(argument: Int, slot: Int)] = []
    for (p, source) in binding.sources.enumerated() {
      if case .argument(let a) = source { writes.append((a, p)) }
    }
    writes.sort { $0.argument < $1.argument }
    let plan = writes.map { (argCodes[$0.argument], $0.slot) }
    let defaulted = binding.defaulted
    let interp = self.interp
    let name = signature.name

    // A top-level function captures nothing: call its code directly.
    if let code = knownCode {
      if registerRecording > 0, defaulted.isEmpty, arguments.count == signature.parameters.count,
        binding.sources.enumerated().allSatisfy({ p, source in
          if case .argument(let a) = source { return a == p }
          return false
        })
      {
        registerHints.calls[.init(range)] = code
      }
      if plan.count == 1 {
        let arg = plan[0].0.run, slot = plan[0].1
        return made { { f in try interp.invoke(code, closure: nil, range: range, defaulted: defaulted) { slots in slots[slot] = try arg(f) } } }
      }
      return made { { f in
        try interp.invoke(code, closure: nil, range: range, defaulted: defaulted) { slots in
          for (arg, slot) in plan { slots[slot] = try arg.run(f) }
        }
      } }
    }
    return made { { f in
      guard case .function(let box) = try load(f), let closure = box.closure else {
        throw RuntimeError("`\(name)` is not defined yet", code: "name_error", range: range)
      }
      return try interp.invoke(closure.code, closure: closure, range: range, defaulted: defaulted) { slots in
        for (arg, slot) in plan { slots[slot] = try arg.run(f) }
      }
    } }
  }

  /// `runbook "setup.runbook"(name: value, ...)`: checks the arguments
  /// against the callee's params (unknown, missing, visibly ill-typed) and
  /// runs it as a unit; its outputs are the call's value.
  private func compileRunbookCall(path: String, pathRange: SourceRange, arguments: [Argument], range: SourceRange) -> ExprCode {
    let argCodes = arguments.map { compileExpr($0.value) }
    guard let loader = runbookLoader else {
      error("a runbook cannot be called here", range)
      return made { { _ in .null } }
    }
    let (loaded, problems) = calledRunbooks[path].map { ($0, []) } ?? loader(path, pathRange)
    diagnostics += problems
    guard let callee = loaded else { return made { { _ in .null } } }
    calledRunbooks[path] = callee
    let name = callee.displayName
    var given: [String: SourceRange] = [:]
    let declared = callee.program.params
    for argument in arguments {
      guard let label = argument.label else {
        error("pass the params of `\(name)` by name: runbook \"\(path)\"(param: value)", argument.value.range, code: "argument_error")
        continue
      }
      if given[label.name] != nil {
        error("param `\(label.name)` of `\(name)` is given twice", label.range, code: "argument_error")
        continue
      }
      given[label.name] = label.range
      guard let param = declared.first(where: { $0.name == label.name }) else {
        let names = declared.map(\.name)
        let listing = names.isEmpty ? "it declares no params" : "its params: \(names.joined(separator: ", "))"
        error("`\(name)` has no param `\(label.name)`\(didYouMean(label.name, in: names)) (\(listing))", label.range,
              code: "unknown_param")
        continue
      }
      if let t = staticType(argument.value), !param.type.acceptsStatic(t) {
        error("param `\(param.name)` of `\(name)` must be \(param.type.article) \(param.type.rawValue), not \(t.rawValue)",
              argument.value.range, code: "type_mismatch")
      }
    }
    for param in declared where param.isRequired && given[param.name] == nil {
      error("missing param `\(param.name)` (\(param.type.rawValue)) in the call of `\(name)`", range, code: "missing_param")
    }
    let labels = arguments.map { $0.label?.name }
    return made { { f in
      var values: [String: Value] = [:]
      for (i, code) in argCodes.enumerated() {
        let v = try code(f)
        if let label = labels[i] { values[label] = v }
      }
      return try callee.call(values, range: range)
    } }
  }

  private func compileBuiltinCall(_ builtin: Builtin, arguments: [Argument], argCodes: [ExprBox], range: SourceRange) -> ExprCode {
    let binding: ArgumentBinding
    do {
      binding = try ArgumentBinding.bind(
        parameters: builtin.bindingParameters, labels: arguments.map { $0.label?.name }, functionName: builtin.name)
    } catch let e as RuntimeError {
      error(e.message, argumentRange(e, arguments, range))
      return made { { _ in .null } }
    } catch { return made { { _ in .null } } }
    checkArgumentTypes(builtin, arguments: arguments, binding: binding)
    let interp = self.interp
    return made { { f in
      var values: [Value] = []
      values.reserveCapacity(argCodes.count)
      for c in argCodes { values.append(try c.run(f)) }
      return try interp.runBuiltin(builtin, binding: binding, values: values, range: range)
    } }
  }

  /// Reports arguments whose static type the built-in's parameter refuses.
  private func checkArgumentTypes(_ builtin: Builtin, arguments: [Argument], binding: ArgumentBinding) {
    for (p, source) in binding.sources.enumerated() {
      guard case .argument(let a) = source else { continue }
      let param = builtin.parameters[p]
      if let t = staticType(arguments[a].value), !param.type.acceptsStatic(t), !(t == .null && param.acceptsNil) {
        error("argument `\(param.name)` of `\(builtin.name)` must be \(param.type.article) \(param.type.rawValue), not \(t.rawValue)",
              arguments[a].value.range)
      }
    }
  }

  // MARK: - Assignment

  func compileAssignment(target: Expr, op: AssignOp, value: Expr, range: SourceRange) -> StmtCode {
    guard let rootName = assignmentRoot(target) else {
      error("cannot assign to this expression; assign to a variable, an element `x[i]` or a field `x.name`", target.range)
      return made { { _ in .normal } }
    }
    guard let resolved = resolve(rootName.name, range: rootName.range, forReading: op != .assign || !isName(target)) else {
      reportUndefined(rootName.name, range: rootName.range)
      return made { { _ in .normal } }
    }
    guard checkAssignable(rootName, resolved, wholeVariable: isName(target)) else { return made { { _ in .normal } } }
    if registerRecording > 0, isName(target) { registerHints.targets[.init(target.range)] = resolved.resolution }
    if op == .assign, isName(target), let appending = compileSelfAppend(rootName.name, resolved.resolution, value: value, range: range) {
      return appending
    }
    let c = compileExpr(value)
    let binaryOp: BinaryOp? = {
      switch op {
      case .assign: return nil
      case .add: return .add
      case .subtract: return .subtract
      case .multiply: return .multiply
      case .divide: return .divide
      }
    }()

    if isName(target) {
      if op == .assign {
        let store = storeCode(resolved.resolution)
        return made { { f in try store(f, c(f)); return .normal } }
      }
      let storage = withStorage(resolved.resolution)
      let limits = interp.limits
      let combine = compoundCombiner(binaryOp!, range: range)
      if case .list(let items) = value.kind, op == .add {
        // `xs += [a, b]` appends in place without building the right-hand list.
        let itemCodes = items.map { ExprBox(compileExpr($0)) }
        if itemCodes.count == 1 {
          let item = itemCodes[0].run
          return made { { f in
            let added = try item(f)
            try storage(f) { slot in
              if case .list = slot { try Compiler.appendInPlace(&slot, added, limits: limits, range) } else {
                slot = try Operators.add(slot, .list([added]), range, limits: limits)
              }
            }
            return .normal
          } }
        }
        return made { { f in
          var added: [Value] = []
          added.reserveCapacity(itemCodes.count)
          for ic in itemCodes { added.append(try ic.run(f)) }
          try storage(f) { slot in
            if case .list = slot { try Compiler.appendInPlace(&slot, added, limits: limits, range) } else {
              slot = try Operators.add(slot, .list(added), range, limits: limits)
            }
          }
          return .normal
        } }
      }
      return made { { f in
        let v = try c(f)
        try storage(f) { slot in try combine(&slot, v) }
        return .normal
      } }
    }

    let update = compileUpdate(target, insertIfMissing: op == .assign)
    let combine = binaryOp.map { compoundCombiner($0, range: range) }
    return made { { f in
      let v = try c(f)
      try update(f) { slot in
        if let combine { try combine(&slot, v) } else { slot = v }
      }
      return .normal
    } }
  }

  private func isName(_ e: Expr) -> Bool { if case .name = e.kind { return true }; return false }
  private func isName(_ e: Expr, _ name: String) -> Bool { if case .name(let n) = e.kind { return n == name }; return false }

  /// `x = append(x, v)`, `x = x + [a, b]` (or `x + list`) and `x = x + "text"`:
  /// when the list or string in `x` is held by nothing else once the
  /// right-hand side is evaluated, the new elements go into its buffer,
  /// amortised O(1) per element, instead of into a copy (O(n), so a loop of
  /// appends was quadratic). The result is the same: `x` is read before the
  /// other operand is evaluated, and if `x` then holds another value, or its
  /// list is shared, the general operation runs on the value read. Nil for
  /// any other assignment.
  private func compileSelfAppend(_ name: String, _ resolution: Resolution, value: Expr, range: SourceRange) -> StmtCode? {
    let storage = withStorage(resolution)
    let limits = interp.limits
    switch value.kind {
    case .call(let callee, let arguments):
      guard case .name(let function) = callee.kind, function == "append", arguments.count == 2,
        let resolved = resolve(function, range: callee.range, preferCallable: true),
        case .builtin(let builtin) = resolved.resolution, builtin.name == "append",
        let binding = try? ArgumentBinding.bind(
          parameters: builtin.bindingParameters, labels: arguments.map { $0.label?.name }, functionName: builtin.name),
        case .argument(let listArgument) = binding.sources[0], isName(arguments[listArgument].value, name)
      else { return nil }
      checkArgumentTypes(builtin, arguments: arguments, binding: binding)
      let first = compileExpr(arguments[0].value), second = compileExpr(arguments[1].value)
      let interp = self.interp
      let callRange = value.range
      return made { { f in
        // In argument order, as a call evaluates them.
        var values = [try first(f), try second(f)]
        try storage(f) { slot in
          if Compiler.holdsSameList(slot, values[listArgument]) {
            values[listArgument] = .null
            try Compiler.appendInPlace(&slot, [values[1 - listArgument]], limits: limits, callRange)
          } else {
            slot = try interp.runBuiltin(builtin, binding: binding, values: values, range: callRange)
          }
        }
        return .normal
      } }
    case .binary(.add, let lhs, let rhs):
      let appendable: Bool = {
        if case .list = rhs.kind { return true }
        return staticType(rhs) == .list || staticType(rhs) == .string
      }()
      guard isName(lhs, name), appendable else { return nil }
      checkOperandTypes(.add, lhs, rhs, range: value.range)
      let left = compileExpr(lhs), right = compileExpr(rhs)
      let addRange = value.range
      return made { { f in
        var old = try left(f)
        let added = try right(f)
        try storage(f) { slot in try Compiler.addToSelf(&slot, old: &old, added, addRange, limits) }
        return .normal
      } }
    default:
      return nil
    }
  }

  /// Whether `a` and `b` are the same list box. A function of its own, so
  /// that no binding of the boxes outlives the test (it would make the box
  /// look shared).
  static func holdsSameList(_ a: Value, _ b: Value) -> Bool {
    if case .list(let x) = a, case .list(let y) = b { return x === y }
    return false
  }

  /// Whether `a` and `b` are equal strings (O(1) when they share storage,
  /// as a variable and the value just read from it do).
  static func holdsEqualString(_ a: Value, _ b: Value) -> Bool {
    if case .string(let x) = a, case .string(let y) = b { return x == y }
    return false
  }

  /// The variable at the root of `x`, `x[i]`, `x.f[j]`...
  private func assignmentRoot(_ e: Expr) -> Identifier? {
    switch e.kind {
    case .name(let n): return Identifier(n, e.range)
    case .index(let base, _), .member(let base, _): return assignmentRoot(base)
    default: return nil
    }
  }

  private func checkAssignable(_ name: Identifier, _ resolved: ResolvedName, wholeVariable: Bool) -> Bool {
    let verb = wholeVariable ? "assign to" : "modify"
    guard let binding = resolved.binding else {
      error("cannot \(verb) `\(name.name)`: it is a built-in function", name.range)
      return false
    }
    switch binding.kind {
    case .function:
      error("cannot \(verb) `\(name.name)`: it is a function declared with `fn`", name.range)
      return false
    case .runbookParam:
      error("cannot \(verb) `\(name.name)`: it is a runbook param; copy it into a `var` first", name.range)
      return false
    case .variable, .parameter:
      if !binding.isMutable {
        error("cannot \(verb) `\(name.name)`: it is declared with `let`; declare it with `var` to change it", name.range)
        return false
      }
      return true
    }
  }

  private func compoundCombiner(_ op: BinaryOp, range: SourceRange) -> (inout Value, Value) throws -> Void {
    let limits = interp.limits
    return { slot, v in try Compiler.combine(op, &slot, v, range, limits) }
  }

  /// `slot = old + added`, as `x = x + y` compiles (closures and register
  /// code alike): appended in place when `slot` still holds the list or
  /// string read into `old` before `added` was evaluated.
  static func addToSelf(_ slot: inout Value, old: inout Value, _ added: Value, _ range: SourceRange, _ limits: ResourceLimits) throws {
    if case .int(let a) = old, case .int(let b) = added, let r = RegisterCode.intBinary(.add, a, b) {
      slot = r
    } else if Compiler.holdsSameList(slot, old), case .list(let more) = added {
      old = .null
      try Compiler.appendInPlace(&slot, more.items, limits: limits, range)
    } else if case .string(let tail) = added, Compiler.holdsEqualString(slot, old) {
      old = .null
      try Compiler.appendInPlace(&slot, string: tail, limits: limits, range)
    } else {
      slot = try Operators.add(old, added, range, limits: limits)
    }
    old = .null
  }

  /// `slot op= v` (closures and register code alike), appends in place included.
  static func combine(_ op: BinaryOp, _ slot: inout Value, _ v: Value, _ range: SourceRange, _ limits: ResourceLimits) throws {
    if case .int(let a) = slot, case .int(let b) = v, let r = RegisterCode.intBinary(op, a, b) {
      slot = r
      return
    }
    if op == .add {
      if case .list = slot, case .list(let add) = v { try Compiler.appendInPlace(&slot, add.items, limits: limits, range); return }
      if case .string = slot, case .string(let tail) = v { try Compiler.appendInPlace(&slot, string: tail, limits: limits, range); return }
    }
    slot = try Operators.binary(op, slot, v, range: range, limits: limits)
  }

  /// Appends to the list in `slot`, copying it first only if it is shared.
  static func appendInPlace(_ slot: inout Value, _ items: [Value], limits: ResourceLimits, _ range: SourceRange) throws {
    guard case .list(var box) = slot else { return }
    try limits.checkSum(box.items.count, items.count, isString: false, range)
    slot = .null
    if !isKnownUniquelyReferenced(&box) { box = ListBox(box.items) }
    box.items.append(contentsOf: items)
    slot = .list(box)
  }

  /// Appends one value to the list in `slot` (`xs += [x]`), copying it first only if it is shared.
  static func appendInPlace(_ slot: inout Value, _ item: Value, limits: ResourceLimits, _ range: SourceRange) throws {
    guard case .list(var box) = slot else { return }
    try limits.checkSum(box.items.count, 1, isString: false, range)
    slot = .null
    if !isKnownUniquelyReferenced(&box) { box = ListBox(box.items) }
    box.items.append(item)
    slot = .list(box)
  }

  /// Appends to the string in `slot`, in its own buffer when nothing else holds it.
  static func appendInPlace(_ slot: inout Value, string tail: String, limits: ResourceLimits, _ range: SourceRange) throws {
    guard case .string(var text) = slot else { return }
    try limits.checkSum(text.utf8.count, tail.utf8.count, isString: true, range)
    slot = .null
    text += tail
    slot = .string(text)
  }

  typealias Update = (Frame, (inout Value) throws -> Void) throws -> Void

  /// In-place access to the storage an assignment target denotes, copying
  /// shared lists and maps on the way down (copy on write).
  private func compileUpdate(_ target: Expr, insertIfMissing: Bool) -> Update {
    let range = target.range
    switch target.kind {
    case .name(let n):
      guard let r = resolve(n, range: range, forReading: false) else { return made { { _, _ in } } }
      return withStorage(r.resolution)
    case .index(let base, let indexExpr):
      let parent = compileUpdate(base, insertIfMissing: false)
      let index = compileExpr(indexExpr)
      return made { { f, body in
        let i = try index(f)
        try parent(f) { container in
          try Compiler.updateElement(&container, index: i, insertIfMissing: insertIfMissing, range: range, body)
        }
      } }
    case .member(let base, let name):
      let parent = compileUpdate(base, insertIfMissing: false)
      let key = Value.string(name.name)
      return made { { f, body in
        try parent(f) { container in
          guard case .map = container else {
            throw RuntimeError("cannot set field `\(name.name)` on \(container.typeName); only maps have fields", code: "type_error", range: range)
          }
          try Compiler.updateElement(&container, index: key, insertIfMissing: insertIfMissing, range: range, body)
        }
      } }
    default:
      return made { { _, _ in } }
    }
  }

  static func updateElement(
    _ container: inout Value, index: Value, insertIfMissing: Bool, range: SourceRange, _ body: (inout Value) throws -> Void
  ) throws {
    // `guard case` rather than `switch`: a switch keeps a copy of the subject
    // alive, so the box would never look uniquely referenced.
    if case .list(var box) = container {
      container = .null
      if !isKnownUniquelyReferenced(&box) { box = ListBox(box.items) }
      defer { container = .list(box) }
      let i = try Operators.listIndex(index, count: box.items.count, range)
      try body(&box.items[i])
      return
    }
    if case .map(var box) = container {
      container = .null
      if !isKnownUniquelyReferenced(&box) { box = box.copy() }
      defer { container = .map(box) }
      let key = try Operators.requireMapKey(index, range)
      if let pos = box.position(of: key) {
        try body(&box.values[pos])
      } else if insertIfMissing {
        var v = Value.null
        try body(&v)
        box[key] = v
      } else {
        throw RuntimeError("key \(index.repr) not found in map\(Operators.keysHint(box))", code: "key_error", range: range)
      }
      return
    }
    if case .string = container {
      throw RuntimeError("strings cannot be changed in place; build a new string instead", code: "type_error", range: range)
    }
    throw RuntimeError("cannot assign into \(container.typeName) with `[]`", code: "type_error", range: range)
  }
}

extension BuiltinParameter {
  var acceptsNil: Bool {
    if isOptional { return true }
    if case .value(.null) = defaultValue { return true }
    return false
  }
}

extension Builtin {
  /// Checks argument values against declared parameter types before the
  /// implementation runs, so every built-in reports bad arguments the same way.
  func checkTypes(_ args: Arguments, range: SourceRange?) throws {
    for (i, p) in parameters.enumerated() where p.type != .any {
      if p.isVariadic {
        for v in args.rest where !p.type.accepts(v) {
          throw RuntimeError("arguments of `\(name)` must be \(p.type.article) \(p.type.rawValue), not \(v.typeName)", code: "type_error", range: range)
        }
        continue
      }
      let v = args.values[i]
      if p.type.accepts(v) { continue }
      if case .null = v, p.acceptsNil { continue }
      throw RuntimeError("argument `\(p.name)` of `\(name)` must be \(p.type.article) \(p.type.rawValue), not \(v.typeName)",
                         code: "type_error", range: range)
    }
  }
}
