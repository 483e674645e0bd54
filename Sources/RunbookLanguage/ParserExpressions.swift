/// Expressions, by precedence (lowest first), then postfix forms and primaries.
extension Parser {
  // MARK: - Operators

  // expression = orExpression ;
  mutating func parseExpression() -> Expr {
    trace("expression")
    if tracing {
      // Every expression is parsed through each level of the cascade below.
      for level in ["orExpression", "andExpression", "notExpression", "comparison", "additive", "multiplicative"] { trace(level) }
    }
    return parseOperators(above: .or)
  }

  func binary(_ op: BinaryOp, _ lhs: Expr, _ rhs: Expr) -> Expr {
    Expr(.binary(op, lhs, rhs), lhs.range.union(rhs.range))
  }

  /// How tightly the binary operators bind, loosest first: one level per
  /// production of the cascade below. A `not` operand is a comparison.
  enum OperatorLevel: Int, Comparable {
    case or = 1, and, comparison, additive, multiplicative
    /// Above every operator: an operand of `*`, `/` and `%` is a `unary`.
    case unary
    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// Where a right operand starts: one level tighter, so a level's operators associate to the left.
    var next: OperatorLevel { OperatorLevel(rawValue: rawValue + 1) ?? .unary }
  }

  /// The binary operator at the current token, its level, and how many
  /// tokens spell it (`not in` is two), without consuming it.
  mutating func binaryOperator() -> (op: BinaryOp, level: OperatorLevel, tokenCount: Int)? {
    switch peek().kind {
    case .keyword(.or): return (.or, .or, 1)
    case .keyword(.and): return (.and, .and, 1)
    case .punctuator(.equal): return (.equal, .comparison, 1)
    case .punctuator(.notEqual): return (.notEqual, .comparison, 1)
    case .punctuator(.less): return (.less, .comparison, 1)
    case .punctuator(.lessEqual): return (.lessEqual, .comparison, 1)
    case .punctuator(.greater): return (.greater, .comparison, 1)
    case .punctuator(.greaterEqual): return (.greaterEqual, .comparison, 1)
    case .keyword(.in): return (.contains, .comparison, 1)
    case .keyword(.not) where peekSecond().isKeyword(.in): return (.notContains, .comparison, 2)
    case .punctuator(.plus): return (.add, .additive, 1)
    case .punctuator(.minus): return (.subtract, .additive, 1)
    case .punctuator(.star): return (.multiply, .multiplicative, 1)
    case .punctuator(.slash): return (.divide, .multiplicative, 1)
    case .punctuator(.percent): return (.remainder, .multiplicative, 1)
    default: return nil
    }
  }

  // orExpression = andExpression , { "or" , andExpression } ;
  // andExpression = notExpression , { "and" , notExpression } ;
  // comparison = additive , [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" , "in" ) , additive ] ;
  // additive = multiplicative , { ( "+" | "-" ) , multiplicative } ;
  // multiplicative = unary , { ( "*" | "/" | "%" ) , unary } ;
  /// The operators of level `minimum` and tighter, by precedence climbing:
  /// one loop instead of a function per level, each asking for its own
  /// operator at every operand (that cascade was a fifth of parsing).
  /// Operators of a level are left-associative; each one in a chain counts
  /// towards the nesting limit, as a nested expression does.
  mutating func parseOperators(above minimum: OperatorLevel) -> Expr {
    var lhs = parseOperand(minimum)
    var chain = 0
    defer { depth -= chain }
    var comparisons = 0
    var progress = LoopProgress()
    while !aborted, let (op, level, count) = binaryOperator(), level >= minimum, progress.madeProgress(pos) {
      guard enterNesting() else { break }
      chain += 1
      let opStart = peek().start
      for _ in 0..<count { advance() }
      if level == .comparison {
        comparisons += 1
        if comparisons == 2 {
          error("comparison operators cannot be chained; use `and`", at: range(opStart, lastConsumedEnd))
        }
      }
      skipNewlines()
      lhs = binary(op, lhs, parseOperators(above: level.next))
    }
    return lhs
  }

  /// An operand of operators of level `minimum`: where a `notExpression`
  /// may stand (as an operand of `and` and `or`), a `not`; else a `unary`.
  mutating func parseOperand(_ minimum: OperatorLevel) -> Expr {
    minimum <= .comparison && at(.not) ? parseNotExpression() : parseUnary()
  }

  // notExpression = "not" , notExpression | comparison ;
  mutating func parseNotExpression() -> Expr {
    trace("notExpression")
    let keyword = advance()
    guard enterNesting() else { return Expr(.invalid, range(keyword)) }
    defer { leaveNesting() }
    let operand = parseOperators(above: .comparison)
    return Expr(.unary(.not, operand), range(keyword).union(operand.range))
  }

