import AMQP
import PostgreSQL

/// Settings of `bullpen ingest`, read once at start-up.
public struct IngestConfiguration: Sendable {
    /// Listen address. Default 127.0.0.1.
    public var host: String
    /// Listen port. Default 8080 (`BULLPEN_HTTP_PORT`).
    public var port: Int
    public var amqp: AMQPConfiguration
    public var postgres: PostgresConfiguration
    /// Largest request body accepted. Default 1 MiB; larger bodies get 413.
    public var maxBodyBytes: Int
    /// Database connections for token look-ups (each answers a batch of waiting requests per query). Default 2.
    public var databaseConnections: Int
    /// How long a client connection may idle or take to send a request.
    public var timeouts: ConnectionTimeouts

    public init(
        host: String = "127.0.0.1", port: Int = 8080, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        maxBodyBytes: Int = 1 << 20, databaseConnections: Int = 2, timeouts: ConnectionTimeouts = .init()
    ) {
        self.host = host
        self.port = port
        self.amqp = amqp
        self.postgres = postgres
        self.maxBodyBytes = maxBodyBytes
        self.databaseConnections = databaseConnections
        self.timeouts = timeouts
    }
}
