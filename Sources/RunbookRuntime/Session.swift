import Foundation
import RunbookLanguage

/// A declared `param` of a runbook, as the CLI and REPL show it.
public struct ParamInfo: Sendable {
  public var name: String
  public var type: ValueType
  public var defaultText: String?
  public var doc: String?
  public var range: SourceRange
  public var isRequired: Bool { defaultText == nil }
}

/// A file compiled with its imports, ready to run in the session that compiled it.
public final class Program {
  public let params: [ParamInfo]
  /// Warnings (a program is only made when there are no errors).
  public let diagnostics: [Diagnostic]
  /// The runbook's `output`s and their shapes: what calling it returns.
  public let outputShapes: [(name: String, shape: Shape)]
  let code: [StmtCode]
  init(params: [ParamInfo], diagnostics: [Diagnostic], outputShapes: [(name: String, shape: Shape)], code: [StmtCode]) {
    self.params = params; self.diagnostics = diagnostics; self.outputShapes = outputShapes; self.code = code
  }
}

/// A runbook called from another (`runbook "x.runbook"(...)`): compiled once
/// in a session of its own (its names do not mix with the caller's) that
/// shares the caller's built-ins and host, so its steps nest under the
/// caller's open step in plans and journals.
public final class CalledRunbook {
  let session: Session
  let program: Program
  /// The path as diagnostics show it.
  public let displayName: String

  init(session: Session, program: Program, displayName: String) {
    self.session = session; self.program = program; self.displayName = displayName
  }

  /// Runs the runbook with `values` as its params; its outputs, as a record.
  func call(_ values: [String: Value], range: SourceRange) throws -> Value {
    session.io.paramValues = [:]
    session.io.outputs = []
    let problems = session.bindParams(program, strings: [:], values: values)
    if !problems.isEmpty {
      throw RuntimeError("calling `\(displayName)`: " + problems.map(\.message).joined(separator: "; "),
                         code: "param_error", range: range)
    }
    session.interpreter.clearCancellation()
    for code in program.code { _ = try code(session.interpreter.mainFrame) }
    return .record(fields: session.io.outputs)
  }
}

public struct RunOutcome {
  public var diagnostics: [Diagnostic]
  public var error: RuntimeError?
  public var outputs: [(name: String, value: Value)]
  public var succeeded: Bool { error == nil && !diagnostics.contains { $0.severity == .error } }
  /// True when the run stopped before running anything (syntax, check or param errors).
  public var failedBeforeRunning: Bool { diagnostics.contains { $0.severity == .error } }
}

public struct EvaluationOutcome {
  public var diagnostics: [Diagnostic]
  public var error: RuntimeError?
  /// The value of the entry's last expression statement, if it had one.
  public var value: Value?
  /// The text ended inside an unfinished construct; ask for more input.
  public var isIncomplete: Bool
  public var succeeded: Bool { error == nil && !diagnostics.contains { $0.severity == .error } }
}

/// One program run or one REPL session: an interpreter plus the top-level
/// names, params and outputs that persist between the files and lines it runs.
public final class Session {
  public let interpreter: Interpreter
  let globals: GlobalScope
  let io = ProgramIO()
  private var loadedFiles: Set<String> = []
  /// The syntax of every file compiled, kept as long as the session: the
  /// code holds on to pieces of it anyway, and freeing a large file's tree
  /// node by node as soon as it was compiled took a tenth of checking it
  /// (`runbook check` exits without tearing its sessions down).
  private var compiledSyntax: [SourceUnit] = []
  /// False while `check` runs: function bodies are compiled for their
  /// diagnostics and their code dropped at once.
  private var makesCode = true
  /// The size in bytes from which `check` streams a file (`checkStreaming`):
  /// two passes, so that its syntax is never all in memory. A smaller
  /// file is parsed once, whole: under 128 KiB its tree takes a few MiB,
  /// and the first pass would cost more than it saves (a sixth of
  /// checking a 200-line runbook made mostly of top-level steps, which
  /// the first pass parses in full). Tests set 0 to stream every file.
  public var checkStreamingThreshold = 128 * 1024
  /// The main file's text while `compile(path:text:)` runs.
  private var mainText: String? = nil
  private var replEntries = 0
  /// The runbooks whose calls led to this session (canonical paths), to reject cycles.
  private var callers: [String] = []
  /// Runbooks called from this session's files, by canonical path.
  private var called: [String: CalledRunbook] = [:]

