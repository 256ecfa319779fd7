import BullpenDomain
import BullpenStore
import Hummingbird

/// The request context of every ingest route: Hummingbird's core, and the API caller once
/// ``TokenAuthentication`` has found the token.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling the operator API (nil on routes without token authentication).
    public var caller: Caller?
    /// The IP address of the connection's peer (a client, or the load balancer in front of ingest).
    public let peerAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
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

    /// A command of `kind`: an operator issues any but a client's own; a client only those a client may
    /// (``CommandKind/issuers``); 403 otherwise, saying why.
    func requireIssuer(of kind: CommandKind) throws {
        switch (kind.issuers, role) {
        case (.operators, .operator), (.both, .operator), (.both, .client), (.clients, .client): return
        case (.clients, _):
            throw APIError(.forbidden, "\(kind.rawValue) is the client's to send; this needs a client token")
        default: try requireOperator("issue \(kind.rawValue)")
        }
    }

    /// Commands and operator-only reads: 403 for any other role.
    func requireOperator(_ action: @autoclosure () -> String) throws {
        guard role == .operator else {
            throw APIError(.forbidden, "a \(role.rawValue) token cannot \(action()); this needs an operator token")
        }
    }
}
