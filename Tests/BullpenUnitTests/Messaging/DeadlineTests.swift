import AMQP
import BullpenMessaging
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Deadline")
struct DeadlineTests {
    /// A loopback port whose listener never accepts: the kernel completes the handshake, and then nothing
    /// answers (as a partitioned broker node looks to a client).
    final class SilentListener {
        let socket: Int32
        let port: Int

        init() throws {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.socket = socket
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    bind(socket, generic, length) == 0 && listen(socket, 16) == 0
                        && getsockname(socket, generic, &length) == 0
                }
            }
            guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(socket) }
    }

    /// A started publisher whose broker accepts the connection and then never answers.
    static func publisherToSilentBroker() throws -> (SilentListener, ConfirmingPublisher) {
        let silent = try SilentListener()
        let publisher = ConfirmingPublisher(
            configuration: try AMQPConfiguration(url: "amqp://u:p@127.0.0.1:\(silent.port)/v"),
            logger: Logger(label: "deadline-test"), shutdownDeadline: .milliseconds(100))
        publisher.start()
        return (silent, publisher)
    }

    @Test(
        "a publish to a broker that never answers is answered by its deadline (Expired), not when the socket gives up")
    func publishDeadline() async throws {
        let (silent, publisher) = try Self.publisherToSilentBroker()
        defer { withExtendedLifetime(silent) { publisher.shutdown() } }
        let message = OutgoingMessage(
            exchange: "bullpen.work", routingKey: "review", body: Array("{}".utf8), properties: AMQPProperties())
        let started = ContinuousClock.now
        await #expect(throws: Deadline.Expired.self) {
            try await publisher.publish(message, retryingFor: .milliseconds(100), answeringWithin: .milliseconds(300))
        }
        let waited = ContinuousClock.now - started
        // The socket itself would give up only at the connect timeout (5 s); the margin is for a busy machine.
        #expect(waited >= .milliseconds(300) && waited < .seconds(3), "answered at the deadline: \(waited)")
    }

    @Test("a batch published to a broker that never answers comes back by its deadline, every message unavailable")
    func publishAllDeadline() throws {
        let (silent, publisher) = try Self.publisherToSilentBroker()
        defer { withExtendedLifetime(silent) { publisher.shutdown() } }
        let messages = (0..<3).map { index in
            OutgoingMessage(
                exchange: "bullpen.work", routingKey: "review", body: Array("{\"n\": \(index)}".utf8),
                properties: AMQPProperties())
        }
        let started = ContinuousClock.now
        let outcomes = publisher.publishAll(messages, answeringWithin: .milliseconds(300))
        let waited = ContinuousClock.now - started
        #expect(outcomes.count == 3)
        #expect(outcomes.allSatisfy { $0?.kind == .unavailable }, "\(outcomes)")
        #expect(waited >= .milliseconds(300) && waited < .seconds(3), "answered at the deadline: \(waited)")
    }
}
