import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves an `Emulator` over HTTP/1.1 on 127.0.0.1 (never another address).
public final class EmulatorServer: Sendable {
  public let emulator: Emulator
  public let port: Int
  private let channel: any Channel
  private let group: MultiThreadedEventLoopGroup

  /// Binds 127.0.0.1:`port` (0: an ephemeral port, read back from `port`).
  public init(emulator: Emulator, port: Int = 0) throws {
    self.emulator = emulator
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let latency = emulator.faults.latencyMilliseconds
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 64)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
          channel.pipeline.addHandler(HTTPHandler(emulator: emulator, latencyMilliseconds: latency))
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

  /// `http://127.0.0.1:PORT`.
  public var baseURL: String { "http://127.0.0.1:\(port)" }

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
  private var head: HTTPRequestHead?
  private var body: [UInt8] = []

  init(emulator: Emulator, latencyMilliseconds: Int) {
    self.emulator = emulator; self.latencyMilliseconds = latencyMilliseconds
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
      let request = EmulatorRequest(method: h.method.rawValue, uri: h.uri, headers: h.headers.map { ($0.name, $0.value) }, body: body)
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
    headers.replaceOrAdd(name: "Content-Length", value: String(r.body.count))
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
