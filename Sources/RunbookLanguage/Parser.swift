/// A recursive-descent parser for runbook. It never throws: syntax errors
/// become diagnostics, and it resynchronises at statement boundaries so one
/// run reports every error in a file. Productions are in `grammar/runbook.ebnf`;
/// each parse function names its rule in a comment and, when tracing, records it.
public struct Parser {
  /// Deepest allowed nesting of expressions and blocks.
  public static let maxNesting = 200

  /// Parses a whole file.
  public static func parse(_ file: SourceFile) -> (unit: SourceUnit, diagnostics: [Diagnostic]) {
    let result = run(file, tracing: false)
    return (result.unit, result.diagnostics)
  }

  /// Parses a whole file and reports which grammar productions were used.
  public static func parseTracingProductions(_ file: SourceFile) -> (
    unit: SourceUnit, diagnostics: [Diagnostic], productions: Set<String>
  ) {
    run(file, tracing: true)
  }

  /// Parses the file's top level only: the bodies of top-level `fn`
  /// declarations are skipped (their blocks are empty, their ranges
  /// exact). What a checker needs before any body: every top-level name.
  /// Errors inside the skipped bodies are not found.
  public static func parseDeclarations(_ file: SourceFile) -> (unit: SourceUnit, diagnostics: [Diagnostic]) {
    let result = run(file, tracing: false, skipsFunctionBodies: true)
    return (result.unit, result.diagnostics)
  }

  /// Parses a whole file, handing each top-level statement to `each` as
  /// soon as it is parsed instead of keeping it, so that the syntax of a
  /// large file is never all in memory. Statements stop being handed on
  /// at the first syntax error. Returns the diagnostics `parse` would.
  public static func parseEachStatement(_ file: SourceFile, _ each: (Stmt) -> Void) -> [Diagnostic] {
    // `run` takes an optional closure, which Swift treats as escaping; it
    // does not keep it.
    withoutActuallyEscaping(each) { run(file, tracing: false, each: $0).diagnostics }
  }

  static func run(_ file: SourceFile, tracing: Bool, skipsFunctionBodies: Bool = false, each: ((Stmt) -> Void)? = nil) -> (
    unit: SourceUnit, diagnostics: [Diagnostic], productions: Set<String>
  ) {
    // Tokens are lexed as the parser asks for them, and those of finished
    // top-level statements are dropped: a large file's tokens are never
    // all in memory at once.
    // The lexer (and so the parser holding it) reads the file's bytes
    // through a pointer valid only inside `withLexer`: neither leaves it.
    let (unit, lexDiagnostics, parseDiagnostics, productions) = Lexer.withLexer(file) { lexer in
      var parser = Parser(file: file, tokens: [], strings: [], tracing: tracing, isInterpolation: false)
      parser.lexer = lexer
      parser.skipsFunctionBodies = skipsFunctionBodies
      parser.lastConsumedEnd = parser.token(0).start
      let unit = parser.parseSourceUnit(each: each)
      return (unit, parser.lexer?.diagnostics ?? [], parser.diagnostics, parser.productions)
    }
    let all = (lexDiagnostics + parseDiagnostics).enumerated().sorted {
      let a = $0.element.range?.start ?? 0, b = $1.element.range?.start ?? 0
      return a != b ? a < b : $0.offset < $1.offset
    }.map { found -> Diagnostic in
      var d = found.element
      d.code = "syntax"
      return d
    }
    return (unit, all, productions)
  }

