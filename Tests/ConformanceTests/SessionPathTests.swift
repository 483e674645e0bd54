import Foundation
@testable import RunbookRuntime
import Testing

/// Paths of runbooks are made absolute and resolved without Foundation's
/// URL (start-up), to the same path a standardized file URL has.
@Suite("Runbook paths")
struct SessionPathTests {
  @Test(arguments: [
    "/a/./b/../c.runbook", "/../x.runbook", "/a//b/", "rel/x.runbook", "./x.runbook", "../up/x.runbook",
    "a/b/../../c", "/", "/a/b/..", "x", "/a/.hidden/./y.runbook", "/a/b/.../c",
  ])
  func canonicalPathsAreThoseOfStandardizedURLs(_ path: String) {
    #expect(Session.canonical(path) == URL(fileURLWithPath: path).standardizedFileURL.path)
  }

  @Test func importsAndCallsResolveAgainstTheNamingFilesFolder() {
    #expect(Session.resolve("lib/b.runbook", in: "/work/a") == "/work/a/lib/b.runbook")
    #expect(Session.resolve("../b.runbook", in: "/work/a") == "/work/b.runbook")
    #expect(Session.resolve("/abs/c.runbook", in: "/work/a") == "/abs/c.runbook")
  }
}
