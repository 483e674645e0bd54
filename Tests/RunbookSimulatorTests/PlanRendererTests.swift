import Foundation
import RunbookRuntime
import RunbookServices
@testable import RunbookSimulator
import Testing

@Suite("Plan renderer")
struct PlanRendererTests {
  static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Golden/plans")

  func check(_ name: String, _ text: String) throws {
    let url = PlanRendererTests.golden.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["RUNBOOK_WRITE_GOLDEN"] == "1" {
      try FileManager.default.createDirectory(at: PlanRendererTests.golden, withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(text == expected, "\(name) differs from the golden file (RUNBOOK_WRITE_GOLDEN=1 rewrites it)")
  }

  /// ByolSetup with path a/b on a tenant with data, then a failing step.
  func plan() throws -> PlanRecorder {
    let h = Harness(world: try tenantWithExistingData())
    try byolSetup(h, path: "a/b")
    h.recorder.beginStep("Connect Customer Insights")
    let e = h.failure("connect_dataverse", ["ci_environment": "Contoso CI", "dataverse_environment": "Contoso Sales",
                                            "account": "contosolake", "permission_identifier": "https://contosolake.dfs.core.windows.net/customerinsights?cg=not-a-guid&rg=x"])
    h.recorder.endStep("Connect Customer Insights", error: e)
    return h.recorder
  }

  @Test("text plan (golden)")
  func text() throws { try check("byol-path.plan.txt", try plan().renderText()) }

  @Test("JSON lines plan (golden); one object per line")
  func jsonLines() throws {
    let out = try plan().events.map { JSON.object(RunEvents.fields($0)).text + "\n" }.joined()
    try check("byol-path.plan.jsonl", out)
    for line in out.split(separator: "\n") {
      #expect(line.hasPrefix("{") && line.hasSuffix("}"))
      #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
    }
  }

  @Test("second run plan is all ok")
  func rerun() throws {
    let h = Harness(world: try Scenarios.load("configured-tenant"))
    try byolSetup(h)
    try check("byol-rerun.plan.txt", h.recorder.renderText())
  }

  @Test("failed step shows the service error and what was planned before it")
  func failedStep() throws {
    let h = Harness(world: try Scenarios.load("uninstall-blocked"))
    h.recorder.beginStep("Uninstall Customer Insights solutions")
    var error: RuntimeError?
    for s in ["msdyn_CustomerInsightsAnchor", "msdyn_CustomerInsightsDataTables", "msdyn_CustomerInsights"] where error == nil {
      error = h.failure("uninstall_solution", ["environment": "Contoso Sales", "solution": .string(s)])
    }
    h.recorder.endStep("Uninstall Customer Insights solutions", error: error)
    try check("uninstall-blocked.plan.txt", h.recorder.renderText())
  }
}

@Suite("Plan recorder bookkeeping")
struct PlanRecorderTests {
  @Test("nested steps, top-level calls, streaming events and counts")
  func nesting() {
    let r = PlanRecorder()
    let events = EventLog()
    r.onEvent = { events.append($0) }
    let add = PlannedChange(.create, "group", "g")
    r.record(CallRecord(builtin: "a", arguments: "", status: .ok, changes: []))
    r.beginStep("outer")
    r.beginStep("inner")
    r.record(CallRecord(builtin: "b", arguments: "", status: .changed, changes: [add]))
    r.endStep("inner", error: nil)
    r.record(CallRecord(builtin: "c", arguments: "x: \"q\\\"\"", status: .failed, changes: [], errorCode: "E", errorMessage: "bad\nline"))
    r.endStep("outer", error: RuntimeError("bad\nline", code: "E"))
    #expect(r.steps.map(\.name) == [nil, "outer", "inner"])
    #expect(r.steps.map(\.status) == [.ok, .failed, .changed])
    #expect(r.summary.planLine == "Plan: 1 to add, 0 to change, 0 to destroy.")
    #expect(r.summary.stepsLine == "Steps: 0 ok, 1 changed, 1 failed.")
    #expect(events.count == 7)
    #expect(JSON.object(RunEvents.fields(.call(step: "s", r.steps[1].calls[0]))).text.contains(#""arguments_text":"x: \"q\\\"\"""#))
    // The step's error is the failed call's: shown once, under the call.
    let text = r.renderText()
    #expect(text.contains("\n            error: [E] bad\n                   line\n"), "\(text)")
    #expect(!text.contains("Error:"), "\(text)")
    #expect(events.events.map(\.kind) == ["call", "started", "started", "call", "finished", "call", "finished"])
  }
}

extension PlanEvent {
  var kind: String {
    switch self {
    case .stepStarted: return "started"
    case .call: return "call"
    case .progress: return "progress"
    case .stepFinished: return "finished"
    }
  }
}

/// Collects streamed plan events (the recorder is single-threaded).
final class EventLog: @unchecked Sendable {
  private(set) var events: [PlanEvent] = []
  func append(_ e: PlanEvent) { events.append(e) }
  var count: Int { events.count }
}
