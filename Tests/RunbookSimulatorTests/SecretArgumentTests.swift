import RunbookRuntime
import RunbookServices
import RunbookSimulator
import Testing

/// A secret passed to a domain built-in reaches the service as its real
/// text; the plan, the call's result and its errors show `(sensitive)`.
@Suite("Secrets given to services")
struct SecretArgumentTests {
  @Test func theServiceGetsTheTextAndThePlanDoesNot() throws {
    let h = Harness()
    let registry = CoreBuiltins.makeRegistry()
    let recorder = PlanRecorder()
    let seen = ReportedTexts()
    registerDomainBuiltins(into: registry, services: h.world.services, recorder: recorder, sensitive: { seen.add($0) })
    let name = "grp-canary-4711"
    var args = Arguments(values: [.secret(name), .null, .null], rest: [], builtin: registry["ensure_group"]!)
    let group = try registry["ensure_group"]!.implementation(&args, CallContext(interpreter: h.interpreter, range: nil))
    #expect(try h.world.services.directory.groups(displayName: name).count == 1, "the directory got the real name")
    #expect(group["display_name"].map { if case .secret = $0 { return true } else { return false } } == true,
            "what comes back about the secret is a secret")
    let plan = recorder.renderText(color: false)
    #expect(plan.contains("(sensitive)") && !plan.contains(name), "\(plan)")
    #expect(seen.texts == [name], "a live run's redactor would learn the text")
  }
}

/// Texts the built-ins reported (the test calls them on one thread).
final class ReportedTexts: @unchecked Sendable {
  private(set) var texts: [String] = []
  func add(_ s: String) { texts.append(s) }
}
