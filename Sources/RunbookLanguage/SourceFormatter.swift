/// The canonical layout of runbook source (`runbook fmt`).
///
/// The layout is a function of the syntax tree and the comments only, so
/// formatting is idempotent: two-space indentation; one statement per line;
/// at most one blank line between statements (kept where the source had
/// one), none after `{` or before `}`; blocks always on their own lines
/// except an anonymous function whose body is one short expression
/// (`fn(x) { x * 2 }`); calls, lists and maps on one line when they fit in
/// `width` columns, else one element per line with a trailing comma;
/// `require`/`fail` messages move to an indented line when the statement is
/// too long; map keys bare when they are names; minimal parentheses.
/// Literals keep their source spelling (`1_000`, `1h30m`, escapes and
/// `"""` strings). Comments stay before, or at the end of, the line they
/// were on; a comment inside an expression that cannot break there moves to
/// the end of the statement.
///
/// `format` refuses text with syntax errors, and checks its own result: the
/// output must parse to the same tree (`sexpr`) and keep every comment.
public struct SourceFormatter {
  public var width: Int

  public init(width: Int = 100) { self.width = width }

  public enum Failure: Error, CustomStringConvertible {
    /// The input does not parse; nothing was formatted.
    case syntax([Diagnostic])
    /// The formatter's output would change the meaning or lose a comment
    /// (a bug in the formatter); the input is left as it was.
    case unsafe(String)

    public var description: String {
      switch self {
      case .syntax(let d): return d.map { $0.render() }.joined()
      case .unsafe(let why): return why
      }
    }
  }

  /// The formatted text of `file`.
  public func format(_ file: SourceFile) throws(Failure) -> String {
    let (unit, diagnostics) = Parser.parse(file)
    if diagnostics.contains(where: { $0.severity == .error }) { throw .syntax(diagnostics) }
    let comments = Lexer.comments(in: file)
    var printer = LayoutPrinter(file: file, comments: comments, width: width)
    printer.statements(unit.statements, indent: 0, closingOffset: file.bytes.count)
    let output = printer.finish()

    let reformatted = SourceFile(path: file.path, text: output)
    let (again, againDiagnostics) = Parser.parse(reformatted)
    if againDiagnostics.contains(where: { $0.severity == .error }) {
      throw .unsafe("the formatted text does not parse:\n" + againDiagnostics.map { $0.render() }.joined())
    }
    if again.sexpr != unit.sexpr { throw .unsafe("formatting would change the meaning of \(file.path)") }
    let keptComments = Lexer.comments(in: reformatted).map { reformatted.slice($0) }
    if keptComments != comments.map({ file.slice($0) }) {
      throw .unsafe("formatting would lose or reorder a comment of \(file.path)")
    }
    return output
  }
}

/// Walks the tree in source order, writing lines and placing each comment
/// (a queue in source order) before or after the construct it was next to.
struct LayoutPrinter {
  let file: SourceFile
  let comments: [SourceRange]
  let width: Int
  private var nextComment = 0
  private var lines: [String] = []
  private var current = ""

  init(file: SourceFile, comments: [SourceRange], width: Int) {
    self.file = file
    self.comments = comments
    self.width = width
  }

  mutating func finish() -> String {
    if current.trimmingCharacters() != "" { lines.append(current) }
    current = ""
    while lines.last == "" { lines.removeLast() }
    return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
  }

  // MARK: - Lines and comments

  private mutating func newLine(indent: Int) {
    lines.append(current)
    current = String(repeating: " ", count: indent)
  }

  private mutating func blankLine() {
    if lines.last != "" { lines.append("") }
  }

  private func line(of offset: Int) -> Int { file.location(of: offset).line }

  /// True when the source between two offsets holds an empty line.
  private func blankBetween(_ from: Int, _ to: Int) -> Bool {
    guard from < to else { return false }
    var newlines = 0
    var onlySpace = true
    for b in file.bytes[from..<to] {
      if b == 0x0A {
        if onlySpace, newlines >= 1 { return true }
        newlines += 1
        onlySpace = true
      } else if b != 0x20 && b != 0x09 && b != 0x0D {
        onlySpace = false
      }
    }
    return false
  }

