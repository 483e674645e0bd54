import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// setns(2): not exported by the Glibc module (it needs _GNU_SOURCE).
@_silgen_name("setns") private func joinNamespace(_ fd: Int32, _ type: Int32) -> Int32
/// CLONE_NEWNET from <linux/sched.h>.
private let cloneNewNet: Int32 = 0x4000_0000

/// A plain-HTTP listener that records every byte it receives and answers
/// each request from a script. It runs on its own thread with blocking
/// POSIX sockets, so it can be put into a network namespace: the thread
/// joins the namespace (`setns`) before it creates its socket, and the
/// socket stays there.
final class RecordingServer: @unchecked Sendable {
  struct Request: Sendable {
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]
  }
  struct Answer: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: String = ""
    static func json(_ body: String, status: Int = 200) -> Answer {
      Answer(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
  }

  let address: String
  private(set) var port: Int = 0
  private var listener: Int32 = -1
  private let received = NIOLockedValueBox<[UInt8]>([])
  private let requestList = NIOLockedValueBox<[Request]>([])
  private let stopping = NIOLockedValueBox(false)
  private let finished = DispatchSemaphore(value: 0)
  private let answer: @Sendable (Request, RecordingServer) -> Answer

  /// Everything any client sent, in arrival order.
  var bytes: [UInt8] { received.withLockedValue { $0 } }
  var requests: [Request] { requestList.withLockedValue { $0 } }
  var baseURL: String { address.contains(":") ? "http://[\(address)]:\(port)" : "http://\(address):\(port)" }

  /// Starts listening on `address` (port chosen by the system unless given),
  /// inside the network namespace `namespace` (a name under /var/run/netns)
  /// when one is given. Throws when the socket cannot be set up.
  init(address: String = "127.0.0.1", port: Int = 0, namespace: String? = nil,
       answer: @escaping @Sendable (Request, RecordingServer) -> Answer = { _, _ in Answer(status: 404) }) throws {
    self.address = address
    self.answer = answer
    let ready = DispatchSemaphore(value: 0)
    let setup = NIOLockedValueBox<Result<(Int32, Int), SetupError>?>(nil)
    let thread = Thread { [self] in
      let r = Self.listen(address: address, port: port, namespace: namespace)
      setup.withLockedValue { $0 = r }
      ready.signal()
      guard case .success(let (fd, _)) = r else { return }
      self.serve(fd)
    }
    thread.start()
    guard ready.wait(timeout: .now() + 10) == .success else { throw SetupError(message: "listener did not start in 10 s") }
    switch setup.withLockedValue({ $0 }) {
    case .success(let (fd, p))?: listener = fd; self.port = p
    case .failure(let e)?: throw e
    case nil: throw SetupError(message: "listener did not start")
    }
  }

  struct SetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  private static func listen(address: String, port: Int, namespace: String?) -> Result<(Int32, Int), SetupError> {
    if let namespace {
      let nsfd = open("/var/run/netns/\(namespace)", O_RDONLY)
      guard nsfd >= 0 else { return .failure(SetupError(message: "cannot open namespace \(namespace): errno \(errno)")) }
      defer { close(nsfd) }
      guard joinNamespace(nsfd, cloneNewNet) == 0 else {
        return .failure(SetupError(message: "setns(\(namespace)) failed: errno \(errno)"))
      }
    }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return .failure(SetupError(message: "socket failed: errno \(errno)")) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else {
      close(fd)
      return .failure(SetupError(message: "not an IPv4 address: \(address)"))
    }
    let bound = withUnsafePointer(to: &sin) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, Glibc.listen(fd, 64) == 0 else {
      let e = errno
      close(fd)
      return .failure(SetupError(message: "cannot listen on \(address):\(port): errno \(e)"))
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return .success((fd, Int(UInt16(bigEndian: actual.sin_port))))
  }

  /// Accepts connections until `stop`, polling so that a stop is seen
  /// within 50 ms.
  private func serve(_ fd: Int32) {
    defer { finished.signal() }
    while !stopping.withLockedValue({ $0 }) {
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&p, 1, 50) > 0 else { continue }
      let client = accept(fd, nil, nil)
      guard client >= 0 else { continue }
      handle(client)
      close(client)
    }
  }

  /// Reads requests on one connection (keep-alive), recording every byte,
  /// until the peer closes, stops sending for 2 s, or the server stops.
  private func handle(_ client: Int32) {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while !stopping.withLockedValue({ $0 }) {
      var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
      guard poll(&p, 1, 2_000) > 0 else { return }
      let n = recv(client, &chunk, chunk.count, 0)
      guard n > 0 else { return }
      received.withLockedValue { $0 += chunk[0..<n] }
      buffer += chunk[0..<n]
      while let request = Self.parse(&buffer) {
        requestList.withLockedValue { $0.append(request) }
        let a = answer(request, self)
        var text = "HTTP/1.1 \(a.status) Scripted\r\nContent-Length: \(a.body.utf8.count)\r\n"
        for (k, v) in a.headers { text += "\(k): \(v)\r\n" }
        text += "\r\n" + a.body
        let out = Array(text.utf8)
        _ = out.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      }
    }
  }

  /// One complete request off the front of `buffer`, or nil when more bytes are needed.
  static func parse(_ buffer: inout [UInt8]) -> Request? {
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let end = (0..<max(0, buffer.count - 3)).first(where: { Array(buffer[$0..<$0 + 4]) == separator }) else { return nil }
    let head = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
    let start = head.first?.split(separator: " ").map(String.init) ?? []
    var headers: [(String, String)] = []
    for line in head.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    }
    let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
    guard buffer.count >= end + 4 + length else { return nil }
    let body = Array(buffer[(end + 4)..<(end + 4 + length)])
    buffer.removeFirst(end + 4 + length)
    return Request(method: start.first ?? "", target: start.count > 1 ? start[1] : "", headers: headers, body: body)
  }

  /// Whether `needle` occurs anywhere in what was received.
  func received(_ needle: String) -> Bool {
    let n = Array(needle.utf8), b = bytes
    guard !n.isEmpty, b.count >= n.count else { return false }
    return (0...(b.count - n.count)).contains { i in b[i] == n[0] && Array(b[i..<i + n.count]) == n }
  }

  func stop() {
    stopping.withLockedValue { $0 = true }
    _ = finished.wait(timeout: .now() + 5)
    if listener >= 0 { close(listener); listener = -1 }
  }
  deinit { if !stopping.withLockedValue({ $0 }) { stop() } }
}
