import Foundation
import PTYTestSupport
import RunbookEmulator
import RunbookLive
import RunbookSimulator
import Testing

/// A live run you can watch and stop: output streams while the run goes,
/// long built-ins show a progress line on a terminal, Ctrl-C once or twice
/// stops it with exit 130, a whole journal and the command to resume, and
/// the resumed run ends in the state the dry run predicted.
@Suite("Watching and stopping a live run", .serialized)
struct WatchAndInterruptTests {
  /// Slow enough (tenant time 20x real) that the role wait lasts seconds.
  static let timeScale = 20.0
  static let byol = Scenario.byol

  /// The environment of a child on a pty: the emulator's endpoints, no colour.
  static func ptyEnvironment(_ server: EmulatorServer, timeScale: Double) -> [String: String] {
    var env = Support.environment(server, timeScale: timeScale)
    env["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    env["HOME"] = NSTemporaryDirectory()
    env["TERM"] = "xterm"
    env["NO_COLOR"] = "1"
    return env
  }

  /// Starts `run --live --yes` of the BYOL runbook on a pty and waits until it applies;
  /// with `paramsFile` the params come from that file (the resume must re-read it).
  static func startApplying(journal: String, server: EmulatorServer, timeScale: Double, paramsFile: String? = nil) throws
    -> PTYProcess
  {
    let run = try PTYProcess(
      executable: Support.executable.path,
      arguments: ["run", "--live", "--yes", Support.runbook("byol-setup.runbook"), "--journal", journal]
        + (paramsFile.map { ["--params", $0] } ?? byol),
      environment: ptyEnvironment(server, timeScale: timeScale), launch: .forkpty, columns: 200)
    do { try run.expect("Applying the plan:", timeout: 90) } catch {
      run.kill()
      throw error
    }
    return run
  }

  /// The journal is whole: every line parses, it ends with the run's end.
  static func expectWholeJournal(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [WireJSONEntry] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.hasSuffix("\n"), "the journal ends with a whole line", sourceLocation: sourceLocation)
    let entries = try Journal.read(path: path)
    #expect(entries.count == text.split(separator: "\n").count, "every journal line parses", sourceLocation: sourceLocation)
    #expect(entries.last?["type"]?.string == "end", sourceLocation: sourceLocation)
    #expect(entries.last?["error"]?["code"]?.string == "interrupted", sourceLocation: sourceLocation)
    return entries.map { WireJSONEntry(type: $0["type"]?.string, seq: $0["seq"]?.int) }
  }

  struct WireJSONEntry { var type: String?; var seq: Int? }

