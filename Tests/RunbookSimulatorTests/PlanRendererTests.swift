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
    let out = try plan().renderJSONLines()
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
