import AMQP
import Foundation
import PostgreSQL
import Testing

/// TLS toward the broker and the database, against the real services ops/services starts with a test CA's
/// certificate for 127.0.0.1: a client trusting that CA connects and works; one trusting another CA is refused
/// with the reason; verify_none (tests only) skips the check.
@Suite("TLS to the services")
struct TLSTests {
    static let environment = ProcessInfo.processInfo.environment
    static let tlsFolder = (environment["BULLPEN_DATA"] ?? TestEnvironment.repositoryRoot + "/.data") + "/tls"
    static let amqpsPort = environment["BULLPEN_AMQPS_PORT"].flatMap(Int.init) ?? 5671

    /// By name: rabbitmq-c checks the certificate's DNS names, not its IP addresses.
    func amqps(ca: String, verify: String = "verify_peer") throws -> AMQPConfiguration {
        let plain = try TestEnvironment.amqp()
        return try AMQPConfiguration(
            url: "amqps://\(plain.user):\(plain.password)@localhost:\(Self.amqpsPort)/\(plain.vhost)"
                + "?cacertfile=\(Self.tlsFolder)/\(ca)&verify=\(verify)")
    }

    @Test("amqps:// with the broker's CA: a message goes through; another CA is refused; verify_none connects")
    func broker() throws {
        let config = try amqps(ca: "ca.pem")
        #expect(config.tls == AMQPConfiguration.TLS(caCertFile: Self.tlsFolder + "/ca.pem", verifyPeer: true))
        #expect(config.description.hasPrefix("amqps://") && !config.description.contains(config.password + "@"))
        let connection = try AMQPConnection(config)
        defer { connection.close() }
        try connection.openChannel(1)
        let queue = TestEnvironment.uniqueName("tls")
        try connection.declareQueue(queue, durable: false)
        defer { _ = try? connection.deleteQueue(queue) }
        try connection.publish(
            exchange: "", routingKey: queue, body: Array("over TLS".utf8), properties: AMQPProperties())
        var delivery: AMQPDelivery?
        let deadline = ContinuousClock.now + .seconds(5)
        while delivery == nil, ContinuousClock.now < deadline { delivery = try connection.get(queue: queue) }
        #expect(delivery.map { String(decoding: $0.body, as: UTF8.self) } == "over TLS")

        let refused = #expect(throws: AMQPError.self) { try AMQPConnection(try amqps(ca: "other-ca.pem")) }
        #expect(refused?.kind == .connectFailed, "\(String(describing: refused))")
        let unchecked = try AMQPConnection(try amqps(ca: "other-ca.pem", verify: "verify_none"))
        unchecked.close()
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqps://a:b@h/v?verify=maybe") }
    }

    @Test("sslmode=verify-full with the server's CA: the session is encrypted; another CA is refused")
    func database() throws {
        let base = TestEnvironment.databaseURL
        let separator = base.contains("?") ? "&" : "?"
        let db = try PGConnection(
            try PostgresConfiguration(
                url: base + separator + "sslmode=verify-full&sslrootcert=\(Self.tlsFolder)/ca.pem"))
        defer { db.close() }
        let ssl = try db.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first?.decode(
            "ssl", as: Bool.self)
        #expect(ssl == true)
        #expect(throws: PGError.self) {
            try PGConnection(
                try PostgresConfiguration(
                    url: base + separator + "sslmode=verify-full&sslrootcert=\(Self.tlsFolder)/other-ca.pem"))
        }
    }
}
