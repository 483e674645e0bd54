import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Serves an `Emulator` over HTTP/1.1 on 127.0.0.1 (never another address),
/// over TLS when given a certificate.
public final class EmulatorServer: Sendable {
  public let emulator: Emulator
  public let port: Int
  /// The CA file clients trust, when serving HTTPS.
  public let trustFile: String?
  private let channel: any Channel
  private let group: MultiThreadedEventLoopGroup

  /// Binds 127.0.0.1:`port` (0: an ephemeral port, read back from `port`).
  /// Requests are answered one at a time (the emulator's lock); the event
  /// loops parse, encrypt and write in parallel.
  public init(emulator: Emulator, port: Int = 0, tls: EmulatorTLS? = nil) throws {
    self.emulator = emulator
    trustFile = tls?.trustFile
    let sslContext = try tls?.serverContext()
    group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(System.coreCount, 4)))
    let latency = emulator.faults.latencyMilliseconds
    let scheme = tls == nil ? "http" : "https"
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          if let sslContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
          }
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(
            HTTPHandler(emulator: emulator, latencyMilliseconds: latency, scheme: scheme))
        }
      }
      .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    do {
      channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
    } catch {
      try? group.syncShutdownGracefully()
      throw error
    }
    self.port = channel.localAddress?.port ?? port
  }

  /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` over TLS (the
  /// generated certificate names 127.0.0.1, ::1 and localhost).
  public var baseURL: String { "\(trustFile == nil ? "http" : "https")://127.0.0.1:\(port)" }

  public func shutdown() {
    try? channel.close().wait()
    try? group.syncShutdownGracefully()
  }

  /// Blocks until the server channel closes.
  public func wait() { try? channel.closeFuture.wait() }
}

final class HTTPHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let emulator: Emulator
  let latencyMilliseconds: Int
  let scheme: String
  private var head: HTTPRequestHead?
  private var body: [UInt8] = []

  init(emulator: Emulator, latencyMilliseconds: Int, scheme: String) {
    self.emulator = emulator; self.latencyMilliseconds = latencyMilliseconds; self.scheme = scheme
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body = []
    case .body(var b):
      if body.count + b.readableBytes > 16 << 20 {
        context.close(promise: nil)
        return
      }
      body += b.readBytes(length: b.readableBytes) ?? []
    case .end:
      guard let h = head else { return }
      head = nil
      let request = EmulatorRequest(method: h.method.rawValue, uri: h.uri, headers: h.headers.map { ($0.name, $0.value) }, body: body,
                                    scheme: scheme)
      let response = emulator.handle(request)
      let keepAlive = h.isKeepAlive
      let isHead = h.method == .HEAD
      let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
      let write = { [self] in self.write(ctx.value, response, version: h.version, keepAlive: keepAlive, isHead: isHead) }
      if latencyMilliseconds > 0 {
        context.eventLoop.scheduleTask(in: .milliseconds(Int64(latencyMilliseconds))) { write() }
      } else {
        write()
      }
    }
  }

  private func write(_ context: ChannelHandlerContext, _ r: EmulatorResponse, version: HTTPVersion, keepAlive: Bool, isHead: Bool) {
    var headers = HTTPHeaders()
    for (k, v) in r.headers where k.lowercased() != "content-length" { headers.add(name: k, value: v) }
    // A HEAD answer carries the length a GET's body would have.
    let headLength = isHead ? r.headers.last { $0.0.lowercased() == "content-length" }?.1 : nil
    headers.replaceOrAdd(name: "Content-Length", value: headLength ?? String(r.body.count))
    headers.replaceOrAdd(name: "Date", value: Emulator.httpDate())
    headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
    let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: r.status), headers: headers)
    context.write(wrapOutboundOut(.head(head)), promise: nil)
    if !isHead && !r.body.isEmpty {
      context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: r.body)))), promise: nil)
    }
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
  }
}