  public convenience init(registry: BuiltinRegistry, host: InterpreterHost, environment: EnvironmentVariables = .process) {
    self.init(registry: registry, host: host, environment: environment, globalCapacity: Interpreter.defaultGlobalCapacity)
  }

  /// A session holding at most `globalCapacity` top-level names (tests use a small one).
  init(registry: BuiltinRegistry, host: InterpreterHost, environment: EnvironmentVariables, globalCapacity: Int) {
    interpreter = Interpreter(host: host, registry: registry, environment: environment, globalCapacity: globalCapacity)
    globals = GlobalScope(capacity: interpreter.globalCapacity) { [interpreter] in interpreter.prepareGlobal($0) }
  }

  public var outputs: [(name: String, value: Value)] { io.outputs }
  public func cancel() {
    interpreter.cancel()
    for runbook in called.values { runbook.session.cancel() }
  }

  /// Names defined at the top level so far (for completion).
  public var globalNames: [String] { globals.bindings.filter { $0.value.isDeclared }.keys.sorted() }

  /// The current value of a top-level name.
  public func global(_ name: String) -> Value? {
    guard let b = globals.bindings[name], b.isDeclared else { return nil }
    return interpreter.globals[b.slot]
  }

  /// The text of every secret the session holds (in params and top-level
  /// names): the REPL keeps entries quoting one out of its history.
  public var secretTexts: [String] {
    let values = globalNames.compactMap(global) + Array(io.paramValues.values)
    return Array(Set(values.flatMap(\.secretTexts).filter { !$0.isEmpty }))
  }

  // MARK: - Files

  /// The diagnostics of a file and everything it imports, as `compile`
  /// reports them, without keeping code for its functions: their memory is
  /// reused function by function, and what only speeds up running (the
  /// register machine's code) is not made.
  public func check(path: String, text: String? = nil) -> [Diagnostic] {
    makesCode = false
    defer { makesCode = true }
    return compile(path: path, text: text).diagnostics
  }

  /// Parses and checks a file and everything it imports, without running it.
  /// `text`: the main file's text when it is not (yet) what is on disk (an
  /// editor's buffer); imports and called runbooks are still read from disk.
  public func compile(path: String, text: String? = nil) -> (program: Program?, diagnostics: [Diagnostic]) {
    onLargeStack { [self] in
      mainText = text
      defer { mainText = nil }
      var diagnostics: [Diagnostic] = interpreter.limitsProblem.map { [Diagnostic(.error, $0, at: nil)] } ?? []
      var codes: [StmtCode] = []
      var params: [ParamInfo] = []
      var outputs: [(name: String, shape: Shape)] = []
      let snapshot = (globals.bindings, globals.nextSlot)
      self.compileFile(
        path: Session.canonical(path), importedFrom: nil, chain: [], isImported: false,
        diagnostics: &diagnostics, codes: &codes, params: &params, outputs: &outputs)
      diagnostics = Session.sorted(diagnostics)
      if diagnostics.contains(where: { $0.severity == .error }) {
        (globals.bindings, globals.nextSlot) = snapshot
        return (nil, diagnostics)
      }
      return (Program(params: params, diagnostics: diagnostics, outputShapes: outputs, code: codes), diagnostics)
    }
  }

