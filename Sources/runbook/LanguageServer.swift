import ArgumentParser
import Foundation
import RunbookLanguage
import RunbookRuntime

#if canImport(Glibc)
import Glibc
#endif

// MARK: - lsp

struct LSPCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lsp", abstract: "A Language Server Protocol server on standard input and output (for editors).",
    discussion: """
      Speaks LSP 3.17 JSON-RPC over stdio with full document sync: diagnostics (the checker's, on open and \
      change), completion (keywords, built-ins with their labels, names of the file, fields of records whose \
      shape is known), hover (built-in signatures and docs, keywords, params), go to definition (functions, \
      lets, params, imported and called runbooks) and formatting (runbook fmt).
      """)

  func run() throws {
    LanguageServer(registry: Backend.withoutServices().registry).serve()
    terminate(.success)
  }
}

/// One editor connection. Messages are handled in order on one thread; the
/// open documents' texts are kept here (full sync), not read from disk.
final class LanguageServer {
  private let registry: BuiltinRegistry
  private var documents: [String: String] = [:]
  private var shutdownRequested = false

  init(registry: BuiltinRegistry) { self.registry = registry }

  /// Reads messages until `exit` or the end of input.
  func serve() {
    while let message = readMessage() {
      if handle(message) == false { return }
    }
  }

  // MARK: Transport

