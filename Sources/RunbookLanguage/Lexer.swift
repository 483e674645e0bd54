/// Turns source text into tokens. Lexical errors become diagnostics and an
/// `.invalid` token, so the parser can carry on without repeating them.
public struct Lexer {
  /// Deepest allowed nesting of `${...}` inside strings (shared with the parser).
  public static let maxNesting = 200

  let file: SourceFile
  /// The file's bytes, valid while `tokenize` or `comments(in:)` runs
  /// (indexing them is not checked twice, as an array's would be).
  let bytes: UnsafeBufferPointer<UInt8>
  var pos = 0
  var diagnostics: [Diagnostic] = []
  var interpolationDepth = 0
  var atLineStart = true
  /// End offset of the last unterminated-string report, to avoid reporting an
  /// inner and an outer string that both stop at the same line end.
  var lastUnterminatedEnd = -1
  var nestingReported = false
  /// Every `#` comment passed over, in source order (for the formatter).
  var comments: [SourceRange] = []
  /// The parts of every string token, by the token's `.string(index:)`.
  var strings: [[StringTokenPart]] = []

  private init(file: SourceFile, bytes: UnsafeBufferPointer<UInt8>) {
    self.file = file
    self.bytes = bytes
  }

  /// Runs `body` with a lexer over `file` (the lexer is valid only inside it).
  static func withLexer<T>(_ file: SourceFile, _ body: (inout Lexer) -> T) -> T {
    file.bytes.withUnsafeBufferPointer { bytes in
      var lexer = Lexer(file: file, bytes: bytes)
      return body(&lexer)
    }
  }

  /// All tokens of a file, ending with `.endOfFile`, and the parts of its
  /// strings; runs of line breaks become one `.newline`.
  public static func tokenize(_ file: SourceFile) -> (tokens: [Token], strings: [[StringTokenPart]], diagnostics: [Diagnostic]) {
    withLexer(file) { lexer in
      var tokens: [Token] = []
      // Room for a token per two bytes, reserved, not touched: pages are
      // backed as tokens fill them, and the array never grows by copying
      // (which for a large file held the old and the new array at once).
      tokens.reserveCapacity(file.bytes.count / 2 + 16)
      while true {
        let token = lexer.nextToken(after: tokens.last)
        tokens.append(token)
        if token.isEndOfFile { break }
      }
      return (tokens, lexer.strings, lexer.diagnostics)
    }
  }

  /// The ranges of the file's comments (`#` to the end of the line, without
  /// a `\r` before the line break), in source order.
  public static func comments(in file: SourceFile) -> [SourceRange] {
    withLexer(file) { lexer in
      while !lexer.nextToken().isEndOfFile {}
      return lexer.comments
    }
  }

  // MARK: - Helpers

