import ArgumentParser
import Foundation
import RunbookLanguage
import RunbookRuntime
import RunbookServices

/// Exit codes, documented in the README.
enum ExitStatus: Int32 {
  case success = 0
  /// The runbook ran and failed (a `fail`, a `require`, a service or runtime error).
  case runbookFailed = 1
  /// Bad command line: unknown flags, unknown, missing or ill-typed params, unreadable params file.
  case usage = 2
  /// The runbook has syntax or check errors; nothing ran.
  case invalidRunbook = 3
  /// A dry run succeeded and would change something (`--detailed-exitcode`).
  case changesPending = 4
  /// Interrupted by Ctrl-C.
  case interrupted = 130
}

@main
struct Runbook: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "runbook",
    abstract: "Write, check, rehearse and run setup runbooks for Customer Insights, Dataverse and your own Data Lake.",
    discussion: """
      Exit codes: 0 success, 1 the runbook failed, 2 usage error (flags or params), \
      3 syntax or check errors (nothing ran), 4 dry run with changes pending (with --detailed-exitcode), \
      130 interrupted.
      """,
    version: Runbook.version,
    subcommands: [
      RunCommand.self, PlanCommand.self, ApplyCommand.self, ShowCommand.self, SnapshotCommand.self, CheckCommand.self,
      FormatCommand.self, BuiltinsCommand.self, REPLCommand.self, LSPCommand.self, EmulatorCommand.self,
    ],
    defaultSubcommand: nil)

  /// Parses the command line and runs the command. Every command-line
  /// mistake (unknown flag, missing argument, bad value, failed validation)
  /// exits with `ExitStatus.usage` (2), as the README documents:
  /// swift-argument-parser's own default for these is 64 (EX_USAGE).
  static let version = "0.1.0"

  static func main() {
    // `runbook --version` is answered before the argument parser builds its
    // command tree: that costs more than the rest of the process (reflection
    // over every command's arguments, first-time protocol conformance scans),
    // and read from `argv` and written with `write(2)`, as even the first
    // `CommandLine.arguments` and `Data` cost a tenth of it.
    if CommandLine.argc == 2, let flag = CommandLine.unsafeArgv[1], strcmp(flag, "--version") == 0 {
      var line = version + "\n"
      line.withUTF8 { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
      terminate(.success)
    }
    let arguments = Array(CommandLine.arguments.dropFirst())
    if let paths = CheckCommand.pathsOnly(arguments) {
      CheckCommand.check(paths, format: .text)
    }
    if let file = RunCommand.fileOnly(arguments) {
      RunCommand.runWithoutServices(ParamOptions.invocation(file: file, params: [], paramsFile: nil))
    }
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      Foundation.exit(code.rawValue)
    } catch {
      let code = exitCode(for: error)
      // --help and --version are not errors: print as the parser would, exit 0.
      guard code == .validationFailure else { exit(withError: error) }
      Console.err(fullMessage(for: error) + "\n")
      terminate(.usage)
    }
  }

  /// With no subcommand: the REPL on a terminal, else the usage text.
  func run() throws {
    guard isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 else {
      Console.err(Runbook.helpMessage() + "\n")
      terminate(.usage)
    }
    terminate(code: REPLCommand.start(statePath: nil, lineEditing: true, stopOnError: false))
  }
}

/// Writes a program's output to stdout and step progress to stderr.
final class ConsoleHost: InterpreterHost {
  let showSteps: Bool
  init(showSteps: Bool) { self.showSteps = showSteps }
  func write(_ text: String) { Console.out(text) }
  func stepStarted(_ name: String, range: SourceRange?) {
    if showSteps { Console.err("▸ step \(name)\n") }
  }
  func stepFinished(_ name: String, error: RuntimeError?) {
    if showSteps { Console.err(error == nil ? "✓ step \(name)\n" : "✗ step \(name): \(error!.message)\n") }
  }
}

/// Standard output and error, written unbuffered with `write(2)`, so that
/// nothing is buffered across a crash or mixed out of order with
/// diagnostics. (Not through FileHandle and `Data`: making a `Data` of a
/// string's bytes looks up a protocol conformance at its first use, a scan
/// of the whole binary.)
enum Console {
  static func out(_ text: String) { emit(text, to: STDOUT_FILENO) }
  static func err(_ text: String) { emit(text, to: STDERR_FILENO) }

