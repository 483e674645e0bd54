/// A line starting with `:` at the primary prompt: a command to the REPL
/// itself rather than runbook code.
enum MetaCommand: Equatable {
  case help(String?)
  case builtins
  case load(String)
  case params
  case plan
  case state(String?)
  case reset
  case save(String)
  case quit

  /// Command names, for completion and `:help`.
  static let allNames = ["builtins", "help", "load", "params", "plan", "quit", "reset", "save", "state"]

  static let summary = """
    Meta commands:
      :help [name]    help on a built-in, keyword or meta command
      :builtins       list the built-in functions
      :load FILE      run a runbook file in this session
      :params         show the declared parameters
      :plan           show the changes made so far in this session
      :state [query]  inspect the simulated world
      :reset          start over with an empty session
      :save FILE      write this session's successful entries as a runbook
      :quit           leave (also Ctrl-D on an empty line)
    Ctrl-C cancels the current line or stops a running entry.
    """

  static func help(for name: String) -> String? {
    switch name.hasPrefix(":") ? String(name.dropFirst()) : name {
    case "help": return ":help [name]  Help on a built-in, keyword or meta command; an overview without a name."
    case "builtins": return ":builtins  Lists every built-in with its signature and doc line."
    case "load": return ":load FILE  Runs a runbook file in this session; its names stay defined."
    case "params": return ":params  Shows the declared parameters and their values."
    case "plan": return ":plan  Shows the changes made (or planned, in a dry run) so far in this session."
    case "state": return ":state [query]  Shows the simulated world, or the part matching the query."
    case "reset": return ":reset  Forgets all names, parameters, changes and saved entries."
    case "save": return ":save FILE  Writes this session's successful entries (and loaded files) as a runbook."
    case "quit", "q", "exit": return ":quit  Leaves the REPL (also :q, :exit, or Ctrl-D on an empty line)."
    default: return nil
    }
  }

  enum ParseError: Error, Equatable {
    case unknown(String)
    case missingArgument(String)
  }

  /// Parses `line`, which starts with `:` (after leading spaces).
  static func parse(_ line: String) -> Result<MetaCommand, ParseError> {
    let body = line.trimmingWhitespace().dropFirst()
    let name = String(body.prefix { !$0.isWhitespace })
    let argument = String(body.dropFirst(name.count)).trimmingWhitespace()
    let optional = argument.isEmpty ? nil : argument
    switch name {
    case "help", "h", "?": return .success(.help(optional))
    case "builtins": return .success(.builtins)
    case "load", "save":
      guard let path = optional else { return .failure(.missingArgument(name)) }
      return .success(name == "load" ? .load(path) : .save(path))
    case "params": return .success(.params)
    case "plan": return .success(.plan)
    case "state": return .success(.state(optional))
    case "reset": return .success(.reset)
    case "quit", "q", "exit": return .success(.quit)
    default: return .failure(.unknown(name))
    }
  }
}
