import Foundation
import Testing

/// Walks Sources/ for the constructs that end the process instead of
/// reporting an error: `fatalError`, `precondition`, `preconditionFailure`,
/// `try!`, `as!` and force unwraps. Each one left is listed here with why no
/// input (a runbook, a state file, a params file, a journal, a server
/// answer) can reach it; a new one fails this test until it is removed or
/// justified, and a justification whose code is gone fails it too.
@Suite struct SourceAuditTests {
  struct Allowed {
    let file: String
    let fragment: String
    let reason: String
  }

  static let allowed: [Allowed] = [
    // Constant inputs: fixed at build time, covered by every test that starts.
    .init(file: "RunbookSimulator/DemoTenant.swift", fragment: "try! World(state: demoState())", reason: "the built-in demo state; StateFileTests load it"),
    .init(file: "RunbookSimulator/DemoTenant.swift", fragment: "try! World(state: state)", reason: "the demo state reduced to its signed-in user; StateFileTests build it"),
    .init(file: "RunbookServices/AccessControl.swift", fragment: "try! AccessControlList(parsing: \"user::rwx", reason: "a constant ACL"),
    .init(file: "RunbookServices/AccessControl.swift", fragment: "try! AccessControlList(parsing: \"user::rw-", reason: "a constant ACL"),
    // Programming errors in the registry of built-ins, found by any test run.
    .init(file: "RunbookRuntime/Builtin.swift", fragment: "precondition(builtins[builtin.name] == nil", reason: "a built-in registered twice at start-up"),
    .init(file: "RunbookRuntime/Builtin.swift", fragment: "preconditionFailure(\"built-in", reason: "an implementation reading a parameter it does not declare"),
    .init(file: "RunbookRuntime/Operators.swift", fragment: "preconditionFailure(\"logical operators", reason: "the compiler emits `and`/`or` as short-circuits, never here"),
    // Invariants of the compiler and interpreter, not of input.
    .init(file: "RunbookRuntime/RegisterVM.swift", fragment: "preconditionFailure(\"a call without its frame\")",
          reason: "the register compiler emits each `call` after the `enter` that writes its frame's base"),
    .init(file: "RunbookRuntime/CompileRegisters.swift", fragment: "preconditionFailure(\"patching an instruction",
          reason: "the register compiler patches only the jumps it has just emitted"),
    .init(file: "RunbookRuntime/Value.swift", fragment: ".builtin(builtin!)", reason: "a FunctionBox holds exactly one of closure and builtin"),
    .init(file: "RunbookRuntime/Value.swift", fragment: "?? builtin!.name", reason: "a FunctionBox holds exactly one of closure and builtin"),
    .init(file: "RunbookRuntime/CompileCalls.swift", fragment: "compoundCombiner(binaryOp!", reason: "only for compound operators, where binaryOp is set"),
    .init(file: "RunbookRuntime/Compiler.swift", fragment: "(d.name!, false", reason: "hoisting runs only for named `fn` declarations"),
    .init(file: "RunbookRuntime/Compiler.swift", fragment: "f.cells[i]!", reason: "celled locals get their cell on declaration"),
    .init(file: "RunbookRuntime/Compiler.swift", fragment: "f.closure!.upvalues", reason: "upvalues are resolved only inside closures"),
    .init(file: "RunbookRuntime/Compiler.swift", fragment: "f.cells[s]!", reason: "celled locals get their cell on declaration"),
    .init(file: "RunbookRuntime/Compiler.swift", fragment: "[name]!.isUsed = true", reason: "the name was found on the line before"),
    .init(file: "RunbookRuntime/Builtin.swift", fragment: "precondition(result == nil || result!.valueType == returns",
          reason: "a registry declaration whose shape and type differ, found at start-up by every test"),
    .init(file: "RunbookLanguage/Lexer.swift", fragment: "precondition(length <= 8 && used[length] < keywordSlots",
          reason: "checks the fixed `Keyword` cases when the table is built, which every lexing test does"),
    .init(file: "RunbookLanguage/SourceFormatter.swift", fragment: "argument($0)! + \", \"",
          reason: "inside `allSatisfy({ flat($0.value) != nil })`: every argument has a flat form"),
    .init(file: "RunbookServices/RecursiveACL.swift", fragment: "$0.map { $0! }",
          reason: "every index below `count` is filled by a worker before `done.wait()` returns"),
    .init(file: "RunbookServices/RecursiveACL.swift", fragment: "readByIndex[i]!",
          reason: "the item has no known ACL, so its index is in `missing`, each of which has a read result"),
    .init(file: "RunbookSimulator/PathTree.swift", fragment: "precondition(node != 0, \"the root is not removed\")",
          reason: "callers delete paths, never the filesystem root (they refuse the empty path first)"),
    .init(file: "RunbookRuntime/Interpreter.swift", fragment: "code.defaults[", reason: "a parameter binds to its default only when it has one"),
    .init(file: "RunbookRuntime/Session.swift", fragment: "box.work!()", reason: "set before the thread starts"),
    .init(file: "RunbookRuntime/Session.swift", fragment: "box.result!", reason: "set before the semaphore is signalled"),
    .init(file: "RunbookServices/DomainSupport.swift", fragment: "columns[k]!.value", reason: "k comes from columns.keys"),
    .init(file: "RunbookServices/DataverseBuiltins.swift", fragment: "acct!.id", reason: "after `acct == nil ||`"),
    .init(file: "RunbookEmulator/AzureRoutes.swift", fragment: "replicationLeft[principal.lowercased()]! -= 1", reason: "after the `default: 0` > 0 check"),
    .init(file: "RunbookREPL/LineEditor.swift", fragment: "malloc(", reason: "out of memory for a completion list"),
  ]

