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
    let template = dryRun(world: World.signedInUserOnly())
    let registry = BuiltinRegistry()
    for var builtin in template.registry.builtins.values {
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
