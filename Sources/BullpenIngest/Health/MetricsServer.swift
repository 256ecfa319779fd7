import BullpenMessaging
import Hummingbird
import Logging
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format) and `GET /healthz` for a worker process.
public struct MetricsServer: Service {
    let metrics: WorkerMetrics
    let host: String
    let port: Int
    let logger: Logger

    public init(metrics: WorkerMetrics, host: String = "127.0.0.1", port: Int, logger: Logger) {
        self.metrics = metrics
        self.host = host
        self.port = port
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("/metrics") { [metrics] _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("/healthz") { _, _ in "ok" }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "bullpen-worker"),
            logger: logger)
        try await app.run()
    }
}
