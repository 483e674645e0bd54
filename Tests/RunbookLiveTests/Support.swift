import Foundation
import RunbookEmulator
import RunbookSimulator

/// What a run of the `runbook` binary printed.
struct Run {
  var status: Int32
  var stdout: String
  var stderr: String
  var output: String { stdout + stderr }
}

/// A running `runbook` process whose output goes to files (no pipe can fill
/// up), with a deadline on every wait.
final class Child {
  let process = Process()
  let outURL: URL
  let errURL: URL

  init(_ arguments: [String], environment: [String: String], directory: URL) throws {
    outURL = directory.appendingPathComponent("out-\(UUID().uuidString).txt")
    errURL = directory.appendingPathComponent("err-\(UUID().uuidString).txt")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    process.executableURL = Support.executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    for k in env.keys where k.hasPrefix("RUNBOOK_") || k.hasPrefix("AZURE_") { env[k] = nil }
    env["NO_COLOR"] = "1"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
  }

  /// Waits for the exit (SIGKILL after `seconds`).
  func wait(seconds: Double = 120) -> Run {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning { kill() }
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
               stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
  }

  func kill() {
    if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
  }
}

enum Support {
  static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static var executable: URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("runbook")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/runbook")
  }

  static func runbook(_ name: String) -> String {
    name.hasPrefix("/") ? name : repositoryRoot.appendingPathComponent("runbooks/\(name)").path
  }
  static func state(_ name: String) -> String {
    name.hasPrefix("/") ? name : repositoryRoot.appendingPathComponent("runbooks/state/\(name).json").path
  }

  static func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-live-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  static let canary = "CANARY-7f3e-do-not-print-\(UUID().uuidString.prefix(8))"

  /// The environment that points a live run at an emulator.
  static func environment(_ server: EmulatorServer, timeScale: Double = 1000) -> [String: String] {
    let b = server.baseURL
    var env = [
      "RUNBOOK_AUTHORITY_HOST": b, "RUNBOOK_GRAPH_ENDPOINT": b, "RUNBOOK_ARM_ENDPOINT": b,
      "RUNBOOK_DFS_ENDPOINT": b + "/{account}", "RUNBOOK_DATAVERSE_ENDPOINT": b + "/{org}",
      "RUNBOOK_POWERPLATFORM_ENDPOINT": b, "RUNBOOK_CI_ENDPOINT": b, "RUNBOOK_TIME_SCALE": String(timeScale),
      "AZURE_TENANT_ID": server.emulator.tenantID, "AZURE_CLIENT_ID": "runbook-tests",
      "AZURE_CLIENT_SECRET": canary,
    ]
    // Over TLS: trust the emulator's CA.
    if let ca = server.trustFile { env["RUNBOOK_CA_FILE"] = ca }
    return env
  }

  static func emulator(state: String, faults: String? = nil, timeScale: Double = 1000) throws -> EmulatorServer {
    let world = try World.load(path: self.state(state))
    let spec = try faults.map { try FaultSpec(parsing: $0) } ?? FaultSpec()
    return try EmulatorServer(emulator: Emulator(world: world, faults: spec, timeScale: timeScale), port: 0)
  }

  /// The requests that could change something (token requests aside), as `METHOD /path`.
  static func writes(_ server: EmulatorServer) -> [String] {
    server.emulator.requestLog.filter { line in
      !(line.hasPrefix("GET ") || line.hasPrefix("HEAD ") || (line.hasPrefix("POST ") && line.contains("/oauth2/")))
    }
  }

  /// A state file's JSON without what depends on wall time (the tenant
  /// clock and role assignment creation times).
  static func normalized(_ json: String) -> NSDictionary {
    guard var s = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return [:] }
    if var t = s["tenant"] as? [String: Any] { t["now"] = "-"; s["tenant"] = t }
    if var a = s["azure"] as? [String: Any], let ras = a["role_assignments"] as? [[String: Any]] {
      a["role_assignments"] = ras.map { r -> [String: Any] in
        var r = r
        r["created_at"] = "-"
        return r
      }
      s["azure"] = a
    }
    return s as NSDictionary
  }

  /// The dry run's predicted end state and exit status.
  static func dryRun(_ runbook: String, state: String, params: [String], in dir: URL) throws -> (Run, String) {
    let out = dir.appendingPathComponent("dry-\(UUID().uuidString).json").path
    let run = try Child(["run", "--dry-run", Support.runbook(runbook), "--state", Support.state(state), "--save-state", out] + params,
                        environment: [:], directory: dir).wait()
    return (run, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
  }
}
