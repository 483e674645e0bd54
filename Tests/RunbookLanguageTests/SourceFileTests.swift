import Testing

@testable import RunbookLanguage

@Suite struct SourceFileTests {
  /// The line table read a word at a time is the one read byte by byte: line
  /// breaks at every offset of a word, runs of them, and a tail shorter than a word.
  @Test func lineStartsMatchAByteByByteScan() {
    var generator = SystemRandomNumberGenerator()
    let alphabet: [UInt8] = Array("a\n\n\r \u{7F}".utf8) + [0x0A ^ 0x80, 0x8A, 0xFF, 0x09, 0x0B]
    for length in 0..<40 {
      for _ in 0..<50 {
        let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        var expected: [UInt32] = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { expected.append(UInt32(i + 1)) }
        #expect(SourceFile.lineStarts(of: bytes) == expected, "\(bytes)")
      }
    }
  }

  /// Bytes are accepted as UTF-8 exactly when the standard library decodes
  /// them without repair, wherever the first non-ASCII byte falls.
  @Test func utf8IsValidatedAsTheStandardLibraryDoes() {
    let samples: [[UInt8]] = [
      [], Array("plain ascii text, longer than a word".utf8), Array("café — naïve ✓ 𝄞".utf8),
      [0xC3], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xFF],
    ]
    for sample in samples {
      for prefix in 0..<10 {
        let bytes = Array(repeating: UInt8(ascii: "x"), count: prefix) + sample
        let valid = String(validating: bytes, as: UTF8.self) != nil
        #expect((SourceFile(path: "f", utf8: bytes) != nil) == valid, "\(bytes)")
      }
    }
    let marked = SourceFile(path: "f", utf8: [0xEF, 0xBB, 0xBF] + Array("print(1)\n".utf8))
    #expect(marked?.text == "print(1)\n", "a byte-order mark is not part of the text")
    let file = SourceFile(path: "f", utf8: Array("a\nbé\n".utf8))
    #expect(file?.text == "a\nbé\n")
    #expect(file?.location(of: 5) == SourceLocation(line: 2, column: 3))
  }
}