  let file: SourceFile
  /// The tokens lexed and not yet dropped: `tokens[i]` is token number
  /// `tokensStart + i` (`pos` and the other token indices count from the
  /// start of the file). Read them with `token(_:)`.
  private var tokens: [Token]
  private var tokensStart = 0
  /// Lexes the file's tokens as they are needed (nil in an interpolation's
  /// parser, which is given all of its tokens).
  var lexer: Lexer? = nil
  /// The parts of the string tokens, by their `.string(index:)` (the lexer's, when there is one).
  let strings: [[StringTokenPart]]
  var pos = 0
  var diagnostics: [Diagnostic] = []
  var productions: Set<String> = []
  let tracing: Bool
  /// True inside an interpolation's tokens: its end-of-input is the closing `}`.
  let isInterpolation: Bool
  /// True inside `( )`, `[ ]` and map literals, where line breaks are skipped.
  var ignoreNewlines = false
  /// False in `if`/`while`/`for` heads, where `{` starts the block.
  var allowMapLiteral = true
  var depth = 0
  /// Set once the nesting limit is hit; every parse function then returns at once.
  var aborted = false
  var nestingReported = false
  /// Set after an error until the next statement boundary, to avoid cascades.
  var recovering = false
  var lastConsumedEnd = 0
  /// How many functions (declarations and `fn` expressions) have been
  /// parsed, interpolations included: a function contains another when
  /// this grows while its parameters and body are parsed.
  var functionsParsed = 0
  /// Token index where the current statement began.
  var statementStart = -1
  /// Set by `parseDeclarations`: top-level `fn` bodies are skipped, not parsed.
  var skipsFunctionBodies = false
  /// How many tokens the lexer runs ahead of the parser (few when bodies
  /// are skipped: tokens lexed ahead into a skipped body are thrown away).
  private var lexAhead: Int { skipsFunctionBodies ? 8 : 64 }

  /// True when no error has been found so far (by the lexer or the parser).
  var isErrorFree: Bool {
    !diagnostics.contains { $0.severity == .error } && !(lexer?.diagnostics.contains { $0.severity == .error } ?? false)
  }

  init(file: SourceFile, tokens: [Token], strings: [[StringTokenPart]], tracing: Bool, isInterpolation: Bool) {
    self.file = file
    self.tokens = tokens
    self.strings = strings
    self.tracing = tracing
    self.isInterpolation = isInterpolation
    if let first = tokens.first { lastConsumedEnd = first.start }
  }

  // MARK: - Tracing and progress

  mutating func trace(_ production: String) {
    if tracing { productions.insert(production) }
  }

  /// Guards a parser loop: each iteration must consume a token. In debug builds a
  /// stuck loop is an assertion failure; in release the loop ends.
  struct LoopProgress {
    var last = -1
    mutating func madeProgress(_ pos: Int) -> Bool {
      defer { last = pos }
      if pos > last { return true }
      assertionFailure("parser loop made no progress")
      return false
    }
  }

  // MARK: - Tokens

  /// Token number `index`; the end of the input past the last one.
  @inline(__always) mutating func token(_ index: Int) -> Token {
    let i = index - tokensStart
    if i < tokens.count { return tokens[i] }
    return lexToken(index)
  }

  /// Lexes up to token `index` and a few dozen beyond (in one tight loop,
  /// with the lexer moved out of the parser while it runs).
  private mutating func lexToken(_ index: Int) -> Token {
    // Moved out, not copied: a copy would retain and release each of its arrays.
    guard tokens.last.map({ !$0.isEndOfFile }) ?? true, var lexer = lexer.take() else { return tokens[tokens.count - 1] }
    let wanted = index - tokensStart + lexAhead
    // Only at the start is the window empty: dropping keeps a few tokens.
    var afterNewline = tokens.last?.isNewline ?? true
    while tokens.count <= wanted {
      let next = lexer.nextToken(afterNewline: afterNewline)
      tokens.append(next)
      afterNewline = next.isNewline
      if next.isEndOfFile { break }
    }
    self.lexer = lexer
    return tokens[min(index - tokensStart, tokens.count - 1)]
  }

  /// The first token not yet dropped: looking back stops there.
  var firstKeptToken: Int { tokensStart }

  /// Drops the tokens before the current one, but a few kept for looking
  /// back (at the start of a top-level statement: nothing goes back further).
  mutating func dropConsumedTokens() {
    let keep = 4
    guard lexer != nil, pos - tokensStart > 256 else { return }
    tokens.removeFirst(pos - keep - tokensStart)
    tokensStart = pos - keep
  }

  @inline(__always) mutating func peek() -> Token {
    if ignoreNewlines { skipNewlines() }
    return token(pos)
  }

  /// The token after the current one (line breaks not skipped).
  mutating func peekSecond() -> Token {
    _ = peek()
    return token(pos + 1)
  }

