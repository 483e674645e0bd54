// swift-tools-version: 6.0
import PackageDescription

// The interpreter's hot paths rely on unchecked exclusivity: dynamic
// exclusivity checks on class properties cost ~35% in measured VM loops
// (see shared/reference/interpreter-performance.md).
let fastInterpreter: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
  name: "runbook",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "runbook", targets: ["runbook"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    .target(name: "RunbookLanguage"),
    .target(name: "RunbookRuntime", dependencies: ["RunbookLanguage"], swiftSettings: fastInterpreter),
    .target(name: "RunbookServices", dependencies: ["RunbookRuntime"]),
    .target(name: "RunbookSimulator", dependencies: ["RunbookServices"]),
    .systemLibrary(
      name: "CLibEdit", pkgConfig: "libedit",
      providers: [.apt(["libedit-dev"]), .brew(["libedit"])]),
    .target(name: "RunbookREPL", dependencies: ["CLibEdit", "RunbookRuntime", "RunbookServices", "RunbookSimulator"]),
    .executableTarget(
      name: "runbook",
      dependencies: [
        "RunbookLanguage", "RunbookRuntime", "RunbookServices", "RunbookSimulator", "RunbookREPL",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .testTarget(name: "RunbookLanguageTests", dependencies: ["RunbookLanguage"], exclude: ["Fixtures"]),
    .testTarget(name: "ConformanceTests", dependencies: ["RunbookLanguage", "RunbookRuntime"], exclude: ["Corpus"]),
    .testTarget(name: "RunbookSimulatorTests", dependencies: ["RunbookServices", "RunbookSimulator", "RunbookRuntime", "RunbookLanguage"]),
    .testTarget(name: "EndToEndTests", dependencies: ["runbook", "PTYTestSupport"]),
    // Drives a program under a pseudo-terminal; reusable for `runbook` itself.
    .target(name: "PTYTestSupport", path: "Tests/PTYTestSupport"),
    // The REPL over a small calculator language, for the REPL's pty tests.
    .executableTarget(
      name: "repl-fixture", dependencies: ["RunbookREPL", "RunbookRuntime", "RunbookLanguage"],
      path: "Tests/REPLFixture"),
    .testTarget(
      name: "RunbookREPLTests", dependencies: ["RunbookREPL", "RunbookRuntime", "PTYTestSupport", "repl-fixture"]),
  ]
)
