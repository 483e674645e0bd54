import ArgumentParser
import Foundation
import RunbookLanguage
import RunbookREPL
import RunbookRuntime
import RunbookServices
import RunbookSimulator

struct REPLCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repl", abstract: "Explore interactively: call built-ins by hand and build up steps.",
    discussion: """
      By default the REPL is a dry run against the embedded demo tenant (or --state FILE): nothing real \\
      changes. Type :help for meta commands. When stdin is not a terminal, lines are read without \\
      prompts or editing, and the exit status is non-zero if an entry failed.
      """)

  @Flag(name: .customLong("dry-run"), help: "Run against simulated services (the default).")
  var dryRun = false

  @Option(name: .customLong("state"), help: ArgumentHelp("The simulated world (default: the demo tenant).", valueName: "state.json"))
  var statePath: String?

  @Flag(name: .customLong("no-line-editing"), help: "Read plain lines even on a terminal.")
  var noLineEditing = false

  @Flag(name: .customLong("stop-on-error"), help: "Stop at the first failing entry (piped input).")
  var stopOnError = false

  func run() throws {
    terminate(code: REPLCommand.start(statePath: statePath, lineEditing: !noLineEditing, stopOnError: stopOnError))
  }

  static func start(statePath: String?, lineEditing: Bool, stopOnError: Bool) -> Int32 {
    // Validate the state file once, up front, so a bad file fails before the prompt.
    _ = Backend.loadWorld(statePath: statePath)
    let repl = RuntimeREPLSession {
      let world = Backend.loadWorld(statePath: statePath)
      let backend = Backend.dryRun(world: world)
      let session = Session(registry: backend.registry, host: REPLHost(recorder: backend.recorder))
      return REPLContext(session: session, registry: backend.registry,
                         world: SimulatedWorldView(world: world, recorder: backend.recorder))
    }
    var options = REPLOptions(banner: "runbook \(Runbook.configuration.version): dry run against \(statePath ?? "the demo tenant"); nothing real changes. :help for help, Ctrl-D to leave.")
    if !lineEditing { options.interactive = false }
    options.stopOnError = stopOnError
    return REPL(session: repl, options: options).run()
  }
}

func terminate(code: Int32) -> Never { Foundation.exit(code) }

/// Prints output as it comes and records step boundaries in the plan.
final class REPLHost: InterpreterHost {
  let recorder: PlanRecorder
  init(recorder: PlanRecorder) { self.recorder = recorder }
  func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }
  func stepStarted(_ name: String, range: SourceRange?) { recorder.beginStep(name) }
  func stepFinished(_ name: String, error: RuntimeError?) { recorder.endStep(name, error: error) }
}

/// The REPL's view of a simulated world and the plan of changes made to it.
final class SimulatedWorldView: WorldView {
  let world: World
  let recorder: PlanRecorder
  init(world: World, recorder: PlanRecorder) { self.world = world; self.recorder = recorder }

  func planDescription() -> String {
    if recorder.steps.isEmpty { return "nothing planned yet: no built-in has been called" }
    return recorder.renderText(color: false).trimmingCharacters(in: .newlines)
  }

  /// The world's state as JSON, or the part a dotted path names (`directory.groups`).
  func stateDescription(query: String?) -> String {
    let json = world.stateJSON()
    guard let data = json.data(using: .utf8), let root = try? JSONSerialization.jsonObject(with: data) else { return json }
    guard let query, !query.isEmpty else {
      guard let top = root as? [String: Any] else { return json }
      var lines = ["The simulated world has these sections (use :state SECTION, e.g. :state directory or :state directory.groups):"]
      for key in top.keys.sorted() {
        let size: String
        switch top[key] {
        case let a as [Any]: size = "\(a.count) item\(a.count == 1 ? "" : "s")"
        case let d as [String: Any]: size = d.keys.sorted().joined(separator: ", ")
        case let v?: size = "\(v)"
        default: size = ""
        }
        lines.append("  \(key): \(size)")
      }
      return lines.joined(separator: "\n")
    }
    var parts: [String] = query.split(separator: ".").map { String($0) }
    // `:state groups` means `directory.groups` when exactly one section has `groups`.
    if let top = root as? [String: Any], let first = parts.first, !top.keys.contains(first) {
      var owners: [String] = []
      for (key, section) in top {
        if let fields = section as? [String: Any], fields.keys.contains(first) { owners.append(key) }
      }
      if owners.count == 1 { parts.insert(owners[0], at: 0) }
    }
    var node: Any = root
    for part in parts {
      if let d = node as? [String: Any], let next = d[String(part)] { node = next; continue }
      if let a = node as? [Any], let i = Int(part), i >= 0, i < a.count { node = a[i]; continue }
      return "no `\(part)` in the state at `\(query)`"
    }
    guard JSONSerialization.isValidJSONObject(node),
      let out = try? JSONSerialization.data(withJSONObject: node, options: [.prettyPrinted, .sortedKeys])
    else { return "\(node)" }
    return String(decoding: out, as: UTF8.self)
  }
}
