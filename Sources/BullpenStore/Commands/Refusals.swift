import BullpenDomain
import PostgreSQL

/// Constraint violations a command can cause, turned into the command's rejection.
enum Refusals {
    /// Runs `body`; a unique violation (23505) becomes a ``CommandRejection`` with `reason`.
    static func unique<T>(_ reason: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        try unique(byConstraint: [:], otherwise: reason(), body)
    }

    /// Runs `body`; a unique violation becomes a ``CommandRejection`` with the reason given for its constraint,
    /// or `otherwise`.
    static func unique<T>(
        byConstraint reasons: [String: String], otherwise reason: @autoclosure () -> String, _ body: () throws -> T
    ) throws -> T {
        do {
            return try body()
        } catch let error as PGError where error.isUniqueViolation {
            throw CommandRejection(error.constraint.flatMap { reasons[$0] } ?? reason())
        }
    }
}