  // unary = "-" , unary | postfix ;
  mutating func parseUnary() -> Expr {
    trace("unary")
    guard at(.minus) else { return parsePostfix() }
    let minus = advance()
    guard enterNesting() else { return Expr(.invalid, range(minus)) }
    defer { leaveNesting() }
    let operand = parseUnary()
    return Expr(.unary(.negate, operand), range(minus).union(operand.range))
  }

  // MARK: - Postfix

  // postfix = primary , { callSuffix | memberSuffix | indexSuffix } ;
  mutating func parsePostfix() -> Expr {
    trace("postfix")
    var expr = parsePrimary()
    var chain = 0
    defer { depth -= chain }
    var progress = LoopProgress()
    while !aborted, progress.madeProgress(pos) {
      guard at(.leftParen) || at(.dot) || at(.leftBracket) else { break }
      guard enterNesting() else { break }
      chain += 1
      if at(.leftParen) {
        expr = parseCallSuffix(expr)
      } else if at(.dot) {
        expr = parseMemberSuffix(expr)
      } else if at(.leftBracket) {
        expr = parseIndexSuffix(expr)
      } else {
        break
      }
      if recovering { break }
    }
    return expr
  }

  // callSuffix = "(" , [ argument , { "," , argument } , [ "," ] ] , ")" ;
  mutating func parseCallSuffix(_ callee: Expr) -> Expr {
    trace("callSuffix")
    let open = advance()
    guard enterNesting() else { return Expr(.invalid, range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    var arguments: [Argument] = []
    var sawLabel = false
    var progress = LoopProgress()
    while !aborted, !at(.rightParen), !peek().isEndOfFile, progress.madeProgress(pos) {
      let argument = parseArgument()
      if argument.label != nil {
        sawLabel = true
      } else if sawLabel {
        error("positional arguments must come before labelled arguments", at: argument.value.range)
      }
      arguments.append(argument)
      guard separated(by: .rightParen, after: "argument") else { break }
    }
    let close = expectClosing(.rightParen, closing: "call", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    return Expr(.call(callee: callee, arguments: arguments), callee.range.union(close))
  }

  // argument = [ ( NAME | KEYWORD ) , ":" ] , expression ;
  mutating func parseArgument() -> Argument {
    trace("argument")
    let token = peek()
    var label: Identifier?
    if peekSecond().isPunctuator(.colon) {
      switch token.kind {
      case .name: label = Identifier(text(token), range(token))
      case .keyword(let k): label = Identifier(k.rawValue, range(token))
      default: break
      }
    }
    if label != nil {
      advance()
      advance()
      skipNewlines()
    }
    return Argument(label: label, value: parseExpression())
  }

  // memberSuffix = "." , ( NAME | KEYWORD ) ;
  mutating func parseMemberSuffix(_ base: Expr) -> Expr {
    trace("memberSuffix")
    advance()
    let token = peek()
    let name: String
    switch token.kind {
    case .name: name = text(token)
    case .keyword(let k): name = k.rawValue
    default:
      error("expected a member name after `.`, found \(describe(token))", at: missingRange())
      return Expr(.invalid, base.range.union(range(lastConsumedEnd, lastConsumedEnd)))
    }
    advance()
    return Expr(.member(base, name: Identifier(name, range(token))), base.range.union(range(token)))
  }

  // indexSuffix = "[" , expression , "]" ;
  mutating func parseIndexSuffix(_ base: Expr) -> Expr {
    trace("indexSuffix")
    let open = advance()
    guard enterNesting() else { return Expr(.invalid, range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    let index = parseExpression()
    let close = expectClosing(.rightBracket, closing: "index", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    return Expr(.index(base, index), base.range.union(close))
  }

  /// After an element of a comma-separated list: true to parse another element.
  /// A missing `,` before something that can start an element is reported and
  /// treated as present, so the rest of the list still parses.
  mutating func separated(by closer: Punctuator, after what: String) -> Bool {
    if eat(.comma) != nil { return !recovering }
    let token = peek()
    if token.isPunctuator(closer) || token.isEndOfFile || !Parser.startsElement(token) { return false }
    error("expected `,` or `\(closer.rawValue)` after the \(what)", at: missingRange())
    return true
  }

  /// Tokens that can begin an expression, a map entry or a parameter.
  static func startsElement(_ token: Token) -> Bool {
    switch token.kind {
    case .name, .int, .float, .duration, .string: return true
    case .keyword(let k): return [.true, .false, .nil, .not, .fn, .step].contains(k)
    case .punctuator(let p): return [.leftParen, .leftBracket, .leftBrace, .minus].contains(p)
    default: return false
    }
  }

  // MARK: - Primaries

  // primary = INT | FLOAT | DURATION | "true" | "false" | "nil" | NAME | stringLiteral | parenthesized | listLiteral | mapLiteral | functionExpression | stepExpression | runbookReference ;
  mutating func parsePrimary() -> Expr {
    trace("primary")
    if aborted { return Expr(.invalid, range(lastConsumedEnd, lastConsumedEnd)) }
    let token = peek()
    switch token.kind {
    case .int(let v): advance(); return Expr(.intLiteral(v), range(token))
    case .float(let v): advance(); return Expr(.floatLiteral(v), range(token))
    case .duration(let v): advance(); return Expr(.durationLiteral(milliseconds: v), range(token))
    case .keyword(.true): advance(); return Expr(.boolLiteral(true), range(token))
    case .keyword(.false): advance(); return Expr(.boolLiteral(false), range(token))
    case .keyword(.nil): advance(); return Expr(.nilLiteral, range(token))
    case .name where startsRunbookReference(token):
      return parseRunbookReference()
    case .name: advance(); return Expr(.name(text(token)), range(token))
    case .string: return parseStringLiteral()
    case .punctuator(.leftParen): return parseParenthesized()
    case .punctuator(.leftBracket): return parseListLiteral()
    case .punctuator(.leftBrace) where allowMapLiteral: return parseMapLiteral()
    case .keyword(.fn): return parseFunctionExpression()
    case .keyword(.step): return parseStepExpression()
    case .invalid:
      advance()
      return Expr(.invalid, range(token))
    default:
      let at = token.isNewline || token.isEndOfFile ? missingRange() : range(token)
      if token.isPunctuator(.leftBrace) && !allowMapLiteral && looksLikeMapLiteral() {
        error("a map literal cannot appear here, where `{` starts the block; wrap it in parentheses: `({...})`", at: at)
      } else if pos == statementStart {
        error("expected a statement, found \(describe(token))", at: at)
      } else if lastConsumedToken.map({ $0.isNewline || $0.isPunctuator(.semicolon) }) ?? true {
        error("expected expression, found \(describe(token))", at: at)
      } else {
        error("expected expression after `\(range(lastConsumedToken!).text)`", at: at)
      }
      return Expr(.invalid, at)
    }
  }

  /// Whether `token`, the current one, is the name `runbook` with a string after it.
  mutating func startsRunbookReference(_ token: Token) -> Bool {
    guard token.end - token.start == 7, text(token) == "runbook" else { return false }
    // Lexed first: the string's parts must be in the table before they are read.
    let next = peekSecond()
    return stringParts(next) != nil
  }

  /// At a `{`: whether `key:` follows, as in a map literal rather than a block.
  mutating func looksLikeMapLiteral() -> Bool {
    var i = pos + 1
    while token(i).isNewline { i += 1 }
    guard !token(i).isEndOfFile else { return false }
    switch token(i).kind {
    case .name, .string, .keyword: return token(i + 1).isPunctuator(.colon)
    default: return false
    }
  }

  /// The last non-line-break token consumed, if any.
  var lastConsumedToken: Token? {
    mutating get {
      var i = pos - 1
      while i >= firstKeptToken, token(i).isNewline { i -= 1 }
      return i >= firstKeptToken ? token(i) : nil
    }
  }

  // stringLiteral = STRING ;   (* its "${...}" parts are interpolations *)
  mutating func parseStringLiteral() -> Expr {
    trace("stringLiteral")
    let token = advance()
    guard let parts = stringParts(token) else { return Expr(.invalid, range(token)) }
    if let text = Parser.plainText(parts) { return Expr(.stringLiteral(text), range(token)) }
    var result: [StringPart] = []
    for part in parts {
      switch part {
      case .text(let t): result.append(.text(t))
      case .code(let codeTokens, let codeRange): result.append(.expression(parseInterpolation(codeTokens, codeRange)))
      }
      if aborted { break }
    }
    return Expr(.interpolation(result), range(token))
  }

  // interpolation = "${" , expression , "}" ;
  mutating func parseInterpolation(_ codeTokens: [Token], _ codeRange: SourceRange) -> Expr {
    trace("interpolation")
    guard enterNesting() else { return Expr(.invalid, codeRange) }
    defer { leaveNesting() }
    guard codeTokens.count > 1 else {
      error("expected an expression inside `${}`", at: codeRange)
      return Expr(.invalid, codeRange)
    }
    var sub = Parser(file: file, tokens: codeTokens, strings: stringTable, tracing: tracing, isInterpolation: true)
    sub.ignoreNewlines = true
    sub.depth = depth
    sub.nestingReported = nestingReported
    sub.lastConsumedEnd = codeRange.start + 2
    sub.recovering = recovering
    sub.functionsParsed = functionsParsed
    let expr = sub.parseExpression()
    if !sub.peek().isEndOfFile {
      sub.error("expected `}` to end the interpolation, found \(describe(sub.peek()))", at: range(sub.peek()))
    }
    diagnostics += sub.diagnostics
    productions.formUnion(sub.productions)
    nestingReported = sub.nestingReported
    functionsParsed = sub.functionsParsed
    if sub.aborted { aborted = true }
    if sub.recovering { recovering = true }
    return expr
  }

  // runbookReference = "runbook" , STRING ;   (* "runbook" is a name elsewhere; the STRING is plain *)
  mutating func parseRunbookReference() -> Expr {
    trace("runbookReference")
    let keyword = advance()
    let token = advance()
    guard let parts = stringParts(token), let path = Parser.plainText(parts) else {
      error("the path of a `runbook` call must be a plain string without `${}`", at: range(token))
      return Expr(.invalid, range(keyword).union(range(token)))
    }
    return Expr(.runbookFile(path: path, pathRange: range(token)), range(keyword).union(range(token)))
  }

  // parenthesized = "(" , expression , ")" ;
  mutating func parseParenthesized() -> Expr {
    trace("parenthesized")
    let open = advance()
    guard enterNesting() else { return Expr(.invalid, range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    var inner = parseExpression()
    let close = expectClosing(.rightParen, closing: "`(`", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    inner.range = range(open).union(close).union(inner.range)
    return inner
  }

  // listLiteral = "[" , [ expression , { "," , expression } , [ "," ] ] , "]" ;
  mutating func parseListLiteral() -> Expr {
    trace("listLiteral")
    let open = advance()
    guard enterNesting() else { return Expr(.invalid, range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    var elements: [Expr] = []
    var progress = LoopProgress()
    while !aborted, !at(.rightBracket), !peek().isEndOfFile, progress.madeProgress(pos) {
      elements.append(parseExpression())
      guard separated(by: .rightBracket, after: "list element") else { break }
    }
    let close = expectClosing(.rightBracket, closing: "list", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    return Expr(.list(elements), range(open).union(close))
  }

  // mapLiteral = "{" , [ mapEntry , { "," , mapEntry } , [ "," ] ] , "}" ;
  mutating func parseMapLiteral() -> Expr {
    trace("mapLiteral")
    let open = advance()
    guard enterNesting() else { return Expr(.invalid, range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    var entries: [MapEntry] = []
    var progress = LoopProgress()
    while !aborted, !at(.rightBrace), !peek().isEndOfFile, progress.madeProgress(pos) {
      guard let entry = parseMapEntry() else { break }
      entries.append(entry)
      guard separated(by: .rightBrace, after: "map entry") else { break }
    }
    let close = expectClosing(.rightBrace, closing: "map", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    return Expr(.map(entries), range(open).union(close))
  }

  // mapEntry = ( NAME | KEYWORD | STRING ) , ":" , expression ;
  mutating func parseMapEntry() -> MapEntry? {
    trace("mapEntry")
    let token = peek()
    let key: String
    switch token.kind {
    case .name: key = text(token)
    case .keyword(let k): key = k.rawValue
    case .string:
      guard let text = stringParts(token).flatMap(Parser.plainText) else {
        error("a map key must be a name or a plain string without `${}`", at: range(token))
        return nil
      }
      key = text
    default:
      error("expected a map key (a name or a string), found \(describe(token))", at: missingRange())
      return nil
    }
    advance()
    guard eat(.colon) != nil else {
      error("expected `:` after the map key `\(key)`", at: missingRange())
      return nil
    }
    skipNewlines()
    return MapEntry(key: key, keyRange: range(token), value: parseExpression())
  }

  // functionExpression = "fn" , parameterList , block ;
  mutating func parseFunctionExpression() -> Expr {
    trace("functionExpression")
    let keyword = advance()
    if peek().isName {
      let n = text(peek())
      error("a function expression has no name; declare `fn \(n)(...)` as a statement or remove the name", at: range(peek()))
      return Expr(.invalid, range(keyword))
    }
    functionsParsed += 1
    let before = functionsParsed
    let parameters = parseParameterList()
    let body = parseBlock(owner: "fn")
    let r = range(keyword).union(body.range)
    let decl = FunctionDecl(name: nil, parameters: parameters, body: body, range: r, containsFunction: functionsParsed > before)
    return Expr(.function(decl), r)
  }

  // stepExpression = "step" , stringLiteral , block ;
  mutating func parseStepExpression() -> Expr {
    trace("stepExpression")
    let keyword = advance()
    guard case .string = peek().kind else {
      error("expected the step name as a string after `step`, as in `step \"deploy\" { }`", at: missingRange())
      return Expr(.invalid, range(keyword))
    }
    let name = parseStringLiteral()
    let body = parseBlock(owner: "step")
    return Expr(.step(name: name, body: body), range(keyword).union(body.range))
  }
}
