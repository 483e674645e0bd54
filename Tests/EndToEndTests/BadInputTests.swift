import Foundation
import Testing

/// Bad input to the command line ends in a usage error with a clear message
/// before anything runs; extreme values run to an error, never a crash.
@Suite("runbook command line: bad input")
struct BadInputTests {
  @Test func paramsFileFaultsAreReportedWithLineAndColumn() throws {
    let file = try BinaryRunner.temporaryFile("bad-params.runbook", """
      param count: int
      print(count + 1)
      """)
    let folder = file.deletingLastPathComponent()
    let syntax = folder.appendingPathComponent("syntax.json")
    try "{\n  \"count\": 1,\n  \"name\": tru\n}\n".write(to: syntax, atomically: true, encoding: .utf8)
    let r1 = try BinaryRunner.run(["run", file.path, "--params", syntax.path])
    #expect(r1.status == 2)
    #expect(r1.stderr.contains("syntax.json:3:11: error: invalid value tru (strings need double quotes)"), "\(r1.stderr)")

    let duplicate = folder.appendingPathComponent("duplicate.json")
    try "{\"count\": 1, \"count\": 2}".write(to: duplicate, atomically: true, encoding: .utf8)
    let r2 = try BinaryRunner.run(["run", file.path, "--params", duplicate.path])
    #expect(r2.status == 2)
    #expect(r2.stderr.contains("duplicate.json:1:14: error: duplicate key \"count\""), "\(r2.stderr)")

    let twice = try BinaryRunner.run(["run", file.path, "--param", "count=1", "--param", "count=2"])
    #expect(twice.status == 2)
    #expect(twice.stderr.contains("--param count is given twice"))

    // The largest int is a valid param, and adding one to it is an overflow error, not a crash.
    let big = try BinaryRunner.run(["run", file.path, "--param", "count=9223372036854775807"])
    #expect(big.status == 1)
    #expect(big.stderr.contains("bad-params.runbook:2:7: error: integer overflow in `+`"), "\(big.stderr)")
  }

  /// A runbook saved with a byte-order mark (as editors on Windows save
  /// it) runs and checks as without one; bytes that are not UTF-8 are
  /// refused with the file's name.
  @Test func byteOrderMarkIsIgnoredAndInvalidUTF8Refused() throws {
    let marked = try BinaryRunner.temporaryFile("bom.runbook", "print(\"hi\")\n")
    try (Data([0xEF, 0xBB, 0xBF]) + Data("let unused = 1\nprint(\"hi\")\n".utf8)).write(to: marked)
    let run = try BinaryRunner.run(["run", marked.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout == "hi\n")
    let check = try BinaryRunner.run(["check", marked.path])
    #expect(check.stderr.contains("bom.runbook:1:5: warning: `unused` is never used"), "\(check.stderr)")

    try (Data("print(1)\n".utf8) + Data([0xC3, 0x28])).write(to: marked)
    let bad = try BinaryRunner.run(["check", marked.path])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("cannot read `"), "\(bad.stderr)")
    #expect(bad.stderr.contains("bom.runbook`: it is not readable UTF-8 text"), "\(bad.stderr)")
  }

  @Test func saveStateIntoAMissingDirectoryFailsBeforeTheRun() throws {
    let file = try BinaryRunner.temporaryFile("save.runbook", "print(\"ran\")\n")
    let r = try BinaryRunner.run(["run", "--dry-run", file.path, "--save-state", "/nonexistent-dir-\(getpid())/out.json"])
    #expect(r.status == 2)
    #expect(!r.stdout.contains("ran"))
    #expect(r.stderr.contains("--save-state /nonexistent-dir-\(getpid())/out.json: the directory /nonexistent-dir-\(getpid()) does not exist"))
  }

  @Test func emulatorRefusesNonsenseTimeScalesAndFaults() throws {
    for scale in ["0", "nan", "inf", "1e300"] {
      let r = try BinaryRunner.run(["emulator", "--port", "0", "--time-scale", scale])
      #expect(r.status == 2, "--time-scale \(scale): \(r.stderr)")
    }
    for fault in ["page=0", "page=1e30", "latency=1e300s", "replication=inf", "retry-after-ms=-1", "rate429=nan"] {
      let r = try BinaryRunner.run(["emulator", "--port", "0", "--faults", fault])
      #expect(r.status == 2, "--faults \(fault): \(r.stderr)")
      #expect(r.stderr.contains("error: --faults"))
    }
  }

  @Test func valueLimitComesFromTheEnvironment() throws {
    let file = try BinaryRunner.temporaryFile("double.runbook", """
      var s = "ab"
      for i in range(40) { s = s + s }
      """)
    let r = try BinaryRunner.run(["run", file.path], environment: ["RUNBOOK_MAX_VALUE_BYTES": "1000000"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("double.runbook:2:26: error: a string of 1048576 bytes is over the limit of 1000000 bytes per value"), "\(r.stderr)")
  }

  /// `check` reads only the limit from the environment, and still reports a bad one.
  @Test func checkReportsABadValueLimit() throws {
    let file = try BinaryRunner.temporaryFile("fine.runbook", "print(1)\n")
    let bad = try BinaryRunner.run(["check", file.path], environment: ["RUNBOOK_MAX_VALUE_BYTES": "0"])
    #expect(bad.status == 3)
    #expect(bad.stderr.contains("RUNBOOK_MAX_VALUE_BYTES must be a positive number of bytes, not \"0\""), "\(bad.stderr)")
    let good = try BinaryRunner.run(["check", file.path], environment: ["RUNBOOK_MAX_VALUE_BYTES": "1000000"])
    #expect(good.status == 0, "\(good.stderr)")
  }
}
