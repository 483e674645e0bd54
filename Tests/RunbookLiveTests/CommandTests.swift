import Foundation
import PTYTestSupport
import RunbookLive
import RunbookServices
import Testing

@Suite struct CommandTests {
  /// `runbook emulator` as a process: base URL first, the state endpoint,
  /// a live run against it, and the state written on SIGTERM.
  @Test func emulatorBinaryServesALiveRunAndSavesItsStateOnExit() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let saved = dir.appendingPathComponent("saved.json").path
    let emulator = try Child(
      ["emulator", "--state", Support.state("fresh-tenant"), "--port", "0", "--time-scale", "1000",
       "--faults", "seed=2,rate429=0.1,retry-after-ms=2", "--save-state-on-exit", saved],
      environment: [:], directory: dir)
    defer { emulator.kill() }
    var base = ""
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      let text = (try? String(contentsOf: emulator.outURL, encoding: .utf8)) ?? ""
      if let line = text.split(separator: "\n").first, text.contains("RUNBOOK_TIME_SCALE") { base = String(line); break }
      usleep(10_000)
    }
    try #require(base.hasPrefix("http://127.0.0.1:"), "the emulator printed no base URL")
    let lines = ((try? String(contentsOf: emulator.outURL, encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
    var env: [String: String] = [
      "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": Support.canary,
    ]
    for l in lines { if let eq = l.firstIndex(of: "=") { env[String(l[..<eq])] = String(l[l.index(after: eq)...]) } }
    let s = Scenario.all[7]
    let (_, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let run = try Child(["run", "--live", "--yes", Support.runbook(s.runbook), "--journal", dir.appendingPathComponent("j.jsonl").path] + s.params,
                        environment: env, directory: dir).wait()
    #expect(run.status == 0, "\(run.output)")

    let transport = HTTPTransport(timeoutMilliseconds: 10_000)
    defer { transport.shutdown() }
    let state = try transport.send(WireRequest(method: "GET", url: base + "/_emulator/state"))
    #expect(state.status == 200)
    let live = String(decoding: state.body, as: UTF8.self)
    #expect(Support.normalized(live) == Support.normalized(predicted))
    // No token: 401 in Graph's shape.
    let anonymous = try transport.send(WireRequest(method: "GET", url: base + "/v1.0/me"))
    #expect(anonymous.status == 401 && anonymous.json?["error"]?["code"]?.string == "InvalidAuthenticationToken")

    kill(emulator.process.processIdentifier, SIGTERM)
    let exit = emulator.wait(seconds: 20)
    #expect(exit.status == 0)
    let written = (try? String(contentsOfFile: saved, encoding: .utf8)) ?? ""
    #expect(Support.normalized(written) == Support.normalized(live))
  }

  /// On a terminal the plan is approved once, up front, with every
  /// destructive change listed; anything but "yes" refuses and nothing changes.
  @Test func applyAsksOnceOnATerminal() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let server = try Support.emulator(state: "journeys-connected")
    defer { server.shutdown() }
    var env = Support.environment(server)
    env["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    env["HOME"] = dir.path
    env["NO_COLOR"] = "1"
    env["TERM"] = "dumb"
    let solutionsBefore = solutionCount(server.emulator.stateJSON())
    let pty = try PTYProcess(
      executable: Support.executable.path,
      arguments: ["run", "--live", Support.runbook("remove-dataverse-connection.runbook"), "--journal",
                  dir.appendingPathComponent("j.jsonl").path, "--param", "dataverse_name=Contoso Sales"],
      environment: env)
    defer { pty.kill() }
    _ = try pty.expect("Enter a value:", timeout: 60)
    #expect(pty.transcript.contains("Destructive changes (8)"), "\(pty.transcript)")
    #expect(pty.transcript.contains("- solution[\"msdyn_CustomerInsightsAnchor\"]") || pty.transcript.contains("msdyn_CustomerInsightsAnchor"))
    #expect(pty.transcript.contains("Only 'yes' will be accepted to approve."))
    #expect(Support.writes(server).isEmpty, "nothing is sent before the approval")
    try pty.send("y\r")
    _ = try pty.expect("Apply cancelled", timeout: 30)
    #expect(try pty.waitForExit(timeout: 30) == .exited(1))
    #expect(solutionCount(server.emulator.stateJSON()) == solutionsBefore)
    #expect(Support.writes(server).isEmpty, "an answer other than 'yes' changes nothing")
    #expect(!pty.transcript.contains(Support.canary))

    // "yes" once approves every change, destructive ones included; it ends where the dry run predicted.
    let s = Scenario.all[10]
    let (_, predicted) = try Support.dryRun(s.runbook, state: s.state, params: s.params, in: dir)
    let yes = try PTYProcess(
      executable: Support.executable.path,
      arguments: ["run", "--live", Support.runbook(s.runbook), "--journal", dir.appendingPathComponent("j2.jsonl").path] + s.params,
      environment: env)
    defer { yes.kill() }
    _ = try yes.expect("Enter a value:", timeout: 60)
    try yes.send("yes\r")
    #expect(try yes.waitForExit(timeout: 60) == .exited(0))
    #expect(yes.transcript.components(separatedBy: "Enter a value:").count == 2, "one prompt for the whole run")
    #expect(Support.normalized(server.emulator.stateJSON()) == Support.normalized(predicted))
  }

  func solutionCount(_ json: String) -> Int {
    let s = Support.normalized(json)
    return ((s["power_platform"] as? [String: Any])?["environments"] as? [[String: Any]])?
      .reduce(0) { $0 + (($1["solutions"] as? [Any])?.count ?? 0) } ?? 0
  }

  /// The Azure CLI fallback: one subprocess per resource, then the cache.
  @Test func azureCLITokensAreParsedAndCached() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let counter = dir.appendingPathComponent("calls").path
    let script = dir.appendingPathComponent("az").path
    let expires = Int(Date().timeIntervalSince1970) + 3600
    try """
      #!/bin/sh
      echo x >> "\(counter)"
      case "$*" in *"--resource https://graph.microsoft.com"*) ;; *) echo "bad args: $*" >&2; exit 2;; esac
      echo '{"accessToken":"cli-token-123456","expiresOn":"2099-01-01 00:00:00.000000","expires_on":\(expires),"subscription":"s","tenant":"t","tokenType":"Bearer"}'
      """.write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let transport = HTTPTransport()
    defer { transport.shutdown() }
    let redactor = Redactor()
    let tokens = TokenProvider(source: .azureCLI(tenant: nil), authorityHost: "https://login.microsoftonline.com",
                               transport: transport, redactor: redactor, policy: RetryPolicy(), sleeper: RecordingSleeper(),
                               azureCLICommand: script)
    #expect(try tokens.token(resource: "https://graph.microsoft.com") == "cli-token-123456")
    #expect(try tokens.token(resource: "https://graph.microsoft.com") == "cli-token-123456")
    #expect(((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").count == 2, "one subprocess, then the cache")
    #expect(redactor.redact("Authorization: cli-token-123456") == "Authorization: [REDACTED]")

    let missing = TokenProvider(source: .azureCLI(tenant: nil), authorityHost: "https://login.microsoftonline.com",
                                transport: transport, redactor: redactor, policy: RetryPolicy(), sleeper: RecordingSleeper(),
                                azureCLICommand: dir.appendingPathComponent("no-such-az").path)
    #expect { try missing.token(resource: "https://graph.microsoft.com") } throws: {
      ($0 as? ServiceError)?.code == "CredentialUnavailable"
    }
  }
}
