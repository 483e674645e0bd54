/// The lexical tokens of runbook. Every token carries the source range it came from.

public enum Keyword: String, Sendable, CaseIterable {
  case `let`, `var`, fn, `return`, `if`, `else`, `for`, `in`, `while`, `break`, `continue`
  case step, param, require, fail, `try`, `catch`, output, `import`
  case `true`, `false`, `nil`, and, or, not
}

public enum Punctuator: String, Sendable, CaseIterable {
  case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
  case leftBrace = "{", rightBrace = "}"
  case comma = ",", colon = ":", semicolon = ";", dot = "."
  case assign = "=", addAssign = "+=", subtractAssign = "-=", multiplyAssign = "*=", divideAssign = "/="
  case equal = "==", notEqual = "!=", lessEqual = "<=", greaterEqual = ">=", less = "<", greater = ">"
  case plus = "+", minus = "-", star = "*", slash = "/", percent = "%"
}

/// A piece of a string token: literal text, or the tokens of an interpolated `${expr}`.
public enum StringTokenPart: Sendable {
  case text(String)
  /// The tokens between `${` and `}`, then an end-of-input token at the `}`
  /// (what a parser of them stops at); `range` covers the whole `${...}`.
  case code([Token], range: SourceRange)
}

/// What a token is. No case holds a reference, so copying a token copies
/// bytes: a name's text is the token's span of the source, and a string's
/// parts are in the lexer's table of strings (every token copy used to
/// retain and release a name's storage or a string's parts).
public enum TokenKind: Sendable {
  /// A name; its text is the token's span.
  case name
  case keyword(Keyword)
  case int(Int)
  case float(Double)
  /// Whole milliseconds.
  case duration(Int)
  /// A string literal: its parts are `strings[index]` of the lexer's result.
  case string(index: Int)
  case punctuator(Punctuator)
  case newline
  case endOfFile
  /// Malformed text the lexer already reported; the parser stays silent about it.
  case invalid
}

/// One token: its kind and its span of UTF-8 offsets in the file being
/// lexed (the file is known from context, so a token holds no reference).
public struct Token: Sendable {
  public var kind: TokenKind
  /// True when only whitespace precedes the token on its line.
  public var isFirstOnLine: Bool
  private var startOffset: UInt32
  private var endOffset: UInt32
  public var start: Int { Int(startOffset) }
  public var end: Int { Int(endOffset) }
  public init(_ kind: TokenKind, start: Int, end: Int, isFirstOnLine: Bool) {
    self.kind = kind; self.isFirstOnLine = isFirstOnLine
    startOffset = UInt32(clamping: start)
    endOffset = UInt32(clamping: max(start, end))
  }

  public var isNewline: Bool { if case .newline = kind { true } else { false } }
  public var isEndOfFile: Bool { if case .endOfFile = kind { true } else { false } }
  public var isInvalid: Bool { if case .invalid = kind { true } else { false } }
  public var isName: Bool { if case .name = kind { true } else { false } }

  public func isPunctuator(_ p: Punctuator) -> Bool {
    if case .punctuator(let q) = kind { q == p } else { false }
  }
  public func isKeyword(_ k: Keyword) -> Bool {
    if case .keyword(let q) = kind { q == k } else { false }
  }

  /// The token's span in `file`.
  public func range(in file: SourceFile) -> SourceRange { SourceRange(file: file, start: start, end: end) }

  /// How a diagnostic names this token: "`)`", "the keyword `in`", "the end of the line".
  public func description(in file: SourceFile) -> String {
    switch kind {
    case .name: "`\(range(in: file).text)`"
    case .keyword(let k): "the keyword `\(k.rawValue)`"
    case .int, .float, .duration: "the number `\(range(in: file).text)`"
    case .string: "a string"
    case .punctuator(let p): "`\(p.rawValue)`"
    case .newline: "the end of the line"
    case .endOfFile: "the end of the input"
    case .invalid: "`\(range(in: file).text)`"
    }
  }
}
