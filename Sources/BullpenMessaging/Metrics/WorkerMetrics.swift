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
        return Queue(
            consumed: registry.makeCounter(name: "bullpen_messages_consumed_total", labels: labels),
            acked: registry.makeCounter(name: "bullpen_messages_acked_total", labels: labels),
            duplicates: registry.makeCounter(name: "bullpen_messages_duplicate_total", labels: labels),
            retried: registry.makeCounter(name: "bullpen_messages_retried_total", labels: labels),
            deadLettered: registry.makeCounter(name: "bullpen_messages_dead_lettered_total", labels: labels),
            redelivered: registry.makeCounter(name: "bullpen_messages_redelivered_total", labels: labels),
            handlerDuration: registry.makeDurationHistogram(
                name: "bullpen_handler_duration_seconds", labels: labels,
                buckets: [
                    .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                    .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
                    .seconds(5),
                ]))
    }

    /// Seconds since the oldest unsent outbox row was written (0 when none waits).
    public var outboxLag: Gauge { registry.makeGauge(name: "bullpen_outbox_lag_seconds") }
    public var outboxPublished: Counter { registry.makeCounter(name: "bullpen_outbox_published_total") }
    /// Scheduled job runs, by job and outcome.
    public func jobRuns(_ job: String, outcome: String) -> Counter {
        registry.makeCounter(name: "bullpen_scheduled_runs_total", labels: [("job", job), ("outcome", outcome)])
    }

    /// The metrics in Prometheus' text format.
    public func render() -> String { registry.emitToString() }
}
