import Foundation

/// What can go wrong talking to the gateway, each kind distinct so that callers (and operators) can act on it.
public enum GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The gateway token is wrong (AUTH_TOKEN_MISMATCH): fix the configuration.
    case tokenMismatch(String)
    /// This device is not paired yet (PAIRING_REQUIRED): an operator must approve request `requestID` on the
    /// gateway (`openclaw devices approve <id>`).
    case pairingRequired(requestID: String?, reason: String?)
    /// The gateway does not speak protocol 3..4.
    case protocolMismatch(String)
    /// The gateway is starting (UNAVAILABLE, retryable): try again after the pause.
    case starting(retryAfter: Duration)
    /// Not connected, or the connection was lost before the answer: the request may or may not have arrived.
    case connectionLost(String)
    /// No answer within the request's timeout.
    case timeout(String)
    /// The gateway refused the request (`code`, `message`).
    case refused(GatewayErrorShape)
    /// The gateway sent something outside the protocol.
    case protocolViolation(String)

    /// Maps a failed answer to `connect`.
    static func handshake(_ error: GatewayErrorShape) -> GatewayError {
        switch (error.code, error.detailCode) {
        case (_, "AUTH_TOKEN_MISMATCH"):
            return .tokenMismatch(error.message)
        case ("NOT_PAIRED", _), (_, "PAIRING_REQUIRED"):
            return .pairingRequired(
                requestID: error.details?["requestId"]?.string, reason: error.details?["reason"]?.string)
        case (_, "PROTOCOL_MISMATCH"):
            return .protocolMismatch(error.message)
        case ("UNAVAILABLE", _):
            return .starting(retryAfter: .milliseconds(error.retryAfterMs ?? 1000))
        default:
            return .refused(error)
        }
    }

    /// Worth trying again later, on a new connection if need be.
    public var isTransient: Bool {
        switch self {
        case .starting, .connectionLost, .timeout: return true
        case .refused(let error): return error.code == "UNAVAILABLE" || error.retryable == true
        case .tokenMismatch, .pairingRequired, .protocolMismatch, .protocolViolation: return false
        }
    }

    public var description: String {
        switch self {
        case .tokenMismatch(let message):
            return "the gateway refused the token (AUTH_TOKEN_MISMATCH): \(message); check BULLPEN_GATEWAY_TOKEN"
        case .pairingRequired(let id, let reason):
            return
                "this device is not paired with the gateway\(reason.map { " (\($0))" } ?? ""): approve pairing request \(id ?? "(no id given)") on the gateway (openclaw devices approve \(id ?? "<id>")), then Bullpen connects by itself"
        case .protocolMismatch(let message): return "protocol mismatch: \(message)"
        case .starting(let pause): return "the gateway is starting; retrying in \(pause)"
        case .connectionLost(let message): return "connection to the gateway lost: \(message)"
        case .timeout(let message): return "the gateway did not answer in time: \(message)"
        case .refused(let error): return "the gateway refused: \(error.code) \(error.message)"
        case .protocolViolation(let message): return "the gateway broke the protocol: \(message)"
        }
    }
}
