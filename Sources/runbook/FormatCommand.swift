import ArgumentParser
import Foundation
import RunbookLanguage

// MARK: - fmt

struct FormatCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fmt", abstract: "Rewrite runbooks in the canonical layout.",
    discussion: """
      Formats files in place (directories: every .runbook under them) and prints the name of each file it \\
      changed. With --check nothing is written: the files that are not formatted are listed, and the exit \\
      status is 4 if there is any. --diff prints what changes as a unified diff. `-` formats standard input \\
      to standard output. A file with syntax errors is reported and left as it is (exit 3). Exit codes: 0 \\
      formatted (or nothing to do), 2 usage, 3 a file does not parse, 4 --check found files to format.
      """)

  @ArgumentParser.Argument(help: "Runbook files or directories; `-` for standard input.",
                           completion: .file(extensions: ["runbook"]))
  var paths: [String]

  @Flag(name: .customLong("check"), help: "Write nothing; exit 4 when a file is not formatted.")
  var check = false

  @Flag(name: .customLong("diff"), help: "Print the changes as a unified diff.")
  var diff = false

  func run() throws {
    let formatter = SourceFormatter()
    if paths == ["-"] {
      let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
      do {
        let formatted = try formatter.format(SourceFile(path: "<stdin>", text: text))
        if check && formatted != text { terminate(.changesPending) }
        Console.out(check ? "" : formatted)
        terminate(.success)
      } catch {
        Console.err(error.description)
        terminate(.invalidRunbook)
      }
    }
    var unparsable = 0, unformatted = 0
    for path in RunbookFiles.expand(paths) {
      guard let data = FileManager.default.contents(atPath: path) else {
        Console.err("error: cannot read `\(path)`: no such file\n")
        unparsable += 1
        continue
      }
      let text = String(decoding: data, as: UTF8.self)
      let formatted: String
      do {
        formatted = try formatter.format(SourceFile(path: path, text: text))
      } catch {
        Console.err(error.description)
        unparsable += 1
        continue
      }
      guard formatted != text else { continue }
      unformatted += 1
      if diff { Console.out(UnifiedDiff.render(old: text, new: formatted, path: path)) } else { Console.out(path + "\n") }
      if !check {
        do { try formatted.write(toFile: path, atomically: true, encoding: .utf8) } catch {
          Console.err("error: cannot write `\(path)`: \(error.localizedDescription)\n")
          unparsable += 1
        }
      }
    }
    if unparsable > 0 { terminate(.invalidRunbook) }
    terminate(check && unformatted > 0 ? .changesPending : .success)
  }
}

/// A unified diff (`--- a/…`, `+++ b/…`, `@@` hunks with three lines of
/// context) from the longest common subsequence of the two texts' lines.
enum UnifiedDiff {
  enum Edit: Equatable { case same(String), removed(String), added(String) }

  static func edits(_ a: [String], _ b: [String]) -> [Edit] {
    let n = a.count, m = b.count
    // lcs[i][j]: the length of the LCS of a[i...] and b[j...].
    var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) {
      for j in stride(from: m - 1, through: 0, by: -1) {
        lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
      }
    }
    var out: [Edit] = []
    var i = 0, j = 0
    while i < n || j < m {
      if i < n, j < m, a[i] == b[j] {
        out.append(.same(a[i])); i += 1; j += 1
      } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
        out.append(.removed(a[i])); i += 1
      } else {
        out.append(.added(b[j])); j += 1
      }
    }
    return out
  }

  static func render(old: String, new: String, path: String, context: Int = 3) -> String {
    func lines(_ s: String) -> [String] {
      var l = s.components(separatedBy: "\n")
      if l.last == "" { l.removeLast() }
      return l
    }
    let all = edits(lines(old), lines(new))
    let changed = all.indices.filter { if case .same = all[$0] { return false }; return true }
    guard !changed.isEmpty else { return "" }
    var out = "--- a/\(path)\n+++ b/\(path)\n"
    // Group changes whose contexts touch into hunks.
    var groups: [ClosedRange<Int>] = []
    for c in changed {
      let r = max(0, c - context)...min(all.count - 1, c + context)
      if let last = groups.last, r.lowerBound <= last.upperBound + 1 {
        groups[groups.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
      } else {
        groups.append(r)
      }
    }
    for group in groups {
      var oldStart = 1, newStart = 1
      for e in all[..<group.lowerBound] {
        switch e {
        case .same: oldStart += 1; newStart += 1
        case .removed: oldStart += 1
        case .added: newStart += 1
        }
      }
      var oldCount = 0, newCount = 0, body = ""
      for e in all[group] {
        switch e {
        case .same(let t): oldCount += 1; newCount += 1; body += " " + t + "\n"
        case .removed(let t): oldCount += 1; body += "-" + t + "\n"
        case .added(let t): newCount += 1; body += "+" + t + "\n"
        }
      }
      out += "@@ -\(oldCount == 0 ? oldStart - 1 : oldStart),\(oldCount) +\(newCount == 0 ? newStart - 1 : newStart),\(newCount) @@\n" + body
    }
    return out
  }
}