  /// All of `text`, or as much as the descriptor takes before it fails (a
  /// closed pipe): output that cannot be written is dropped.
  static func emit(_ text: String, to descriptor: Int32) {
    var text = text
    text.withUTF8 { bytes in
      guard let start = bytes.baseAddress else { return }
      var offset = 0
      while offset < bytes.count {
        let written = write(descriptor, start + offset, bytes.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          return
        }
        offset += written
      }
    }
  }
  static var colorOnStderr: Bool {
    isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
  }
  static func printDiagnostics(_ diagnostics: [Diagnostic]) {
    let color = colorOnStderr
    for d in Diagnostic.bounded(diagnostics) { err(d.render(color: color)) }
  }
}

func terminate(_ status: ExitStatus) -> Never {
  Foundation.exit(status.rawValue)
}

// MARK: - run

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run a runbook, or rehearse it with --dry-run against simulated services.",
    discussion: """
      Params are checked (unknown, missing, wrong type) before anything runs. With --dry-run the runbook \
      runs against a simulated tenant (the embedded demo tenant unless --state is given) and prints, per \
      step, what each built-in did (ok / changed / failed) with the changes it made, then a summary and \
      the outputs. Simulated time costs no wall time.
      """)

  @ArgumentParser.Argument(help: ArgumentHelp("The runbook file (optional with --resume).", valueName: "file"),
                           completion: .file(extensions: ["runbook"]))
  var fileArgument: String?
  var file: String { fileArgument ?? "" }

  @OptionGroup var paramOptions: ParamOptions

  @Flag(name: .customLong("live"), help: "Run against the real REST APIs (endpoints and credentials from the environment; see docs/live.md).")
  var live = false

  @Flag(name: .customLong("yes"), help: "Approve the plan's changes without asking (live runs; automation).")
  var yes = false

  @Option(name: .customLong("journal"), help: ArgumentHelp("Where a live run journals its changes (default .runbook/journal-<time>.jsonl).", valueName: "file.jsonl"))
  var journalPath: String?

  @Option(name: .customLong("resume"), help: ArgumentHelp("Continue the live run this journal records; done work is verified, not repeated.", valueName: "journal.jsonl"))
  var resumePath: String?

  @Flag(name: .customLong("dry-run"), help: "Rehearse against simulated services; nothing real changes.")
  var dryRun = false

  @Option(name: .customLong("state"), help: ArgumentHelp("The simulated world to rehearse against (default: the demo tenant).", valueName: "state.json"))
  var statePath: String?

  @Option(name: .customLong("save-state"), help: ArgumentHelp("Write the simulated world after the run here.", valueName: "out.json"))
  var saveStatePath: String?

  @Option(name: .customLong("format"), help: "Output format of a dry run: text or json (one event per line).")
  var format: OutputFormat = .text

  @Flag(name: .customLong("detailed-exitcode"), help: "Exit 4 when a dry run succeeds with changes pending.")
  var detailedExitcode = false

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    if !dryRun && (statePath != nil || saveStatePath != nil) {
      throw ValidationError("--state and --save-state need --dry-run")
    }
    if dryRun && (live || resumePath != nil) { throw ValidationError("--dry-run and --live exclude each other") }
    if !live && (resumePath != nil || journalPath != nil || yes) { throw ValidationError("--resume, --journal and --yes need --live") }
    if fileArgument == nil && resumePath == nil { throw ValidationError("Missing expected argument '<file>'") }
  }

  /// Checked before the run, so a long plan is not lost to a typo in the path.
  func checkSaveStatePath() {
    guard let saveStatePath else { return }
    let directory = URL(fileURLWithPath: saveStatePath).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    var problem: String? = nil
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
      problem = "the directory \(directory) does not exist"
    } else if !FileManager.default.isWritableFile(atPath: directory) {
      problem = "the directory \(directory) is not writable"
    }
    if let problem {
      Console.err("error: --save-state \(saveStatePath): \(problem)\n")
      terminate(.usage)
    }
  }

  func run() throws {
    checkSaveStatePath()
    let invocation = paramOptions.invocation(file: file)
    if live {
      LiveRun(file: fileArgument, strings: invocation.strings, values: invocation.values, paramsFile: invocation.paramsFile,
              yes: yes, journalPath: journalPath, resumePath: resumePath, json: format == .json).run()
    }
    guard dryRun else { RunCommand.runWithoutServices(invocation) }
    planOffline(invocation, command: "run", statePath: statePath, saveStatePath: saveStatePath, out: nil, json: format == .json,
                detailedExitcode: detailedExitcode)
  }
}

