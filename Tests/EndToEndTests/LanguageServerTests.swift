import Foundation
import Testing

/// `runbook lsp` driven with JSON-RPC messages on stdin, as an editor would.
@Suite("runbook lsp")
struct LanguageServerTests {
  static func frame(_ object: [String: Any]) throws -> String {
    var message = object
    message["jsonrpc"] = "2.0"
    let body = String(decoding: try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys]), as: UTF8.self)
    return "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
  }

  /// Splits the server's output into its messages.
  static func messages(_ output: String) throws -> [[String: Any]] {
    var rest = Substring(output)
    var found: [[String: Any]] = []
    while let header = rest.range(of: "\r\n\r\n") {
      let length = try #require(Int(rest[..<header.lowerBound].replacingOccurrences(of: "Content-Length: ", with: "")))
      let bodyStart = header.upperBound
      let bytes = Array(rest[bodyStart...].utf8.prefix(length))
      found.append(try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]))
      rest = Substring(String(decoding: Array(rest[bodyStart...].utf8.dropFirst(length)), as: UTF8.self))
    }
    return found
  }

  @Test func diagnosticsCompletionHoverDefinitionAndFormatting() throws {
    let dir = try BinaryRunner.temporaryFile("lib.runbook", "param who: string \"Who to greet\"\noutput text = \"hi ${who}\"\n")
      .deletingLastPathComponent()
    let uri = dir.appendingPathComponent("main.runbook").absoluteString
    let text = """
      param region: string = "westeurope" "Azure region of the lake"
      let sp = ensure_service_principal(app_id: "546068c3-99b1-4890-8e93-c8aeadcfe56a", name: "lake")
      fn label(x) {
        return upper(x)
      }
      print(sp.idd, label(region))
      let greeting = runbook "lib.runbook"(who: "Ann")
      print(  greeting.text )

      """
    var input = ""
    let open: [String: Any] = ["textDocument": ["uri": uri, "languageId": "runbook", "version": 1, "text": text]]
    let at = { (line: Int, character: Int) -> [String: Any] in
      ["textDocument": ["uri": uri], "position": ["line": line, "character": character]]
    }
    for message: [String: Any] in [
      ["id": 1, "method": "initialize", "params": ["capabilities": [String: Any]()]],
      ["method": "initialized", "params": [String: Any]()],
      ["method": "textDocument/didOpen", "params": open],
      // Typing `sp.` on a new line: full sync.
      ["method": "textDocument/didChange", "params": ["textDocument": ["uri": uri, "version": 2], "contentChanges": [["text": text + "sp.\n"]]]],
      ["id": 2, "method": "textDocument/completion", "params": at(8, 3)],  // after `sp.`
      ["id": 3, "method": "textDocument/completion", "params": at(5, 0)],
      ["id": 4, "method": "textDocument/hover", "params": at(1, 12)],  // ensure_service_principal
      ["id": 5, "method": "textDocument/hover", "params": at(5, 22)],  // region (a param)
      ["id": 6, "method": "textDocument/definition", "params": at(5, 15)],  // label(
      ["id": 7, "method": "textDocument/definition", "params": at(6, 26)],  // "lib.runbook"
      // Back to text that parses (a file with syntax errors is not formatted).
      ["method": "textDocument/didChange", "params": ["textDocument": ["uri": uri, "version": 3], "contentChanges": [["text": text]]]],
      ["id": 8, "method": "textDocument/formatting", "params": ["textDocument": ["uri": uri], "options": ["tabSize": 2, "insertSpaces": true]]],
      ["id": 9, "method": "shutdown"],
      ["method": "exit"],
    ] {
      input += try Self.frame(message)
    }
    let r = try BinaryRunner.run(["lsp"], stdin: input, directory: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let replies = try Self.messages(r.stdout)
    func reply(_ id: Int) -> Any? { replies.first { $0["id"] as? Int == id }?["result"] }

    let capabilities = try #require((reply(1) as? [String: Any])?["capabilities"] as? [String: Any])
    #expect(capabilities["hoverProvider"] as? Bool == true && capabilities["documentFormattingProvider"] as? Bool == true)

    // Diagnostics: the checker's, with LSP ranges (0-based lines, UTF-16 columns).
    let publications = replies.filter { $0["method"] as? String == "textDocument/publishDiagnostics" }
    #expect(publications.count == 3)
    let afterChange = try #require((publications[1]["params"] as? [String: Any])?["diagnostics"] as? [[String: Any]])
    #expect(afterChange.contains { $0["code"] as? String == "syntax" && ($0["range"] as? [String: [String: Int]])?["start"]?["line"] == 8 })
    let published = try #require(publications.first)
    let diagnostics = try #require((published["params"] as? [String: Any])?["diagnostics"] as? [[String: Any]])
    let unknownField = try #require(diagnostics.first { ($0["message"] as? String)?.contains("no field `idd`") == true })
    #expect(unknownField["code"] as? String == "unknown_field" && unknownField["severity"] as? Int == 1)
    #expect((unknownField["range"] as? [String: [String: Int]])?["start"] == ["line": 5, "character": 9])
    #expect((unknownField["message"] as? String)?.contains("did you mean `id`?") == true)

    let fields = try #require(reply(2) as? [[String: Any]]).compactMap { $0["label"] as? String }
    #expect(fields == ["kind", "id", "display_name", "app_id"])
    let general = try #require(reply(3) as? [[String: Any]])
    let labels = general.compactMap { $0["label"] as? String }
    #expect(labels.contains("step") && labels.contains("label") && labels.contains("region") && labels.contains("greeting"))
    let ensureGroup = try #require(general.first { $0["label"] as? String == "ensure_group" })
    #expect((ensureGroup["detail"] as? String)?.hasPrefix("ensure_group(name: string") == true)
    #expect((ensureGroup["insertText"] as? String)?.hasPrefix("ensure_group(name: ${1}") == true)

    let builtinHover = try #require(((reply(4) as? [String: Any])?["contents"] as? [String: Any])?["value"] as? String)
    #expect(builtinHover.contains("ensure_service_principal(app_id: string"))
    #expect(builtinHover.contains("Returns `{kind: string, id: string, display_name: string, app_id: string}`"))
    let paramHover = try #require(((reply(5) as? [String: Any])?["contents"] as? [String: Any])?["value"] as? String)
    #expect(paramHover.contains("param region: string = \"westeurope\"") && paramHover.contains("Azure region of the lake"))

    let function = try #require(reply(6) as? [String: Any])
    #expect(function["uri"] as? String == uri)
    #expect((function["range"] as? [String: [String: Int]])?["start"] == ["line": 2, "character": 3])
    let called = try #require(reply(7) as? [String: Any])
    #expect((called["uri"] as? String)?.hasSuffix("/lib.runbook") == true)

    let edits = try #require(reply(8) as? [[String: Any]])
    #expect(edits.count == 1)
    #expect((edits.first?["newText"] as? String)?.contains("\nprint(greeting.text)\n") == true)
  }
}