  @discardableResult
  mutating func advance() -> Token {
    let token = peek()
    if !token.isEndOfFile {
      pos += 1
      lastConsumedEnd = token.end
    }
    if token.isInvalid { recovering = true }
    return token
  }

  mutating func at(_ p: Punctuator) -> Bool { peek().isPunctuator(p) }
  mutating func at(_ k: Keyword) -> Bool { peek().isKeyword(k) }

  mutating func eat(_ p: Punctuator) -> Token? { at(p) ? advance() : nil }
  mutating func eat(_ k: Keyword) -> Token? { at(k) ? advance() : nil }

  /// Skips line breaks where the grammar allows them (after operators, `,`, `=`, `:`).
  mutating func skipNewlines() {
    while token(pos).isNewline { pos += 1 }
  }

  /// True when the next token after any line breaks is `keyword`; consumes the breaks if so.
  mutating func atAcrossNewlines(_ keyword: Keyword) -> Bool {
    var i = pos
    while token(i).isNewline { i += 1 }
    guard token(i).isKeyword(keyword) else { return false }
    pos = i
    return true
  }

  func range(_ start: Int, _ end: Int) -> SourceRange { SourceRange(file: file, start: start, end: end) }
  func range(_ token: Token) -> SourceRange { SourceRange(file: file, start: token.start, end: token.end) }
  /// The source text of a token (a name's spelling).
  func text(_ token: Token) -> String { String(decoding: file.bytes[token.start..<token.end], as: UTF8.self) }
  /// The parts of a string token; nil for any other token.
  func stringParts(_ token: Token) -> [StringTokenPart]? {
    if case .string(let index) = token.kind { lexer?.strings[index] ?? strings[index] } else { nil }
  }
  /// The parts of every string token lexed so far.
  var stringTable: [[StringTokenPart]] { lexer?.strings ?? strings }
  func describe(_ token: Token) -> String { token.description(in: file) }

  /// Where a missing token belongs: right after the previous token when the
  /// offending token is on a later line (or is a line break or the end), else at it.
  mutating func missingRange() -> SourceRange {
    let token = peek()
    if token.isNewline || token.isEndOfFile || token.isFirstOnLine {
      return range(lastConsumedEnd, lastConsumedEnd)
    }
    return range(token)
  }

  // MARK: - Diagnostics

  /// Reports an error unless one is already being recovered from. An error
  /// found at the end of the input is marked incomplete (more text could fix it).
  mutating func error(_ message: String, at range: SourceRange, notes: [Diagnostic] = []) {
    if recovering || aborted { return }
    recovering = true
    let token = peek()
    if token.isInvalid { return }
    let incomplete = token.isEndOfFile && !isInterpolation
    diagnostics.append(Diagnostic(.error, message, at: range, notes: notes, isIncompleteInput: incomplete))
  }

  /// Reports a missing closing token, naming the construct and the line it opened on.
  /// (`what` is made only when the closer is missing.)
  mutating func expectClosing(_ p: Punctuator, closing what: @autoclosure () -> String, opener: Token) -> SourceRange {
    if let close = eat(p) { return range(close) }
    let line = range(opener).startLocation.line
    let note = Diagnostic(.note, "`\(range(opener).text)` opened here", at: range(opener))
    error("expected `\(p.rawValue)` to close the \(what()) opened at line \(line)", at: missingRange(), notes: [note])
    if let close = skipToClosing(p) { return range(close) }
    return range(lastConsumedEnd, lastConsumedEnd)
  }

  /// After a missing closer is reported: when the closer turns up later on the
  /// same line, outside other brackets, skips the junk before it and consumes it.
  mutating func skipToClosing(_ p: Punctuator) -> Token? {
    if aborted { return nil }
    var i = pos
    var nesting = 0
    while true {
      let token = token(i)
      if token.isEndOfFile || token.isNewline || (token.isFirstOnLine && i > pos) { return nil }
      if token.isFirstOnLine, i == pos { return nil }
      switch token.kind {
      case .punctuator(.leftParen), .punctuator(.leftBracket), .punctuator(.leftBrace):
        nesting += 1
      case .punctuator(.rightParen), .punctuator(.rightBracket), .punctuator(.rightBrace):
        if nesting == 0 {
          guard token.isPunctuator(p) else { return nil }
          pos = i + 1
          lastConsumedEnd = token.end
          return token
        }
        nesting -= 1
      default: break
      }
      i += 1
    }
  }

