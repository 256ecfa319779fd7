import Foundation
import PostgreSQL
import Testing

/// The PostgreSQL layer against the real server, in a schema of its own.
@Suite("PostgreSQL connection")
final class PGConnectionTests {
    let schema = TestEnvironment.uniqueName("pg")
    let db: PGConnection

    init() throws {
        db = try PGConnection(try TestEnvironment.postgres(schema: schema))
        try db.execute("CREATE SCHEMA \(schema)")
        try db.execute(
            """
            CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE,
                                qty integer CHECK (qty >= 0), price double precision, active boolean,
                                blob bytea, at timestamptz, note text)
            """)
    }

    deinit {
        try? db.execute("DROP SCHEMA \(schema) CASCADE")
        db.close()
    }

    @Test("a text parameter with a NUL character is refused, never cut short, and nothing is written")
    func nulIsRefused() throws {
        for parameter in ["before\u{0}after", "\u{0}"] as [String] {
            let error = #expect(throws: PGError.self) {
                try db.query("INSERT INTO items (name) VALUES ($1)", [parameter])
            }
            #expect(error?.kind == .encoding)
            #expect(error?.message.contains("parameter $1 contains a NUL character") == true)
        }
        db.prepare("items.insert_many", "INSERT INTO items (name) SELECT unnest($1::text[])")
        let arrayError = #expect(throws: PGError.self) {
            try db.executePrepared("items.insert_many", [PGArray(["fine", "cut\u{0}here"])])
        }
        #expect(arrayError?.kind == .encoding)
        #expect(try db.query("SELECT count(*) AS n FROM items").first?.decode("n", as: Int.self) == 0)
        // The session is still usable afterwards.
        #expect(try db.query("INSERT INTO items (name) VALUES ($1)", ["clean"]).rowsAffected == 1)
    }

    @Test("parameters go separately from the SQL and rows decode into Swift types")
    func parametersAndDecoding() throws {
        let at = Date(timeIntervalSince1970: 1_764_000_000.123456)
        let name = "Robert'); DROP TABLE items;-- ☃"
        let inserted = try db.query(
            "INSERT INTO items (name, qty, price, active, blob, at, note) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            [name, 3, 9.5, true, PGBytes([0, 1, 254, 255]), at, nil])
        #expect(inserted.rowsAffected == 1)
        let id: Int64 = try #require(inserted.first).decode("id")
        let row = try #require(try db.query("SELECT * FROM items WHERE id = $1", [id]).first)
        #expect(try row.decode("name") == name)
        #expect(try row.decode("qty") == 3)
        #expect(try row.decode("price") == 9.5)
        #expect(try row.decode("active") == true)
        #expect(try row.decode("blob", as: PGBytes.self) == PGBytes([0, 1, 254, 255]))
        let readBack: Date = try row.decode("at")
        #expect(abs(readBack.timeIntervalSince(at)) < 0.000_001)
        #expect(try row.decode("note", as: String?.self) == nil)
        #expect(throws: PGError.self) { try row.decode("note", as: String.self) }
        #expect(throws: PGError.self) { try row.decode("name", as: Int.self) }
    }

    @Test("errors carry the SQLSTATE")
    func sqlState() throws {
        try db.query("INSERT INTO items (name) VALUES ('one')")
        do {
            try db.query("INSERT INTO items (name) VALUES ('one')")
            Issue.record("duplicate accepted")
        } catch let error as PGError {
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(error.constraint == "items_name_key")
        }
        do {
            try db.query("INSERT INTO items (name, qty) VALUES ('two', -1)")
            Issue.record("check violation accepted")
        } catch let error as PGError {
            #expect(error.sqlState == "23514")
        }
        do {
            try db.query("SELEC 1")
            Issue.record("syntax error accepted")
        } catch let error as PGError {
            #expect(error.sqlState == "42601")
            #expect(error.kind == .server)
        }
    }

    @Test("a transaction commits when its body returns and rolls back when it throws")
    func transactions() throws {
        _ = try db.transaction { tx in try tx.query("INSERT INTO items (name) VALUES ('kept')") }
        #expect(throws: TestFailure.self) {
            try db.transaction { tx in
                try tx.query("INSERT INTO items (name) VALUES ('dropped')")
                throw TestFailure("abort")
            }
        }
        let names = try db.query("SELECT name FROM items ORDER BY name").rows.map {
            try $0.decode("name", as: String.self)
        }
        #expect(names == ["kept"])
    }

    @Test("a killed session is reset on the next call, prepared statements included")
    func reconnect() throws {
        db.prepare("count", "SELECT count(*) AS n FROM items")
        #expect(try db.executePrepared("count").first?.decode("n", as: Int.self) == 0)
        let pid: Int = try #require(try db.query("SELECT pg_backend_pid() AS pid").first).decode("pid")
        let killer = try PGConnection(try TestEnvironment.postgres())
        defer { killer.close() }
        try killer.query("SELECT pg_terminate_backend($1)", [pid])
        // The first call after the kill fails with a connection error; the next one resets the session.
        do {
            try db.query("SELECT 1")
        } catch let error as PGError {
            #expect(error.isConnectionFailure)
        }
        #expect(try db.executePrepared("count").first?.decode("n", as: Int.self) == 0)
        let newPID: Int = try #require(try db.query("SELECT pg_backend_pid() AS pid").first).decode("pid")
        #expect(newPID != pid)
    }

    @Test("a broken session inside a transaction fails the transaction instead of reconnecting")
    func noSilentReconnectInTransaction() throws {
        let killer = try PGConnection(try TestEnvironment.postgres())
        defer { killer.close() }
        #expect(throws: PGError.self) {
            try db.transaction { tx in
                let pid: Int = try tx.query("SELECT pg_backend_pid() AS pid").first!.decode("pid")
                try killer.query("SELECT pg_terminate_backend($1)", [pid])
                Thread.sleep(forTimeInterval: 0.1)
                _ = try? tx.query("INSERT INTO items (name) VALUES ('lost')")
                try tx.query("INSERT INTO items (name) VALUES ('also lost')")
            }
        }
        #expect(try db.query("SELECT count(*) AS n FROM items").first?.decode("n", as: Int.self) == 0)
    }

    @Test(
        "a session left idle inside its transaction (a client that lost its link) is ended by the server, its locks released and its writes rolled back"
    )
    func idleInTransactionEnds() throws {
        var configuration = try TestEnvironment.postgres(schema: schema)
        #expect(configuration.idleInTransactionTimeout == .seconds(60), "the default every session asks for")
        configuration.idleInTransactionTimeout = .milliseconds(500)
        let orphan = try PGConnection(configuration)
        defer { orphan.close() }
        try orphan.execute("BEGIN")
        try orphan.query("INSERT INTO items (name) VALUES ('held')")
        // Another session waits on the orphan's lock (the same unique name) until the server ends the orphan.
        let started = ContinuousClock.now
        try db.query("INSERT INTO items (name) VALUES ('held')")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try db.query("SELECT count(*) AS n FROM items").first?.decode("n", as: Int.self) == 1)
        #expect(throws: PGError.self) { try orphan.query("COMMIT") }
    }

    @Test("LISTEN receives what another session NOTIFYs, after commit")
    func listenNotify() throws {
        let channel = "chan_\(schema)"
        try db.listen(channel)
        let sender = try PGConnection(try TestEnvironment.postgres())
        defer { sender.close() }
        try sender.transaction { tx in
            try tx.notify(channel, payload: "hello")
            #expect(try db.notifications(timeout: .milliseconds(200)).isEmpty)
        }
        var received: [PGNotification] = []
        _ = try eventually(timeout: .seconds(5)) {
            received += try db.notifications(timeout: .milliseconds(200))
            return !received.isEmpty
        }
        #expect(received.map(\.payload) == ["hello"])
        #expect(received.first?.channel == channel)
    }

    @Test("an unreachable server fails the connect with a clear error")
    func unreachable() throws {
        var config = try TestEnvironment.postgres()
        config.port = 1
        config.password = "hunter2"
        do {
            _ = try PGConnection(config)
            Issue.record("connected to nothing")
        } catch let error as PGError {
            #expect(error.kind == .connectFailed)
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("a text[] parameter round-trips quotes, backslashes, marks and emoji modifiers (found by the contract run)")
    func arrayRoundTrip() throws {
        let elements = ["\"\u{1F3FB}\u{1F44D}\u{1F3FB}", "back\\slash\u{301}", "{braces}, commas", "", "\u{10FFFF}"]
        let row = try #require(
            try db.query("SELECT $1::text[] AS a, cardinality($1::text[]) AS n", [PGArray(elements)]).first)
        #expect(try row.decode("n", as: Int.self) == elements.count)
        let back = try db.query("SELECT unnest($1::text[]) AS e", [PGArray(elements)]).rows.map {
            try $0.decode("e", as: String.self)
        }
        #expect(back == elements)
    }
}

