import BullpenStore
import Hummingbird

/// The request context of every ingest route: Hummingbird's core, and the API caller once
/// ``TokenAuthentication`` has found the token.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling the operator API (nil on routes without token authentication).
    public var caller: Caller?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The authenticated caller (the authentication middleware guarantees one on `/v1`).
    func requireCaller() throws -> Caller {
        guard let caller else { throw APIError(.unauthorized, "missing Authorization: Bearer <API token>") }
        return caller
    }
}

/// An authenticated API token.
public struct Caller: Sendable, Equatable {
    public let tokenID: Int64
    public let role: ApiTokens.Role
    /// The client a client token belongs to.
    public let clientID: Int64?

    /// What the caller may read: everything, or its own client's rows.
    public var viewer: Viewer { role == .client ? .client(clientID ?? -1) : .operator }

    /// Commands and operator-only reads: 403 for any other role.
    func requireOperator(_ action: @autoclosure () -> String) throws {
        guard role == .operator else {
            throw APIError(.forbidden, "a \(role.rawValue) token cannot \(action()); this needs an operator token")
        }
    }
}
