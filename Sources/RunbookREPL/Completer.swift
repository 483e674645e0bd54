/// Tab completion, as a pure function of the word under the cursor, the
/// text before it, and what the session knows.
public struct Completer {
  /// All names the session offers (keywords, built-ins, defined names).
  public var names: [String]
  /// The field names of a map-valued expression, for `acct.` + Tab.
  public var fields: (String) -> [String]?

  public init(names: [String], fields: @escaping (String) -> [String]?) {
    self.names = names
    self.fields = fields
  }

  /// The full words that may replace `word`, sorted and without duplicates.
  /// `lineBeforeWord` is the line's text before the word.
  public func candidates(for word: String, lineBeforeWord: String) -> [String] {
    let before = lineBeforeWord.trimmingWhitespace()
    if before.isEmpty, word.hasPrefix(":") {
      return matches(MetaCommand.allNames.map { ":" + $0 }, prefix: word)
    }
    if before == ":help" {
      return matches(MetaCommand.allNames.map { ":" + $0 } + names, prefix: word)
    }
    if let dot = word.lastIndex(of: ".") {
      let base = String(word[..<dot])
      let partial = String(word[word.index(after: dot)...])
      guard !base.isEmpty, let fieldNames = fields(base) else { return [] }
      return matches(fieldNames, prefix: partial).map { base + "." + $0 }
    }
    return matches(names, prefix: word)
  }

  private func matches(_ words: [String], prefix: String) -> [String] {
    Array(Set(words.filter { $0.hasPrefix(prefix) })).sorted()
  }

  /// The longest prefix all `words` share.
  public static func commonPrefix(_ words: [String]) -> String {
    guard var prefix = words.first else { return "" }
    for word in words.dropFirst() {
      while !word.hasPrefix(prefix) { prefix.removeLast() }
    }
    return prefix
  }
}
