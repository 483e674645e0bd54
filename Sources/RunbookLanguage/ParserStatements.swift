/// Statements, blocks and declarations.
extension Parser {
  // MARK: - Files and blocks

  // sourceUnit = statementList , EOF ;
  /// With `each`, the statements are handed to it (while no error has
  /// been found) instead of kept in the unit.
  mutating func parseSourceUnit(each: ((Stmt) -> Void)? = nil) -> SourceUnit {
    trace("sourceUnit")
    let statements = parseStatementList(inBlock: false, each: each)
    return SourceUnit(file: file, statements: statements)
  }

  // statementList = { statement | NEWLINE | ";" } ;
  mutating func parseStatementList(inBlock: Bool, each: ((Stmt) -> Void)? = nil) -> [Stmt] {
    trace("statementList")
    var statements: [Stmt] = []
    // Most blocks hold a few statements: room for them at once, not 1, 2, 4.
    statements.reserveCapacity(4)
    var progress = LoopProgress()
    while !aborted, progress.madeProgress(pos) {
      let token = peek()
      if token.isNewline || token.isPunctuator(.semicolon) {
        advance()
        continue
      }
      if token.isEndOfFile { break }
      if token.isPunctuator(.rightBrace) {
        if inBlock { break }
        error("unexpected `}` with no open block to close", at: range(token))
        advance()
        recovering = false
        continue
      }
      if !inBlock { dropConsumedTokens() }
      let statementPos = pos
      let statement = parseStatement()
      if let each {
        if isErrorFree { each(statement) }
      } else {
        statements.append(statement)
      }
      if aborted { break }
      if recovering {
        synchronize(statementPos: statementPos, inBlock: inBlock)
        recovering = false
        continue
      }
      let next = peek()
      let ended =
        next.isNewline || next.isEndOfFile || next.isPunctuator(.semicolon)
        || (inBlock && next.isPunctuator(.rightBrace))
      if !ended {
        error(
          "expected a line break or `;` after the statement, found \(describe(next))", at: range(next))
        synchronize(statementPos: statementPos, inBlock: inBlock)
        recovering = false
      }
    }
    return statements
  }

  // block = "{" , statementList , "}" ;
  /// `skipped`: the braces are matched but nothing in them is parsed.
  mutating func parseBlock(owner: String, skipped: Bool = false) -> Block {
    trace("block")
    if !at(.leftBrace), token(pos).isNewline {
      var i = pos
      while token(i).isNewline { i += 1 }
      if token(i).isPunctuator(.leftBrace) { pos = i }
    }
    if skipped, at(.leftBrace) {
      return Block(statements: [], range: skipUnlexed())
    }
    if recovering, at(.leftBrace) {
      return Block(statements: [], range: skipBraces())
    }
    guard let open = eat(.leftBrace) else {
      let hint = at(.assign) ? "; to compare values, use `==`" : ""
      error("expected `{` to start the body of the `\(owner)`, found \(describe(peek()))\(hint)", at: missingRange())
      return Block(statements: [], range: missingRange())
    }
    guard enterNesting() else { return Block(statements: [], range: range(open)) }
    defer { leaveNesting() }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (false, true)
    let statements = parseStatementList(inBlock: true)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    let close = expectClosing(.rightBrace, closing: "`\(owner)`", opener: open)
    return Block(statements: statements, range: range(open).union(close))
  }

  // MARK: - Statements

  // statement = bindingStatement | functionDeclaration | ifStatement | forStatement | whileStatement | breakStatement | continueStatement | returnStatement | paramStatement | requireStatement | failStatement | tryStatement | outputStatement | importStatement | simpleStatement ;
  mutating func parseStatement() -> Stmt {
    trace("statement")
    statementStart = pos
    let token = peek()
    guard case .keyword(let keyword) = token.kind else { return parseSimpleStatement() }
    switch keyword {
    case .let, .var: return parseBindingStatement()
    case .fn:
      if case .name = peekSecond().kind { return parseFunctionDeclaration() }
      return parseSimpleStatement()
    case .if: return parseIfStatement()
    case .for: return parseForStatement()
    case .while: return parseWhileStatement()
    case .break: return parseBreakStatement()
    case .continue: return parseContinueStatement()
    case .return: return parseReturnStatement()
    case .param: return parseParamStatement()
    case .require: return parseRequireStatement()
    case .fail: return parseFailStatement()
    case .try: return parseTryStatement()
    case .output: return parseOutputStatement()
    case .import: return parseImportStatement()
    case .else:
      error("`else` without a matching `if`; put it right after the `}` of an `if` block", at: range(token))
      advance()
      return Stmt(.expression(Expr(.invalid, range(token))), range(token))
    case .catch:
      error("`catch` without a matching `try`; put it right after the `}` of a `try` block", at: range(token))
      advance()
      return Stmt(.expression(Expr(.invalid, range(token))), range(token))
    default: return parseSimpleStatement()
    }
  }

