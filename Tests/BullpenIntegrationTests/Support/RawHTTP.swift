import NIOCore
import NIOPosix

/// A raw TCP client for what an HTTP client library will not send: malformed requests, partial ones,
/// bodies shorter than their Content-Length. It writes bytes and reads whatever the server answers until
/// the server closes the connection or the timeout passes.
enum RawHTTP {
    struct Exchange {
        /// Everything the server sent.
        let response: String
        /// The server closed the connection (false: the timeout passed first).
        let closedByServer: Bool
        /// From connecting to the close (or the timeout).
        let elapsed: Duration

        /// The status code of the first response line, if any.
        var status: Int? {
            let line = response.split(separator: "\r\n", maxSplits: 1).first ?? ""
            let parts = line.split(separator: " ")
            return parts.count >= 2 ? Int(parts[1]) : nil
        }

        /// The body after the blank line.
        var body: String {
            guard let range = response.range(of: "\r\n\r\n") else { return "" }
            return String(response[range.upperBound...])
        }
    }

    /// Sends `raw` to 127.0.0.1:`port`; with `halfClose`, then shuts the sending side (EOF to the server).
    static func send(
        _ raw: String, port: Int, halfClose: Bool = false, timeout: Duration = .seconds(10)
    ) async throws -> Exchange {
        let started = ContinuousClock.now
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        let collected = Collected()
        let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    if !raw.isEmpty { try await outbound.write(ByteBuffer(string: raw)) }
                    if halfClose { outbound.finish() }
                    for try await chunk in inbound { await collected.append(String(buffer: chunk)) }
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let first = try await group.next() ?? false
            if !first { try? await channel.channel.close() }
            group.cancelAll()
            return first
        }
        return Exchange(response: await collected.text, closedByServer: closed, elapsed: .now - started)
    }

    private actor Collected {
        var text = ""
        func append(_ more: String) { text += more }
    }
}
