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
    let line = range.file.lineText(loc.line)
    out += "    \(line)\n"
    // Underline the part of the range that lies on the first line.
    let endLoc = range.file.location(of: range.end)
    let lineLength = line.count
    let startCol = min(loc.column, lineLength + 1)
    let endCol = endLoc.line == loc.line ? max(endLoc.column, startCol + 1) : lineLength + 1
    let width = max(1, min(endCol, lineLength + 1) - startCol)
    let indent = String(line.prefix(startCol - 1).map { $0 == "\t" ? "\t" : " " })
    let marker = "^" + String(repeating: "~", count: max(0, width - 1))
    out += "    \(indent)\(color ? "\u{1B}[1;32m" : "")\(marker)\(color ? "\u{1B}[0m" : "")\n"
    for note in notes { out += note.render(color: color) }
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