  private func hasComment(in start: Int, _ end: Int) -> Bool {
    comments[nextComment...].contains { $0.start >= start && $0.start < end }
  }

  /// Comments that start before `offset`, each on its own line at `indent`;
  /// `previousEnd` is where the last printed item ended (for blank lines).
  private mutating func leadingComments(before offset: Int, indent: Int, previousEnd: inout Int?, keepBlankLines: Bool) {
    while nextComment < comments.count, comments[nextComment].start < offset {
      let c = comments[nextComment]
      if keepBlankLines, let end = previousEnd, blankBetween(end, c.start) { blankLine() }
      if current.trimmingCharacters() != "" { newLine(indent: indent) }
      current = String(repeating: " ", count: indent) + file.slice(c)
      newLine(indent: indent)
      previousEnd = c.end
      nextComment += 1
    }
  }

  /// Comments on the source line of `offset` (and before `limit`), appended to the current line.
  private mutating func trailingComments(onLineOf offset: Int, before limit: Int) {
    let sourceLine = line(of: offset)
    while nextComment < comments.count, comments[nextComment].start < limit,
      line(of: comments[nextComment].start) == sourceLine
    {
      current += " " + file.slice(comments[nextComment])
      nextComment += 1
    }
  }

  /// Comments left before `limit` (inside a construct that could not place
  /// them): at the end of the current line, then on lines of their own.
  private mutating func remainingComments(before limit: Int, indent: Int) {
    var first = true
    while nextComment < comments.count, comments[nextComment].start < limit {
      if first { current += " " + file.slice(comments[nextComment]) } else {
        newLine(indent: indent)
        current += file.slice(comments[nextComment])
      }
      first = false
      nextComment += 1
    }
  }

  // MARK: - Statements

  /// Statements of a block or file, then the comments before `closingOffset`.
  /// Starts on an empty pending line and leaves one.
  mutating func statements(_ statements: [Stmt], indent: Int, closingOffset: Int) {
    var previousEnd: Int? = nil
    for (i, stmt) in statements.enumerated() {
      leadingComments(before: stmt.range.start, indent: indent, previousEnd: &previousEnd, keepBlankLines: true)
      if let end = previousEnd, blankBetween(end, stmt.range.start) { blankLine() }
      current = String(repeating: " ", count: indent)
      let firstLine = lines.count
      statement(stmt, indent: indent)
      remainingComments(before: stmt.range.end, indent: indent)
      let nextStart = i + 1 < statements.count ? statements[i + 1].range.start : closingOffset
      if line(of: stmt.range.start) == line(of: stmt.range.end), lines.count > firstLine {
        // A one-line statement laid out on several lines (`fn f() { return 1 } # why`):
        // its comment stays on its first line.
        let last = current
        current = lines[firstLine]
        trailingComments(onLineOf: stmt.range.end, before: nextStart)
        lines[firstLine] = current
        current = last
      } else {
        trailingComments(onLineOf: stmt.range.end, before: nextStart)
      }
      newLine(indent: indent)
      previousEnd = stmt.range.end
    }
    leadingComments(before: closingOffset, indent: indent, previousEnd: &previousEnd, keepBlankLines: true)
  }