  /// A name token, or a report "expected <what>, found X" and nil.
  /// (`what` is made only when the name is missing: most calls never need it.)
  mutating func expectName(_ what: @autoclosure () -> String) -> Identifier? {
    let token = peek()
    if token.isName {
      let name = text(token)
      advance()
      return Identifier(name, range(token))
    }
    error("expected \(what()), found \(describe(token))", at: token.isNewline || token.isEndOfFile ? missingRange() : range(token))
    return nil
  }

  /// The value after `=`, with line breaks allowed before it.
  mutating func parseValueAfterEquals() -> Expr {
    skipNewlines()
    return parseExpression()
  }

  // bindingStatement = ( "let" | "var" ) , NAME , "=" , expression ;
  mutating func parseBindingStatement() -> Stmt {
    trace("bindingStatement")
    let keyword = advance()
    let isMutable = keyword.isKeyword(.var)
    let word = isMutable ? "var" : "let"
    guard let name = expectName("a name after `\(word)`") else { return invalidStmt(from: keyword) }
    guard eat(.assign) != nil else {
      error("expected `=` after `\(word) \(name.name)`; a binding needs a value", at: missingRange())
      return invalidStmt(from: keyword)
    }
    let value = parseValueAfterEquals()
    return Stmt(.binding(name: name, isMutable: isMutable, value: value), range(keyword).union(value.range))
  }

  func invalidStmt(from token: Token) -> Stmt {
    let r = range(token.start, max(token.end, lastConsumedEnd))
    return Stmt(.expression(Expr(.invalid, r)), r)
  }

  // functionDeclaration = "fn" , NAME , parameterList , block ;
  mutating func parseFunctionDeclaration() -> Stmt {
    trace("functionDeclaration")
    let keyword = advance()
    let nameToken = advance()
    guard nameToken.isName else { return invalidStmt(from: keyword) }
    let n = text(nameToken)
    let name = Identifier(n, range(nameToken))
    functionsParsed += 1
    let before = functionsParsed
    let parameters = parseParameterList()
    let body = parseBlock(owner: "fn", skipped: skipsFunctionBodies && depth == 0)
    let r = range(keyword).union(body.range)
    let decl = FunctionDecl(name: name, parameters: parameters, body: body, range: r, containsFunction: functionsParsed > before)
    return Stmt(.function(decl), r)
  }

  // parameterList = "(" , [ parameter , { "," , parameter } , [ "," ] ] , ")" ;
  mutating func parseParameterList() -> [FunctionParam] {
    trace("parameterList")
    guard let open = eat(.leftParen) else {
      error("expected `(` to start the parameter list, found \(describe(peek()))", at: missingRange())
      return []
    }
    let (savedNewlines, savedMaps) = (ignoreNewlines, allowMapLiteral)
    (ignoreNewlines, allowMapLiteral) = (true, true)
    var parameters: [FunctionParam] = []
    // Room for a few at once (one allocation, not 1 then 2 then 4); none for `()`.
    if !at(.rightParen) { parameters.reserveCapacity(4) }
    var progress = LoopProgress()
    while !aborted, !at(.rightParen), !peek().isEndOfFile, progress.madeProgress(pos) {
      guard let parameter = parseParameter() else { break }
      parameters.append(parameter)
      guard separated(by: .rightParen, after: "parameter") else { break }
    }
    _ = expectClosing(.rightParen, closing: "parameter list", opener: open)
    (ignoreNewlines, allowMapLiteral) = (savedNewlines, savedMaps)
    return parameters
  }

  // parameter = NAME , [ "=" , expression ] ;
  mutating func parseParameter() -> FunctionParam? {
    trace("parameter")
    guard let name = expectName("a parameter name") else { return nil }
    var defaultValue: Expr?
    if eat(.assign) != nil { defaultValue = parseValueAfterEquals() }
    return FunctionParam(name: name, defaultValue: defaultValue)
  }

  // headExpression = expression ;   (* a "{" here starts the block, never a map literal *)
  mutating func parseHeadExpression() -> Expr {
    trace("headExpression")
    let saved = allowMapLiteral
    allowMapLiteral = false
    defer { allowMapLiteral = saved }
    return parseExpression()
  }

