import Crypto
import Foundation

/// Callback tokens for agent runs, derived from a secret and the run id (HMAC-SHA256), so a retried run start
/// puts the same token in the prompt without the token being stored anywhere: the attempt keeps only its
/// SHA-256, and messages and dead letters never carry it.
public struct CallbackTokenIssuer: Sendable {
    private let secret: [UInt8]

    /// `secret`: at least 32 characters.
    public init(secret: String) throws {
        guard secret.utf8.count >= 32 else {
            throw CallbackSecretError("the callback secret must be at least 32 characters (BULLPEN_CALLBACK_SECRET)")
        }
        self.secret = Array(secret.utf8)
    }

    /// The run's callback token: `cb_` and 43 characters of base64url.
    public func token(runID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(runID.utf8), using: SymmetricKey(data: secret))
        return "cb_"
            + Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// What the attempt stores: SHA-256 of the token, as the webhook looks it up.
    public func tokenHash(runID: String) -> [UInt8] { Array(SHA256.hash(data: Array(token(runID: runID).utf8))) }
}

public struct CallbackSecretError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