extension PGConnectionTests {
    /// The plan `EXPLAIN EXECUTE` shows for a prepared statement, on one line.
    func plan(of name: String, _ argument: String) throws -> String {
        try db.query("EXPLAIN (COSTS OFF) EXECUTE \(PGConnection.quoteIdentifier(name)) ('\(argument)')").rows
            .map { try $0.decode(at: 0, as: String.self) }.joined(separator: " / ")
    }

    @Test(
        "a generic plan made while its table was empty is made anew once the statement is older than the replan interval"
    )
    func replan() throws {
        // No autovacuum on this table: nothing but the replan interval may change the cached plan.
        try db.execute(
            """
            CREATE TABLE growing (id bigint PRIMARY KEY, k text NOT NULL) WITH (autovacuum_enabled = false);
            CREATE INDEX growing_k ON growing (k);
            ANALYZE growing;
            SET plan_cache_mode = force_generic_plan
            """)
        db.replanInterval = .milliseconds(300)
        db.prepare("growing.by_k", "SELECT count(*) AS n FROM growing WHERE k = $1")
        #expect(try db.executePrepared("growing.by_k", ["x"]).first?.decode("n", as: Int.self) == 0)
        try db.execute("INSERT INTO growing SELECT g, 'k' || g FROM generate_series(1, 50000) g")
        // The plan made on the empty table is still the one used: it reads the table whole.
        #expect(try plan(of: "growing.by_k", "k7").contains("Seq Scan"))
        Thread.sleep(forTimeInterval: 0.4)
        #expect(try db.executePrepared("growing.by_k", ["k7"]).first?.decode("n", as: Int.self) == 1)
        let replanned = try plan(of: "growing.by_k", "k7")
        #expect(replanned.contains("growing_k") && !replanned.contains("Seq Scan"), "\(replanned)")
    }
}