  // ifStatement = "if" , headExpression , block , { "else" , "if" , headExpression , block } , [ "else" , block ] ;
  mutating func parseIfStatement() -> Stmt {
    trace("ifStatement")
    let keyword = advance()
    var branches: [ConditionalBranch] = []
    var elseBody: Block?
    var condition = parseHeadExpression()
    var body = parseBlock(owner: "if")
    branches.append(ConditionalBranch(condition: condition, body: body))
    var end = body.range
    var progress = LoopProgress()
    while !aborted, !recovering, atAcrossNewlines(.else), progress.madeProgress(pos) {
      advance()
      if eat(.if) != nil {
        condition = parseHeadExpression()
        body = parseBlock(owner: "if")
        branches.append(ConditionalBranch(condition: condition, body: body))
        end = body.range
      } else {
        let block = parseBlock(owner: "else")
        elseBody = block
        end = block.range
        break
      }
    }
    return Stmt(.ifElse(branches: branches, elseBody: elseBody), range(keyword).union(end))
  }

  // forStatement = "for" , NAME , [ "," , NAME ] , "in" , headExpression , block ;
  mutating func parseForStatement() -> Stmt {
    trace("forStatement")
    let keyword = advance()
    guard let first = expectName("a loop variable name after `for`") else { return invalidStmt(from: keyword) }
    var second: Identifier?
    if eat(.comma) != nil {
      guard let name = expectName("a second loop variable name after `,`") else { return invalidStmt(from: keyword) }
      second = name
    }
    guard eat(.in) != nil else {
      error("expected `in` after the loop variable, as in `for x in items { }`", at: missingRange())
      return invalidStmt(from: keyword)
    }
    let iterable = parseHeadExpression()
    let body = parseBlock(owner: "for")
    return Stmt(.forIn(first: first, second: second, iterable: iterable, body: body), range(keyword).union(body.range))
  }

  // whileStatement = "while" , headExpression , block ;
  mutating func parseWhileStatement() -> Stmt {
    trace("whileStatement")
    let keyword = advance()
    let condition = parseHeadExpression()
    let body = parseBlock(owner: "while")
    return Stmt(.whileLoop(condition: condition, body: body), range(keyword).union(body.range))
  }

  // breakStatement = "break" ;
  mutating func parseBreakStatement() -> Stmt {
    trace("breakStatement")
    return Stmt(.breakLoop, range(advance()))
  }

  // continueStatement = "continue" ;
  mutating func parseContinueStatement() -> Stmt {
    trace("continueStatement")
    return Stmt(.continueLoop, range(advance()))
  }

  // returnStatement = "return" , [ expression ] ;   (* no value before NEWLINE, ";" or "}" *)
  mutating func parseReturnStatement() -> Stmt {
    trace("returnStatement")
    let keyword = advance()
    let next = peek()
    if next.isNewline || next.isEndOfFile || next.isPunctuator(.semicolon) || next.isPunctuator(.rightBrace) {
      return Stmt(.returnValue(nil), range(keyword))
    }
    let value = parseExpression()
    return Stmt(.returnValue(value), range(keyword).union(value.range))
  }

  // paramStatement = "param" , NAME , ":" , typeName , [ "=" , expression ] , [ STRING ] ;
  mutating func parseParamStatement() -> Stmt {
    trace("paramStatement")
    let keyword = advance()
    guard let name = expectName("a parameter name after `param`") else { return invalidStmt(from: keyword) }
    guard eat(.colon) != nil else {
      error("expected `:` and a type after `param \(name.name)`, as in `param \(name.name): string`", at: missingRange())
      return invalidStmt(from: keyword)
    }
    skipNewlines()
    guard let type = parseTypeName() else { return invalidStmt(from: keyword) }
    var defaultValue: Expr?
    if eat(.assign) != nil { defaultValue = parseValueAfterEquals() }
    var doc: String?
    var end = defaultValue?.range ?? type.range
    let next = peek()
    if let parts = stringParts(next) {
      advance()
      end = range(next)
      if let text = Parser.plainText(parts) {
        doc = text
      } else {
        error("the doc string of a `param` must be a plain string without `${}`", at: range(next))
      }
    }
    let decl = ParamDecl(name: name, type: type, defaultValue: defaultValue, doc: doc)
    return Stmt(.param(decl), range(keyword).union(end))
  }

  static let typeNames: Set<String> = ["string", "int", "float", "bool", "duration", "list", "map", "any", "secret"]

  // typeName = NAME ;   (* one of: string int float bool duration list map any secret *)
  mutating func parseTypeName() -> TypeRef? {
    trace("typeName")
    let token = peek()
    if token.isName, case let n = text(token), Parser.typeNames.contains(n) {
      advance()
      return TypeRef(name: n, range: range(token))
    }
    if token.isName {
      let n = text(token)
      error("unknown type `\(n)`; use string, int, float, bool, duration, list, map, any or secret", at: range(token))
    } else {
      error(
        "expected a type name (string, int, float, bool, duration, list, map, any, secret)",
        at: token.isNewline || token.isEndOfFile ? missingRange() : range(token))
    }
    return nil
  }

