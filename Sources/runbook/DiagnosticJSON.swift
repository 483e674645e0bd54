import RunbookLanguage
import RunbookServices

/// `check --format json`: one JSON object per diagnostic, then a summary
/// object, each on its own line (documented in docs/check-json.md).
enum DiagnosticJSON {
  /// A diagnostic with its file, 1-based start and end positions (the end is
  /// exclusive, columns count characters), severity, code and message.
  static func line(_ d: Diagnostic, file: String) -> String {
    var fields: [(String, JSON)] = [
      ("type", .string("diagnostic")), ("severity", .string(d.severity.rawValue)), ("code", .string(d.code)),
      ("message", .string(d.message)),
    ]
    if let range = d.range {
      let start = range.startLocation, end = range.file.location(of: range.end)
      fields += [
        ("file", .string(range.file.path)), ("line", .int(start.line)), ("column", .int(start.column)),
        ("end", .object([("line", .int(end.line)), ("column", .int(end.column))])),
      ]
    } else {
      fields += [("file", .string(file)), ("line", .null), ("column", .null), ("end", .null)]
    }
    fields.append(("notes", .array(d.notes.map { note in
      var n: [(String, JSON)] = [("severity", .string(note.severity.rawValue)), ("message", .string(note.message))]
      if let r = note.range {
        n += [("file", .string(r.file.path)), ("line", .int(r.startLocation.line)), ("column", .int(r.startLocation.column))]
      }
      return .object(n)
    })))
    return JSON.object(fields).text
  }

  static func summary(files: Int, errors: Int, warnings: Int) -> String {
    JSON.object([
      ("type", .string("summary")), ("files", .int(files)), ("errors", .int(errors)), ("warnings", .int(warnings)),
    ]).text
  }
}
