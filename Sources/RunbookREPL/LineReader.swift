/// What reading one line gave.
public enum LineInput: Equatable, Sendable {
  case line(String)
  /// Ctrl-C at the prompt: drop the current entry.
  case interrupted
  /// Ctrl-D on an empty line, or the end of piped input.
  case endOfInput
}

/// A source of input lines: the libedit `LineEditor` on a terminal, or
/// `PipedLineReader` for scripts and pipes.
public protocol LineReader: AnyObject {
  /// Reads one line (without its newline). `prompt` is ignored when not
  /// interactive.
  func read(prompt: String) -> LineInput
  /// Offers a finished entry (all its lines) to history.
  func recordHistory(_ entry: String)
  /// How many times Ctrl-C was pressed so far; nil when this reader does
  /// not catch Ctrl-C (then it keeps its default effect: ending the process).
  var interruptCount: Int? { get }
  /// Installs the completion source used while reading.
  func setCompletion(_ provider: @escaping @Sendable (_ word: String, _ lineBeforeWord: String) -> [String])
  /// Saves history and restores signal handlers.
  func close()
}

/// Reads standard input line by line: no prompt, no editing, no history.
public final class PipedLineReader: LineReader {
  public init() {}

  public func read(prompt: String) -> LineInput {
    guard let line = Swift.readLine(strippingNewline: true) else { return .endOfInput }
    return .line(line.hasSuffix("\r") ? String(line.dropLast()) : line)
  }

  public func recordHistory(_ entry: String) {}
  public var interruptCount: Int? { nil }
  public func setCompletion(_ provider: @escaping @Sendable (String, String) -> [String]) {}
  public func close() {}
}
