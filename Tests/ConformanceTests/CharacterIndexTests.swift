import RunbookRuntime
import Testing

/// `len` of a long string counts characters the way Swift does, whatever
/// the text: the fast scan tests eight bytes at a time, so a `\r\n`, a lone
/// `\r` or a non-ASCII character is put at every offset around the words.
@Suite("Character counts of long strings")
struct CharacterIndexTests {
  @Test(arguments: ["\r\n", "\r", "\n", "é", "e\u{301}", "👍🏽", "\r\r\n"])
  func countsMatchSwiftAtEveryOffset(_ insert: String) {
    for length in [65, 72, 80, 97] {
      for offset in 0...length {
        let base = String(repeating: "a", count: length)
        let text = String(base.prefix(offset)) + insert + String(base.dropFirst(offset))
        let index = CharacterIndex()
        #expect(index.count(of: text) == text.count, "\(insert.debugDescription) at \(offset) of \(length)")
        let last = index.character(of: text, at: text.count - 1)
        #expect(last == String(text.last!))
      }
    }
  }

  @Test func aCarriageReturnAtAWordsEndBeforeALineFeedIsOneCharacter() {
    // The `\r` ends one eight-byte word and the `\n` starts the next.
    let text = String(repeating: "b", count: 7) + "\r\n" + String(repeating: "c", count: 70)
    #expect(CharacterIndex().count(of: text) == 78)
  }
}
