import Foundation

/// The `connect` request and what the gateway answers to it: the rules of the handshake, without I/O.
public enum Handshake {
    /// Bullpen speaks protocol 4 and offers 3..4, as the gateway asks of backend clients.
    public static let minProtocol = 3
    public static let maxProtocol = 4
    public static let clientID = "gateway-client"
    public static let clientMode = "backend"
    public static let role = "operator"
    /// One fixed scope set per device key: the gateway pairs a device with the scopes it first asked for.
    public static let scopes = ["operator.read", "operator.write"]
    /// The set for a deployment whose Scale configurations name models: the gateway takes model and provider
    /// overrides from `operator.admin` callers only. Switching an existing device to it needs the gateway's
    /// approval again (a scope upgrade).
    public static let adminScopes = ["operator.read", "operator.write", "operator.admin"]

    /// The `connect` params, exactly the fields the gateway's schema allows.
    public struct ConnectParams: Codable, Sendable, Equatable {
        public struct Client: Codable, Sendable, Equatable {
            public var id: String
            public var version: String
            public var platform: String
            public var mode: String
            public var instanceId: String
        }

        public struct Auth: Codable, Sendable, Equatable {
            public var token: String
        }

        public struct Device: Codable, Sendable, Equatable {
            public var id: String
            public var publicKey: String
            public var signature: String
            public var signedAt: Int64
            public var nonce: String
        }

        public var minProtocol: Int
        public var maxProtocol: Int
        public var client: Client
        public var role: String
        public var scopes: [String]
        public var caps: [String]
        public var auth: Auth
        public var device: Device
    }

    /// The v2 string a device signs:
    /// `v2|deviceId|clientId|clientMode|role|scope1,scope2|signedAtMs|token|nonce`.
    public static func signedText(
        deviceID: String, clientID: String, clientMode: String, role: String, scopes: [String], signedAtMs: Int64,
        token: String, nonce: String
    ) -> String {
        ["v2", deviceID, clientID, clientMode, role, scopes.joined(separator: ","), String(signedAtMs), token, nonce]
            .joined(separator: "|")
    }

    /// The `connect` params for a challenge's nonce, signed with the device key.
    public static func connectParams(
        identity: DeviceIdentity, token: String, nonce: String, instanceID: String, version: String,
        scopes: [String] = Handshake.scopes, now: Date = Date()
    ) throws -> ConnectParams {
        let signedAt = Int64(now.timeIntervalSince1970 * 1000)
        let text = signedText(
            deviceID: identity.deviceID, clientID: clientID, clientMode: clientMode, role: role, scopes: scopes,
            signedAtMs: signedAt, token: token, nonce: nonce)
        return ConnectParams(
            minProtocol: minProtocol, maxProtocol: maxProtocol,
            client: .init(id: clientID, version: version, platform: "linux", mode: clientMode, instanceId: instanceID),
            role: role, scopes: scopes, caps: [], auth: .init(token: token),
            device: .init(
                id: identity.deviceID, publicKey: identity.publicKeyBase64URL, signature: try identity.sign(text),
                signedAt: signedAt, nonce: nonce))
    }

    /// What `hello-ok` tells the client.
    public struct Hello: Sendable, Equatable {
        public var protocolVersion: Int
        public var tickInterval: Duration
        public var scopes: [String]

        public init(protocolVersion: Int, tickInterval: Duration, scopes: [String]) {
            self.protocolVersion = protocolVersion
            self.tickInterval = tickInterval
            self.scopes = scopes
        }
    }

    /// Reads the answer to `connect`: hello-ok, or the distinct failure.
    public static func read(_ result: Result<JSONValue, GatewayErrorShape>) -> Result<Hello, GatewayError> {
        switch result {
        case .success(let payload):
            guard payload["type"]?.string == "hello-ok", let version = payload["protocol"]?.int else {
                return .failure(.protocolViolation("the answer to connect is not hello-ok"))
            }
            guard (minProtocol...maxProtocol).contains(version) else {
                return .failure(.protocolMismatch("the gateway chose protocol \(version), outside 3..4"))
            }
            let tick = payload["policy"]?["tickIntervalMs"]?.int ?? 30_000
            let scopes = payload["auth"]?["scopes"]?.array?.compactMap(\.string) ?? []
            return .success(Hello(protocolVersion: version, tickInterval: .milliseconds(tick), scopes: scopes))
        case .failure(let error):
            return .failure(GatewayError.handshake(error))
        }
    }
}