  /// Diagnostics in source order, file by file (located ones first).
  static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
    diagnostics.enumerated().sorted { a, b in
      switch (a.element.range, b.element.range) {
      case let (x?, y?):
        if x.file.path != y.file.path { return a.offset < b.offset }
        return x.start != y.start ? x.start < y.start : a.offset < b.offset
      default: return a.offset < b.offset
      }
    }.map(\.element)
  }

  /// The absolute path with `.` and `..` resolved (what a standardized file
  /// URL's path is, without building one: that was a twentieth of checking
  /// a small runbook).
  static func canonical(_ path: String) -> String {
    let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    var parts: [Substring] = []
    for part in absolute.split(separator: "/") {
      switch part {
      case ".": continue
      case "..": if !parts.isEmpty { parts.removeLast() }
      default: parts.append(part)
      }
    }
    // Appended as Strings, not `joined` or `+=` of a Substring: those
    // generic functions look up a protocol conformance at their first use,
    // a scan of the whole binary (0.3 ms each).
    var canonical = ""
    for part in parts {
      canonical.append("/")
      canonical.append(String(part))
    }
    return canonical.isEmpty ? "/" : canonical
  }

  private func compileFile(
    path: String, importedFrom: SourceRange?, chain: [String], isImported: Bool,
    diagnostics: inout [Diagnostic], codes: inout [StmtCode], params: inout [ParamInfo],
    outputs: inout [(name: String, shape: Shape)]
  ) {
    if loadedFiles.contains(path) { return }
    let displayPath = Session.displayPath(path)
    let given = importedFrom == nil && !isImported ? mainText : nil
    // The text read goes out of scope here: the file keeps its bytes only.
    let read: SourceFile? = given.map { SourceFile(path: displayPath, text: $0) }
      ?? FileManager.default.contents(atPath: path).flatMap { SourceFile(path: displayPath, utf8: [UInt8]($0)) }
    guard let file = read else {
      let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable UTF-8 text" : "no such file"
      diagnostics.append(Diagnostic(.error, "cannot read `\(displayPath)`: \(reason)", at: importedFrom))
      return
    }
    if !makesCode, file.bytes.count >= checkStreamingThreshold, checkStreaming(file, path: path, chain: chain, isImported: isImported,
                                  diagnostics: &diagnostics, codes: &codes, params: &params, outputs: &outputs) {
      return
    }
    let (unit, syntax) = Parser.parse(file)
    diagnostics += syntax
    if syntax.contains(where: { $0.severity == .error }) { return }
    let compiler = beginFile(unit, path: path, chain: chain, isImported: isImported,
                             diagnostics: &diagnostics, codes: &codes, params: &params, outputs: &outputs)
    codes.append(compiler.compileUnit(unit, isImported: isImported))
    compiledSyntax.append(unit)
    endFile(compiler, isImported: isImported, diagnostics: &diagnostics, params: &params, outputs: &outputs)
  }

  /// Checks a file whose top level parses, without its syntax ever being all
  /// in memory: a first pass parses the top level only (every top-level
  /// name, so a body may use one declared further down), and then each
  /// top-level statement is compiled as soon as it is parsed and dropped.
  /// Reports what `compile` would. False, with nothing done, when the top
  /// level has a syntax error (the caller then parses the whole file).
  private func checkStreaming(
    _ file: SourceFile, path: String, chain: [String], isImported: Bool,
    diagnostics: inout [Diagnostic], codes: inout [StmtCode], params: inout [ParamInfo],
    outputs: inout [(name: String, shape: Shape)]
  ) -> Bool {
    let (declarations, topLevelSyntax) = Parser.parseDeclarations(file)
    if topLevelSyntax.contains(where: { $0.severity == .error }) { return false }
    let before = (diagnostics.count, codes.count, params.count, outputs, loadedFiles, globals.bindings, globals.nextSlot)
    let compiler = beginFile(declarations, path: path, chain: chain, isImported: isImported,
                             diagnostics: &diagnostics, codes: &codes, params: &params, outputs: &outputs)
    _ = compiler.beginUnit(declarations: declarations, isImported: isImported)
    var sequence = Compiler.StatementSequence()
    var dropped: [StmtBox] = []
    // The second pass must find the statements the first did (it skipped
    // bodies by their bytes); where it does not, the file is compiled whole.
    var handed = 0
    var diverged = false
    let syntax = Parser.parseEachStatement(file) { statement in
      guard !diverged else { return }
      guard handed < declarations.statements.count, declarations.statements[handed].range == statement.range else {
        diverged = true
        return
      }
      handed += 1
      compiler.compileNext(statement, in: &sequence, isLast: false, tail: .discard, into: &dropped)
      dropped.removeAll(keepingCapacity: true)
    }
    let syntaxFailed = syntax.contains(where: { $0.severity == .error })
    if syntaxFailed || diverged || handed != declarations.statements.count {
      // A syntax error inside a body is found only now: the file then
      // reports its syntax alone, as `compile` does, and what was done
      // for it is undone.
      diagnostics.removeSubrange(before.0...)
      codes.removeSubrange(before.1...)
      params.removeSubrange(before.2...)
      (outputs, loadedFiles, globals.bindings, globals.nextSlot) = (before.3, before.4, before.5, before.6)
      guard syntaxFailed else { return false }
      diagnostics += syntax
      return true
    }
    diagnostics += syntax
    compiler.endUnit(declarations: declarations)
    endFile(compiler, isImported: isImported, diagnostics: &diagnostics, params: &params, outputs: &outputs)
    return true
  }

  /// Compiles a parsed file's imports (first, in order, each once), reports
  /// what an imported file may not declare, and makes the compiler for its
  /// own statements, with its top-level names declared. `unit` may be the
  /// file's top level only (`Parser.parseDeclarations`).
  private func beginFile(
    _ unit: SourceUnit, path: String, chain: [String], isImported: Bool,
    diagnostics: inout [Diagnostic], codes: inout [StmtCode], params: inout [ParamInfo],
    outputs: inout [(name: String, shape: Shape)]
  ) -> Compiler {
    loadedFiles.insert(path)

    // Imports run first, in order, each once.
    let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    for stmt in unit.statements {
      guard case .importFile(let relative, let pathRange) = stmt.kind else { continue }
      let target = Session.resolve(relative, in: directory)
      if target == path || chain.contains(target) {
        let cycle = (chain + [path, target]).drop { $0 != target }.map(Session.displayPath).joined(separator: " -> ")
        diagnostics.append(.error("import cycle: \(cycle)", at: pathRange, code: "import_cycle"))
        continue
      }
      compileFile(path: target, importedFrom: pathRange, chain: chain + [path], isImported: true,
                  diagnostics: &diagnostics, codes: &codes, params: &params, outputs: &outputs)
    }
    if isImported {
      for stmt in unit.statements {
        switch stmt.kind {
        case .param: diagnostics.append(.error("an imported file cannot declare a `param`; declare it in the main runbook", at: stmt.range))
        case .output: diagnostics.append(.error("an imported file cannot declare an `output`; declare it in the main runbook", at: stmt.range))
        default: break
        }
      }
    }
    let compiler = Compiler(interpreter: interpreter, globals: globals, io: io, isREPL: false,
                            mainUsesCells: mainProgramNeedsCells(unit.statements))
    compiler.makesCode = makesCode
    compiler.runbookLoader = { [unowned self] relative, range in
      self.loadRunbook(Session.resolve(relative, in: directory), calledFrom: path, at: range)
    }
    return compiler
  }

  /// Takes a compiled file's findings, params and outputs into the session's.
  private func endFile(
    _ compiler: Compiler, isImported: Bool,
    diagnostics: inout [Diagnostic], params: inout [ParamInfo], outputs: inout [(name: String, shape: Shape)]
  ) {
    diagnostics += compiler.diagnostics
    if !isImported { outputs = compiler.outputShapes }
    params += compiler.declaredParams.map { p in
      ParamInfo(name: p.name.name, type: ValueType(declared: p.type.name) ?? .any,
                defaultText: p.defaultValue?.range.text, doc: p.doc, range: p.name.range)
    }
  }

  /// Compiles a called runbook in a session of its own (once per path).
  /// A runbook that calls itself, directly or through others, is an error.
  private func loadRunbook(_ target: String, calledFrom path: String, at range: SourceRange) -> (CalledRunbook?, [Diagnostic]) {
    if let known = called[target] { return (known, []) }
    if target == path || callers.contains(target) {
      let cycle = (callers + [path, target]).drop { $0 != target }.map(Session.displayPath).joined(separator: " -> ")
      return (nil, [.error("runbook cycle: \(cycle)", at: range, code: "runbook_cycle")])
    }
    let child = Session(registry: interpreter.registry, host: interpreter.host, environment: interpreter.environment)
    child.callers = callers + [path]
    let (program, found) = child.compile(path: target)
    // The callee's own warnings belong to checking that file; its errors stop the caller too.
    let errors = found.filter { $0.severity == .error }
    guard let program else {
      let note = Diagnostic(.note, "called here", at: range)
      return (nil, errors.isEmpty ? [.error("`\(Session.displayPath(target))` cannot be called", at: range)] : errors.map {
        var d = $0
        if d.range == nil { d.range = range } else { d.notes.append(note) }  // an unreadable file is reported at the call
        return d
      })
    }
    let runbook = CalledRunbook(session: child, program: program, displayName: Session.displayPath(target))
    called[target] = runbook
    return (runbook, [])
  }

  /// Paths relative to the working directory when under it, as compilers print them.
  /// A path named in a runbook (`import`, `runbook "…"`): absolute as it is,
  /// otherwise relative to the naming file's folder.
  static func resolve(_ path: String, in directory: String) -> String {
    canonical(path.hasPrefix("/") ? path : directory + "/" + path)
  }

  static func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    if path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
    return path
  }

  /// Converts `--param name=value` texts and JSON values to the declared
  /// types; reports unknown, missing and ill-typed params before anything runs.
  public func bindParams(_ program: Program, strings: [String: String], values: [String: Value] = [:]) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    let declared = Dictionary(program.params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for name in Set(strings.keys).union(values.keys).sorted() where declared[name] == nil {
      let known = program.params.map(\.name)
      let hint = closestName(to: name, in: known).map { "; did you mean `\($0)`?" }
        ?? (known.isEmpty ? "; this runbook declares no params" : "; its params: \(known.joined(separator: ", "))")
      problems.append(.error("unknown param `\(name)`\(hint)", at: nil))
    }
    for p in program.params {
      if let v = values[p.name] {
        if p.type == .secret, case .string(let text) = v { io.paramValues[p.name] = .secret(text) }
        else if p.type.accepts(v) { io.paramValues[p.name] = v } else {
          problems.append(Diagnostic(.error, "param `\(p.name)` must be \(p.type.article) \(p.type.rawValue), not \(v.typeName)", at: p.range))
        }
      } else if let text = strings[p.name] {
        switch ParamParsing.parse(text, as: p.type) {
        case .success(let v): io.paramValues[p.name] = v
        case .failure(let message):
          problems.append(Diagnostic(.error, "param `\(p.name)`: \(message)", at: p.range))
        }
      } else if p.isRequired {
        problems.append(Diagnostic(.error, "missing required param `\(p.name)` (\(p.type.rawValue)); pass it with --param \(p.name)=VALUE", at: p.range))
      }
    }
    return problems
  }

  /// Runs a compiled program; params must have been bound.
  public func run(_ program: Program) -> RunOutcome {
    onLargeStack { [self] in
      interpreter.clearCancellation()
      do {
        for code in program.code { _ = try code(interpreter.mainFrame) }
        return RunOutcome(diagnostics: program.diagnostics, error: nil, outputs: io.outputs)
      } catch let e as RuntimeError {
        return RunOutcome(diagnostics: program.diagnostics, error: e, outputs: io.outputs)
      } catch {
        return RunOutcome(diagnostics: program.diagnostics, error: RuntimeError("\(error)"), outputs: io.outputs)
      }
    }
  }

  /// Compiles, binds params and runs a file: the whole of `runbook run`.
  public func runFile(path: String, params: [String: String] = [:], values: [String: Value] = [:]) -> RunOutcome {
    let (program, diagnostics) = compile(path: path)
    guard let program else { return RunOutcome(diagnostics: diagnostics, error: nil, outputs: []) }
    let problems = bindParams(program, strings: params, values: values)
    if !problems.isEmpty { return RunOutcome(diagnostics: diagnostics + problems, error: nil, outputs: []) }
    return run(program)
  }

  // MARK: - REPL entries

  /// Whether a REPL entry ends inside an unfinished construct.
  public static func isIncomplete(_ source: String) -> Bool {
    let (_, diagnostics) = Parser.parse(SourceFile(path: "<repl>", text: source))
    return awaitsMoreInput(diagnostics)
  }

  /// Whether more lines could make an entry with these syntax errors valid:
  /// some error is at the end of the input (an open brace, bracket or
  /// triple-quoted string) and none is one that no later line can fix (an
  /// unterminated one-line string, an unexpected token before the end).
  static func awaitsMoreInput(_ syntax: [Diagnostic]) -> Bool {
    let errors = syntax.filter { $0.severity == .error }
    return !errors.isEmpty && errors.allSatisfy(\.isIncompleteInput)
  }

  /// Parses, checks and runs one REPL entry as a continuation of the session.
  public func evaluate(_ source: String, path: String = "<repl>") -> EvaluationOutcome {
    onLargeStack { [self] in
      replEntries += 1
      let file = SourceFile(path: path, text: source)
      let (unit, syntax) = Parser.parse(file)
      if syntax.contains(where: { $0.severity == .error }) {
        return EvaluationOutcome(diagnostics: syntax, error: nil, value: nil, isIncomplete: Session.awaitsMoreInput(syntax))
      }
      if let imp = unit.statements.first(where: { if case .importFile = $0.kind { return true }; return false }) {
        return EvaluationOutcome(diagnostics: [.error("`import` is not available in the REPL; use `:load FILE`", at: imp.range)],
                                 error: nil, value: nil, isIncomplete: false)
      }
      let snapshot = (globals.bindings, globals.nextSlot)
      let compiler = Compiler(interpreter: interpreter, globals: globals, io: io, isREPL: true,
                              mainUsesCells: mainProgramNeedsCells(unit.statements))
      // At the prompt, a called runbook's path is relative to the working directory.
      let cwd = FileManager.default.currentDirectoryPath
      compiler.runbookLoader = { [unowned self] relative, range in
        self.loadRunbook(Session.resolve(relative, in: cwd), calledFrom: path, at: range)
      }
      // A trailing expression is evaluated separately so its value can be shown.
      if case .expression(let e)? = unit.statements.last?.kind {
        let body = compiler.compileUnit(SourceUnit(file: file, statements: unit.statements.dropLast()), isImported: false)
        let tail = compiler.compileExpr(e)
        return finishEvaluation(compiler, snapshot: snapshot) {
          _ = try body(self.interpreter.mainFrame)
          return try tail(self.interpreter.mainFrame)
        }
      }
      let body = compiler.compileUnit(unit, isImported: false)
      return finishEvaluation(compiler, snapshot: snapshot) {
        _ = try body(self.interpreter.mainFrame)
        return nil
      }
    }
  }

  private func finishEvaluation(
    _ compiler: Compiler, snapshot: ([String: Binding], Int), run: () throws -> Value?
  ) -> EvaluationOutcome {
    let diagnostics = Session.sorted(compiler.diagnostics)
    if diagnostics.contains(where: { $0.severity == .error }) {
      (globals.bindings, globals.nextSlot) = snapshot
      return EvaluationOutcome(diagnostics: diagnostics, error: nil, value: nil, isIncomplete: false)
    }
    interpreter.clearCancellation()
    do {
      let v = try run()
      return EvaluationOutcome(diagnostics: diagnostics, error: nil, value: v, isIncomplete: false)
    } catch let e as RuntimeError {
      return EvaluationOutcome(diagnostics: diagnostics, error: e, value: nil, isIncomplete: false)
    } catch {
      return EvaluationOutcome(diagnostics: diagnostics, error: RuntimeError("\(error)"), value: nil, isIncomplete: false)
    }
  }

  /// Forgets every name, output and loaded file.
  public func reset() {
    globals.bindings = [:]
    globals.nextSlot = 0
    for i in 0..<interpreter.preparedGlobals { interpreter.globals[i] = .null; interpreter.globalCells[i] = nil }
    io.outputs = []
    io.paramValues = [:]
    loadedFiles = []
    compiledSyntax = []
  }
}

