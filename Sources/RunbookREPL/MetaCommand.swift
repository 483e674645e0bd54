import Foundation

/// A line starting with `:` at the primary prompt: a command to the REPL
/// itself rather than runbook code.
enum MetaCommand: Equatable {
  case help(String?)
  case builtins
  /// `:load FILE [name=value ...]`: the file and the params to bind.
  case load(String, params: [String: String] = [:])
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
      :load FILE [name=value ...]
                      run a runbook file in this session, with its params
      :params         show the declared parameters
      :plan           show the changes made so far in this session
      :state [query]  inspect the simulated world (e.g. :state directory.groups)
      :reset          start over with an empty session
      :save FILE      write this session's successful entries as a runbook
      :quit           leave (also Ctrl-D on an empty line)
    Ctrl-C cancels the current line or stops a running entry.
    """

  static func help(for name: String) -> String? {
    switch name.hasPrefix(":") ? String(name.dropFirst()) : name {
    case "help": return ":help [name]  Help on a built-in, keyword or meta command; an overview without a name."
    case "builtins": return ":builtins  Lists every built-in with its signature and doc line."
    case "load":
      return """
        :load FILE [name=value ...]  Runs a runbook file in this session; its names stay defined.
          Params are given after the file: :load deploy.runbook region=westeurope "label=two words"
        """
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
    /// A malformed argument, with the message to show.
    case badArgument(String)
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
    case "save":
      guard let path = optional else { return .failure(.missingArgument(name)) }
      return .success(.save(path))
    case "load":
      guard let argument = optional else { return .failure(.missingArgument(name)) }
      return parseLoad(argument)
    case "params": return .success(.params)
    case "plan": return .success(.plan)
    case "state": return .success(.state(optional))
    case "reset": return .success(.reset)
    case "quit", "q", "exit": return .success(.quit)
    default: return .failure(.unknown(name))
    }
  }

  /// `FILE name=value ...`. A whole argument naming an existing file is the
  /// file (so a path with spaces still loads); otherwise words are split at
  /// spaces outside double quotes, and the quotes are removed.
  static func parseLoad(_ argument: String) -> Result<MetaCommand, ParseError> {
    var isDirectory: ObjCBool = false
    let whole = (argument as NSString).expandingTildeInPath
    if FileManager.default.fileExists(atPath: whole, isDirectory: &isDirectory), !isDirectory.boolValue {
      return .success(.load(argument))
    }
    var words: [String] = []
    var current = ""
    var inQuotes = false
    var hasWord = false
    for character in argument {
      if character == "\"" {
        inQuotes.toggle()
        hasWord = true
      } else if character.isWhitespace && !inQuotes {
        if hasWord { words.append(current) }
        current = ""
        hasWord = false
      } else {
        current.append(character)
        hasWord = true
      }
    }
    if hasWord { words.append(current) }
    guard !inQuotes else { return .failure(.badArgument(":load: unterminated \" in `\(argument)`")) }
    guard let file = words.first else { return .failure(.missingArgument("load")) }
    var params: [String: String] = [:]
    for word in words.dropFirst() {
      guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
        return .failure(.badArgument(":load: `\(word)` is not name=value; use :load FILE name=value ..."))
      }
      params[String(word[..<equals])] = String(word[word.index(after: equals)...])
    }
    return .success(.load(file, params: params))
  }
}
