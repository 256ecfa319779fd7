import AMQP
import Foundation
import Logging

/// Publishes persistent messages with publisher confirms from any thread or task, over one AMQP connection
/// owned by a dedicated I/O thread.
///
/// Concurrent callers share the connection and its confirm stream: each publish waits only for its own
/// delivery tag, and one broker ack with `multiple` settles many waiters at once. A caller is told success
/// only after the broker's ack. When the broker is unreachable, calls fail at once with `.unavailable`
/// (no queueing in memory), and the thread keeps trying to reconnect in the background.
///
/// ```swift
/// let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
/// publisher.start()
/// try await publisher.publish(message)   // returns after the broker confirmed
/// publisher.shutdown()
/// ```
public final class ConfirmingPublisher: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Void, PublishError>) -> Void

    private struct Request {
        let message: OutgoingMessage
        let completion: Completion
    }

    private struct Waiter {
        let completion: Completion
        let publishedAt: ContinuousClock.Instant
    }

    private let configuration: AMQPConfiguration
    private let logger: Logger
    /// Longest wait for a confirm before the connection is judged broken. Default 5 s.
    private let confirmTimeout: Duration
    private let lock = NSLock()
    private var requests: [Request] = []
    private var stopping = false
    private var connected = false
    /// The I/O thread is (about to be) waiting for the socket: a new publish must wake it. While it is busy it
    /// picks up new publishes by itself, and the wake-up (a syscall and a context switch) is skipped.
    private var idle = false
    private var connectedPort: Int?
    private let wakeup = Wakeup()
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    public init(configuration: AMQPConfiguration, logger: Logger, confirmTimeout: Duration = .seconds(5)) {
        self.configuration = configuration
        self.logger = logger
        self.confirmTimeout = confirmTimeout
    }

    /// Starts the I/O thread; it connects in the background.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "bullpen-publisher"
        self.thread = thread
        thread.start()
    }

    /// True while the I/O thread holds a live connection (for readiness checks).
    public var isConnected: Bool {
        lock.withLock { connected }
    }

    /// The local TCP port of the live connection, for diagnostics (find it in `rabbitmqctl list_connections`).
    public var localPort: Int? {
        lock.withLock { connectedPort }
    }

    /// Publishes and returns once the broker has confirmed the message.
    public func publish(_ message: OutgoingMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(message) { result in continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    /// Queues a publish; `completion` runs on the I/O thread when it is settled.
    public func enqueue(_ message: OutgoingMessage, completion: @escaping Completion) {
        let (accepted, wake) = lock.withLock { () -> (Bool, Bool) in
            guard !stopping else { return (false, false) }
            requests.append(Request(message: message, completion: completion))
            defer { idle = false }
            return (true, idle)
        }
        if wake { wakeup.signal() }
        if !accepted {
            completion(.failure(PublishError(kind: .unavailable, message: "the publisher is shutting down")))
        }
    }

    /// Stops taking publishes, waits up to `deadline` for outstanding confirms, then closes.
    public func shutdown(deadline: Duration = .seconds(5)) {
        lock.withLock { stopping = true }
        wakeup.signal()
        guard thread != nil else { return }
        _ = finished.wait(timeout: .now() + .milliseconds(deadline.milliseconds))
    }

    // MARK: I/O thread

    private func run() {
        var connection: AMQPConnection?
        var tracker = ConfirmTracker<Waiter>()
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2))
        var nextConnectAttempt = ContinuousClock.now
        let channel: UInt16 = 1
        defer {
            connection?.close()
            for request in takeRequests() { request.completion(.failure(Self.unavailable("the publisher stopped"))) }
            finished.signal()
        }

        func dropConnection(_ reason: String) {
            for (waiter, _) in tracker.failAll() { waiter.completion(.failure(Self.unavailable(reason))) }
            connection?.close()
            connection = nil
            lock.withLock {
                connected = false
                connectedPort = nil
            }
        }

        while true {
            let isStopping = lock.withLock { stopping }
            if connection == nil {
                if isStopping { return }
                if ContinuousClock.now >= nextConnectAttempt {
                    do {
                        let fresh = try AMQPConnection(configuration)
                        try fresh.openChannel(channel)
                        try fresh.confirmSelect(channel: channel)
                        connection = fresh
                        tracker = ConfirmTracker()
                        backoff.reset()
                        lock.withLock {
                            connected = true
                            connectedPort = fresh.localPort
                        }
                        logger.info("publisher connected", metadata: ["amqp.url": "\(configuration)"])
                    } catch {
                        nextConnectAttempt = ContinuousClock.now + backoff.next()
                        logger.warning("publisher cannot connect", metadata: ["error": "\(error)"])
                    }
                }
                if connection == nil {
                    // Fail fast: a caller gets 503 now rather than a hung request.
                    for request in takeRequests() {
                        request.completion(.failure(Self.unavailable("the message broker is unreachable")))
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
            }
            guard let live = connection else { continue }

            for request in takeRequests() {
                do {
                    try live.publish(
                        exchange: request.message.exchange, routingKey: request.message.routingKey,
                        body: request.message.body, properties: request.message.properties,
                        mandatory: request.message.mandatory, channel: channel)
                    tracker.published(
                        messageID: request.message.properties.messageID,
                        token: Waiter(completion: request.completion, publishedAt: .now))
                } catch {
                    request.completion(.failure(Self.unavailable("publish failed: \(error)")))
                    dropConnection("the connection broke: \(error)")
                    break
                }
            }
            guard connection != nil else { continue }
            if isStopping && tracker.outstandingCount == 0 && lock.withLock({ requests.isEmpty }) { return }

            do {
                // Read what the broker sent; wait for more only while no publish is waiting. `idle` is set
                // under the lock that `enqueue` takes, so a publish is either seen here or signals the wake-up.
                while true {
                    let mayWait = lock.withLock { () -> Bool in
                        idle = requests.isEmpty
                        return idle
                    }
                    let event = try live.nextEvent(timeout: mayWait ? .milliseconds(200) : .zero, wakeup: wakeup)
                    lock.withLock { idle = false }
                    guard let event else { break }
                    handle(event, tracker: &tracker)
                    if case .channelClosed(let number, let code, let text) = event, number == channel {
                        logger.warning("publisher channel closed by broker", metadata: ["code": "\(code)", "text": "\(text)"])
                        dropConnection("the broker closed the channel: \(text)")
                        break
                    }
                }
            } catch {
                logger.warning("publisher connection lost", metadata: ["error": "\(error)"])
                dropConnection("the connection broke: \(error)")
                continue
            }
            if let oldest = tracker.oldestToken, ContinuousClock.now - oldest.publishedAt > confirmTimeout {
                logger.warning("publisher confirm overdue; reconnecting")
                dropConnection("no confirm within \(confirmTimeout)")
            }
        }
    }

    private func handle(_ event: AMQPEvent, tracker: inout ConfirmTracker<Waiter>) {
        switch event {
        case .publisherAck(_, let tag, let multiple):
            settle(tracker.ack(deliveryTag: tag, multiple: multiple))
        case .publisherNack(_, let tag, let multiple):
            settle(tracker.nack(deliveryTag: tag, multiple: multiple))
        case .returned(let message):
            tracker.returned(messageID: message.properties.messageID, replyCode: message.replyCode, replyText: message.replyText)
        default:
            break
        }
    }

    private func settle(_ settled: [(Waiter, ConfirmTracker<Waiter>.Outcome)]) {
        for (waiter, outcome) in settled {
            switch outcome {
            case .acked:
                waiter.completion(.success(()))
            case .nacked:
                waiter.completion(.failure(PublishError(kind: .rejected, message: "the broker nacked the message")))
            case .returned(let code, let text):
                waiter.completion(.failure(PublishError(kind: .unroutable, message: "no queue took the message (\(code) \(text))")))
            case .failed:
                waiter.completion(.failure(Self.unavailable("the connection broke before the confirm")))
            }
        }
    }

    private func takeRequests() -> [Request] {
        lock.withLock {
            let taken = requests
            requests.removeAll(keepingCapacity: true)
            return taken
        }
    }

    private static func unavailable(_ message: String) -> PublishError {
        PublishError(kind: .unavailable, message: message)
    }
}
