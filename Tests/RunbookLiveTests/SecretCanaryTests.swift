import Foundation
import RunbookEmulator
import RunbookLive
import Testing

/// A canary secret, given as a `secret` param and through the environment
/// (`secret(env(…))`), appears in no byte of what the real binary writes:
/// stdout, stderr, the journal, the saved state, `--format json` events —
/// in a dry run and in a live run against the emulator, succeeding and
/// failing.
@Suite struct SecretCanaryTests {
  static let paramCanary = "PARAM-CANARY-" + UUID().uuidString
  static let envCanary = "ENV-CANARY-" + UUID().uuidString

  /// Uses both secrets every way the language allows, calls services (so a
  /// plan and a journal are written), and with `should_fail=true` ends on an error
  /// about a secret.
  static let runbook = """
    param api_key: secret "an API key"
    param should_fail: bool = false
    let from_env = secret(env("RUNBOOK_CANARY_ENV"))
    print(api_key, from_env)
    print("key=${api_key} env=${from_env}")
    print([api_key, from_env], {k: api_key}, "Bearer " + api_key, upper(from_env), format("{0}", api_key))
    let lake = step "Register the app" {
      print("in a step:", api_key)
      ensure_service_principal(app_id: "546068c3-99b1-4890-8e93-c8aeadcfe56a", name: "Lake")
    }
    try {
      to_int(api_key)
    } catch e {
      print(e.message, e)
    }
    # Services get the real text; what comes back about it stays secret.
    print(find_groups(name: api_key))
    try {
      storage_account(subscription: "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f", resource_group: "rg-customerinsights", name: from_env)
    } catch e {
      print("lookup:", e.message, e)
    }
    require len(from_env) > 0, "the environment canary is set"
    output key = api_key
    output both = [api_key, from_env]
    output app = lake.id
    if should_fail {
      step "Fail on a secret" {
        to_int(from_env + api_key)
      }
    }
    """

  struct Mode: CustomStringConvertible, Sendable {
    var description: String
    var live: Bool
    var json: Bool
    var fail: Bool
  }

  static let modes: [Mode] = [false, true].flatMap { live in
    [false, true].flatMap { json in
      [false, true].map { fail in
        Mode(description: "\(live ? "live" : "dry")\(json ? " json" : "")\(fail ? " failing" : "")", live: live, json: json,
             fail: fail)
      }
    }
  }

  @Test(arguments: modes)
  func aCanarySecretAppearsInNoOutputAndNoFile(mode: Mode) throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("canary.runbook").path
    try Self.runbook.write(toFile: file, atomically: true, encoding: .utf8)
    var arguments = ["run", file, "--param", "api_key=\(Self.paramCanary)", "--param", "should_fail=\(mode.fail)"]
    if mode.json { arguments += ["--format", "json"] }
    var environment = ["RUNBOOK_CANARY_ENV": Self.envCanary]
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let saved = dir.appendingPathComponent("saved.json").path
    var server: EmulatorServer?
    if mode.live {
      let s = try Support.emulator(state: "fresh-tenant")
      server = s
      environment.merge(Support.environment(s)) { a, _ in a }
      arguments += ["--live", "--yes", "--journal", journal]
    } else {
      arguments += ["--dry-run", "--state", Support.state("fresh-tenant"), "--save-state", saved]
    }
    defer { server?.shutdown() }
    let run = try Child(arguments, environment: environment, directory: dir).wait(seconds: 120)
    #expect(run.status == (mode.fail ? 1 : 0), "\(run.output)")
    #expect(run.stdout.contains("(sensitive)"), "\(run.output)")
    #expect(run.stdout.contains("lookup:"), "the failing lookup ran: \(run.output)")
    if mode.fail { #expect(run.output.contains("cannot convert \"(sensitive)\" to an int"), "\(run.output)") }
    var texts = [("stdout", run.stdout), ("stderr", run.stderr)]
    if mode.live {
      // A live run plans first: a failing plan changes nothing and journals nothing.
      if mode.fail {
        #expect(!FileManager.default.fileExists(atPath: journal), "a failed plan opens no journal")
        #expect(Support.writes(server!).isEmpty)
      } else {
        texts.append(("journal", try String(contentsOfFile: journal, encoding: .utf8)))
      }
      texts.append(("emulator state", server!.emulator.stateJSON()))
    } else if !mode.fail {
      texts.append(("saved state", try String(contentsOfFile: saved, encoding: .utf8)))
    }
    for (name, text) in texts {
      #expect(!text.isEmpty || name == "stderr", "\(name) is empty")
      for canary in [Self.paramCanary, Self.envCanary] {
        #expect(!text.contains(canary), "\(mode): \(name) holds a canary:\n\(text)")
      }
    }
  }

  /// A secret param of a live run is journaled redacted, and a resume
  /// without it again is refused (it would otherwise run on its default).
  @Test func aResumeMustBeGivenTheSecretParamsAgain() throws {
    let dir = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("resume.runbook").path
    try """
      param api_key: secret = "a-default-that-must-not-be-used" "an API key"
      param shared_key: string = "default" "named like a secret"
      param prefix: string "group prefix"
      print(api_key == "\(Self.paramCanary)")
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let server = try Support.emulator(state: "fresh-tenant")
    defer { server.shutdown() }
    let env = Support.environment(server)
    let journal = dir.appendingPathComponent("journal.jsonl").path
    let first = try Child(["run", "--live", file, "--journal", journal, "--param", "api_key=\(Self.paramCanary)",
                           "--param", "shared_key=\(Self.envCanary)", "--param", "prefix=contoso"],
                          environment: env, directory: dir).wait()
    #expect(first.status == 0 && first.stdout.contains("true"), "\(first.output)")
    let text = try String(contentsOfFile: journal, encoding: .utf8)
    #expect(!text.contains(Self.paramCanary) && !text.contains(Self.envCanary))
    let header = try #require(try Journal.read(path: journal).first { $0["type"]?.string == "run" })
    #expect(header["params"]?["api_key"]?.string == JournalHistory.redacted)
    #expect(header["params"]?["shared_key"]?.string == JournalHistory.redacted)
    #expect(header["params"]?["prefix"]?.string == "contoso")

    let refused = try Child(["run", "--live", "--resume", journal], environment: env, directory: dir).wait()
    #expect(refused.status == 2, "\(refused.output)")
    #expect(refused.stderr.contains("`api_key`") && refused.stderr.contains("`shared_key`") && refused.stderr.contains("--param api_key="),
            "\(refused.output)")
    #expect(!refused.stdout.contains("false"), "the resume must not run on the default")

    let resumed = try Child(["run", "--live", "--resume", journal, "--param", "api_key=\(Self.paramCanary)",
                             "--param", "shared_key=x"], environment: env, directory: dir).wait()
    #expect(resumed.status == 0 && resumed.stdout.contains("true"), "\(resumed.output)")
  }
}

