/// Where REPL history lives, how much of it is kept, and which entries are
/// never written to it.
///
/// The secret rule (checked on the whole entry, all its lines, ignoring
/// case). An entry is not recorded when:
/// 1. it starts with a space or tab (a deliberate "keep this out" escape,
///    as with bash's `HISTCONTROL=ignorespace`);
/// 2. it contains one of `sensitiveWords` anywhere: in a name, a string, a
///    field or an `env("…")` argument (`client_secret`, `DB_PASSWORD`,
///    `env("APP_SECRET")`, `token = "…"`);
/// 3. it assigns to something named `…key`: `key`, `accessKey` or
///    `account_key` followed by `=` (not `==`) or `:`, which also covers
///    connection strings such as `"AccountKey=…"`.
///
/// The rule errs on the side of leaving lines out (`let tokens = 3` is not
/// recorded either). The entry still runs; only history skips it.
public struct HistoryPolicy: Sendable {
  /// Substrings that mark an entry as holding a secret (lowercase).
  public static let sensitiveWords = [
    "secret", "password", "passwd", "passphrase", "token", "credential", "apikey", "api_key",
    "private_key", "privatekey", "bearer", "sas_url", "connection_string", "connectionstring",
  ]

  /// At most this many entries are kept in memory and in the file.
  public var maxEntries: Int

  public init(maxEntries: Int = 1000) { self.maxEntries = max(1, maxEntries) }

  /// `$XDG_STATE_HOME/runbook/history`, else `~/.local/state/runbook/history`;
  /// nil when neither variable gives an absolute directory (no history).
  /// A relative `XDG_STATE_HOME` is ignored, as the XDG spec requires.
  public static func historyPath(environment: [String: String]) -> String? {
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
      return join(state, "runbook/history")
    }
    if let home = environment["HOME"], home.hasPrefix("/") {
      return join(home, ".local/state/runbook/history")
    }
    return nil
  }

  /// Whether `entry` may be written to history.
  public func shouldRecord(_ entry: String) -> Bool {
    guard !entry.trimmingWhitespace().isEmpty else { return false }
    if let first = entry.first, first == " " || first == "\t" { return false }
    return !HistoryPolicy.containsSecret(entry)
  }

  /// Rules 2 and 3 of the secret rule.
  public static func containsSecret(_ text: String) -> Bool {
    let lower = text.lowercased()
    if sensitiveWords.contains(where: { lower.contains($0) }) { return true }
    return assignsToKey(Array(lower.utf8))
  }

  /// `…key` followed by optional spaces and then `:` or a lone `=`.
  private static func assignsToKey(_ bytes: [UInt8]) -> Bool {
    let key = Array("key".utf8)
    var i = 0
    while i + key.count <= bytes.count {
      defer { i += 1 }
      guard bytes[i..<(i + key.count)].elementsEqual(key) else { continue }
      var j = i + key.count
      while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\t") { j += 1 }
      guard j < bytes.count else { return false }
      if bytes[j] == UInt8(ascii: ":") { return true }
      if bytes[j] == UInt8(ascii: "="), j + 1 >= bytes.count || bytes[j + 1] != UInt8(ascii: "=") { return true }
    }
    return false
  }

  private static func join(_ directory: String, _ rest: String) -> String {
    (directory.hasSuffix("/") ? directory : directory + "/") + rest
  }
}

extension String {
  func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
