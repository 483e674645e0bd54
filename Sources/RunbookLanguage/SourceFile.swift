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

  public convenience init(path: String, text: String) {
    self.init(path: path, validUTF8: Array(text.utf8))
  }

  /// A file read as bytes: nil when they are not UTF-8. (Checked here, not by
  /// decoding them into a String first, which would copy the text twice.)
  /// A leading byte-order mark, which editors on Windows write, is dropped.
  public convenience init?(path: String, utf8 bytes: [UInt8]) {
    guard SourceFile.isUTF8(bytes) else { return nil }
    let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    self.init(path: path, validUTF8: bytes.starts(with: byteOrderMark) ? Array(bytes.dropFirst(3)) : bytes)
  }

  private init(path: String, validUTF8 bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
    self.lineStarts = SourceFile.lineStarts(of: bytes)
  }

  /// Whether `bytes` are UTF-8: ASCII, nearly always, is known eight bytes at a time.
  static func isUTF8(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
      var i = 0
      while i + 8 <= raw.count {
        if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
        i += 8
      }
      while i < raw.count, raw[i] < 0x80 { i += 1 }
      if i == raw.count { return true }
      return String(validating: raw[i...], as: UTF8.self) != nil
    }
  }

  /// The offset of each line's first byte. The text is read eight bytes at a
  /// time, a word's line breaks found by its bits; the table is counted
  /// first, so it is made once at its size.
  static func lineStarts(of bytes: [UInt8]) -> [UInt32] {
    bytes.withUnsafeBytes { raw in
      let words = raw.count / 8
      /// The high bit of each byte of word `w` that is a line break, exactly.
      @inline(__always) func lineBreaks(inWord w: Int) -> UInt64 {
        let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) ^ 0x0A0A_0A0A_0A0A_0A0A
        return ~(((x & lows) &+ lows) | x | lows)
      }
      var count = 1
      for w in 0..<words { count += lineBreaks(inWord: w).nonzeroBitCount }
      for j in words * 8..<raw.count where raw[j] == UInt8(ascii: "\n") { count += 1 }
      return [UInt32](unsafeUninitializedCapacity: count) { starts, made in
        starts[0] = 0
        var n = 1
        for w in 0..<words {
          var breaks = lineBreaks(inWord: w)
          while breaks != 0 {
            starts[n] = UInt32(clamping: w * 8 + breaks.trailingZeroBitCount / 8 + 1)
            n += 1
            breaks &= breaks &- 1
          }
        }
        for j in words * 8..<raw.count where raw[j] == UInt8(ascii: "\n") {
          starts[n] = UInt32(clamping: j + 1)
          n += 1
        }
        made = n
      }
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
