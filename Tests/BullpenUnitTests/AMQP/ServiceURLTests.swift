import AMQP
import Testing

@testable import PostgreSQL

@Suite("Service URLs")
struct ServiceURLTests {
    @Test("an AMQP URL with credentials, port, vhost and query")
    func amqp() throws {
        let config = try AMQPConfiguration(url: "amqp://bob:s%40cret@broker.local:5673/%2Fprod?heartbeat=7")
        #expect(config.user == "bob")
        #expect(config.password == "s@cret")
        #expect(config.host == "broker.local")
        #expect(config.port == 5673)
        #expect(config.vhost == "/prod")
        #expect(config.heartbeatSeconds == 7)
        #expect(!config.description.contains("s@cret"))
    }

    @Test("defaults fill what the AMQP URL leaves out")
    func amqpDefaults() throws {
        let config = try AMQPConfiguration(url: "amqp://")
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 5672)
        #expect(config.vhost == "/")
    }

    @Test("bad URLs are refused without echoing the password")
    func bad() {
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "http://x") }
        do {
            _ = try AMQPConfiguration(url: "amqp://u:topsecret@h:notaport/v")
            Issue.record("accepted a bad port")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }

    @Test("a PostgreSQL URL with search path")
    func postgres() throws {
        let config = try PostgresConfiguration(
            url: "postgresql://app:pw@db:6432/main?search_path=s1&application_name=w")
        #expect(config.user == "app")
        #expect(config.password == "pw")
        #expect(config.host == "db")
        #expect(config.port == 6432)
        #expect(config.database == "main")
        #expect(config.searchPath == "s1")
        #expect(config.applicationName == "w")
        #expect(!config.description.contains("pw@"))
    }

    @Test("a PostgreSQL URL's TLS parameters reach libpq; an unknown sslmode is refused")
    func postgresTLS() throws {
        let config = try PostgresConfiguration(
            url: "postgresql://app:pw@db:5432/main?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem")
        #expect(config.tls == ["sslmode": "verify-full", "sslrootcert": "/etc/ssl/pg-ca.pem"])
        #expect(config.connectionString.contains("sslmode='verify-full'"))
        #expect(config.connectionString.contains("sslrootcert='/etc/ssl/pg-ca.pem'"))
        #expect(config.description == "postgresql://app:***@db:5432/main?sslmode=verify-full")
        #expect(!(try PostgresConfiguration(url: "postgresql://a:b@db/main")).connectionString.contains("sslmode"))
        #expect(throws: PGError.self) { try PostgresConfiguration(url: "postgresql://a:b@db/main?sslmode=maybe") }
    }

    @Test("a primary and its standby in a PostgreSQL URL: libpq gets both, and takes the one that accepts writes")
    func postgresServers() throws {
        let config = try PostgresConfiguration(url: "postgresql://app:pw@pg1:5432,pg2/main")
        #expect(config.servers == [.init(host: "pg1", port: 5432), .init(host: "pg2", port: 5432)])
        #expect(config.connectionString.contains("host='pg1,pg2' port='5432,5432'"))
        #expect(config.connectionString.contains("target_session_attrs='read-write'"))
        #expect(config.description == "postgresql://app:***@pg1:5432,pg2:5432/main")
        let any = try PostgresConfiguration(url: "postgresql://a:b@pg1,pg2:6432/main?target_session_attrs=any")
        #expect(any.targetSessionAttributes == "any" && any.alternates == [.init(host: "pg2", port: 6432)])
        let one = try PostgresConfiguration(url: "postgresql://a:b@db/main")
        #expect(one.targetSessionAttributes == nil && !one.connectionString.contains("target_session_attrs"))
        #expect(throws: PGError.self) {
            try PostgresConfiguration(url: "postgresql://a:b@pg1,pg2/m?target_session_attrs=x")
        }
        #expect(throws: PGError.self) { try PostgresConfiguration(url: "postgresql://a:b@pg1,,pg2/main") }
        #expect(throws: PGError.self) { try PostgresConfiguration(url: "postgresql://a:b@pg1,pg2:0/main") }
    }

    @Test("amqps://: port 5671 unless given, the TLS items read, a certificate without its key refused")
    func amqps() throws {
        let config = try AMQPConfiguration(url: "amqps://u:p@rabbit.internal/bullpen?cacertfile=/etc/ca.pem")
        #expect(config.port == 5671 && config.host == "rabbit.internal" && config.vhost == "bullpen")
        #expect(config.tls == AMQPConfiguration.TLS(caCertFile: "/etc/ca.pem", verifyPeer: true))
        #expect(config.description == "amqps://u:***@rabbit.internal:5671/bullpen")
        #expect(try AMQPConfiguration(url: "amqps://u:p@h:6000/v?verify=verify_none").tls?.verifyPeer == false)
        #expect(try AMQPConfiguration(url: "amqp://u:p@h/v").tls == nil)
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqps://u:p@h/v?certfile=/c.pem") }
    }

    @Test("a cluster's nodes in the host part: tried in order, each with its port or the scheme's")
    func nodes() throws {
        let config = try AMQPConfiguration(url: "amqp://u:p@r1:5672,r2,r3:5673/bullpen?heartbeat=5")
        #expect(config.host == "r1" && config.port == 5672 && config.heartbeatSeconds == 5)
        #expect(config.alternates == [.init(host: "r2", port: 5672), .init(host: "r3", port: 5673)])
        #expect(config.description == "amqp://u:***@r1:5672,r2:5672,r3:5673/bullpen")
        #expect(try AMQPConfiguration(url: "amqps://u:p@a,b/v").alternates == [.init(host: "b", port: 5671)])
        #expect(try AMQPConfiguration(url: "amqp://u:p@only/v").endpoints == [.init(host: "only", port: 5672)])
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://u:p@r1,,r2/v") }
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://u:p@r1,r2:99999/v") }
    }
}