  func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }
  var current: UInt8? { byte(at: pos) }

  func range(_ start: Int, _ end: Int) -> SourceRange { SourceRange(file: file, start: start, end: end) }

  mutating func error(_ message: String, _ start: Int, _ end: Int, incomplete: Bool = false) {
    diagnostics.append(Diagnostic(.error, message, at: range(start, end), isIncompleteInput: incomplete))
  }

  /// Up to 8 bytes as one number (the first byte lowest): every keyword
  /// fits, so a name is compared with a keyword in one comparison.
  static func packed(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
    var code: UInt64 = 0
    var i = end - 1
    while i >= start {
      code = code << 8 | UInt64(bytes[i])
      i -= 1
    }
    return code
  }

  /// The keywords' packed spellings, `keywordSlots` per length (a nil keyword marks a free slot).
  static let keywordSlots = 8
  static let keywordCodes: [(code: UInt64, keyword: Keyword?)] = {
    var table = [(code: UInt64, keyword: Keyword?)](repeating: (0, nil), count: 9 * keywordSlots)
    var used = [Int](repeating: 0, count: 9)
    for k in Keyword.allCases {
      let length = k.rawValue.utf8.count
      precondition(length <= 8 && used[length] < keywordSlots, "a keyword must fit its length's slots")
      let spelling = Array(k.rawValue.utf8)
      table[length * keywordSlots + used[length]] = (spelling.withUnsafeBufferPointer { packed($0, 0, length) }, k)
      used[length] += 1
    }
    return table
  }()

  /// The punctuator that starts with `first` (two bytes long when `second`
  /// completes one), if any.
  @inline(__always) static func punctuator(_ first: UInt8, followedBy second: UInt8?) -> Punctuator? {
    let equals = second == UInt8(ascii: "=")
    switch first {
    case UInt8(ascii: "("): return .leftParen
    case UInt8(ascii: ")"): return .rightParen
    case UInt8(ascii: "["): return .leftBracket
    case UInt8(ascii: "]"): return .rightBracket
    case UInt8(ascii: "{"): return .leftBrace
    case UInt8(ascii: "}"): return .rightBrace
    case UInt8(ascii: ","): return .comma
    case UInt8(ascii: ":"): return .colon
    case UInt8(ascii: ";"): return .semicolon
    case UInt8(ascii: "."): return .dot
    case UInt8(ascii: "="): return equals ? .equal : .assign
    case UInt8(ascii: "+"): return equals ? .addAssign : .plus
    case UInt8(ascii: "-"): return equals ? .subtractAssign : .minus
    case UInt8(ascii: "*"): return equals ? .multiplyAssign : .star
    case UInt8(ascii: "/"): return equals ? .divideAssign : .slash
    case UInt8(ascii: "%"): return .percent
    case UInt8(ascii: "<"): return equals ? .lessEqual : .less
    case UInt8(ascii: ">"): return equals ? .greaterEqual : .greater
    case UInt8(ascii: "!"): return equals ? .notEqual : nil
    default: return nil
    }
  }

  /// The keyword spelled by `bytes[start..<end]`, if any. (Making a String
  /// and looking it up with `Keyword(rawValue:)` was a tenth of lexing, and
  /// comparing arrays of bytes retained each one.)
  static func keyword(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Keyword? {
    let length = end - start
    guard length >= 2, length <= 8 else { return nil }
    let code = packed(bytes, start, end)
    let table = keywordCodes
    for slot in length * keywordSlots..<(length + 1) * keywordSlots {
      let entry = table[slot]
      if entry.keyword == nil { return nil }
      if entry.code == code { return entry.keyword }
    }
    return nil
  }

  static func isIdentStart(_ b: UInt8) -> Bool {
    (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F
  }
  static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
  static func isIdentContinue(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
  static func isHexDigit(_ b: UInt8) -> Bool {
    isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
  }

  /// Skips spaces, tabs, carriage returns and comments (not line breaks).
  mutating func skipTrivia() {
    while let b = current {
      if b == 0x20 || b == 0x09 || b == 0x0D {
        pos += 1
        while pos < bytes.count, bytes[pos] == 0x20 { pos += 1 }
      } else if b == UInt8(ascii: "#") {
        let start = pos
        while let c = current, c != 0x0A, c != 0x0D || byte(at: pos + 1) != 0x0A { pos += 1 }
        comments.append(range(start, pos))
        while let c = current, c != 0x0A { pos += 1 }
      } else {
        return
      }
    }
  }

  // MARK: - Tokens

  /// The token after `previous` (nil at the start of the file), as the
  /// parser sees them: a run of line breaks is one `.newline`, and none
  /// comes first.
  @inline(__always) mutating func nextToken(after previous: Token?) -> Token {
    nextToken(afterNewline: previous?.isNewline ?? true)
  }

  /// The same, told whether the token before was a line break (or there
  /// was none): a loop keeps that in a register instead of reading back
  /// the token it just stored, a stall at every token.
  @inline(__always) mutating func nextToken(afterNewline: Bool) -> Token {
    while true {
      let token = nextToken()
      if token.isNewline, afterNewline { continue }
      return token
    }
  }

  @inline(__always) mutating func nextToken() -> Token {
    skipTrivia()
    let first = atLineStart
    atLineStart = false
    let start = pos
    guard let b = current else {
      return Token(.endOfFile, start: pos, end: pos, isFirstOnLine: first)
    }
    let kind: TokenKind
    if b == 0x0A {
      pos += 1
      atLineStart = true
      kind = .newline
    } else if Lexer.isIdentStart(b) {
      while let c = current, Lexer.isIdentContinue(c) { pos += 1 }
      kind = Lexer.keyword(bytes, start, pos).map { .keyword($0) } ?? .name
    } else if Lexer.isDigit(b) {
      kind = lexNumber()
    } else if b == UInt8(ascii: "\"") {
      kind = lexString()
    } else {
      kind = lexPunctuator()
    }
    return Token(kind, start: start, end: pos, isFirstOnLine: first)
  }

  mutating func lexPunctuator() -> TokenKind {
    let start = pos
    let b = bytes[pos]
    if let p = Lexer.punctuator(b, followedBy: byte(at: pos + 1)) {
      pos += p.rawValue.utf8.count
      return .punctuator(p)
    }
    if b == UInt8(ascii: "'") {
      // A single-quoted string: one report for the whole thing.
      pos += 1
      while let c = current, c != 0x0A {
        pos += 1
        if c == UInt8(ascii: "'") { break }
      }
      error("unexpected character `'`; strings use double quotes", start, start + 1)
      return .invalid
    }
    if (b == UInt8(ascii: "&") || b == UInt8(ascii: "|")), byte(at: pos + 1) == b {
      pos += 2
      error("unexpected `\(b == UInt8(ascii: "&") ? "&&" : "||")`; use `\(b == UInt8(ascii: "&") ? "and" : "or")`", start, pos)
      return .invalid
    }
    // One whole UTF-8 scalar.
    var length = 1
    if b >= 0xF0 { length = 4 } else if b >= 0xE0 { length = 3 } else if b >= 0xC0 { length = 2 }
    pos = min(bytes.count, pos + length)
    let text = String(decoding: bytes[start..<pos], as: UTF8.self)
    let hint: String
    switch text {
    case "!": hint = "; use `not` to negate, or `!=` to compare"
    case "&": hint = "; use `and`"
    case "|": hint = "; use `or`"
    case "'": hint = "; strings use double quotes"
    default: hint = ""
    }
    error("unexpected character `\(text)`\(hint)", start, pos)
    return .invalid
  }

  // MARK: - Numbers

  mutating func consumeDigits() {
    while let c = current, Lexer.isDigit(c) || c == UInt8(ascii: "_") { pos += 1 }
  }

  /// INT | FLOAT | DURATION: digits, optional fraction and exponent, optional unit.
  mutating func lexNumber() -> TokenKind {
    let start = pos
    // Plain decimal digits (nearly every number): their value as they are read.
    var value = 0
    while let c = current, Lexer.isDigit(c) {
      let (times10, o1) = value.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times10.addingReportingOverflow(Int(c &- 0x30))
      if o1 || o2 { break }
      value = sum
      pos += 1
    }
    // Anything else (a fraction, an exponent, `_`, a unit, too many digits) is read again below.
    if let c = current, c == UInt8(ascii: ".") || Lexer.isIdentContinue(c) {
      pos = start
    } else {
      return .int(value)
    }
    consumeDigits()
    var isFloat = false
    if current == UInt8(ascii: "."), let next = byte(at: pos + 1), Lexer.isDigit(next) {
      isFloat = true
      pos += 1
      consumeDigits()
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      var look = pos + 1
      if byte(at: look) == UInt8(ascii: "+") || byte(at: look) == UInt8(ascii: "-") { look += 1 }
      if let d = byte(at: look), Lexer.isDigit(d) {
        isFloat = true
        pos = look
        consumeDigits()
      }
    }
    let numberEnd = pos
    while let c = current, Lexer.isIdentContinue(c) { pos += 1 }
    let digits = String(decoding: bytes[start..<numberEnd], as: UTF8.self).replacingUnderscores()
    let unit = String(decoding: bytes[numberEnd..<pos], as: UTF8.self)
    let text = String(decoding: bytes[start..<pos], as: UTF8.self)
    if unit.isEmpty {
      if isFloat {
        guard let value = Double(digits), value.isFinite else {
          error("float literal `\(text)` is out of range", start, pos)
          return .invalid
        }
        return .float(value)
      }
      guard let value = Int(digits) else {
        error("integer literal `\(text)` is too large; the largest int is \(Int.max)", start, pos)
        return .invalid
      }
      return .int(value)
    }
    guard let unitMilliseconds = durationUnitMilliseconds(unit) else {
      error(
        "invalid number `\(text)`; a number may only be followed by a duration unit (ms, s, m, h, d)",
        start, pos)
      return .invalid
    }
    let factor = Double(unitMilliseconds)
    if !isFloat, let whole = Int(digits) {
      let (ms, overflow) = whole.multipliedReportingOverflow(by: Int(factor))
      if !overflow { return .duration(ms) }
    } else if let value = Double(digits) {
      let ms = (value * factor).rounded()
      if ms.isFinite, ms < 9.2e18 { return .duration(Int(ms)) }
    }
    error("duration `\(text)` is too large", start, pos)
    return .invalid
  }

  // MARK: - Strings

  /// STRING: `"..."` or `"""..."""`, with escapes and `${expr}` interpolation.
  mutating func lexString() -> TokenKind {
    let start = pos
    let triple = byte(at: pos + 1) == UInt8(ascii: "\"") && byte(at: pos + 2) == UInt8(ascii: "\"")
    pos += triple ? 3 : 1
    if triple {
      // A line break right after the opening quotes is dropped.
      if current == 0x0D, byte(at: pos + 1) == 0x0A { pos += 2 } else if current == 0x0A { pos += 1 }
    }
    var parts: [StringTokenPart] = []
    var text: [UInt8] = []
    var hadError = false
    func flush() {
      if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))); text.removeAll() }
    }
    while true {
      guard let b = current, triple || b != 0x0A else {
        reportUnterminated(start: start, triple: triple)
        return .invalid
      }
      if b == UInt8(ascii: "\"") {
        if !triple {
          pos += 1
          break
        }
        if byte(at: pos + 1) == UInt8(ascii: "\""), byte(at: pos + 2) == UInt8(ascii: "\"") {
          pos += 3
          break
        }
        text.append(b)
        pos += 1
      } else if b == UInt8(ascii: "\\") {
        if !lexEscape(into: &text) { hadError = true }
      } else if b == UInt8(ascii: "$"), byte(at: pos + 1) == UInt8(ascii: "{") {
        flush()
        guard let part = lexInterpolation(triple: triple) else {
          if interpolationDepth == 0, nestingReported, pos >= bytes.count { return .invalid }
          reportUnterminated(start: start, triple: triple)
          return .invalid
        }
        parts.append(part)
      } else {
        text.append(b)
        pos += 1
        if b == 0x0A { atLineStart = false }
      }
    }
    flush()
    if hadError { return .invalid }
    strings.append(parts)
    return .string(index: strings.count - 1)
  }

  // MARK: - Skipping code unlexed

  /// The offset of the `}` that closes code starting at `start` (just
  /// after a `{`), found by scanning bytes as `nextToken` would read them:
  /// nested braces counted, comments and strings (with their escapes and
  /// `${ }`) passed over. Makes no tokens and reports nothing. nil when the
  /// file or a one-line string ends first, or nesting passes the limit:
  /// the caller then lexes the code, which reports what is wrong.
  /// (`Parser.parseDeclarations` skips function bodies this way; a check
  /// compares its result with the full parse's, so a disagreement costs
  /// time, never a wrong report.)
  func closingBrace(from start: Int, nesting: Int = 0) -> Int? {
    guard nesting <= Lexer.maxNesting else { return nil }
    var i = start
    var braces = 0
    while i < bytes.count {
      switch bytes[i] {
      case UInt8(ascii: "{"): braces += 1
      case UInt8(ascii: "}"):
        if braces == 0 { return i }
        braces -= 1
      case UInt8(ascii: "#"):
        while i < bytes.count, bytes[i] != 0x0A { i += 1 }
        continue
      case UInt8(ascii: "\""):
        guard let end = endOfString(from: i, nesting: nesting) else { return nil }
        i = end
        continue
      default: break
      }
      i += 1
    }
    return nil
  }

  /// The offset just past the string whose opening quote is at `start`.
  private func endOfString(from start: Int, nesting: Int) -> Int? {
    let quote = UInt8(ascii: "\"")
    let triple = start + 2 < bytes.count && bytes[start + 1] == quote && bytes[start + 2] == quote
    var i = start + (triple ? 3 : 1)
    while i < bytes.count {
      switch bytes[i] {
      case quote:
        if !triple { return i + 1 }
        if i + 2 < bytes.count, bytes[i + 1] == quote, bytes[i + 2] == quote { return i + 3 }
      case UInt8(ascii: "\\"):
        if i + 1 < bytes.count, bytes[i + 1] == 0x0A, !triple { return nil }
        i += 1
      case 0x0A:
        if !triple { return nil }
      case UInt8(ascii: "$"):
        if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") {
          guard let close = closingBrace(from: i + 2, nesting: nesting + 1) else { return nil }
          i = close
        }
      default: break
      }
      i += 1
    }
    return nil
  }

  /// Continues lexing at `offset` (after skipping code up to it).
  mutating func resume(at offset: Int) {
    pos = offset
    var i = offset - 1
    while i >= 0, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D { i -= 1 }
    atLineStart = i < 0 || bytes[i] == 0x0A
  }

  mutating func reportUnterminated(start: Int, triple: Bool) {
    defer { lastUnterminatedEnd = pos }
    if lastUnterminatedEnd == pos { return }
    if triple {
      error("unterminated string; close it with `\"\"\"`", start, pos, incomplete: true)
    } else {
      // Never incomplete: the line break that ended the input ends the
      // string, so no further line can close it (a REPL that asked for one
      // would report this error after it).
      error(
        "unterminated string; close it with `\"` before the end of the line (use `\\n` or `\"\"\"` for line breaks)",
        start, pos)
    }
  }

  /// One escape sequence after `\`; false (after reporting) when it is invalid.
  mutating func lexEscape(into text: inout [UInt8]) -> Bool {
    let start = pos
    pos += 1
    guard let e = current, e != 0x0A else {
      // The string is unterminated; that report covers this too.
      return true
    }
    pos += 1
    switch e {
    case UInt8(ascii: "n"): text.append(0x0A)
    case UInt8(ascii: "t"): text.append(0x09)
    case UInt8(ascii: "r"): text.append(0x0D)
    case UInt8(ascii: "0"): text.append(0)
    case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "$"): text.append(e)
    case UInt8(ascii: "u"):
      var ok = current == UInt8(ascii: "{")
      var value: UInt32 = 0
      if ok {
        pos += 1
        var count = 0
        while let h = current, Lexer.isHexDigit(h) {
          // A hex digit's value: '0'-'9', then 'a'-'f' in either case (0x20 folds to lower case).
          value = value &* 16 &+ UInt32(h <= UInt8(ascii: "9") ? h - UInt8(ascii: "0") : (h | 0x20) - UInt8(ascii: "a") + 10)
          count += 1
          pos += 1
        }
        ok = count >= 1 && count <= 6 && current == UInt8(ascii: "}")
        if ok { pos += 1 }
      }
      guard ok, let scalar = UnicodeScalar(value) else {
        error(
          "invalid unicode escape; write `\\u{` then 1 to 6 hex digits of a valid code point, then `}`",
          start, pos)
        return false
      }
      text.append(contentsOf: Array(String(Character(scalar)).utf8))
    default:
      var end = pos
      if e >= 0x80 { while let c = byte(at: end), c & 0xC0 == 0x80 { end += 1 } }
      pos = end
      let shown = String(decoding: bytes[start..<end], as: UTF8.self)
      error(
        "invalid escape sequence `\(shown)`; use \\n \\t \\r \\\\ \\\" \\$ \\0 or \\u{...}",
        start, end)
      return false
    }
    return true
  }

  /// `${` tokens `}`; nil when the string ends (line break or end of input) first.
  mutating func lexInterpolation(triple: Bool) -> StringTokenPart? {
    let start = pos
    pos += 2
    interpolationDepth += 1
    defer { interpolationDepth -= 1 }
    if interpolationDepth > Lexer.maxNesting {
      if !nestingReported {
        nestingReported = true
        error("nesting is too deep (more than \(Lexer.maxNesting) levels)", start, pos)
      }
      pos = bytes.count
      lastUnterminatedEnd = pos
      return nil
    }
    var tokens: [Token] = []
    tokens.reserveCapacity(4)
    var braces = 0
    while true {
      skipTrivia()
      guard let b = current, triple || b != 0x0A else { return nil }
      if b == 0x0A {
        pos += 1
        continue
      }
      if b == UInt8(ascii: "}"), braces == 0 {
        pos += 1
        tokens.append(Token(.endOfFile, start: pos - 1, end: pos, isFirstOnLine: false))
        return .code(tokens, range: range(start, pos))
      }
      let token = nextToken()
      if token.isPunctuator(.leftBrace) { braces += 1 }
      if token.isPunctuator(.rightBrace) { braces -= 1 }
      if token.isInvalid, nestingReported || lastUnterminatedEnd == pos { return nil }
      tokens.append(token)
    }
  }
}

extension String {
  func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

/// Milliseconds in one of the duration units `ms s m h d`, or nil.
public func durationUnitMilliseconds(_ unit: some StringProtocol) -> Int? {
  switch unit {
  case "ms": return 1
  case "s": return 1000
  case "m": return 60_000
  case "h": return 3_600_000
  case "d": return 86_400_000
  default: return nil
  }
}
