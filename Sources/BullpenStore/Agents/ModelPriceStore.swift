import BullpenDomain
import PostgreSQL

/// The models in the database: what `bullpen migrate` writes from `Config/models.json`. A Scale configuration
/// may name only these (``AgentStore/configure(_:messageID:in:)``), and a run's reported usage is priced from
/// them (``RunUsageStore``).
public enum ModelPriceStore {
    /// Replaces the models with the catalog's, in one transaction.
    public static func apply(_ catalog: ModelCatalog, on db: PGConnection) throws {
        try db.transaction { tx in
            try tx.execute("DELETE FROM model_prices")
            let models = catalog.models.sorted { $0.key < $1.key }
            guard !models.isEmpty else { return }
            try tx.query(
                """
                INSERT INTO model_prices (name, input, output, cache_read, cache_write)
                SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[])
                """,
                [
                    PGArray(models.map(\.key)), PGArray(models.map { String($0.value.input) }),
                    PGArray(models.map { String($0.value.output) }), PGArray(models.map { String($0.value.cacheRead) }),
                    PGArray(models.map { String($0.value.cacheWrite) }),
                ])
        }
    }

    /// The price of a model; nil when the catalog does not hold it.
    public static func price(of name: String, on db: PGConnection) throws -> ModelPrice? {
        try db.query("SELECT input, output, cache_read, cache_write FROM model_prices WHERE name = $1", [name]).first
            .map {
                ModelPrice(
                    input: try $0.decode("input"), output: try $0.decode("output"),
                    cacheRead: try $0.decode("cache_read"), cacheWrite: try $0.decode("cache_write"))
            }
    }
}
