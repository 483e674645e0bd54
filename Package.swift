// swift-tools-version: 6.0
import PackageDescription

// Code on the start-up path asks for generic type metadata through accessor
// functions, not by mangled name: a mangled name is demangled at first use and
// its generic requirements checked by protocol conformance lookups, each of
// which scans the conformance records of the whole binary (about 0.3 ms each;
// a `check` of a small file made six, one per new dictionary key type).
let fastStart: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]

// The interpreter's hot paths rely on unchecked exclusivity: dynamic
// exclusivity checks on class properties cost ~35% in measured VM loops
// (see shared/reference/interpreter-performance.md).
let fastInterpreter: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])] + fastStart

let package = Package(
  name: "runbook",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "runbook", targets: ["runbook"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
  ],
  targets: [
    .target(name: "RunbookLanguage", swiftSettings: fastStart),
    .target(name: "RunbookRuntime", dependencies: ["RunbookLanguage"], swiftSettings: fastInterpreter),
    .target(name: "RunbookServices", dependencies: ["RunbookRuntime"], swiftSettings: fastStart),
    .target(name: "RunbookSimulator", dependencies: ["RunbookServices"], swiftSettings: fastStart),
    // Live clients for Graph, ARM, ADLS Gen2 DFS and the Dataverse Web API.
    .target(
      name: "RunbookLive",
      dependencies: [
        "RunbookServices",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    // The simulated world served over HTTP with the real wire protocol.
    .target(
      name: "RunbookEmulator",
      dependencies: [
        "RunbookServices", "RunbookSimulator",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ]),
    .systemLibrary(
      name: "CLibEdit", pkgConfig: "libedit",
      providers: [.apt(["libedit-dev"]), .brew(["libedit"])]),
    .target(name: "RunbookREPL", dependencies: ["CLibEdit", "RunbookRuntime", "RunbookServices", "RunbookSimulator"], swiftSettings: fastStart),
    .executableTarget(
      name: "runbook",
      dependencies: [
        "RunbookLanguage", "RunbookRuntime", "RunbookServices", "RunbookSimulator", "RunbookREPL",
        "RunbookLive", "RunbookEmulator",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: fastStart),
    .testTarget(name: "RunbookLanguageTests", dependencies: ["RunbookLanguage"], exclude: ["Fixtures"]),
    .testTarget(name: "ConformanceTests", dependencies: ["RunbookLanguage", "RunbookRuntime"], exclude: ["Corpus"]),
    .testTarget(name: "RunbookSimulatorTests", dependencies: ["RunbookServices", "RunbookSimulator", "RunbookRuntime", "RunbookLanguage"]),
    .testTarget(name: "EndToEndTests", dependencies: ["runbook", "PTYTestSupport"]),
    // Fuzzing, the source audit and resource limits (scripts/fuzz.sh runs a longer campaign).
    .testTarget(
      name: "RobustnessTests",
      dependencies: ["FuzzSupport", "RunbookLanguage", "RunbookRuntime", "RunbookServices", "RunbookSimulator", "RunbookLive"]),
    // The fuzz harness, shared by RobustnessTests' short run and the release-built campaign driver.
    .target(
      name: "FuzzSupport", dependencies: ["RunbookLanguage", "RunbookRuntime", "RunbookServices", "RunbookSimulator", "RunbookLive"],
      path: "Tests/FuzzSupport"),
    // scripts/fuzz.sh builds this with `-c release` (in .build-release) for campaigns of millions of inputs.
    .executableTarget(name: "runbook-fuzz", dependencies: ["FuzzSupport"], path: "Tests/FuzzDriver"),
    .testTarget(
      name: "RunbookLiveTests",
      dependencies: [
        "RunbookLive", "RunbookEmulator", "RunbookServices", "RunbookSimulator", "RunbookRuntime",
        "RunbookLanguage", "runbook", "PTYTestSupport",
      ]),
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
