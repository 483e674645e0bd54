import Foundation
import RunbookLanguage
import RunbookRuntime
import RunbookServices
import RunbookSimulator

/// The built-ins and world a command runs with: core built-ins always, domain
/// built-ins bound to the simulated world (dry run), or refusing to run when
/// no backend was chosen.
struct Backend {
  let registry: BuiltinRegistry
  let world: World?
  let recorder: PlanRecorder

  /// Core and domain built-ins against a simulated world.
  static func dryRun(world: World) -> Backend {
    let registry = CoreBuiltins.makeRegistry()
    let recorder = PlanRecorder()
    registerDomainBuiltins(into: registry, services: world.services, recorder: recorder)
    return Backend(registry: registry, world: world, recorder: recorder)
  }

  /// For `check`, `builtins` and plain runs: every built-in is known (so
  /// signatures are checked), but a domain built-in called without a chosen
  /// backend explains how to choose one instead of touching anything.
  static func withoutServices() -> Backend {
    let template = dryRun(world: World.demoTenant())
    let registry = BuiltinRegistry()
    for var builtin in template.registry.all {
      if builtin.category != "core" && builtin.category != "text" {
        let name = builtin.name
        builtin.implementation = { _, _ in
          throw RuntimeError(
            "`\(name)` calls a service; run with --dry-run to rehearse against the simulated tenant (add --state FILE for your own), or with --live against the real services",
            code: "no_backend")
        }
      }
      registry.register(builtin)
    }
    return Backend(registry: registry, world: nil, recorder: template.recorder)
  }

  /// Loads a state file, or the embedded demo tenant when none is given.
  static func loadWorld(statePath: String?) -> World {
    guard let statePath else { return World.demoTenant() }
    do {
      return try World.load(path: statePath)
    } catch {
      Console.err("\(error)\n")
      terminate(.usage)
    }
  }
}

/// Prints the program's output and feeds step boundaries to the plan.
final class DryRunHost: InterpreterHost {
  let recorder: PlanRecorder
  let json: Bool
  init(recorder: PlanRecorder, json: Bool) { self.recorder = recorder; self.json = json }

  func write(_ text: String) {
    if json {
      for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        Console.out(JSONLine.object([("event", .string("print")), ("text", .string(String(line)))]) + "\n")
      }
    } else {
      Console.out(text)
    }
  }
  func stepStarted(_ name: String, range: SourceRange?) { recorder.beginStep(name) }
  func stepFinished(_ name: String, error: RuntimeError?) { recorder.endStep(name, error: error) }
}

/// JSON lines for the CLI's own events (prints, outputs, the summary).
enum JSONLine {
  static func object(_ fields: [(String, Value)]) -> String {
    JSON.object(fields.map { ($0.0, JSON($0.1)) }).text
  }
}

extension JSON {
  /// A runbook value as JSON: durations as their text, functions and ranges by how they print.
  init(_ v: Value) {
    switch v {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .int(i)
    case .float(let d): self = .float(d)
    case .string(let s): self = .string(s)
    case .duration(let ms): self = .string(Value.formatDuration(ms))
    case .list(let l): self = .array(l.items.map(JSON.init))
    case .map(let m):
      self = .object(m.keys.enumerated().map { i, k in
        switch k.storage {
        case .string(let s): return (s, JSON(m.values[i]))
        case .int(let n): return (String(n), JSON(m.values[i]))
        case .bool(let b): return (b ? "true" : "false", JSON(m.values[i]))
        }
      })
    case .range, .function: self = .string(v.repr)
    case .secret: self = .string(Secret.shown)
    }
  }
}
