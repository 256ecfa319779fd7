import BullpenDomain
import PostgreSQL

/// The alert routes in the database: what `bullpen migrate` writes from `Config/alerts.json` (the notify worker
/// reads them to fan an operator alert out, ``AlertFanOut``).
public enum AlertRouteStore {
    /// Replaces the routes with `routes`, in one transaction.
    public static func apply(_ routes: AlertRoutes, on db: PGConnection) throws {
        try db.transaction { tx in
            try tx.execute("DELETE FROM alert_routes")
            let pairs = routes.routes.flatMap { kind, channels in channels.map { (kind.rawValue, $0.rawValue) } }
            guard !pairs.isEmpty else { return }
            try tx.query(
                "INSERT INTO alert_routes (kind, channel) SELECT * FROM unnest($1::text[], $2::text[])",
                [PGArray(pairs.map(\.0)), PGArray(pairs.map(\.1))])
        }
    }
}
