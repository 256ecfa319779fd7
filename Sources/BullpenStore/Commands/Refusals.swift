import BullpenDomain
import PostgreSQL

/// Constraint violations a command can cause, turned into the command's rejection.
enum Refusals {
    /// Runs `body`; a unique violation (23505) becomes a ``CommandRejection`` with `reason`.
    static func unique<T>(_ reason: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PGError where error.sqlState == "23505" {
            throw CommandRejection(reason())
        }
    }
}