  /// Resumes with the documented command and compares the end state with the dry run's.
  static func resumeEndsAsPredicted(journal: String, server: EmulatorServer, timeScale: Double, predicted: String,
                                    in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let resumed = try Child(["run", "--live", "--yes", "--resume", journal],
                            environment: Support.environment(server, timeScale: timeScale), directory: dir).wait()
    #expect(resumed.status == 0, "\(resumed.output)", sourceLocation: sourceLocation)
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted),
            "the resumed run ends in the dry run's predicted state, with no duplicates", sourceLocation: sourceLocation)
  }

  /// An interrupted run: exit 130, the resume command printed, the journal
  /// whole, and the resume ends in the predicted state.
  static func expectStoppedThenResumable(_ run: PTYProcess, journal: String, server: EmulatorServer, timeScale: Double,
                                         predicted: String, in dir: URL,
                                         sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(try run.waitForExit(timeout: 30) == .exited(130), "\(run.transcript)", sourceLocation: sourceLocation)
    #expect(run.outputContains("continue it with: runbook run --live --resume \(journal)"), "\(run.transcript)",
            sourceLocation: sourceLocation)
    _ = try expectWholeJournal(journal, sourceLocation: sourceLocation)
    try resumeEndsAsPredicted(journal: journal, server: server, timeScale: timeScale, predicted: predicted, in: dir,
                              sourceLocation: sourceLocation)
  }

  @Test("streams step lines and a wait_for_role progress line; one Ctrl-C stops with 130; --resume re-reads --params FILE")
  func ctrlCOnceDuringRoleWait() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (_, predicted) = try Support.dryRun("byol-setup.runbook", state: "fresh-tenant", params: Self.byol, in: dir)
    let server = try Support.emulator(state: "fresh-tenant", timeScale: Self.timeScale)
    defer { server.shutdown() }
    // The same params as a file: `--resume` must read it again (it is not given to the resume).
    var params: [String: String] = [:]
    for flag in stride(from: 1, to: Self.byol.count, by: 2) {
      let pair = Self.byol[flag].split(separator: "=", maxSplits: 1).map(String.init)
      params[pair[0]] = pair[1]
    }
    let paramsFile = dir.appendingPathComponent("params.json").path
    try JSONSerialization.data(withJSONObject: params).write(to: URL(fileURLWithPath: paramsFile))
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let run = try Self.startApplying(journal: journal, server: server, timeScale: Self.timeScale, paramsFile: paramsFile)
    defer { run.kill() }
    // The first step's line appears while the run goes on (it is still waiting for the role).
    try run.expect("Step \"Ensure the customerinsights container\" ...", timeout: 30)
    try run.expect("waiting for Storage Blob Data Owner of Alice Admin to be visible:", timeout: 30)
    try run.expect("elapsed", timeout: 10)
    try run.send("\u{3}")
    try run.expect("interrupted: stopping after the change in flight", timeout: 10)
    #expect(try run.waitForExit(timeout: 20) == .exited(130), "\(run.transcript)")
    #expect(run.outputContains("Applied: "), "what was applied is printed: \(run.transcript)")
    #expect(run.outputContains("continue it with: runbook run --live --resume \(journal)"), "\(run.transcript)")
    let entries = try Self.expectWholeJournal(journal)
    let begun = Set(entries.filter { $0.type == "begin" }.compactMap(\.seq))
    let answered = Set(entries.filter { $0.type == "done" || $0.type == "failed" }.compactMap(\.seq))
    #expect(begun == answered, "the change in flight was answered and journaled before the run stopped")
    try Self.resumeEndsAsPredicted(journal: journal, server: server, timeScale: Self.timeScale, predicted: predicted, in: dir)
  }

  @Test("a second Ctrl-C during wait_for_role stops at once, the journal whole, the resume command printed")
  func ctrlCTwiceDuringRoleWait() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // Tenant time at 2x real and 20 s propagation: each slice of the wait is half a second, so
    // the second Ctrl-C lands while the first is still stopping the wait.
    let state = try Self.derivedState(in: dir, name: "slow-roles") { tenant, _ in tenant["role_propagation_seconds"] = 20 }
    let (_, predicted) = try Support.dryRun("byol-setup.runbook", state: state, params: Self.byol, in: dir)
    let server = try Support.emulator(state: state, timeScale: 2)
    defer { server.shutdown() }
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let run = try Self.startApplying(journal: journal, server: server, timeScale: 2)
    defer { run.kill() }
    try run.expect("waiting for Storage Blob Data Owner of Alice Admin to be visible:", timeout: 60)
    try run.send("\u{3}")
    usleep(100_000)
    try run.send("\u{3}")
    try run.expect("stopped at once", timeout: 10)
    try Self.expectStoppedThenResumable(run, journal: journal, server: server, timeScale: 2, predicted: predicted, in: dir)
  }

  /// The fresh tenant with its tenant settings and storage account changed by `change`.
  static func derivedState(in dir: URL, name: String,
                           _ change: (inout [String: Any], inout [String: Any]) -> Void) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: Support.state("fresh-tenant")))
    var state = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var tenant = try #require(state["tenant"] as? [String: Any])
    var azure = try #require(state["azure"] as? [String: Any])
    var accounts = try #require(azure["storage_accounts"] as? [[String: Any]])
    change(&tenant, &accounts[0])
    azure["storage_accounts"] = accounts
    state["azure"] = azure
    state["tenant"] = tenant
    let path = dir.appendingPathComponent("\(name).json").path
    try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// A container with 200 existing items under the mount path, each with
  /// another principal's entry (so each ACL is read, and set on its own to
  /// keep that principal's effective access), and 15 ms per request: the
  /// recursive update takes seconds.
  static func slowTreeState(in dir: URL) throws -> String {
    try derivedState(in: dir, name: "slow-tree") { _, account in
      account["filesystems"] = [[
        "name": "customerinsights", "owner": "$superuser", "group": "$superuser",
        "acl": "user::rwx,group::r-x,other::---", "paths": [],
        "generate": [[
          "prefix": "dir1/dir2/part-", "folders": 4, "files_per_folder": 49,
          "directory_acl": "user::rwx,group::r-x,user:1b2c3d4e-0000-4000-8000-000000000001:r-x,mask::r-x,other::---",
          "file_acl": "user::rw-,group::r--,user:1b2c3d4e-0000-4000-8000-000000000001:r--,mask::r--,other::---",
        ]],
      ]]
    }
  }

  @Test("Ctrl-C once and twice during set_acl_recursive: 130, a whole journal, and the resume ends as predicted",
        arguments: [1, 2])
  func ctrlCDuringRecursiveACL(presses: Int) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let state = try Self.slowTreeState(in: dir)
    let (dry, predicted) = try Support.dryRun("byol-setup.runbook", state: state, params: Self.byol, in: dir)
    #expect(dry.status == 0, "\(dry.output)")
    let server = try Support.emulator(state: state, faults: "latency=15ms")
    defer { server.shutdown() }
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let run = try Self.startApplying(journal: journal, server: server, timeScale: 1000)
    defer { run.kill() }
    try run.expect("Step \"Apply the ACLs to existing items under the mount point\" ...", timeout: 60)
    try run.expect("items checked", timeout: 30)
    try run.send("\u{3}")
    try run.expect("interrupted: stopping after the change in flight", timeout: 10)
    if presses == 2 {
      try run.send("\u{3}")
      try run.expect("stopped at once", timeout: 10)
    }
    try Self.expectStoppedThenResumable(run, journal: journal, server: server, timeScale: 1000, predicted: predicted, in: dir)
  }

  @Test("--format json streams events as they happen, each with a time, from a start with the schema to a summary")
  func jsonEventsStream() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: "fresh-tenant", timeScale: Self.timeScale)
    defer { server.shutdown() }
    let child = try Child(["run", "--live", "--yes", "--format", "json", Support.runbook("byol-setup.runbook"), "--journal",
                           dir.appendingPathComponent("j.jsonl").path] + Self.byol,
                          environment: Support.environment(server, timeScale: Self.timeScale), directory: dir)
    let deadline = Date().addingTimeInterval(60)
    var seenWhileRunning = false
    while Date() < deadline && child.process.isRunning {
      let text = (try? String(contentsOf: child.outURL, encoding: .utf8)) ?? ""
      if text.contains(#""phase":"apply""#) && text.contains(#""event":"step_started""#) {
        seenWhileRunning = child.process.isRunning
        break
      }
      usleep(20_000)
    }
    #expect(seenWhileRunning, "step events arrive before the run ends")
    let done = child.wait(seconds: 120)
    #expect(done.status == 0, "\(done.output)")
    let events = try done.stdout.split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(events.first?["event"] as? String == "start")
    #expect(events.first?["schema"] as? String == "runbook-events/v1")
    #expect(events.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true })
    let times = events.compactMap { $0["time"] as? String }
    #expect(times == times.sorted(), "events are in the order they happened")
    #expect(events.contains { $0["event"] as? String == "progress" && $0["builtin"] as? String == "wait_for_role" },
            "the role wait reports progress")
    let summary = try #require(events.last)
    #expect(summary["event"] as? String == "summary")
    #expect(summary["applied"] as? Bool == true)
    #expect(summary["exit_status"] as? Int == 0)
    #expect((summary["outputs"] as? [String: Any])?["acl_failures"] as? Int == 0)
    let call = try #require(events.first { $0["event"] as? String == "call" && $0["builtin"] as? String == "create_groups" })
    #expect((call["arguments"] as? [String: Any])?["prefix"] as? String == "contoso", "arguments are JSON values")
    let change = try #require((call["changes"] as? [[String: Any]])?.first)
    let attributes = try #require(change["attributes"] as? [[String: Any]])
    #expect(attributes.contains { $0["name"] as? String == "security_enabled" && $0["new"] as? Bool == true },
            "attribute values are JSON values, not display strings")
  }
}
