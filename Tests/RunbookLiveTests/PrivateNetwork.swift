import Foundation

/// A network namespace of the test's own, joined to this one by a veth
/// pair: `hostAddress` on this side, `insideAddress` inside. Nothing else is
/// routed there, so it stands for "a host on a private network" without
/// touching a real one. Needs root and iproute2 (`scripts/bootstrap.sh`
/// installs it); `close()` (or deinit) deletes the namespace, which removes
/// the veth pair with it.
final class PrivateNetwork {
  let name: String
  let hostAddress: String
  let insideAddress: String
  private var open = true

  struct Unavailable: Error, CustomStringConvertible {
    var description: String
  }

  init() throws {
    guard getuid() == 0 else {
      throw Unavailable(description: "network-namespace tests need root (ip netns); they run as root in CI")
    }
    guard FileManager.default.isExecutableFile(atPath: Self.ip) else {
      throw Unavailable(description: "\(Self.ip) is missing: install iproute2 (scripts/bootstrap.sh does)")
    }
    let id = Int(getpid()) % 100_000
    let subnet = Int(getpid()) % 250 + 1
    name = "rbcred\(id)"
    hostAddress = "10.203.\(subnet).1"
    insideAddress = "10.203.\(subnet).2"
    let host = "rbc\(id)h", inside = "rbc\(id)n"
    // A namespace left over from a killed earlier run with the same pid.
    _ = try? Self.run(["netns", "del", name])
    do {
      try Self.run(["netns", "add", name])
      try Self.run(["link", "add", host, "type", "veth", "peer", "name", inside])
      try Self.run(["link", "set", inside, "netns", name])
      try Self.run(["addr", "add", hostAddress + "/30", "dev", host])
      try Self.run(["link", "set", host, "up"])
      try Self.run(["-n", name, "addr", "add", insideAddress + "/30", "dev", inside])
      try Self.run(["-n", name, "link", "set", inside, "up"])
      try Self.run(["-n", name, "link", "set", "lo", "up"])
    } catch {
      close()
      _ = try? Self.run(["link", "del", host])
      throw error
    }
  }

  static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  } ?? "/usr/sbin/ip"

  @discardableResult
  static func run(_ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ip)
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let deadline = Date().addingTimeInterval(20)
    while p.isRunning && Date() < deadline { usleep(5_000) }
    if p.isRunning { p.terminate() }
    p.waitUntilExit()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard p.terminationStatus == 0 else {
      throw Unavailable(description: "ip \(arguments.joined(separator: " ")) failed (\(p.terminationStatus)): \(text)")
    }
    return text
  }

  func close() {
    guard open else { return }
    open = false
    _ = try? Self.run(["netns", "del", name])
  }

  deinit { close() }
}
