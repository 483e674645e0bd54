/// Character counts and positions of the long strings a program measures and
/// indexes, so that `len(s)` and `s[i]` in a loop over `s` cost O(1) per call
/// after one O(n) scan, not O(n) each (a Swift `String` counts its
/// characters, grapheme clusters, by walking them).
///
/// One index per interpreter; it remembers the few strings scanned most
/// recently. An entry is found by the address of the string's UTF-8 storage
/// and its length: the entry holds the string, so that storage stays alive
/// and cannot be reused by another string, and a string's storage cannot
/// grow in place while the entry shares it, so any string with the same
/// storage and length has the same text. The cost: the last 4 long strings
/// measured stay in memory until 4 others replace them.
public final class CharacterIndex {
  /// Strings up to this many UTF-8 bytes are measured directly: a scan costs
  /// less than a look-up.
  static let directLimit = 64
  /// How many strings are remembered.
  static let capacity = 4
  /// Every `stride`-th character's position is kept for non-ASCII text.
  static let stride = 64

  private struct Entry {
    let text: String
    let storage: UnsafeRawPointer
    let utf8Count: Int
    let count: Int
    /// One byte per character (ASCII without `\r\n`, which is one character).
    let isSingleByte: Bool
    /// The position of character `k * stride`, for `k` from 0 (non-ASCII text only).
    let marks: [String.Index]
  }

  /// Most recently used first.
  private var entries: [Entry] = []
  /// How many long strings have been scanned: the work `len` and indexing
  /// do beyond O(1) (tests assert a loop over a string scans it once).
  public private(set) var scans = 0

  public init() {}

  /// The number of characters of `s`.
  public func count(of s: String) -> Int {
    if s.utf8.count <= Self.directLimit { return s.count }
    return entry(for: s)?.count ?? s.count
  }

  /// The character at position `i` (0-based, `0 <= i < count`) as a string.
  public func character(of s: String, at i: Int) -> String {
    if s.utf8.count > Self.directLimit, let e = entry(for: s) {
      if e.isSingleByte {
        return String(Character(Unicode.Scalar(s.utf8[s.utf8.index(s.utf8.startIndex, offsetBy: i)])))
      }
      let start = e.marks[i / Self.stride]
      return String(s[s.index(start, offsetBy: i % Self.stride)])
    }
    return String(s[s.index(s.startIndex, offsetBy: i)])
  }

  private func entry(for s: String) -> Entry? {
    guard let storage = s.utf8.withContiguousStorageIfAvailable({ UnsafeRawPointer($0.baseAddress) }) ?? nil else {
      return nil
    }
    let utf8Count = s.utf8.count
    if let k = entries.firstIndex(where: { $0.storage == storage && $0.utf8Count == utf8Count }) {
      if k > 0 { entries.insert(entries.remove(at: k), at: 0) }
      return entries[0]
    }
    let made = scan(s, storage: storage)
    entries.insert(made, at: 0)
    if entries.count > Self.capacity { entries.removeLast() }
    return made
  }

  /// Whether every byte is one character: ASCII without `\r\n`. Eight
  /// bytes are tested at a time (a byte-by-byte loop was a twentieth of a
  /// program that builds and measures a 2 MB string).
  static func isSingleByte(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    let highBits: UInt64 = 0x8080_8080_8080_8080, ones: UInt64 = 0x0101_0101_0101_0101
    var i = 0
    while i + 8 <= bytes.count {
      let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
      if word & highBits != 0 { return false }
      // A zero byte in `word ^ "\r\r\r\r\r\r\r\r"` is a carriage return: look closer.
      let x = word ^ (ones &* 0x0D)
      if (x &- ones) & ~x & highBits != 0, !noCRLF(bytes, from: i, to: i + 8) { return false }
      i += 8
    }
    for b in bytes[i...] where b >= 0x80 { return false }
    return noCRLF(bytes, from: i, to: bytes.count)
  }

  private static func noCRLF(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
    for j in start..<end where bytes[j] == 0x0D && j + 1 < bytes.count && bytes[j + 1] == 0x0A { return false }
    return true
  }

  private func scan(_ s: String, storage: UnsafeRawPointer) -> Entry {
    scans += 1
    var text = s
    if text.withUTF8(Self.isSingleByte) {
      return Entry(text: s, storage: storage, utf8Count: s.utf8.count, count: s.utf8.count, isSingleByte: true, marks: [])
    }
    var marks: [String.Index] = []
    var count = 0
    var i = s.startIndex
    while i < s.endIndex {
      if count % Self.stride == 0 { marks.append(i) }
      count += 1
      i = s.index(after: i)
    }
    return Entry(text: s, storage: storage, utf8Count: s.utf8.count, count: count, isSingleByte: false, marks: marks)
  }
}