  mutating func statement(_ stmt: Stmt, indent: Int) {
    switch stmt.kind {
    case .expression(let e):
      expression(e, indent: indent)
    case .binding(let name, let isMutable, let value):
      current += (isMutable ? "var " : "let ") + name.name + " = "
      expression(value, indent: indent)
    case .assign(let target, let op, let value):
      expression(target, indent: indent)
      current += " \(op.rawValue) "
      expression(value, indent: indent)
    case .ifElse(let branches, let elseBody):
      for (i, branch) in branches.enumerated() {
        current += i == 0 ? "if " : " else if "
        expression(branch.condition, indent: indent, inHead: true)
        block(branch.body, indent: indent)
      }
      if let elseBody {
        current += " else"
        block(elseBody, indent: indent)
      }
    case .forIn(let first, let second, let iterable, let body):
      current += "for " + first.name + (second.map { ", " + $0.name } ?? "") + " in "
      expression(iterable, indent: indent, inHead: true)
      block(body, indent: indent)
    case .whileLoop(let condition, let body):
      current += "while "
      expression(condition, indent: indent, inHead: true)
      block(body, indent: indent)
    case .breakLoop: current += "break"
    case .continueLoop: current += "continue"
    case .returnValue(let value):
      current += "return"
      if let value {
        current += " "
        expression(value, indent: indent)
      }
    case .function(let decl):
      current += "fn " + (decl.name?.name ?? "") + parameterList(decl.parameters, indent: indent)
      block(decl.body, indent: indent)
    case .param(let p):
      current += "param " + p.name.name + ": " + p.type.name
      if let d = p.defaultValue {
        current += " = "
        expression(d, indent: indent)
      }
      if let doc = p.doc { current += " " + quotedStringLiteral(doc) }
    case .require(let condition, let message):
      current += "require "
      expression(condition, indent: indent)
      if let message { messagePart(message, indent: indent) }
    case .fail(let message, let code):
      current += "fail "
      expression(message, indent: indent)
      if let code { messagePart(code, indent: indent) }
    case .tryCatch(let body, let errorName, let handler):
      current += "try"
      block(body, indent: indent)
      current += " catch" + (errorName.map { " " + $0.name } ?? "")
      block(handler, indent: indent)
    case .output(let name, let value):
      current += "output " + name.name + " = "
      expression(value, indent: indent)
    case .importFile(_, let pathRange):
      current += "import " + file.slice(pathRange)
    }
  }

  /// `, EXPR` after `require`/`fail`: on the same line when it fits, else on the next, indented.
  private mutating func messagePart(_ e: Expr, indent: Int) {
    current += ","
    // Only when the line so far fits: moving a short code after a long message helps nothing.
    if let flat = flat(e), current.count + 1 + flat.count > width, current.count <= width {
      newLine(indent: indent + 2)
      current += flat
    } else {
      current += " "
      expression(e, indent: indent)
    }
  }

  private func parameterList(_ parameters: [FunctionParam], indent: Int) -> String {
    "(" + parameters.map { p in p.name.name + (p.defaultValue.map { " = " + (flat($0) ?? flatText($0)) } ?? "") }
      .joined(separator: ", ") + ")"
  }

  /// ` {` + the statements + `}` (or ` {}` when empty).
  private mutating func block(_ block: Block, indent: Int) {
    if block.statements.isEmpty, !hasComment(in: block.range.start, block.range.end) {
      current += " {}"
      return
    }
    current += " {"
    trailingComments(onLineOf: block.range.start, before: block.range.end)
    newLine(indent: indent + 2)
    statements(block.statements, indent: indent + 2, closingOffset: block.range.end - 1)
    current = String(repeating: " ", count: indent) + "}"
  }

  // MARK: - Expressions

  /// Binding strength, as in grammar/runbook.ebnf: or 1, and 2, not 3,
  /// comparisons 4, + - 5, * / % 6, prefix - 7, postfix and primaries 8.
  private func precedence(_ e: Expr) -> Int {
    switch e.kind {
    case .binary(let op, _, _):
      switch op {
      case .or: return 1
      case .and: return 2
      case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .contains, .notContains: return 4
      case .add, .subtract: return 5
      case .multiply, .divide, .remainder: return 6
      }
    case .unary(.not, _): return 3
    case .unary(.negate, _): return 7
    default: return 8
    }
  }

  /// The source spelling of a literal, without parentheses around it.
  private func literalText(_ e: Expr) -> String {
    var text = Substring(file.slice(e.range))
    while text.hasPrefix("("), text.hasSuffix(")") {
      text = text.dropFirst().dropLast()
      text = text.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
      while let last = text.last, last == " " || last == "\t" || last == "\n" || last == "\r" { text = text.dropLast() }
    }
    return String(text)
  }

  private static func isName(_ key: String) -> Bool {
    guard let first = key.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
    return key.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
  }

  /// An operand in parentheses when it binds more loosely than `minimum`,
  /// or when it is a map literal in the head of an `if`/`for`/`while`
  /// (where `{` would start the block).
  private func needsParentheses(_ e: Expr, minimum: Int, inHead: Bool) -> Bool {
    if precedence(e) < minimum { return true }
    if inHead, case .map = e.kind { return true }
    return false
  }