extension RunCommand {
  /// The file of `run FILE`, the shape nearly every plain run takes, answered
  /// without the argument parser: building its command tree (reflection over
  /// every command's arguments, first-time protocol conformance scans) cost
  /// more than the rest of a small run. Nil for anything else (a flag,
  /// `--help`, `--`, a second argument): that is left to the parser.
  static func fileOnly(_ arguments: [String]) -> String? {
    guard arguments.count == 2, arguments[0] == "run", !arguments[1].hasPrefix("-") else { return nil }
    return arguments[1]
  }

  /// A run without `--dry-run` or `--live`: the core built-ins only; a
  /// built-in that calls a service says how to choose a backend.
  static func runWithoutServices(_ invocation: Invocation) -> Never {
    let backend = Backend.withoutServices()
    let session = Session(registry: backend.registry, host: ConsoleHost(showSteps: true))
    let outcome = session.run(compileAndBind(session, file: invocation.file, strings: invocation.strings, values: invocation.values))
    printOutputs(outcome.outputs)
    if let error = outcome.error {
      Console.printDiagnostics([error.diagnostic])
      terminate(error.code == "interrupted" ? .interrupted : .runbookFailed)
    }
    terminate(.success)
  }
}

/// Compiles a runbook and binds its params, printing findings; exits on
/// static errors (nothing ran) or param errors (usage).
func compileAndBind(_ session: Session, file: String, strings: [String: String], values: [String: Value]) -> Program {
  let (program, diagnostics) = session.compile(path: file)
  Console.printDiagnostics(diagnostics)
  guard let program else { terminate(.invalidRunbook) }
  let problems = session.bindParams(program, strings: strings, values: values)
  if !problems.isEmpty {
    Console.printDiagnostics(problems)
    terminate(.usage)
  }
  return program
}

/// `--param name=value` flags and a `--params` JSON file, flags winning.
func readParams(_ flags: [String], _ paramsFile: String?) -> (strings: [String: String], values: [String: Value]) {
  var strings: [String: String] = [:]
  for p in flags {
    guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
      Console.err("error: --param expects name=value, got \"\(p)\"\n")
      terminate(.usage)
    }
    let name = String(p[..<eq])
    if strings[name] != nil {
      Console.err("error: --param \(name) is given twice; give each param once\n")
      terminate(.usage)
    }
    strings[name] = String(p[p.index(after: eq)...])
  }
  var values: [String: Value] = [:]
  if let paramsFile {
    guard let data = FileManager.default.contents(atPath: paramsFile), let text = String(data: data, encoding: .utf8) else {
      Console.err("error: cannot read params file `\(paramsFile)`\n")
      terminate(.usage)
    }
    let parsed: Value
    do { parsed = try JSONReader.parse(text) } catch {
      Console.err("\(paramsFile):\(error.line):\(error.column): error: \(error.message)\n")
      terminate(.usage)
    }
    guard case .map(let m) = parsed else {
      Console.err("error: params file `\(paramsFile)` must hold a JSON object of param values, not a \(parsed.typeName)\n")
      terminate(.usage)
    }
    for (i, k) in m.keys.enumerated() { if case .string(let name) = k.storage { values[name] = m.values[i] } }
    for name in strings.keys { values[name] = nil }
  }
  return (strings, values)
}

func printOutputs(_ outputs: [(name: String, value: Value)]) { Console.out(outputsText(outputs)) }

/// `Outputs:` and one aligned `name = value` line per output (empty without outputs).
func outputsText(_ outputs: [(name: String, value: Value)]) -> String {
  guard !outputs.isEmpty else { return "" }
  let width = outputs.map(\.name.count).max() ?? 0
  return "\nOutputs:\n" + outputs.map { "  \($0.name.padding(toLength: width, withPad: " ", startingAt: 0)) = \($0.value.repr)\n" }
    .joined()
}