/// Runs interpreter work on a thread with a large stack, so deep (but
/// bounded) recursion in a runbook ends in a clean error, not a crash.
private final class LargeStackWork<T>: @unchecked Sendable {
  var result: T? = nil
  var work: (() -> T)? = nil
}

func onLargeStack<T>(_ body: @escaping () -> T) -> T {
  let box = LargeStackWork<T>()
  box.work = body
  let done = DispatchSemaphore(value: 0)
  let thread = Thread {
    box.result = box.work!()
    box.work = nil
    done.signal()
  }
  thread.stackSize = 1 << 29
  thread.start()
  done.wait()
  return box.result!
}

/// Parsing of param values given as text on the command line.
public enum ParamParsing {
  public enum Result { case success(Value), failure(String) }

  public static func parse(_ text: String, as type: ValueType) -> Result {
    switch type {
    case .string, .any: return .success(.string(text))
    case .secret: return .success(.secret(text))
    case .int:
      guard let i = Int(text.replacingOccurrences(of: "_", with: "")) else { return .failure("expected an int, got \"\(text)\"") }
      return .success(.int(i))
    case .float, .number:
      guard let d = Double(text) else { return .failure("expected a float, got \"\(text)\"") }
      return .success(.float(d))
    case .bool:
      // Only the language's own literals, in any case: `yes`, `1` or `on`
      // silently meaning true is how a typo changes what a runbook does.
      switch text.lowercased() {
      case "true": return .success(.bool(true))
      case "false": return .success(.bool(false))
      default: return .failure("expected true or false, got \"\(text)\"")
      }
    case .duration:
      guard let ms = parseDuration(text) else { return .failure("expected a duration such as 30s, 10m or 2h, got \"\(text)\"") }
      return .success(.duration(ms))
    case .list, .map:
      let v: Value
      do { v = try JSONReader.parse(text) } catch {
        return .failure("expected a JSON \(type.rawValue), got \"\(text)\" (\(error.message) at column \(error.column))")
      }
      guard type.accepts(v) else { return .failure("expected a JSON \(type.rawValue), got \"\(text)\"") }
      return .success(v)
    default: return .failure("params of type \(type.rawValue) are not supported")
    }
  }

  /// `1h30m`, `500ms`, `2.5s` -> milliseconds.
  public static func parseDuration(_ text: String) -> Int? {
    var total = 0.0
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
      let number = rest.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let value = Double(number) else { return nil }
      rest = rest.dropFirst(number.count)
      let unit = rest.prefix { $0.isLetter }
      rest = rest.dropFirst(unit.count)
      guard let scale = durationUnitMilliseconds(unit) else { return nil }
      total += value * Double(scale)
    }
    // Past 64-bit milliseconds (about 292 million years) there is no duration.
    guard total.isFinite, total.rounded() < 9_223_372_036_854_775_808.0 else { return nil }
    return Int(total.rounded())
  }
}

