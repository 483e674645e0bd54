/// A runbook source text with its path, and the mapping from byte offsets to
/// line and column that every diagnostic needs.
public final class SourceFile: Sendable, Hashable {
  public let path: String
  /// UTF-8 offset of the first byte of each line (32 bits, as in
  /// `SourceRange`: half the memory of a large file's table).
  let lineStarts: [UInt32]
  /// The text, as UTF-8. (Only the bytes are kept: a second copy as a
  /// String doubled the memory of the source, and nothing reads it often.)
  public let bytes: [UInt8]
  /// The text, decoded from `bytes` at each use.
  public var text: String { String(decoding: bytes, as: UTF8.self) }

  public init(path: String, text: String) {
    self.path = path
    let bytes = Array(text.utf8)
    self.bytes = bytes
    self.lineStarts = bytes.withUnsafeBufferPointer { bytes in
      // Counted first, so the table is made once at its size.
      var lineBreaks = 0
      for b in bytes where b == UInt8(ascii: "\n") { lineBreaks += 1 }
      var starts: [UInt32] = []
      starts.reserveCapacity(lineBreaks + 1)
      starts.append(0)
      for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") { starts.append(UInt32(clamping: i + 1)) }
      return starts
    }
  }

  /// 1-based line and column (in characters) of a UTF-8 offset.
  public func location(of offset: Int) -> SourceLocation {
    let clamped = max(0, min(offset, bytes.count))
    var lo = 0, hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if Int(lineStarts[mid]) <= clamped { lo = mid } else { hi = mid - 1 }
    }
    let lineStart = Int(lineStarts[lo])
    let prefix = bytes[lineStart..<clamped]
    // ASCII lines (nearly all) need no decoding: one byte is one character.
    let column = (prefix.allSatisfy { $0 < 0x80 } ? prefix.count : String(decoding: prefix, as: UTF8.self).count) + 1
    return SourceLocation(line: lo + 1, column: column)
  }

  /// The text of a 1-based line, without its line break.
  public func lineText(_ line: Int) -> String {
    guard line >= 1, line <= lineStarts.count else { return "" }
    let start = Int(lineStarts[line - 1])
    var end = line < lineStarts.count ? Int(lineStarts[line]) - 1 : bytes.count
    if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
  }

  /// The source text covered by a range.
  public func slice(_ range: SourceRange) -> String {
    let s = max(0, min(range.start, bytes.count)), e = max(s, min(range.end, bytes.count))
    return String(decoding: bytes[s..<e], as: UTF8.self)
  }

  public static func == (a: SourceFile, b: SourceFile) -> Bool { a === b }
  public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
  public var line: Int
  public var column: Int
  public init(line: Int, column: Int) { self.line = line; self.column = column }
  public var description: String { "\(line):\(column)" }
}

/// A half-open span of UTF-8 offsets in one source file.
public struct SourceRange: Sendable, Hashable {
  public let file: SourceFile
  // 32-bit offsets make a range 16 bytes, not 24: every token and syntax
  // node holds one. (A source of 4 GiB would not fit its tokens in memory.)
  private let startOffset: UInt32
  private let endOffset: UInt32
  public var start: Int { Int(startOffset) }
  public var end: Int { Int(endOffset) }
  public init(file: SourceFile, start: Int, end: Int) {
    self.file = file
    startOffset = UInt32(clamping: start)
    endOffset = UInt32(clamping: max(start, end))
  }
  public var startLocation: SourceLocation { file.location(of: start) }
  /// The smallest range covering both.
  public func union(_ other: SourceRange) -> SourceRange {
    SourceRange(file: file, start: min(start, other.start), end: max(end, other.end))
  }
  public var text: String { file.slice(self) }
}