  /// The expression on one line, or nil when it cannot be (a block with
  /// statements, a comment inside).
  func flat(_ e: Expr, inHead: Bool = false) -> String? {
    if hasComment(in: e.range.start, e.range.end) { return nil }
    return flatOrNil(e, inHead: inHead)
  }

  /// One-line text regardless of comments; nil only for multi-line blocks.
  func flatText(_ e: Expr, inHead: Bool = false) -> String {
    flatOrNil(e, inHead: inHead) ?? file.slice(e.range)
  }

  private func flatOrNil(_ e: Expr, inHead: Bool) -> String? {
    func operand(_ x: Expr, _ minimum: Int) -> String? {
      let paren = needsParentheses(x, minimum: minimum, inHead: inHead)
      guard let t = flatOrNil(x, inHead: inHead && !paren) else { return nil }
      return paren ? "(" + t + ")" : t
    }
    switch e.kind {
    case .nilLiteral: return "nil"
    case .boolLiteral(let b): return b ? "true" : "false"
    case .intLiteral, .floatLiteral, .durationLiteral, .stringLiteral, .interpolation:
      let text = literalText(e)
      return text.contains("\n") ? nil : text
    case .name(let n): return n
    case .list(let items):
      var parts: [String] = []
      for item in items { guard let t = flatOrNil(item, inHead: false) else { return nil }; parts.append(t) }
      return "[" + parts.joined(separator: ", ") + "]"
    case .map(let entries):
      var parts: [String] = []
      for entry in entries {
        guard let t = flatOrNil(entry.value, inHead: false) else { return nil }
        parts.append(mapKey(entry.key) + ": " + t)
      }
      return "{" + parts.joined(separator: ", ") + "}"
    case .unary(let op, let x):
      guard let t = operand(x, op == .not ? 3 : 7) else { return nil }
      return (op == .not ? "not " : "-") + t
    case .binary(let op, let l, let r):
      let p = precedence(e)
      let comparison = p == 4
      guard let lt = operand(l, comparison ? 5 : p), let rt = operand(r, p + 1) else { return nil }
      return lt + " \(op.rawValue) " + rt
    case .call(let callee, let arguments):
      guard let c = operand(callee, 8) else { return nil }
      var parts: [String] = []
      for a in arguments { guard let t = argument(a) else { return nil }; parts.append(t) }
      return c + "(" + parts.joined(separator: ", ") + ")"
    case .member(let base, let name):
      guard let b = operand(base, 8) else { return nil }
      return b + "." + name.name
    case .index(let base, let index):
      guard let b = operand(base, 8), let i = flatOrNil(index, inHead: false) else { return nil }
      return b + "[" + i + "]"
    case .function(let decl):
      guard let body = inlineBody(decl.body) else { return nil }
      return "fn" + parameterList(decl.parameters, indent: 0) + body
    case .step(let name, let body):
      guard body.statements.isEmpty else { return nil }
      return "step " + literalText(name) + " {}"
    case .runbookFile(_, let pathRange): return "runbook " + file.slice(pathRange)
    case .invalid: return nil
    }
  }

  private func argument(_ a: Argument) -> String? {
    guard let v = flatOrNil(a.value, inHead: false) else { return nil }
    return (a.label.map { $0.name + ": " } ?? "") + v
  }

  private func mapKey(_ key: String) -> String {
    LayoutPrinter.isName(key) ? key : quotedStringLiteral(key)
  }

  /// ` { EXPR }` for a function body of one expression or `return`, else nil.
  private func inlineBody(_ body: Block) -> String? {
    if body.statements.isEmpty { return hasComment(in: body.range.start, body.range.end) ? nil : " {}" }
    guard body.statements.count == 1, !hasComment(in: body.range.start, body.range.end) else { return nil }
    switch body.statements[0].kind {
    case .expression(let x):
      return flatOrNil(x, inHead: false).map { " { " + $0 + " }" }
    case .returnValue(let x?):
      return flatOrNil(x, inHead: false).map { " { return " + $0 + " }" }
    default: return nil
    }
  }