  /// `Content-Length: N` headers, an empty line, then N bytes of JSON.
  private func readMessage() -> [String: Any]? {
    var length: Int? = nil
    // getchar: one buffered reader for the headers and the body.
    func readLine() -> String? {
      var bytes: [UInt8] = []
      while true {
        let c = getchar()
        if c == EOF { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
        if c == 0x0A { return String(decoding: bytes, as: UTF8.self) }
        bytes.append(UInt8(c))
      }
    }
    while let line = readLine() {
      let header = line.hasSuffix("\r") ? String(line.dropLast()) : line
      if header.isEmpty {
        guard let length else { continue }
        var body: [UInt8] = []
        body.reserveCapacity(length)
        while body.count < length {
          let c = getchar()
          if c == EOF { return nil }
          body.append(UInt8(c))
        }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
      }
      let parts = header.split(separator: ":", maxSplits: 1)
      if parts.count == 2, parts[0].lowercased() == "content-length" {
        length = Int(parts[1].trimmingCharacters(in: .whitespaces))
      }
    }
    return nil
  }

  private func send(_ message: [String: Any]) {
    var object = message
    object["jsonrpc"] = "2.0"
    guard let body = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    FileHandle.standardOutput.write(Data("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
  }

  private func respond(_ id: Any, _ result: Any) { send(["id": id, "result": result]) }

  // MARK: Dispatch

  /// false: stop serving (`exit`).
  private func handle(_ message: [String: Any]) -> Bool {
    let method = message["method"] as? String ?? ""
    let params = message["params"] as? [String: Any] ?? [:]
    let id = message["id"]
    switch method {
    case "initialize":
      respond(id ?? NSNull(), [
        "capabilities": [
          "textDocumentSync": 1, "hoverProvider": true, "definitionProvider": true,
          "documentFormattingProvider": true, "completionProvider": ["triggerCharacters": ["."]],
        ] as [String: Any],
        "serverInfo": ["name": "runbook", "version": Runbook.configuration.version],
      ])
    case "shutdown":
      shutdownRequested = true
      respond(id ?? NSNull(), NSNull())
    case "exit":
      return false
    case "textDocument/didOpen":
      let document = params["textDocument"] as? [String: Any] ?? [:]
      if let uri = document["uri"] as? String, let text = document["text"] as? String {
        documents[uri] = text
        publishDiagnostics(uri)
      }
    case "textDocument/didChange":
      let uri = (params["textDocument"] as? [String: Any])?["uri"] as? String
      if let uri, let change = (params["contentChanges"] as? [[String: Any]])?.last, let text = change["text"] as? String {
        documents[uri] = text
        publishDiagnostics(uri)
      }
    case "textDocument/didClose":
      if let uri = (params["textDocument"] as? [String: Any])?["uri"] as? String {
        documents[uri] = nil
        send(["method": "textDocument/publishDiagnostics", "params": ["uri": uri, "diagnostics": [Any]()]])
      }
    case "textDocument/completion", "textDocument/hover", "textDocument/definition", "textDocument/formatting":
      guard let id else { return true }
      guard let uri = (params["textDocument"] as? [String: Any])?["uri"] as? String, let text = documents[uri] else {
        respond(id, NSNull())
        return true
      }
      let position = params["position"] as? [String: Any] ?? [:]
      let at = (line: position["line"] as? Int ?? 0, character: position["character"] as? Int ?? 0)
      let document = Document(uri: uri, text: text)
      switch method {
      case "textDocument/completion": respond(id, completions(document, at))
      case "textDocument/hover": respond(id, hover(document, at) ?? NSNull())
      case "textDocument/definition": respond(id, definition(document, at) ?? NSNull())
      default: respond(id, formatting(document))
      }
    default:
      // Unknown requests get "method not found"; unknown notifications are ignored.
      if let id { send(["id": id, "error": ["code": -32601, "message": "method not found: \(method)"]]) }
    }
    return true
  }

  // MARK: Diagnostics

  private func publishDiagnostics(_ uri: String) {
    guard let text = documents[uri] else { return }
    let document = Document(uri: uri, text: text)
    let session = Session(registry: registry, host: ConsoleHost(showSteps: false))
    let found = session.check(path: document.path, text: text)
    let mine = URL(fileURLWithPath: document.path).standardizedFileURL
    let items: [[String: Any]] = found.map { d in
      var message = d.message
      var range = document.lspRange(start: 0, end: 0)
      if let r = d.range {
        if URL(fileURLWithPath: r.file.path).standardizedFileURL == mine {
          range = document.lspRange(start: r.start, end: r.end)
        } else {
          message = "\(r.file.path):\(r.startLocation): \(message)"  // in an imported or called file
        }
      }
      let severity = d.severity == .error ? 1 : d.severity == .warning ? 2 : 3
      return ["range": range, "severity": severity, "code": d.code, "source": "runbook", "message": message]
    }
    send(["method": "textDocument/publishDiagnostics", "params": ["uri": uri, "diagnostics": items]])
  }

  // MARK: Completion

  private func completions(_ document: Document, _ at: (line: Int, character: Int)) -> [[String: Any]] {
    let before = document.linePrefix(at)
    // After `name.`: the fields of the record `name` is bound to, when its shape is known.
    if let dot = before.lastIndex(of: "."), before[before.index(after: dot)...].allSatisfy(Document.isWordCharacter) {
      let base = String(before[..<dot].reversed().prefix(while: Document.isWordCharacter).reversed())
      let fields = document.shape(of: base, registry: registry)?.fields ?? []
      return fields.map { ["label": $0.name, "kind": 5, "detail": $0.shape.description + ($0.isOptional ? "?" : "")] }
    }
    var items: [[String: Any]] = Keyword.allCases.map { ["label": $0.rawValue, "kind": 14, "documentation": $0.help] }
    for b in registry.all {
      let labels = b.parameters.filter { $0.isRequired }.enumerated().map { i, p in "\(p.name): ${\(i + 1)}" }
      items.append([
        "label": b.name, "kind": 3, "detail": b.signature, "documentation": b.doc,
        "insertText": "\(b.name)(\(labels.joined(separator: ", ")))", "insertTextFormat": 2,
      ])
    }
    for declaration in document.declarations where declaration.kind != "parameter" || declaration.isVisible(at: document.offset(at)) {
      items.append(["label": declaration.name, "kind": declaration.kind == "function" ? 3 : 6, "detail": declaration.kind])
    }
    return items
  }

  // MARK: Hover

  private func hover(_ document: Document, _ at: (line: Int, character: Int)) -> [String: Any]? {
    guard let word = document.word(at) else { return nil }
    var text: String
    if let keyword = Keyword(rawValue: word.text) {
      text = "```\n\(keyword.help)\n```"
    } else if let declaration = document.declarations.last(where: { $0.name == word.text && $0.kind == "param" }) {
      text = "```runbook\n\(declaration.summary)\n```" + (declaration.doc.map { "\n\n" + $0 } ?? "")
    } else if document.declarations.contains(where: { $0.name == word.text }),
      let d = document.declarations.last(where: { $0.name == word.text })
    {
      text = "```runbook\n\(d.summary)\n```"
    } else if let b = registry[word.text] {
      text = "```runbook\n\(b.signature)\n```\n\n\(b.doc)\n\n*\(b.category), \(b.effect.rawValue)*"
      if b.result.fields != nil { text += "\n\nReturns `\(b.result.description)`" }
    } else {
      return nil
    }
    return ["contents": ["kind": "markdown", "value": text], "range": document.lspRange(start: word.start, end: word.end)]
  }

  // MARK: Definition

  private func definition(_ document: Document, _ at: (line: Int, character: Int)) -> [String: Any]? {
    let offset = document.offset(at)
    // On the path of an `import` or a `runbook` call: the file.
    if let path = document.referencedPath(at: offset) {
      let target = URL(fileURLWithPath: document.path).deletingLastPathComponent().appendingPathComponent(path)
        .standardizedFileURL
      guard FileManager.default.fileExists(atPath: target.path) else { return nil }
      return ["uri": target.absoluteString, "range": document.lspRange(start: 0, end: 0)]
    }
    guard let word = document.word(at) else { return nil }
    let candidates = document.declarations.filter { $0.name == word.text && $0.isVisible(at: offset) }
    // The nearest declaration before the use, else (functions are visible before theirs) the first.
    guard let target = candidates.last(where: { $0.range.start <= offset }) ?? candidates.first else { return nil }
    return ["uri": document.uri, "range": document.lspRange(start: target.range.start, end: target.range.end)]
  }

  // MARK: Formatting

  private func formatting(_ document: Document) -> Any {
    guard let formatted = try? SourceFormatter().format(SourceFile(path: document.path, text: document.text)),
      formatted != document.text
    else { return [Any]() }
    return [["range": document.lspRange(start: 0, end: document.file.bytes.count), "newText": formatted]]
  }
}

/// An open document: its text, parse and the positions LSP speaks in
/// (lines and UTF-16 code units).
struct Document {
  let uri: String
  let text: String
  let file: SourceFile
  let unit: SourceUnit

  init(uri: String, text: String) {
    self.uri = uri
    self.text = text
    file = SourceFile(path: URL(string: uri)?.path ?? uri, text: text)
    unit = Parser.parse(file).unit
  }

  var path: String { file.path }

  static func isWordCharacter(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }

  private var lines: [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false) }

  /// The byte offset of an LSP position.
  func offset(_ at: (line: Int, character: Int)) -> Int {
    let all = lines
    guard at.line < all.count else { return file.bytes.count }
    let before = all[..<at.line].reduce(0) { $0 + $1.utf8.count + 1 }
    let line = all[at.line]
    let prefix = String(line.utf16.prefix(at.character)) ?? String(line)
    return before + prefix.utf8.count
  }

  func linePrefix(_ at: (line: Int, character: Int)) -> String {
    let all = lines
    guard at.line < all.count else { return "" }
    return String(all[at.line].utf16.prefix(at.character)) ?? ""
  }

  func lspPosition(_ offset: Int) -> [String: Int] {
    let location = file.location(of: offset)
    let lineText = file.lineText(location.line)
    return ["line": location.line - 1, "character": String(lineText.prefix(location.column - 1)).utf16.count]
  }

  func lspRange(start: Int, end: Int) -> [String: Any] { ["start": lspPosition(start), "end": lspPosition(end)] }

  /// The identifier around a position, with its byte range.
  func word(_ at: (line: Int, character: Int)) -> (text: String, start: Int, end: Int)? {
    let offset = self.offset(at)
    let bytes = file.bytes
    func isWord(_ b: UInt8) -> Bool { b == 0x5F || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
    var start = offset, end = offset
    while start > 0, isWord(bytes[start - 1]) { start -= 1 }
    while end < bytes.count, isWord(bytes[end]) { end += 1 }
    guard start < end else { return nil }
    return (String(decoding: bytes[start..<end], as: UTF8.self), start, end)
  }

  /// A name declared in the file: `let`/`var`, `fn`, `param`, a function's
  /// parameter, a loop variable or a caught error.
  struct Declaration {
    var name: String
    var kind: String
    var range: SourceRange
    var summary: String
    var doc: String?
    /// Where the name is visible (a block); nil: the whole file.
    var scope: SourceRange?
    func isVisible(at offset: Int) -> Bool { scope.map { $0.start <= offset && offset <= $0.end } ?? true }
  }

  var declarations: [Declaration] {
    var found: [Declaration] = []
    func visit(_ statements: [Stmt], scope: SourceRange?) {
      for s in statements { visit(s, scope: scope) }
    }
    func visit(_ stmt: Stmt, scope: SourceRange?) {
      switch stmt.kind {
      case .binding(let name, let isMutable, let value):
        found.append(Declaration(name: name.name, kind: isMutable ? "var" : "let", range: name.range,
                                 summary: "\(isMutable ? "var" : "let") \(name.name)", scope: scope))
        visit(value)
      case .function(let decl): visitFunction(decl, scope: scope)
      case .param(let p):
        found.append(Declaration(
          name: p.name.name, kind: "param", range: p.name.range,
          summary: "param \(p.name.name): \(p.type.name)" + (p.defaultValue.map { " = " + $0.range.text } ?? ""), doc: p.doc,
          scope: scope))
      case .ifElse(let branches, let elseBody):
        for b in branches { visit(b.condition); visit(b.body.statements, scope: b.body.range) }
        if let elseBody { visit(elseBody.statements, scope: elseBody.range) }
      case .forIn(let first, let second, let iterable, let body):
        for n in [first] + (second.map { [$0] } ?? []) {
          found.append(Declaration(name: n.name, kind: "loop variable", range: n.range, summary: "for \(n.name)", scope: body.range))
        }
        visit(iterable)
        visit(body.statements, scope: body.range)
      case .whileLoop(let c, let body): visit(c); visit(body.statements, scope: body.range)
      case .tryCatch(let body, let name, let handler):
        visit(body.statements, scope: body.range)
        if let name {
          found.append(Declaration(name: name.name, kind: "error", range: name.range, summary: "catch \(name.name)", scope: handler.range))
        }
        visit(handler.statements, scope: handler.range)
      case .expression(let e), .returnValue(let e?), .output(_, let e): visit(e)
      case .assign(let t, _, let v): visit(t); visit(v)
      case .require(let c, let m): visit(c); if let m { visit(m) }
      case .fail(let m, let c): visit(m); if let c { visit(c) }
      case .breakLoop, .continueLoop, .returnValue(nil), .importFile: break
      }
    }
    func visitFunction(_ decl: FunctionDecl, scope: SourceRange?) {
      if let name = decl.name {
        let params = decl.parameters.map { $0.name.name }.joined(separator: ", ")
        found.append(Declaration(name: name.name, kind: "function", range: name.range, summary: "fn \(name.name)(\(params))", scope: scope))
      }
      for p in decl.parameters {
        found.append(Declaration(name: p.name.name, kind: "parameter", range: p.name.range, summary: "parameter \(p.name.name)",
                                 scope: decl.body.range))
      }
      visit(decl.body.statements, scope: decl.body.range)
    }
    func visit(_ e: Expr) {
      switch e.kind {
      case .function(let decl): visitFunction(decl, scope: nil)
      case .step(_, let body): visit(body.statements, scope: body.range)
      case .call(let callee, let args): visit(callee); args.forEach { visit($0.value) }
      case .list(let items): items.forEach(visit)
      case .map(let entries): entries.forEach { visit($0.value) }
      case .unary(_, let x), .member(let x, _): visit(x)
      case .binary(_, let a, let b), .index(let a, let b): visit(a); visit(b)
      default: break
      }
    }
    visit(unit.statements, scope: nil)
    return found
  }

  /// The shape of what a top-level name is bound to: `let sp = ensure_service_principal(...)`
  /// (or a step whose last expression is such a call) has the built-in's result shape.
  func shape(of name: String, registry: BuiltinRegistry) -> Shape? {
    func result(_ e: Expr) -> Shape? {
      switch e.kind {
      case .call(let callee, _):
        guard case .name(let function) = callee.kind else { return nil }
        return registry[function]?.result
      case .step(_, let body):
        guard case .expression(let last)? = body.statements.last?.kind else { return nil }
        return result(last)
      default: return nil
      }
    }
    for stmt in unit.statements.reversed() {
      if case .binding(let n, false, let value) = stmt.kind, n.name == name { return result(value) }
    }
    return nil
  }

  /// The path string under `offset` in `import "x"` or `runbook "x"`, if any.
  func referencedPath(at offset: Int) -> String? {
    var found: String? = nil
    func visit(_ e: Expr) {
      switch e.kind {
      case .runbookFile(let path, let r) where r.start <= offset && offset <= r.end: found = path
      case .call(let callee, let args): visit(callee); args.forEach { visit($0.value) }
      case .step(_, let body): body.statements.forEach(visitStmt)
      case .function(let decl): decl.body.statements.forEach(visitStmt)
      default: break
      }
    }
    func visitStmt(_ s: Stmt) {
      switch s.kind {
      case .importFile(let path, let r) where r.start <= offset && offset <= r.end: found = path
      case .expression(let e), .binding(_, _, let e), .output(_, let e): visit(e)
      default: break
      }
    }
    unit.statements.forEach(visitStmt)
    return found
  }
}
