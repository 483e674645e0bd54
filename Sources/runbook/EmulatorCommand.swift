import ArgumentParser
import Dispatch
import Foundation
import RunbookEmulator
import RunbookSimulator

/// `runbook emulator`: the simulated tenant served on loopback with the real
/// REST APIs' paths, headers, bodies and error codes.
struct EmulatorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emulator", abstract: "Serve a simulated tenant over HTTP(S) on 127.0.0.1 with the real REST wire protocol.",
    discussion: """
      Graph (/v1.0/…), ARM (/subscriptions/…), the Power Platform admin API (/providers/…), Customer Insights \
      (/v1/instances), Dataverse (/{org}/api/data/v9.2/…), ADLS Gen2 DFS (/{account}/{filesystem}/…) and the \
      token endpoint (/{tenant}/oauth2/v2.0/token) share one port. The first line on stdout is the base URL; \
      the lines after it are the environment a live run needs. GET /_emulator/state returns the current state \
      (test-only admin endpoint). With --tls it serves HTTPS with a certificate it generates and prints the CA file \
      to trust (SSL_CERT_FILE, REQUESTS_CA_BUNDLE). See docs/emulator.md. \
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

  @Flag(name: .customLong("tls"), help: "Serve HTTPS with a generated certificate (a private CA; its file is printed).")
  var tls = false

  @Option(name: .customLong("cert"), help: ArgumentHelp("Serve HTTPS with this PEM certificate chain (with --key).", valueName: "cert.pem"))
  var certificateFile: String?

  @Option(name: .customLong("key"), help: ArgumentHelp("The PEM private key of --cert.", valueName: "key.pem"))
  var keyFile: String?

  @Option(name: .customLong("tls-dir"), help: ArgumentHelp("Where --tls writes ca.pem, server.pem and server-key.pem (default: a new temporary folder).", valueName: "dir"))
  var tlsDirectory: String?

  @Option(name: .customLong("client"), help: ArgumentHelp("Accept only these app credentials at the token endpoint (repeatable; default: any client id with a non-empty secret).", valueName: "client-id=secret"))
  var clients: [String] = []

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
    var credentials: [String: String] = [:]
    for c in clients {
      guard let eq = c.firstIndex(of: "="), eq != c.startIndex, c.index(after: eq) != c.endIndex else {
        Console.err("error: --client needs client-id=secret, got `\(c)`\n")
        terminate(.usage)
      }
      credentials[String(c[..<eq]).lowercased()] = String(c[c.index(after: eq)...])
    }
    let tlsConfig: EmulatorTLS?
    do { tlsConfig = try tlsConfiguration() } catch {
      Console.err("error: \(error)\n")
      terminate(.usage)
    }
    let emulator = Emulator(world: world, faults: spec, timeScale: timeScale, clients: credentials)
    let server: EmulatorServer
    do { server = try EmulatorServer(emulator: emulator, port: port, tls: tlsConfig) } catch {
      Console.err("error: cannot listen on 127.0.0.1:\(port): \(error)\n")
      terminate(.usage)
    }
    let base = server.baseURL
    let trust = server.trustFile.map { "RUNBOOK_CA_FILE=\($0)\nSSL_CERT_FILE=\($0)\nREQUESTS_CA_BUNDLE=\($0)\n" } ?? ""
    Console.out("""
      \(base)
      \(trust)AZURE_TENANT_ID=\(emulator.tenantID)
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

  /// The certificate to serve: `--cert`/`--key`, generated with `--tls`, or none (plain HTTP).
  func tlsConfiguration() throws(EmulatorError) -> EmulatorTLS? {
    switch (certificateFile, keyFile) {
    case (let cert?, let key?): return try EmulatorTLS(certificateFile: cert, keyFile: key)
    case (nil, nil): break
    default: throw EmulatorError("--cert and --key go together")
    }
    guard tls else { return nil }
    let dir = tlsDirectory ?? FileManager.default.temporaryDirectory
      .appendingPathComponent("runbook-emulator-tls-\(ProcessInfo.processInfo.processIdentifier)").path
    return try EmulatorTLS.generate(directory: dir)
  }
}
