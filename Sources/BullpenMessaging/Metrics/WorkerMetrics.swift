import Prometheus

/// The worker's Prometheus metrics, per queue: what was consumed, acked, retried, dead-lettered and
/// redelivered, how long handlers took, and how far the outbox lags. Served at `/metrics`.
public final class WorkerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The counters and histogram of one queue.
    public struct Queue: Sendable {
        public let consumed: Counter
        public let acked: Counter
        public let duplicates: Counter
        public let retried: Counter
        public let deadLettered: Counter
        public let redelivered: Counter
        public let handlerDuration: DurationHistogram
    }

    public func queue(_ name: String) -> Queue {
        let labels = [("queue", name)]
        func messages(_ what: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.name("messages", what, "total", help), labels: labels)
        }
        return Queue(
            consumed: messages("consumed", "Deliveries received from the queue."),
            acked: messages("acked", "Deliveries acked after their effect committed (duplicates included)."),
            duplicates: messages(
                "duplicate", "Deliveries whose message had already been applied (found in the inbox)."),
            retried: messages("retried", "Deliveries sent to a retry delay tier."),
            deadLettered: messages("dead_lettered", "Deliveries parked in the dead-letter queue."),
            redelivered: messages("redelivered", "Deliveries the broker marked as redelivered."),
            handlerDuration: registry.makeDurationHistogram(
                descriptor: Self.name(
                    "handler", "duration", "seconds", "Time to apply a delivery, per delivery of a batch."),
                labels: labels, buckets: Self.durationBuckets))
    }

    private static let durationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .seconds(1), .seconds(5),
    ]

    /// Seconds since the oldest unsent outbox row was written (0 when none waits).
    public var outboxLag: Gauge {
        registry.makeGauge(
            descriptor: Self.name("outbox", "lag", "seconds", "Seconds since the oldest unsent outbox row was written.")
        )
    }

    public var outboxPublished: Counter {
        registry.makeCounter(descriptor: Self.name("outbox", "published", "total", "Outbox rows published."))
    }

    /// How long the gateway took to give its first answer to `agent` (the gateway's share of a run start).
    public var gatewayAnswer: DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: Self.name(
                "gateway", "answer", "seconds",
                "Time waiting for the gateway's first answer to agent, per run (a batch's wait shared among its runs)."),
            buckets: Self.durationBuckets)
    }

    /// Scheduled job runs, by job and outcome.
    public func jobRuns(_ job: String, outcome: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("scheduled", "runs", "total", "Scheduled job runs by this process."),
            labels: [("job", job), ("outcome", outcome)])
    }

    /// The metrics in Prometheus' text format.
    public func render() -> String { registry.emitToString() }

    /// `bullpen_<subsystem>_<metric>_<unit>`.
    private static func name(
        _ subsystem: String, _ metric: String, _ unit: String, _ help: String
    ) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "bullpen", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }
}