  /// The text of a string token without interpolation, else nil.
  static func plainText(_ parts: [StringTokenPart]) -> String? {
    var text = ""
    for part in parts {
      guard case .text(let t) = part else { return nil }
      text += t
    }
    return text
  }

  /// `expression [, expression]` for `require` and `fail`.
  mutating func parseExpressionPair() -> (Expr, Expr?) {
    let first = parseExpression()
    var second: Expr?
    if eat(.comma) != nil {
      skipNewlines()
      second = parseExpression()
    }
    return (first, second)
  }

  // requireStatement = "require" , expression , [ "," , expression ] ;
  mutating func parseRequireStatement() -> Stmt {
    trace("requireStatement")
    let keyword = advance()
    let (condition, message) = parseExpressionPair()
    return Stmt(.require(condition: condition, message: message), range(keyword).union((message ?? condition).range))
  }

  // failStatement = "fail" , expression , [ "," , expression ] ;
  mutating func parseFailStatement() -> Stmt {
    trace("failStatement")
    let keyword = advance()
    let (message, code) = parseExpressionPair()
    return Stmt(.fail(message: message, code: code), range(keyword).union((code ?? message).range))
  }

  // tryStatement = "try" , block , "catch" , [ NAME ] , block ;
  mutating func parseTryStatement() -> Stmt {
    trace("tryStatement")
    let keyword = advance()
    let body = parseBlock(owner: "try")
    guard !recovering, atAcrossNewlines(.catch) else {
      error("expected `catch` after the `try` block, as in `try { } catch e { }`", at: missingRange())
      return Stmt(.tryCatch(body: body, errorName: nil, handler: Block(statements: [], range: body.range)), range(keyword).union(body.range))
    }
    advance()
    var errorName: Identifier?
    let token = peek()
    if token.isName {
      let n = text(token)
      advance()
      errorName = Identifier(n, range(token))
    }
    let handler = parseBlock(owner: "catch")
    return Stmt(.tryCatch(body: body, errorName: errorName, handler: handler), range(keyword).union(handler.range))
  }

  // outputStatement = "output" , NAME , "=" , expression ;
  mutating func parseOutputStatement() -> Stmt {
    trace("outputStatement")
    let keyword = advance()
    guard let name = expectName("a name after `output`") else { return invalidStmt(from: keyword) }
    guard eat(.assign) != nil else {
      error("expected `=` after `output \(name.name)`; an output needs a value", at: missingRange())
      return invalidStmt(from: keyword)
    }
    let value = parseValueAfterEquals()
    return Stmt(.output(name: name, value: value), range(keyword).union(value.range))
  }

  // importStatement = "import" , STRING ;
  mutating func parseImportStatement() -> Stmt {
    trace("importStatement")
    let keyword = advance()
    let token = peek()
    guard let parts = stringParts(token) else {
      error(
        "expected a file path string after `import`, as in `import \"lib.runbook\"`",
        at: token.isNewline || token.isEndOfFile ? missingRange() : range(token))
      return invalidStmt(from: keyword)
    }
    advance()
    guard let path = Parser.plainText(parts) else {
      error("the path of an `import` must be a plain string without `${}`", at: range(token))
      return invalidStmt(from: keyword)
    }
    return Stmt(.importFile(path: path, pathRange: range(token)), range(keyword).union(range(token)))
  }

  // simpleStatement = expression , [ assignment ] ;
  mutating func parseSimpleStatement() -> Stmt {
    trace("simpleStatement")
    let expr = parseExpression()
    if case .punctuator(let p) = peek().kind, let op = Parser.assignOperator(p) {
      return parseAssignment(target: expr, op: op)
    }
    return Stmt(.expression(expr), expr.range)
  }

  static func assignOperator(_ p: Punctuator) -> AssignOp? {
    switch p {
    case .assign: .assign
    case .addAssign: .add
    case .subtractAssign: .subtract
    case .multiplyAssign: .multiply
    case .divideAssign: .divide
    default: nil
    }
  }

  // assignment = ( "=" | "+=" | "-=" | "*=" | "/=" ) , expression ;
  mutating func parseAssignment(target: Expr, op: AssignOp) -> Stmt {
    trace("assignment")
    switch target.kind {
    case .name, .index, .member: break
    case .invalid: recovering = true
    default: error("cannot assign to this expression", at: target.range)
    }
    advance()
    let value = parseValueAfterEquals()
    return Stmt(.assign(target: target, op: op, value: value), target.range.union(value.range))
  }
}