  static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Sources")

  static let trappingPattern = #"[\w\)\]]!(?!=)|\bas!|\btry!|\bfatalError\(|\bprecondition(Failure)?\("#

  /// A line without its comment and the contents of its string literals.
  static func code(_ line: String, inMultilineString: inout Bool) -> String {
    var out = ""
    var inString = false, escaped = false
    let chars = Array(line)
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if chars[i...].starts(with: "\"\"\"") {
        inMultilineString.toggle()
        i += 3
        continue
      }
      if inMultilineString { i += 1; continue }
      if inString {
        if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false; out.append("\"") }
      } else if c == "\"" {
        inString = true
        out.append("\"")
      } else if c == "/", i + 1 < chars.count, chars[i + 1] == "/" {
        break
      } else {
        out.append(c)
      }
      i += 1
    }
    return out
  }

  @Test("no trap reachable from input is left unjustified")
  func audit() throws {
    let walker = try #require(FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil))
    var used = Set<Int>()
    var unjustified: [String] = []
    var files = 0
    let trapping = try Regex(Self.trappingPattern)
    for case let url as URL in walker where url.pathExtension == "swift" {
      files += 1
      let relative = String(url.path.dropFirst(Self.sources.path.count + 1))
      var inMultiline = false
      for (n, line) in try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n").enumerated() {
        let code = Self.code(line, inMultilineString: &inMultiline)
        guard code.contains(trapping) else { continue }
        if let i = Self.allowed.firstIndex(where: { relative == $0.file && line.contains($0.fragment) }) {
          used.insert(i)
        } else {
          unjustified.append("\(relative):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))")
        }
      }
    }
    #expect(files > 50)
    #expect(unjustified.isEmpty, "turn these into errors with a location, or justify them here:\n\(unjustified.joined(separator: "\n"))")
    let stale = Self.allowed.indices.filter { !used.contains($0) }.map { "\(Self.allowed[$0].file): \(Self.allowed[$0].fragment)" }
    #expect(stale.isEmpty, "allowed entries whose code is gone:\n\(stale.joined(separator: "\n"))")
  }
}
