import AMQP
import Foundation
import Logging
import ServiceLifecycle

/// Publishes persistent messages with publisher confirms from any thread or task, over one AMQP connection
/// owned by a dedicated I/O thread.
///
/// Concurrent callers share the connection and its confirm stream: each publish waits only for its own
/// delivery tag, and one broker ack with `multiple` settles many waiters at once. A caller is told success
/// only after the broker's ack. When the broker is unreachable, calls fail at once with `.unavailable`
/// (no queueing in memory), and the thread keeps trying to reconnect in the background. The rules live in
/// ``PublisherStateMachine``; this class moves frames and hands requests across threads.
///
/// Run it as a `Service` in the process's `ServiceGroup`, before the services that publish through it, so
/// that it is shut down after them:
/// ```swift
/// let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
/// let group = ServiceGroup(services: [publisher, relay], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await publisher.publish(message)   // returns after the broker confirmed
/// ```
public final class ConfirmingPublisher: Service, @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Void, PublishError>) -> Void

    private struct Request {
        let message: OutgoingMessage
        let completion: Completion
    }

    private let configuration: AMQPConfiguration
    private let logger: Logger
    private let confirmTimeout: Duration
    private let shutdownDeadline: Duration
    private let lock = NSLock()
    private var requests: [Request] = []
    private var stopping = false
    private var connected = false
    /// The I/O thread is (about to be) waiting for the socket: a new publish must wake it. While it is busy it
    /// picks up new publishes by itself, and the wake-up (a syscall and a context switch) is skipped.
    private var idle = false
    private var connectedPort: Int?
    private var started = false
    private let wakeup = Wakeup()
    private let channel: UInt16 = 1

    /// `confirmTimeout` (default 5 s): longest wait for a confirm before the connection is judged broken.
    /// `shutdownDeadline` (default 5 s): how long a graceful shutdown waits for outstanding confirms.
    public init(
        configuration: AMQPConfiguration, logger: Logger, confirmTimeout: Duration = .seconds(5),
        shutdownDeadline: Duration = .seconds(5)
    ) {
        self.configuration = configuration
        self.logger = logger
        self.confirmTimeout = confirmTimeout
        self.shutdownDeadline = shutdownDeadline
    }

    /// Runs the I/O thread until graceful shutdown or cancellation; then stops taking publishes and waits up
    /// to the shutdown deadline for outstanding confirms.
    public func run() async {
        await BlockingService(name: "bullpen-publisher") { [self] stop in
            start()
            while !stop.sleep(for: .seconds(60)) {}
            shutdown()
        }.run()
    }

    /// Starts the I/O thread, which connects in the background. For tools and tests that run no service
    /// group; a process runs the publisher as a service instead.
    public func start() {
        let thread = Thread { [self] in runIO() }
        thread.name = "bullpen-publisher-io"
        lock.withLock { started = true }
        thread.start()
    }

    /// Stops taking publishes, waits up to the shutdown deadline for outstanding confirms, then closes.
    public func shutdown() {
        let wasStarted = lock.withLock { () -> Bool in
            stopping = true
            return started
        }
        wakeup.signal()
        guard wasStarted else { return }
        if ioDone.wait(timeout: .now() + .milliseconds(shutdownDeadline.milliseconds + 1000)) == .timedOut {
            logger.warning("publisher did not stop within its deadline")
        }
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

    /// Publishes and returns once the broker has confirmed the message, trying again within `window` when the
    /// publish is lost with its connection (see ``PublishRetry``): a broker node that stops costs the caller a
    /// pause, not a refusal. Throws the last error when the window closes.
    public func publish(_ message: OutgoingMessage, retryingFor window: Duration) async throws {
        try await retrying(message, for: window) { try await self.publish(message) }
    }

    /// As ``publish(_:retryingFor:)``, and answered within `limit` whatever the broker's sockets do (a
    /// partitioned node answers nothing, and the I/O thread may wait on it): past it, ``Deadline/Expired``,
    /// the publish left to settle on its own (its late answer dropped). One timer per call on a dispatch
    /// queue, no task: this is every ingest request's path.
    public func publish(
        _ message: OutgoingMessage, retryingFor window: Duration, answeringWithin limit: Duration
    ) async throws {
        let deadline =
            DispatchTime.now()
            + .nanoseconds(
                Int(
                    limit.components.seconds * 1_000_000_000
                        + limit.components.attoseconds / 1_000_000_000))
        try await retrying(message, for: window) {
            try await self.publish(message, answeringBy: deadline, limit: limit)
        }
    }

    /// Tries `attempt` again after a publish lost with its connection, as ``PublishRetry`` says.
    private func retrying(
        _ message: OutgoingMessage, for window: Duration, _ attempt: () async throws -> Void
    ) async throws {
        var retry = PublishRetry(window: window, startedAt: .now)
        while true {
            do {
                return try await attempt()
            } catch let error as PublishError {
                guard let pause = retry.pause(after: error, now: .now) else { throw error }
                logger.info(
                    "publish failed; trying again",
                    metadata: ["error": "\(error)", "message.id": "\(message.properties.messageID ?? "")"])
                try await Task.sleep(for: pause)
            }
        }
    }

    private func publish(_ message: OutgoingMessage, answeringBy deadline: DispatchTime, limit: Duration) async throws {
        let answered = Deadline.Once()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().asyncAfter(deadline: deadline) {
                if answered.first() { continuation.resume(throwing: Deadline.Expired(limit: limit)) }
            }
            enqueue(message) { result in
                if answered.first() { continuation.resume(with: result.mapError { $0 as any Error }) }
            }
        }
    }

    /// Publishes many messages at once from a blocking thread and waits for every answer: nil for a confirmed
    /// message, else why not, in order. Answered within `limit` whatever the broker's socket does (the outbox
    /// relay waits here inside a database transaction, and a shutdown waits for the relay): a message not
    /// settled by then is reported unavailable, to be sent again (its late confirm, if any, is dropped; the
    /// copy is a duplicate that consumers recognise).
    public func publishAll(
        _ messages: [OutgoingMessage], answeringWithin limit: Duration = .seconds(30)
    )
        -> [PublishError?]
    {
        let group = DispatchGroup()
        let results = ResultsBox(count: messages.count)
        for (index, message) in messages.enumerated() {
            group.enter()
            enqueue(message) { result in
                results.set(index, result)
                group.leave()
            }
        }
        if group.wait(timeout: .now() + .milliseconds(limit.milliseconds)) == .timedOut {
            logger.warning("publishes not confirmed within their deadline", metadata: ["limit": "\(limit)"])
        }
        return results.values(unanswered: Self.unavailable("no answer from the broker within \(limit)"))
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

    // MARK: I/O thread

    private let ioDone = DispatchSemaphore(value: 0)

    private func runIO() {
        var machine = PublisherStateMachine<Completion>(now: .now, confirmTimeout: confirmTimeout)
        var connection: AMQPConnection?
        var stopDeadline: ContinuousClock.Instant?
        defer {
            connection?.close()
            settle(machine.connectionLost("the publisher stopped", now: .now))
            for request in takeRequests() { request.completion(.failure(Self.unavailable("the publisher stopped"))) }
            lock.withLock {
                connected = false
                connectedPort = nil
            }
            ioDone.signal()
        }

        func drop(_ reason: String) {
            settle(machine.connectionLost(reason, now: .now))
            connection?.close()
            connection = nil
            lock.withLock {
                connected = false
                connectedPort = nil
            }
        }

        while true {
            let (waiting, isStopping) = lock.withLock { (!requests.isEmpty, stopping) }
            if isStopping && stopDeadline == nil { stopDeadline = .now + shutdownDeadline }
            if let stopDeadline, ContinuousClock.now > stopDeadline { return }
            switch machine.next(now: .now, requestsWaiting: waiting, stopping: isStopping) {
            case .finish:
                return
            case .connect:
                do {
                    let fresh = try AMQPConnection(configuration)
                    try fresh.openChannel(channel)
                    try fresh.confirmSelect(channel: channel)
                    connection = fresh
                    machine.connected()
                    lock.withLock {
                        connected = true
                        connectedPort = fresh.localPort
                    }
                    logger.info("publisher connected", metadata: ["amqp.url": "\(configuration)"])
                } catch {
                    machine.connectFailed(now: .now)
                    logger.warning("publisher cannot connect", metadata: ["error": "\(error)"])
                }
            case .failWaiting:
                // Fail fast: a caller gets 503 now rather than a hung request.
                for request in takeRequests() {
                    request.completion(.failure(Self.unavailable("the message broker is unreachable")))
                }
            case .sleep(let duration):
                Thread.sleep(forTimeInterval: Double(duration.milliseconds) / 1000)
            case .publish:
                guard let live = connection else { continue }
                for request in takeRequests() {
                    do {
                        try live.publish(
                            exchange: request.message.exchange, routingKey: request.message.routingKey,
                            body: request.message.body, properties: request.message.properties,
                            mandatory: request.message.mandatory, channel: channel)
                        machine.published(
                            messageID: request.message.properties.messageID, waiter: request.completion, now: .now)
                    } catch {
                        request.completion(.failure(Self.unavailable("publish failed: \(error)")))
                        drop("the connection broke: \(error)")
                        break
                    }
                }
            case .read(let wait):
                guard let live = connection else { continue }
                // `idle` is set under the lock that `enqueue` takes, so a publish is either seen here or
                // signals the wake-up.
                let mayWait =
                    wait
                    && lock.withLock { () -> Bool in
                        idle = requests.isEmpty
                        return idle
                    }
                do {
                    let event = try live.nextEvent(timeout: mayWait ? .milliseconds(200) : .zero, wakeup: wakeup)
                    lock.withLock { idle = false }
                    settle(machine.received(event))
                    if case .channelClosed(let number, let code, let text) = event, number == channel {
                        logger.warning(
                            "publisher channel closed by broker", metadata: ["code": "\(code)", "text": "\(text)"])
                        drop("the broker closed the channel: \(text)")
                    }
                } catch {
                    lock.withLock { idle = false }
                    logger.warning("publisher connection lost", metadata: ["error": "\(error)"])
                    drop("the connection broke: \(error)")
                }
            case .abandonConnection(let reason):
                logger.warning("publisher confirm overdue; reconnecting")
                drop(reason)
            }
        }
    }

    private func settle(_ settled: [(Completion, Result<Void, PublishError>)]) {
        for (completion, result) in settled { completion(result) }
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

/// The answers of ``ConfirmingPublisher/publishAll(_:answeringWithin:)``, filled in from the I/O thread.
private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Result<Void, PublishError>?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ result: Result<Void, PublishError>) { lock.withLock { storage[index] = result } }

    /// Each message's error, nil when confirmed; `unanswered` for those not yet settled.
    func values(unanswered: PublishError) -> [PublishError?] {
        lock.withLock {
            storage.map { result in
                switch result {
                case .success: nil
                case .failure(let error): error
                case nil: unanswered
                }
            }
        }
    }
}
