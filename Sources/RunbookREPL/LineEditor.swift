// libedit's readline-compatible API, which needs no variadic wrappers.
// `@preconcurrency` lets Swift 6 assign libedit's C globals
// (`rl_attempted_completion_function` and friends); see libedit.md.
@preconcurrency import CLibEdit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// State that C callbacks reach. A C function pointer cannot capture
/// context, so libedit's completion callback and the SIGINT handler can
/// only find their data through a global. This is the one global of the
/// REPL; both parts are synchronised: the completion provider behind a
/// `Mutex` (set by the REPL, read inside `readline`), the Ctrl-C count in an
/// `Atomic` (lock-free, so safe to bump from a signal handler, and read by
/// the evaluation watcher thread).
final class LineEditorCallbackState: Sendable {
  typealias Provider = @Sendable (_ word: String, _ lineBeforeWord: String) -> [String]
  let completion = Mutex<Provider?>(nil)
  let interrupts = Atomic<Int>(0)
  /// A pipe the SIGINT handler writes a byte into, and `readKey` waits on
  /// beside the terminal (-1 when there is none): a Ctrl-C that comes while
  /// libedit works between two reads wakes the next wait, where a signal
  /// alone would only have interrupted a read already under way.
  let interruptPipeRead = Atomic<Int32>(-1)
  let interruptPipeWrite = Atomic<Int32>(-1)
}

let lineEditorCallbackState = LineEditorCallbackState()

private func handleInterrupt(_ signal: Int32) {
  lineEditorCallbackState.interrupts.add(1, ordering: .sequentiallyConsistent)
  let pipe = lineEditorCallbackState.interruptPipeWrite.load(ordering: .sequentiallyConsistent)
  var byte: UInt8 = 1
  // Non-blocking: when the pipe is full, it already says "interrupted".
  if pipe >= 0 { _ = write(pipe, &byte, 1) }
}

/// libedit's key reader (`rl_getc_function`): the next character typed, as
/// a Unicode scalar (libedit takes the value as a wide character, so the
/// UTF-8 is decoded here), or -1 at the end of input or on Ctrl-C, which
/// makes `readline` return NULL.
private func readKey(_ stream: UnsafeMutablePointer<FILE>?) -> Int32 {
  let input = stream.map { fileno($0) } ?? STDIN_FILENO
  let interruptPipe = lineEditorCallbackState.interruptPipeRead.load(ordering: .sequentiallyConsistent)
  /// The next byte, or nil at the end of input, on an error or on Ctrl-C.
  func nextByte() -> UInt8? {
    while true {
      var waits = [pollfd(fd: input, events: Int16(POLLIN), revents: 0), pollfd(fd: interruptPipe, events: Int16(POLLIN), revents: 0)]
      if poll(&waits, interruptPipe >= 0 ? 2 : 1, -1) < 0 {
        if errno == EINTR { continue }  // the handler's byte is in the pipe by now
        return nil
      }
      // The byte stays in the pipe until the next `read(prompt:)` drains it.
      if interruptPipe >= 0, waits[1].revents & Int16(POLLIN) != 0 { return nil }
      guard waits[0].revents != 0 else { continue }
      var byte: UInt8 = 0
      let count = read(input, &byte, 1)
      if count == 1 { return byte }
      if count < 0, errno == EINTR || errno == EAGAIN { continue }
      return nil
    }
  }
  guard let first = nextByte() else { return -1 }
  if first < 0x80 { return Int32(first) }
  let following = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
  var bytes = [first]
  for _ in 0..<following {
    guard let next = nextByte() else { return -1 }
    bytes.append(next)
  }
  let replacement: Int32 = 0xFFFD
  guard following > 0, let scalar = String(validating: bytes, as: UTF8.self)?.unicodeScalars.first else { return replacement }
  return Int32(scalar.value)
}

/// libedit's completion hook: asks the installed provider, and returns a
/// `malloc`'d NULL-terminated array: the common prefix, then the matches.
private func completeWord(
  _ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32
) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
  rl_attempted_completion_over = 1
  let word = text.map { String(cString: $0) } ?? ""
  var before = ""
  if let buffer = rl_line_buffer {
    // libedit counts `start` in characters (it edits wide characters), not bytes.
    let scalars = Array(String(cString: buffer).unicodeScalars)
    var prefix = String.UnicodeScalarView()
    prefix.append(contentsOf: scalars.prefix(max(0, min(Int(start), scalars.count))))
    before = String(prefix)
  }
  let trimmed = before.trimmingWhitespace()
  if trimmed == ":load" || trimmed == ":save" {
    rl_attempted_completion_over = 0  // let libedit complete file names
    return nil
  }
  guard let provider = lineEditorCallbackState.completion.withLock({ $0 }) else { return nil }
  let matches = provider(word, before)
  guard !matches.isEmpty else { return nil }
  let entries = matches.count == 1 ? matches : [Completer.commonPrefix(matches)] + matches
  // libedit frees the array and its strings with free(), so both come from malloc.
  let raw = malloc(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * (entries.count + 1))!
  let result = raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: entries.count + 1)
  for (i, entry) in entries.enumerated() { result[i] = strdup(entry) }
  result[entries.count] = nil
  return result
}