// MARK: - check

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check", abstract: "Check runbooks for errors without running them.",
    discussion: """
      Reports syntax errors, undefined names, unknown functions, bad argument labels or counts, assignment to \
      `let`, visible type mismatches, misplaced break/continue/return, unused variables and unreachable code. \
      A directory is searched recursively for `.runbook` files. With --format json, each diagnostic is one JSON \
      object per line, then a summary object (docs/tooling.md).
      """)

  @ArgumentParser.Argument(help: "The runbook files, or directories to search for .runbook files.",
                           completion: .file(extensions: ["runbook"]))
  var paths: [String]

  @Option(name: .customLong("format"), help: "Output format: text (diagnostics on stderr) or json (JSON lines on stdout).")
  var format: RunCommand.OutputFormat = .text

  /// The paths of `runbook check PATH...` without flags: checked without the
  /// parser's first-use cost (~2 ms of reflection over the command tree, a
  /// third of checking a small runbook), as the parsed command would check
  /// them. Nil for anything else (a flag, `--help`, no path): that is left
  /// to the parser.
  static func pathsOnly(_ arguments: [String]) -> [String]? {
    guard arguments.first == "check", arguments.count > 1, !arguments.dropFirst().contains(where: { $0.hasPrefix("-") })
    else { return nil }
    return Array(arguments.dropFirst())
  }

  func run() throws { CheckCommand.check(paths, format: format) }

  static func check(_ paths: [String], format: RunCommand.OutputFormat) -> Never {
    let files = RunbookFiles.expand(paths)
    var errors = 0, warnings = 0
    // Kept until the process exits: tearing down a large program's syntax
    // and code took a tenth of checking it, for nothing.
    var checked: [Session] = []
    // One registry for every file: sessions only read it.
    let registry = Backend.withoutServices().registry
    for file in files {
      let session = Session(registry: registry, host: ConsoleHost(showSteps: false))
      checked.append(session)
      let diagnostics = session.check(path: file)
      if format == .json {
        for d in diagnostics { Console.out(DiagnosticJSON.line(d, file: file) + "\n") }
      } else {
        Console.printDiagnostics(diagnostics)
      }
      errors += diagnostics.filter { $0.severity == .error }.count
      warnings += diagnostics.filter { $0.severity == .warning }.count
    }
    if format == .json {
      Console.out(DiagnosticJSON.summary(files: files.count, errors: errors, warnings: warnings) + "\n")
    } else {
      let summary = "\(files.count) file\(files.count == 1 ? "" : "s") checked: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n"
      Console.err(summary)
    }
    withExtendedLifetime(checked) { terminate(errors > 0 ? .invalidRunbook : .success) }
  }
}

/// The runbook files named on a command line: files as given, directories
/// searched recursively for `*.runbook` (sorted, so output is stable).
enum RunbookFiles {
  static func expand(_ paths: [String]) -> [String] {
    var files: [String] = []
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        files.append(path)  // a missing file is reported by whoever reads it
        continue
      }
      let root = URL(fileURLWithPath: path)
      let found = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
        .compactMap { $0 as? URL }.filter { $0.pathExtension == "runbook" } ?? []
      let prefix = path.hasSuffix("/") ? path : path + "/"
      let relative = found.map { prefix + String($0.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)) }
      files += relative.sorted()
    }
    return files
  }
}

// MARK: - builtins

struct BuiltinsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "builtins", abstract: "List the built-in functions with their signatures and doc lines.")

  @ArgumentParser.Argument(help: "Show only this built-in.")
  var name: String?

  func run() throws {
    let registry = Backend.withoutServices().registry
    if let name {
      guard let b = registry[name] else {
        let names = registry.all.map(\.name)
        let suggestion = didYouMean(name, in: names)
        let similar = names.filter { $0 != closestName(to: name, in: names) && ($0.contains(name) || name.contains($0)) }
        Console.err("error: no built-in named `\(name)`\(suggestion)\(similar.isEmpty ? "" : (suggestion.isEmpty ? "; similar: " : " similar: ") + similar.joined(separator: ", "))\n")
        terminate(.usage)
      }
      Console.out("\(b.signature)\n  \(b.doc)\n  category: \(b.category), effect: \(b.effect.rawValue)\n")
      if let fields = b.result.fields ?? { if case .list(let e) = b.result { return e.fields }; return nil }() {
        Console.out("  returns \(b.result.valueType == .list ? "a list of records" : "a record") with the fields:\n")
        let width = fields.map(\.name.count).max() ?? 0
        for f in fields {
          Console.out("    \(f.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(f.shape.description)\(f.isOptional ? " or nil" : "")\n")
        }
      } else if case .list(let element) = b.result {
        Console.out("  returns a list of \(element.description)\n")
      }
      return
    }
    var category = ""
    for b in registry.all {
      if b.category != category {
        category = b.category
        Console.out("\n\(category):\n")
      }
      Console.out("  \(b.signature)\n      \(b.doc)\n")
    }
  }
}
