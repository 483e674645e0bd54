// A program under a pseudo-terminal, for tests of interactive behaviour
// (line editing, completion, history, Ctrl-C, Ctrl-D). Independent of the
// REPL module, so it can drive any binary of the package, e.g. `runbook`.
// Follows shared/reference/libedit.md: wait for raw mode before sending
// keys, consuming expectations, a deadline on every wait, SIGKILL on cleanup,
// and a clean signal mask in forked children.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

public struct PTYError: Error, CustomStringConvertible {
  public var message: String
  public var transcript: String
  public init(message: String, transcript: String) {
    self.message = message
    self.transcript = transcript
  }
  public var description: String { "\(message)\n--- transcript ---\n\(transcript)\n--- end ---" }
}

/// How the child ended.
public enum PTYExitStatus: Equatable, Sendable {
  case exited(Int32)
  case signaled(Int32)
}

public final class PTYProcess {
  /// How to start the child.
  public enum Launch {
    /// `openpty` + Foundation `Process`: no controlling terminal, so Ctrl-C
    /// is just a byte. Good for editing, completion and history.
    case process
    /// `forkpty` + `execve`: the pty is the controlling terminal, so Ctrl-C
    /// sends SIGINT. Needed for signal tests.
    case forkpty
  }

  private let master: Int32
  private var pid: pid_t = 0
  private var process: Process?
  private var exitStatus: PTYExitStatus?
  private var output: [UInt8] = []
  /// Where the next `expect` starts looking (end of the previous match).
  private var cursor = 0

  /// Everything the child has written so far, for failure messages.
  public var transcript: String { String(decoding: output, as: UTF8.self) }

  /// Starts `executable` with exactly `environment` on a fresh 80x24 pty.
  public init(
    executable: String, arguments: [String] = [], environment: [String: String], launch: Launch = .process,
    columns: UInt16 = 80, rows: UInt16 = 24
  ) throws {
    var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
    switch launch {
    case .process:
      var masterFD: Int32 = -1
      var slaveFD: Int32 = -1
      guard openpty(&masterFD, &slaveFD, nil, nil, &size) == 0 else {
        throw PTYError(message: "openpty failed: errno \(errno)", transcript: "")
      }
      _ = fcntl(masterFD, F_SETFD, FD_CLOEXEC)
      master = masterFD
      let slave = FileHandle(fileDescriptor: slaveFD, closeOnDealloc: false)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      process.environment = environment
      process.standardInput = slave
      process.standardOutput = slave
      process.standardError = slave
      do {
        try process.run()
      } catch {
        close(slaveFD)
        close(masterFD)
        throw PTYError(message: "cannot start \(executable): \(error)", transcript: "")
      }
      close(slaveFD)
      self.process = process
    case .forkpty:
      // Everything the child needs is built before fork: after it the child
      // only calls async-signal-safe functions.
      let path = strdup(executable)
      let argv = ([executable] + arguments).map { strdup($0) } + [nil]
      let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer {
        free(path)
        argv.forEach { free($0) }
        envp.forEach { free($0) }
      }
      var masterFD: Int32 = -1
      let child = Glibc.forkpty(&masterFD, nil, nil, &size)
      if child == 0 {
        // Test threads block signals such as SIGINT; children inherit the
        // mask and ignored dispositions through execve, so reset both.
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
        // (One call per signal: an array literal would allocate after fork.)
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
        Glibc.signal(SIGQUIT, SIG_DFL)
        Glibc.signal(SIGPIPE, SIG_DFL)
        Glibc.signal(SIGTSTP, SIG_DFL)
        argv.withUnsafeBufferPointer { a in
          envp.withUnsafeBufferPointer { e in _ = execve(path!, a.baseAddress!, e.baseAddress!) }
        }
        _exit(127)
      }
      guard child > 0 else { throw PTYError(message: "forkpty failed: errno \(errno)", transcript: "") }
      _ = fcntl(masterFD, F_SETFD, FD_CLOEXEC)
      master = masterFD
      pid = child
    }
  }

  deinit {
    kill()
    close(master)
  }

  // MARK: - Output

  /// Reads what is available within `timeout` seconds; false at end of output.
  @discardableResult
  private func pump(timeout: TimeInterval) -> Bool {
    var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
    let ready = poll(&descriptor, 1, Int32(max(0, timeout * 1000)))
    guard ready > 0 else { return true }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = read(master, &buffer, buffer.count)
    if count > 0 {
      output += buffer[0..<count]
      return true
    }
    return count < 0 && (errno == EINTR || errno == EAGAIN)
  }

