import Foundation
import RunbookRuntime
import RunbookServices

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public struct JournalError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}

/// An append-only JSON-lines record of a live run: a `run` header (runbook,
/// params), then for every change a `begin` line before it is sent and a
/// `done` (or `failed`) line after it is answered, then an `end` line.
/// Every line is fsync'd before the change proceeds, and every string is
/// passed through the redactor: secrets never reach the file.
public final class Journal: Sendable {
  public let path: String
  private let fd: Int32
  private let redactor: Redactor
  private let sequence = NIOLockedBox(0)
  /// One entry at a time: lines of parallel writes, and the entry a second
  /// Ctrl-C adds before the process ends, never interleave.
  /// After the last entry (`appendLast`) nothing more is written: the
  /// process is ending while other threads may still be answering changes.
  private let writing = NIOLockedBox(false)

  public init(path: String, redactor: Redactor) throws(JournalError) {
    self.path = path
    self.redactor = redactor
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    guard fd >= 0 else { throw JournalError(message: "cannot open the journal `\(path)`: \(String(cString: strerror(errno)))") }
    self.fd = fd
    // A run killed mid-line leaves a torn last line: start on a fresh one.
    if let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") {
      _ = "\n".withCString { write(fd, $0, 1) }
    }
    let previous = (try? Journal.read(path: path))?.compactMap { $0["seq"]?.int }.max() ?? 0
    sequence.withLock { $0 = previous }
  }

  deinit { close(fd) }

  /// Appends one entry (with `time`) and waits for it to reach the disk.
  public func append(_ type: String, _ fields: [String: WireJSON] = [:]) { record(type, fields, last: false) }

  /// Appends the journal's last entry: later appends are dropped, so the
  /// journal ends with it even when the process exits with changes in
  /// flight (they stay begun-but-unanswered: a resume settles them).
  public func appendLast(_ type: String, _ fields: [String: WireJSON] = [:]) { record(type, fields, last: true) }

  private func record(_ type: String, _ fields: [String: WireJSON], last: Bool) {
    var o = fields.mapValues(redact)
    o["type"] = .string(type)
    o["time"] = .string(iso8601(Int(Date().timeIntervalSince1970 * 1000)))
    let line = WireJSON.object(o).text + "\n"
    let bytes = Array(line.utf8)
    writing.withLock { sealed in
      guard !sealed else { return }
      sealed = last
      var written = 0
      while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        written += n
      }
      fsync(fd)
    }
  }

  func nextSequence() -> Int { sequence.withLock { $0 += 1; return $0 } }

  private func redact(_ j: WireJSON) -> WireJSON {
    switch j {
    case .string(let s): return .string(redactor.redact(s))
    case .array(let a): return .array(a.map(redact))
    case .object(let o): return .object(o.mapValues(redact))
    default: return j
    }
  }

  /// The params of a program that are secrets: declared `secret`, or (the
  /// older rule, kept as a second line of defence) named like one.
  public static func secretParams(of program: Program) -> Set<String> {
    Set(program.params.filter { $0.type == .secret || SecretNames.looksSecret($0.name) }.map(\.name))
  }

  /// The `params` of a run header: every secret as `[REDACTED]`.
  public static func headerParams(_ strings: [String: String], secrets: Set<String>) -> WireJSON {
    .object(strings.reduce(into: [:]) { o, p in o[p.key] = .string(secrets.contains(p.key) ? JournalHistory.redacted : p.value) })
  }

  /// Every parseable line of a journal (a torn last line is skipped).
  public static func read(path: String) throws(JournalError) -> [WireJSON] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw JournalError(message: "cannot read the journal `\(path)`")
    }
    return data.split(separator: UInt8(ascii: "\n")).compactMap { WireJSON.parse($0) }
  }
}

/// What an earlier run's journal says: its header, the changes it
/// completed (by operation and natural key), and those it began but never
/// saw answered (in doubt: they may or may not have happened).
public struct JournalHistory: Sendable {
  public var runbook: String?
  public var params: [String: String] = [:]
  public var completed: [String: WireJSON] = [:]
  public var inDoubt: [(op: String, key: String)] = []
  public var ended: String?
  /// Ids of objects the earlier run created: replication may still hide them.
  public var createdIDs: [String] {
    completed.compactMap { key, result in key.hasPrefix("create") ? result["id"]?.string : nil }.sorted()
  }

  /// Whether the earlier run sent this change and never saw its answer.
  public func isInDoubt(_ op: String, _ key: String) -> Bool { inDoubt.contains { $0.op == op && $0.key == key } }

  /// The text a secret param is journaled as.
  public static let redacted = "[REDACTED]"

  /// The params a resumed run binds: those recorded in the journal, with
  /// the ones given again winning. A param journaled redacted (a secret)
  /// has no recorded value: it must be given again, or the resume would
  /// silently run with its default.
  public func resumeParams(given: [String: String]) throws(JournalError) -> [String: String] {
    var result = given
    var missing: [String] = []
    for (name, value) in params.sorted(by: { $0.key < $1.key }) where given[name] == nil {
      if value == Self.redacted { missing.append(name) } else { result[name] = value }
    }
    guard missing.isEmpty else {
      throw JournalError(
        message: "the journal does not hold the secret param\(missing.count == 1 ? "" : "s") "
          + missing.map { "`\($0)`" }.joined(separator: ", ") + "; give "
          + (missing.count == 1 ? "it" : "them") + " again to resume: "
          + missing.map { "--param \($0)=…" }.joined(separator: " "))
    }
    return result
  }

  public init(entries: [WireJSON]) {
    var begun: [Int: (String, String)] = [:]
    for e in entries {
      switch e["type"]?.string {
      case "run":
        if runbook == nil { runbook = e["runbook"]?.string }
        for (k, v) in e["params"]?.object ?? [:] { if let s = v.string { params[k] = s } }
      case "begin":
        if let seq = e["seq"]?.int, let op = e["op"]?.string, let key = e["key"]?.string { begun[seq] = (op, key) }
      case "done", "verified":
        if let op = e["op"]?.string, let key = e["key"]?.string { completed[op + "|" + key] = e["result"] ?? .null }
        if let seq = e["seq"]?.int { begun[seq] = nil }
      case "failed":
        if let seq = e["seq"]?.int { begun[seq] = nil }
      case "end":
        ended = e["status"]?.string
      default: break
      }
    }
    inDoubt = begun.sorted { $0.key < $1.key }.map { (op: $0.value.0, key: $0.value.1) }
  }
}

/// Counts what a resumed run skipped because the journal showed it done.
public final class ResumeReport: Sendable {
  private let box = NIOLockedBox<[String]>([])
  public init() {}
  func add(_ s: String) { box.withLock { $0.append(s) } }
  public var skipped: [String] { box.withLock { $0 } }
}