  /// Skips a `{ ... }` group without parsing it (used while recovering).
  mutating func skipBraces() -> SourceRange {
    let start = token(pos).start
    var nesting = 0
    while !token(pos).isEndOfFile {
      let token = token(pos)
      pos += 1
      lastConsumedEnd = token.end
      if token.isPunctuator(.leftBrace) { nesting += 1 }
      if token.isPunctuator(.rightBrace) {
        nesting -= 1
        if nesting <= 0 { break }
      }
    }
    return range(start, lastConsumedEnd)
  }

  /// Skips the `{ ... }` group at the current token without lexing what is
  /// inside (`Lexer.closingBrace`): the tokens lexed ahead into it are
  /// dropped and the lexer resumes at the closing `}`, which is consumed.
  /// Lexes the group instead where the bytes cannot be matched.
  mutating func skipUnlexed() -> SourceRange {
    let open = token(pos)
    guard let close = lexer?.closingBrace(from: open.end) else { return skipBraces() }
    tokens.removeSubrange((pos + 1 - tokensStart)...)
    // Changed in place: a copy of the lexer alive when it next lexes
    // would make its string table shared, copied at every string.
    lexer?.resume(at: close)
    pos += 1
    lastConsumedEnd = open.end
    let closing = advance()
    return range(open.start, closing.end)
  }

  /// Counts one level of nesting; false (after one report) when the limit is passed.
  mutating func enterNesting() -> Bool {
    if aborted { return false }
    depth += 1
    if depth > Parser.maxNesting {
      // Reported once, by the lexer (too deep `${...}`) or here.
      if !nestingReported, !(lexer?.nestingReported ?? false) {
        nestingReported = true
        recovering = false
        let token = peek()
        diagnostics.append(.error("nesting is too deep (more than \(Parser.maxNesting) levels)", at: range(token)))
      }
      aborted = true
      return false
    }
    return true
  }

  mutating func leaveNesting() { depth -= 1 }

  /// Skips to a statement boundary: a line break, `;` or `}` outside brackets,
  /// the end, or a statement keyword that starts a line. Consumes at least one
  /// token when the failed statement consumed none (it began at `statementPos`).
  mutating func synchronize(statementPos: Int, inBlock: Bool) {
    let saved = ignoreNewlines
    ignoreNewlines = false
    defer { ignoreNewlines = saved }
    if pos == statementPos, !token(pos).isEndOfFile {
      lastConsumedEnd = token(pos).end
      pos += 1
    } else if case .name = token(pos).kind, token(pos).isFirstOnLine {
      return
    }
    var nesting = 0
    var braces = 0
    while true {
      let token = token(pos)
      if token.isEndOfFile { return }
      if token.isFirstOnLine, braces == 0, Parser.startsStatement(token) { return }
      if token.isFirstOnLine, token.isPunctuator(.rightBrace), braces == 0, inBlock || nesting > 0 { return }
      switch token.kind {
      case .newline, .punctuator(.semicolon):
        if nesting == 0 { return }
      case .punctuator(.leftParen), .punctuator(.leftBracket):
        nesting += 1
      case .punctuator(.leftBrace):
        nesting += 1
        braces += 1
      case .punctuator(.rightParen), .punctuator(.rightBracket):
        nesting = max(0, nesting - 1)
      case .punctuator(.rightBrace):
        if nesting == 0, inBlock { return }
        nesting = max(0, nesting - 1)
        braces = max(0, braces - 1)
      default: break
      }
      pos += 1
      lastConsumedEnd = token.end
    }
  }

  static func startsStatement(_ token: Token) -> Bool {
    guard case .keyword(let k) = token.kind else { return false }
    switch k {
    case .let, .var, .fn, .if, .for, .while, .return, .break, .continue, .param, .require, .fail,
      .try, .output, .import, .step:
      return true
    default:
      return false
    }
  }
}
