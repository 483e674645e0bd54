/// A finding about a runbook: a syntax, check or runtime error, or a warning.
/// Errors are data: every diagnostic that can be tied to source carries its range.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable { case error, warning, note }

  public var severity: Severity
  public var message: String
  public var range: SourceRange?
  /// Follow-up lines such as "note: the step was opened here".
  public var notes: [Diagnostic]
  /// Set by the parser when the text ended inside an unfinished construct
  /// (open brace, bracket or string), so a REPL can ask for more input.
  public var isIncompleteInput: Bool
  /// A stable name of the kind of finding, for machines (`check --format
  /// json`, editors): `syntax`, `undefined_name`, `unknown_function`,
  /// `unused`, ... (docs/check-json.md). Not shown in the text rendering.
  public var code: String

  public init(
    _ severity: Severity, _ message: String, at range: SourceRange?, notes: [Diagnostic] = [],
    isIncompleteInput: Bool = false, code: String = "check"
  ) {
    self.code = code
    self.severity = severity
    self.message = message
    self.range = range
    self.notes = notes
    self.isIncompleteInput = isIncompleteInput
  }

  public static func error(_ message: String, at range: SourceRange?, code: String = "check") -> Diagnostic {
    Diagnostic(.error, message, at: range, code: code)
  }
  public static func warning(_ message: String, at range: SourceRange?, code: String = "check") -> Diagnostic {
    Diagnostic(.warning, message, at: range, code: code)
  }

  public var description: String { render() }

  /// `file:line:col: error: message`, the source line, and a caret under the fault.
  public func render(color: Bool = false) -> String {
    var out = ""
    let label: String
    switch severity {
    case .error: label = color ? "\u{1B}[1;31merror\u{1B}[0m" : "error"
    case .warning: label = color ? "\u{1B}[1;35mwarning\u{1B}[0m" : "warning"
    case .note: label = color ? "\u{1B}[1;36mnote\u{1B}[0m" : "note"
    }
    guard let range else {
      out = "\(label): \(message)\n"
      for note in notes { out += note.render(color: color) }
      return out
    }
    let loc = range.startLocation
    out += "\(range.file.path):\(loc.line):\(loc.column): \(label): \(message)\n"
    let fullLine = range.file.lineText(loc.line)
    // Underline the part of the range that lies on the first line.
    let endLoc = range.file.location(of: range.end)
    let fullLength = fullLine.count
    var startCol = min(loc.column, fullLength + 1)
    var endCol = endLoc.line == loc.line ? max(endLoc.column, startCol + 1) : fullLength + 1
    // A long line is shown as a window around the fault, so that many
    // diagnostics on one huge line do not each print all of it.
    var line = fullLine
    if fullLength > Diagnostic.maxShownLineLength {
      let first = max(0, min(startCol - 1 - Diagnostic.maxShownLineLength / 4, fullLength - Diagnostic.maxShownLineLength))
      let characters = Array(fullLine)
      let window = String(characters[first..<min(fullLength, first + Diagnostic.maxShownLineLength)])
      let lead = first > 0 ? "..." : ""
      line = lead + window + (first + Diagnostic.maxShownLineLength < fullLength ? "..." : "")
      startCol = startCol - first + lead.count
      endCol = min(endCol - first + lead.count, lead.count + window.count + 1)
    }
    let lineLength = line.count
    out += "    \(line)\n"
    let width = max(1, min(endCol, lineLength + 1) - startCol)
    let indent = String(line.prefix(startCol - 1).map { $0 == "\t" ? "\t" : " " })
    let marker = "^" + String(repeating: "~", count: max(0, width - 1))
    out += "    \(indent)\(color ? "\u{1B}[1;32m" : "")\(marker)\(color ? "\u{1B}[0m" : "")\n"
    for note in notes { out += note.render(color: color) }
    return out
  }
}

extension Diagnostic {
  /// Longer source lines are shown as a window of this many characters.
  public static let maxShownLineLength = 400

  /// The diagnostics a person reads: at most `perMessage` of the same
  /// message (the rest folded into "and 9,999 more like this"), at most
  /// `total` in all (then one line saying how many are not shown).
  public static func bounded(_ diagnostics: [Diagnostic], perMessage: Int = 3, total: Int = 200) -> [Diagnostic] {
    var shownPerMessage: [String: Int] = [:]
    var foldedPerMessage: [String: Int] = [:]
    var firstOfMessage: [String: Int] = [:]
    var out: [Diagnostic] = []
    var hidden = 0
    for d in diagnostics {
      let n = shownPerMessage[d.message, default: 0]
      if n >= perMessage {
        foldedPerMessage[d.message, default: 0] += 1
        continue
      }
      if out.count >= total { hidden += 1; continue }
      shownPerMessage[d.message] = n + 1
      if n == 0 { firstOfMessage[d.message] = out.count }
      out.append(d)
    }
    // The fold note goes under the last shown diagnostic of its message.
    var notes: [(Int, Diagnostic)] = []
    for (message, folded) in foldedPerMessage {
      guard let first = firstOfMessage[message] else { continue }
      let last = out.lastIndex { $0.message == message } ?? first
      notes.append((last, Diagnostic(.note, "and \(grouped(folded)) more like this", at: nil)))
    }
    for (index, note) in notes { out[index].notes.append(note) }
    if hidden > 0 {
      out.append(Diagnostic(.note, "and \(grouped(hidden)) more diagnostic\(hidden == 1 ? "" : "s") not shown (fix the ones above first)", at: nil))
    }
    return out
  }

  /// 9999 -> "9,999".
  public static func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return out
  }
}

/// A batch of diagnostics reported together (all syntax errors of a file).
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [Diagnostic]
  public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
  public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
  public var description: String { diagnostics.map { $0.render() }.joined() }
}
