import RunbookLanguage
import RunbookRuntime
import Testing

/// Appending and string access cost what docs/language.md says, asserted by
/// counting work, not by timing: buffer copies of a list (each copy moves
/// the list's elements to a new buffer, so its address changes) and scans of
/// a long string.
@Suite("Complexity")
struct ComplexityTests {
  /// A session with `buffer_address(list)`: the address of the list's
  /// element buffer (it changes exactly when the elements are copied: a copy
  /// is made while the old buffer is still alive).
  func session() -> (Session, SessionTests.Silent) {
    let registry = CoreBuiltins.makeRegistry()
    registry.register(
      Builtin("buffer_address", [.init("list", .list)], returns: .int, category: "test", doc: "The list's buffer address.") { args, _ in
        guard case .list(let box) = args["list"] else { return .null }
        return .int(box.items.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) })
      })
    registry.register(
      Builtin("string_address", [.init("text", .string)], returns: .int, category: "test", doc: "The string's buffer address.") { args, _ in
        guard case .string(var text) = args["text"] else { return .null }
        return .int(text.withUTF8 { Int(bitPattern: $0.baseAddress) })
      })
    let host = SessionTests.Silent()
    return (Session(registry: registry, host: host, environment: [:]), host)
  }

  /// Runs `appendStatement` (which appends `i` to `xs`) `count` times and
  /// returns how often the buffer moved, after checking the list's contents.
  func bufferCopies(_ appendStatement: String, count: Int = 10_000, inFunction: Bool = false) throws -> Int {
    let loop = """
      var xs = []
      var moves = 0
      var last = buffer_address(xs)
      for i in range(\(count)) {
        \(appendStatement)
        let now = buffer_address(xs)
        if now != last {
          moves += 1
          last = now
        }
      }
      """
    let program = inFunction
      ? "fn measure() {\n\(loop)\nreturn [moves, len(xs), xs[\(count - 1)]]\n}\nmeasure()"
      : "\(loop)\n[moves, len(xs), xs[\(count - 1)]]"
    let (s, _) = session()
    let outcome = s.evaluate(program)
    #expect(outcome.diagnostics.filter { $0.severity == .error }.isEmpty, "\(outcome.diagnostics)")
    let result = try #require(outcome.value?.asList, "no result: \(String(describing: outcome.error))")
    #expect(result[1] == .int(count) && result[2] == .int(count - 1))
    return try #require(result[0].asInt)
  }

  /// Buffer growth doubles the capacity: about log2(n) moves, not n.
  static let logarithmic = 40

  @Test(arguments: ["xs = append(xs, i)", "xs += [i]", "xs = xs + [i]", "xs = append(value: i, list: xs)"])
  func appendingToAnUnsharedListMovesItsBufferLogarithmicallyOften(_ statement: String) throws {
    #expect(try bufferCopies(statement) <= Self.logarithmic)
    #expect(try bufferCopies(statement, inFunction: true) <= Self.logarithmic)
  }

  @Test func aCapturedListIsAppendedInPlaceToo() throws {
    let (s, _) = session()
    let outcome = s.evaluate("""
      fn measure() {
        var xs = []
        var moves = 0
        var last = buffer_address(xs)
        let add = fn(v) { xs = append(xs, v) }
        for i in range(10000) {
          add(i)
          if buffer_address(xs) != last {
            moves += 1
            last = buffer_address(xs)
          }
        }
        return moves
      }
      measure()
      """)
    let moves = try #require(outcome.value?.asInt, "\(outcome.diagnostics) \(String(describing: outcome.error))")
    #expect(moves <= Self.logarithmic)
  }

  @Test func aSharedListIsCopiedOnceAndTheOtherHolderKeepsItsValue() throws {
    let (s, _) = session()
    let outcome = s.evaluate("""
      var xs = [1, 2]
      let kept = xs
      let before = buffer_address(xs)
      xs = append(xs, 3)
      let copied = buffer_address(xs) != before
      xs = append(xs, 4)
      [copied, kept, xs, buffer_address(kept) == before]
      """)
    #expect(outcome.value == .list([.bool(true), .list([.int(1), .int(2)]), .list([1, 2, 3, 4].map(Value.int)), .bool(true)]))
  }

  @Test(arguments: ["text += \"ab\"", "text = text + \"ab\"", "text = text + \"${i % 10}\""])
  func appendingToAnUnsharedStringMovesItsBufferLogarithmicallyOften(_ statement: String) throws {
    // Starts past the 15 bytes Swift stores inline, so every address is of a heap buffer.
    let (s, _) = session()
    let outcome = s.evaluate("""
      var text = "0123456789012345678901234567890123456789"
      var moves = 0
      var last = string_address(text)
      for i in range(10000) {
        \(statement)
        let now = string_address(text)
        if now != last {
          moves += 1
          last = now
        }
      }
      [moves, len(text)]
      """)
    let result = try #require(outcome.value?.asList, "\(outcome.diagnostics) \(String(describing: outcome.error))")
    #expect(result[1] == .int(40 + (statement.hasSuffix("10}\"") ? 10_000 : 20_000)))
    #expect(try #require(result[0].asInt) <= Self.logarithmic)
  }

  /// Walks every character of `unit` repeated `repeats` times with `len` and
  /// `text[i]`; returns how often the string was scanned.
  func scans(over unit: String, repeats: Int) throws -> Int {
    let (s, _) = session()
    let outcome = s.evaluate("""
      let text = join(map(range(\(repeats)), fn(i) { \(Value.quote(unit)) }), "")
      var out = []
      for i in range(len(text)) {
        out += [text[i]]
      }
      [len(text), out]
      """)
    let result = try #require(outcome.value?.asList, "\(outcome.diagnostics) \(String(describing: outcome.error))")
    let expected = String(repeating: unit, count: repeats).map { Value.string(String($0)) }
    #expect(result[0] == .int(expected.count))
    #expect(result[1].asList == expected)
    return s.interpreter.characterIndex.scans
  }

  @Test(arguments: ["abcdefghij", "é-👍🏽\r\n"])
  func indexingEveryCharacterOfALongStringScansItOnce(_ unit: String) throws {
    // 10,000 `text[i]` and one `len`: one scan of the 10,000-unit string, not one per call.
    #expect(try scans(over: unit, repeats: 1_000) == 1)
  }
}