/// Interactive input through libedit: emacs-style editing, arrows,
/// history (bounded, persisted, secrets filtered), Tab completion, and
/// Ctrl-C that cancels the line instead of ending the process.
///
/// Only one `LineEditor` may be open at a time (libedit's readline API is
/// process-wide).
public final class LineEditor: LineReader {
  private let historyPath: String?
  private let policy: HistoryPolicy
  private var previousAction = sigaction()
  private var isClosed = false

  /// Loads history from `historyPath` (nil: no persistent history) and
  /// installs the Ctrl-C handler.
  public init(historyPath: String?, policy: HistoryPolicy = HistoryPolicy()) {
    self.historyPath = historyPath
    self.policy = policy
    LineEditor.useUTF8Locale()
    rl_readline_name = UnsafePointer(strdup("runbook"))
    rl_attempted_completion_function = completeWord
    // Operators and brackets end a word, `.` and `:` do not (fields, meta commands).
    rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{}()[],+-*/%!"))
    using_history()
    stifle_history(Int32(policy.maxEntries))
    if let historyPath { _ = read_history(historyPath) }
    installInterruptHandler()
  }

  deinit { close() }

  /// libedit decodes multi-byte input only under a UTF-8 `LC_CTYPE`; in the
  /// default "C" locale of a process that never called `setlocale` it drops
  /// every non-ASCII byte ("café" becomes "caf"). Takes the user's locale
  /// when it is UTF-8, else C.UTF-8: the REPL reads and writes UTF-8 either way.
  static func useUTF8Locale() {
    if let chosen = setlocale(LC_CTYPE, "") {
      let name = String(cString: chosen).lowercased()
      if name.contains("utf-8") || name.contains("utf8") { return }
    }
    _ = setlocale(LC_CTYPE, "C.UTF-8")
  }

  /// SIGINT without `SA_RESTART`: `readline` returns NULL and the counter
  /// tells Ctrl-C apart from Ctrl-D.
  private func installInterruptHandler() {
    _ = lineEditorCallbackState.interrupts.load(ordering: .relaxed)  // initialise the global first
    var ends: [Int32] = [-1, -1]
    if pipe(&ends) == 0 {
      for end in ends {
        _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
      }
      lineEditorCallbackState.interruptPipeRead.store(ends[0], ordering: .sequentiallyConsistent)
      lineEditorCallbackState.interruptPipeWrite.store(ends[1], ordering: .sequentiallyConsistent)
      rl_getc_function = readKey
    }
    var action = sigaction()
    action.__sigaction_handler.sa_handler = handleInterrupt
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(SIGINT, &action, &previousAction)
  }

  public func read(prompt: String) -> LineInput {
    let before = lineEditorCallbackState.interrupts.load(ordering: .sequentiallyConsistent)
    // Ctrl-C pressed before this prompt (during an evaluation) is not for it.
    drainInterruptPipe()
    if lineEditorCallbackState.interrupts.load(ordering: .sequentiallyConsistent) != before {
      FileHandle.standardOutput.write(Data("\n".utf8))
      return .interrupted
    }
    guard let line = readline(prompt) else {
      // libedit echoes ^C or ^D without a newline.
      FileHandle.standardOutput.write(Data("\n".utf8))
      let now = lineEditorCallbackState.interrupts.load(ordering: .sequentiallyConsistent)
      return now != before ? .interrupted : .endOfInput
    }
    defer { free(line) }
    return .line(String(cString: line))
  }

  private func drainInterruptPipe() {
    let pipe = lineEditorCallbackState.interruptPipeRead.load(ordering: .sequentiallyConsistent)
    guard pipe >= 0 else { return }
    var bytes = [UInt8](repeating: 0, count: 64)
    while Glibc.read(pipe, &bytes, bytes.count) > 0 {}
  }

  public func recordHistory(_ entry: String) {
    guard policy.shouldRecord(entry) else { return }
    for line in entry.split(separator: "\n") where !String(line).trimmingWhitespace().isEmpty {
      _ = add_history(String(line))
    }
    saveHistory()
  }

  /// Writes the (stifled, so bounded) history, readable by the user only.
  private func saveHistory() {
    guard let historyPath else { return }
    let directory = (historyPath as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    if write_history(historyPath) == 0 { chmod(historyPath, 0o600) }
  }

  public var interruptCount: Int? { lineEditorCallbackState.interrupts.load(ordering: .sequentiallyConsistent) }

  public func setCompletion(_ provider: @escaping @Sendable (String, String) -> [String]) {
    lineEditorCallbackState.completion.withLock { $0 = provider }
  }

  public func close() {
    guard !isClosed else { return }
    isClosed = true
    lineEditorCallbackState.completion.withLock { $0 = nil }
    sigaction(SIGINT, &previousAction, nil)
    let ends = (
      lineEditorCallbackState.interruptPipeWrite.exchange(-1, ordering: .sequentiallyConsistent),
      lineEditorCallbackState.interruptPipeRead.exchange(-1, ordering: .sequentiallyConsistent))
    if ends.0 >= 0 { Glibc.close(ends.0) }
    if ends.1 >= 0 { Glibc.close(ends.1) }
  }

  /// The terminal's width, or 80.
  public static func terminalColumns() -> Int {
    let columns = Int(clibedit_terminal_columns(STDOUT_FILENO))
    return columns > 0 ? columns : 80
  }
}