  /// Waits until `text` appears after the previous match and returns the
  /// output from the previous match to the end of this one.
  @discardableResult
  public func expect(_ text: String, timeout: TimeInterval = 15) throws -> String {
    let needle = Array(text.utf8)
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let end = find(needle, from: cursor) {
        let matched = String(decoding: output[cursor..<end], as: UTF8.self)
        cursor = end
        return matched
      }
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0 else {
        throw PTYError(message: "timed out waiting for \(String(reflecting: text))", transcript: transcript)
      }
      if !pump(timeout: min(remaining, 0.1)) {
        if find(needle, from: cursor) != nil { continue }
        throw PTYError(message: "output ended before \(String(reflecting: text))", transcript: transcript)
      }
    }
  }

  /// Whether `text` appears anywhere in the output read so far.
  public func outputContains(_ text: String) -> Bool { transcript.contains(text) }

  private func find(_ needle: [UInt8], from start: Int) -> Int? {
    guard !needle.isEmpty else { return start }
    guard output.count - start >= needle.count else { return nil }
    for i in start...(output.count - needle.count) where output[i] == needle[0] {
      if output[i..<(i + needle.count)].elementsEqual(needle) { return i + needle.count }
    }
    return nil
  }

  // MARK: - Input

  /// Waits until the line editor has switched the terminal out of canonical
  /// mode. libedit prints its prompt before it does that, and keys sent in
  /// between can be lost.
  public func waitForRawMode(timeout: TimeInterval = 15) throws {
    let deadline = Date().addingTimeInterval(timeout)
    var attributes = termios()
    while Date() < deadline {
      if tcgetattr(master, &attributes) == 0, attributes.c_lflag & tcflag_t(ICANON) == 0 { return }
      pump(timeout: 0.01)
    }
    throw PTYError(message: "terminal never left canonical mode", transcript: transcript)
  }

  /// Waits until the child's main thread is asleep (state `S` in
  /// `/proc/PID/stat`, twice in a row), i.e. back in `read()` after echoing
  /// the last key. libedit only notices a SIGINT that interrupts that
  /// `read()`: a Ctrl-C that lands while it is still redrawing is seen only
  /// at the next key, so signal tests wait for this before sending Ctrl-C.
  public func waitUntilBlocked(timeout: TimeInterval = 15) throws {
    let childPID = process?.processIdentifier ?? pid
    let deadline = Date().addingTimeInterval(timeout)
    var asleep = 0
    while Date() < deadline {
      pump(timeout: 0.01)
      let stat = (try? String(contentsOfFile: "/proc/\(childPID)/stat", encoding: .utf8)) ?? ""
      let state = stat.lastIndex(of: ")").map { stat[stat.index($0, offsetBy: 2)...].first } ?? nil
      asleep = state == "S" ? asleep + 1 : 0
      if asleep >= 2 { return }
    }
    throw PTYError(message: "the program never blocked waiting for input", transcript: transcript)
  }

  /// Waits for `prompt`, then for raw mode: after this, keys are safe to send.
  @discardableResult
  public func expectPrompt(_ prompt: String, timeout: TimeInterval = 15) throws -> String {
    let text = try expect(prompt, timeout: timeout)
    try waitForRawMode(timeout: timeout)
    return text
  }

  /// Types `keys` (use "\r" for Enter, "\t" for Tab, "\u{1B}[A" for Up,
  /// "\u{03}" for Ctrl-C, "\u{04}" for Ctrl-D).
  public func send(_ keys: String) throws {
    var bytes = Array(keys.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeMutableBytes { write(master, $0.baseAddress! + offset, $0.count - offset) }
      if written < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        throw PTYError(message: "write to pty failed: errno \(errno)", transcript: transcript)
      }
      offset += written
    }
    _ = bytes.count
  }

  // MARK: - Exit

  /// Waits for the child to end, reading its output meanwhile.
  public func waitForExit(timeout: TimeInterval = 15) throws -> PTYExitStatus {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let status = pollExit() { return status }
      if !pump(timeout: 0.02) { usleep(10_000) }
    }
    throw PTYError(message: "the program did not exit", transcript: transcript)
  }

  private func pollExit() -> PTYExitStatus? {
    if let exitStatus { return exitStatus }
    if let process {
      guard !process.isRunning else { return nil }
      exitStatus =
        process.terminationReason == .exit
        ? .exited(process.terminationStatus) : .signaled(process.terminationStatus)
    } else {
      var status: Int32 = 0
      guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
      let signal = status & 0x7f
      exitStatus = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
    return exitStatus
  }

  /// Kills the child with SIGKILL (if still running) and reaps it.
  public func kill() {
    guard pollExit() == nil else { return }
    if let process {
      Glibc.kill(process.processIdentifier, SIGKILL)
      let deadline = Date().addingTimeInterval(5)
      while process.isRunning, Date() < deadline { usleep(5_000) }
    } else {
      Glibc.kill(pid, SIGKILL)
      var status: Int32 = 0
      _ = waitpid(pid, &status, 0)
    }
    _ = pollExit()
  }

  // MARK: - Finding binaries

  /// The path of a package executable (e.g. `repl-fixture`, `runbook`),
  /// found next to the test bundle in the build folder.
  public static func productExecutable(named name: String) -> String? {
    var directory = Bundle.main.bundleURL
    for _ in 0..<6 {
      let candidate = directory.appendingPathComponent(name).path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      directory.deleteLastPathComponent()
    }
    return nil
  }
}
