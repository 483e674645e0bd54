import ArgumentParser
import Dispatch
import Foundation
import RunbookEmulator
import RunbookSimulator

/// `runbook emulator`: the simulated tenant served on loopback with the real
/// REST APIs' paths, headers, bodies and error codes.
struct EmulatorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emulator", abstract: "Serve a simulated tenant over HTTP on 127.0.0.1 with the real REST wire protocol.",
    discussion: """
      Graph (/v1.0/…), ARM (/subscriptions/…), the Power Platform admin API (/providers/…), Customer Insights \
      (/v1/instances), Dataverse (/{org}/api/data/v9.2/…), ADLS Gen2 DFS (/{account}/{filesystem}/…) and the \
      token endpoint (/{tenant}/oauth2/v2.0/token) share one port. The first line on stdout is the base URL; \
      the lines after it are the environment a live run needs. GET /_emulator/state returns the current state. \
      Faults: seed=N, rate429=P, rate503=P, latency=5ms, replication=N, fail-path=folder/x, retry-after-ms=N, page=N.
      """)

  @Option(name: .customLong("state"), help: ArgumentHelp("The state file to serve (default: the demo tenant).", valueName: "state.json"))
  var statePath: String?

  @Option(name: .customLong("port"), help: "The port on 127.0.0.1 (0: any free port).")
  var port: Int = 0

  @Option(name: .customLong("faults"), help: ArgumentHelp("Faults to inject, e.g. seed=7,rate429=0.1,latency=5ms.", valueName: "spec"))
  var faults: String?

  @Option(name: .customLong("save-state-on-exit"), help: ArgumentHelp("Write the state here on SIGINT/SIGTERM.", valueName: "out.json"))
  var saveStateOnExit: String?

  @Option(name: .customLong("time-scale"), help: "Emulated seconds per wall second (role propagation, waits); pair with RUNBOOK_TIME_SCALE.")
  var timeScale: Double = 1

  func run() throws {
    let world = Backend.loadWorld(statePath: statePath)
    let spec: FaultSpec
    do { spec = try faults.map { try FaultSpec(parsing: $0) } ?? FaultSpec() } catch {
      Console.err("error: --faults: \(error)\n")
      terminate(.usage)
    }
    guard timeScale.isFinite, timeScale > 0, timeScale <= 1_000_000 else {
      Console.err("error: --time-scale must be a number above 0 and at most 1000000, not \(timeScale)\n")
      terminate(.usage)
    }
    guard (0...65535).contains(port) else {
      Console.err("error: --port must be 0...65535\n")
      terminate(.usage)
    }
    let emulator = Emulator(world: world, faults: spec, timeScale: timeScale)
    let server: EmulatorServer
    do { server = try EmulatorServer(emulator: emulator, port: port) } catch {
      Console.err("error: cannot listen on 127.0.0.1:\(port): \(error)\n")
      terminate(.usage)
    }
    let base = server.baseURL
    Console.out("""
      \(base)
      RUNBOOK_AUTHORITY_HOST=\(base)
      RUNBOOK_GRAPH_ENDPOINT=\(base)
      RUNBOOK_ARM_ENDPOINT=\(base)
      RUNBOOK_DFS_ENDPOINT=\(base)/{account}
      RUNBOOK_DATAVERSE_ENDPOINT=\(base)/{org}
      RUNBOOK_POWERPLATFORM_ENDPOINT=\(base)
      RUNBOOK_CI_ENDPOINT=\(base)
      RUNBOOK_TIME_SCALE=\(timeScale)

      """)
    let out = saveStateOnExit
    var sources: [any DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
      source.setEventHandler {
        let counts = [429, 503, 404, 401].map { "\($0): \(emulator.statusCount($0))" }.joined(separator: ", ")
        Console.err("emulator: \(emulator.requestTotal) requests (\(counts))\n")
        if let out {
          do { try emulator.save(path: out) } catch { Console.err("error: cannot write `\(out)`: \(error)\n") }
        }
        server.shutdown()
        Foundation.exit(0)
      }
      source.resume()
      sources.append(source)
    }
    withExtendedLifetime(sources) { dispatchMain() }
  }
}