  /// Writes `e` starting at the end of the current line: flat when it fits,
  /// else broken at its outermost call, list or map (recursively).
  mutating func expression(_ e: Expr, indent: Int, inHead: Bool = false) {
    if let t = flat(e, inHead: inHead), current.count + t.count <= width {
      current += t
      return
    }
    func operand(_ x: Expr, _ minimum: Int) {
      let paren = needsParentheses(x, minimum: minimum, inHead: inHead)
      if paren { current += "(" }
      expression(x, indent: indent, inHead: inHead && !paren)
      if paren { current += ")" }
    }
    switch e.kind {
    case .list(let items):
      elements(items.map { ($0.range, nil, $0) }, open: "[", close: "]", range: e.range, indent: indent)
    case .map(let entries):
      elements(entries.map { ($0.keyRange.union($0.value.range), mapKey($0.key) + ": ", $0.value) },
               open: "{", close: "}", range: e.range, indent: indent)
    case .call(let callee, let arguments):
      operand(callee, 8)
      let argumentsRange = SourceRange(file: file, start: callee.range.end, end: e.range.end)
      // A last argument that is a function or step keeps its `{` on the call's line.
      if let last = arguments.last, endsWithBlock(last.value),
        arguments.dropLast().allSatisfy({ flat($0.value) != nil }), !hasComment(in: callee.range.end, last.value.range.start)
      {
        current += "(" + arguments.dropLast().map { argument($0)! + ", " }.joined() + (last.label.map { $0.name + ": " } ?? "")
        expression(last.value, indent: indent)
        current += ")"
        return
      }
      elements(arguments.map { a in (a.label.map { $0.range.union(a.value.range) } ?? a.value.range, a.label.map { $0.name + ": " }, a.value) },
               open: "(", close: ")", range: argumentsRange, indent: indent)
    case .binary(let op, let l, let r):
      let p = precedence(e)
      operand(l, p == 4 ? 5 : p)
      current += " \(op.rawValue) "
      operand(r, p + 1)
    case .unary(let op, let x):
      current += op == .not ? "not " : "-"
      operand(x, op == .not ? 3 : 7)
    case .member(let base, let name):
      operand(base, 8)
      current += "." + name.name
    case .index(let base, let index):
      operand(base, 8)
      current += "["
      expression(index, indent: indent)
      current += "]"
    case .function(let decl):
      current += "fn" + parameterList(decl.parameters, indent: indent)
      if let inline = inlineBody(decl.body), current.count + inline.count <= width {
        current += inline
      } else {
        block(decl.body, indent: indent)
      }
    case .step(let name, let body):
      current += "step " + literalText(name)
      block(body, indent: indent)
    default:
      current += literalText(e)
    }
  }

  /// A function or step, or a call whose last argument ends with one (and
  /// whose other arguments fit on a line): `map(xs, fn(x) {` hugs its `{`.
  private func endsWithBlock(_ e: Expr) -> Bool {
    switch e.kind {
    case .function, .step: return true
    case .call(_, let arguments):
      guard let last = arguments.last else { return false }
      return endsWithBlock(last.value) && arguments.dropLast().allSatisfy { flat($0.value) != nil }
    default: return false
    }
  }

  /// A bracketed list broken one element per line, each with a trailing comma;
  /// comments before an element go on their own lines, after it at its end.
  private mutating func elements(
    _ items: [(range: SourceRange, prefix: String?, value: Expr)], open: String, close: String, range: SourceRange, indent: Int
  ) {
    current += open
    if items.isEmpty, !hasComment(in: range.start, range.end) {
      current += close
      return
    }
    let inner = indent + 2
    trailingComments(onLineOf: range.start, before: items.first?.range.start ?? range.end)
    var previousEnd: Int? = nil
    for (i, item) in items.enumerated() {
      if current.trimmingCharacters() != "" { newLine(indent: inner) }
      leadingComments(before: item.range.start, indent: inner, previousEnd: &previousEnd, keepBlankLines: false)
      current = String(repeating: " ", count: inner) + (item.prefix ?? "")
      expression(item.value, indent: inner)
      current += ","
      let nextStart = i + 1 < items.count ? items[i + 1].range.start : range.end
      trailingComments(onLineOf: item.range.end, before: nextStart)
      previousEnd = item.range.end
    }
    newLine(indent: inner)
    leadingComments(before: range.end - 1, indent: inner, previousEnd: &previousEnd, keepBlankLines: false)
    current = String(repeating: " ", count: indent) + close
  }
}

extension String {
  fileprivate func trimmingCharacters() -> String {
    String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}
