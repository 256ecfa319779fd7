import Crypto
import Foundation
import OpenClaw

/// What the fake gateway checks of a `connect` request, as the real one does: the strict schema (unknown
/// fields refused), the protocol range, the token, the device's key, signature (v3, then v2), signing time
/// and nonce. Pure: the time and the expected values are passed in.
enum ConnectCheck {
    static let clientIDs: Set<String> = [
        "gateway-client", "openclaw-control-ui", "openclaw-macos", "openclaw-ios", "openclaw-android", "cli", "webchat",
        "node-host", "test", "fingerprint", "openclaw-probe",
    ]
    static let modes: Set<String> = ["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"]
    static let scopes: Set<String> = [
        "operator.read", "operator.write", "operator.admin", "operator.approvals", "operator.pairing",
    ]

    /// A refusal: the error frame's shape and the close code that follows it.
    struct Refusal: Error, Equatable {
        let error: GatewayErrorShape
        let close: UInt16
    }

    struct Accepted: Equatable {
        let deviceID: String
        let scopes: [String]
        let instanceID: String?
    }

    static func check(
        _ params: JSONValue, token: String, nonce: String, now: Date
    ) -> Result<Accepted, Refusal> {
        func invalid(_ message: String, _ code: String = "INVALID_REQUEST_SCHEMA") -> Result<Accepted, Refusal> {
            .failure(
                Refusal(
                    error: GatewayErrorShape(
                        code: "INVALID_REQUEST", message: message,
                        details: ["code": .string(code), "reason": .string(message)]),
                    close: 1008))
        }
        guard let object = params.object else { return invalid("connect params must be an object") }
        let allowed: Set<String> = [
            "minProtocol", "maxProtocol", "client", "role", "scopes", "caps", "auth", "device", "commands",
            "permissions", "pathEnv", "locale", "userAgent",
        ]
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            return invalid("unknown field: \(unknown)")
        }
        guard let minimum = object["minProtocol"]?.int, let maximum = object["maxProtocol"]?.int, minimum <= maximum
        else { return invalid("minProtocol and maxProtocol must be integers, min <= max") }
        guard let client = object["client"]?.object else { return invalid("client is required") }
        let clientAllowed: Set<String> = [
            "id", "displayName", "version", "platform", "deviceFamily", "modelIdentifier", "mode", "instanceId",
        ]
        if let unknown = client.keys.first(where: { !clientAllowed.contains($0) }) {
            return invalid("unknown field: client.\(unknown)")
        }
        guard let clientID = client["id"]?.string, clientIDs.contains(clientID) else {
            return invalid("client.id must be one of the known client ids")
        }
        guard let mode = client["mode"]?.string, modes.contains(mode) else {
            return invalid("client.mode must be one of \(modes.sorted().joined(separator: ", "))")
        }
        guard client["version"]?.string != nil, client["platform"]?.string != nil else {
            return invalid("client.version and client.platform are required")
        }
        guard (minimum...maximum).contains(4) else {
            return .failure(
                Refusal(
                    error: GatewayErrorShape(
                        code: "INVALID_REQUEST", message: "protocol mismatch: the gateway speaks 4",
                        details: ["code": "PROTOCOL_MISMATCH", "reason": "protocol mismatch", "expectedProtocol": 4]),
                    close: 1002))
        }
        guard let role = object["role"]?.string, ["operator", "node"].contains(role) else {
            return invalid("role must be operator or node")
        }
        guard let requested = object["scopes"]?.array?.compactMap(\.string),
            requested.count == object["scopes"]?.array?.count, requested.allSatisfy(scopes.contains)
        else { return invalid("scopes must be known scope names") }
        if let caps = object["caps"], caps.array == nil { return invalid("caps must be an array") }
        guard let auth = object["auth"]?.object, auth.keys.allSatisfy(["token", "password", "deviceToken"].contains)
        else { return invalid("auth must be an object with token") }
        guard auth["token"]?.string == token else {
            return .failure(
                Refusal(
                    error: GatewayErrorShape(
                        code: "INVALID_REQUEST", message: "unauthorized: gateway token mismatch",
                        details: [
                            "code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
                            "canRetryWithDeviceToken": false, "recommendedNextStep": "check the gateway token",
                        ]),
                    close: 1008))
        }
        guard let device = object["device"]?.object else {
            return invalid("device identity is required", "DEVICE_IDENTITY_REQUIRED")
        }
        if let unknown = device.keys.first(where: {
            !["id", "publicKey", "signature", "signedAt", "nonce"].contains($0)
        }) {
            return invalid("unknown field: device.\(unknown)")
        }
        guard let deviceID = device["id"]?.string, let publicKeyText = device["publicKey"]?.string,
            let signatureText = device["signature"]?.string, let signedAt = device["signedAt"]?.number,
            let deviceNonce = device["nonce"]?.string
        else { return invalid("device needs id, publicKey, signature, signedAt and nonce") }
        guard let publicKey = Base64URL.decode(publicKeyText), publicKey.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return invalid("device.publicKey must be a base64url Ed25519 key", "DEVICE_AUTH_INVALID") }
        let expectedID = SHA256.hash(data: publicKey).map { String(format: "%02x", $0) }.joined()
        guard deviceID == expectedID else {
            return invalid("device.id is not the SHA-256 of its public key", "DEVICE_AUTH_DEVICE_ID_MISMATCH")
        }
        guard abs(now.timeIntervalSince1970 * 1000 - signedAt) <= 120_000 else {
            return invalid("device signature is stale", "DEVICE_AUTH_SIGNATURE_EXPIRED")
        }
        guard deviceNonce == nonce else { return invalid("device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH") }
        let v2 = Handshake.signedText(
            deviceID: deviceID, clientID: clientID, clientMode: mode, role: role, scopes: requested,
            signedAtMs: Int64(signedAt), token: auth["token"]?.string ?? "", nonce: deviceNonce)
        let platform = (client["platform"]?.string ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let family = (client["deviceFamily"]?.string ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let v3 = "v3" + v2.dropFirst(2) + "|\(platform)|\(family)"
        guard let signature = Base64URL.decode(signatureText),
            key.isValidSignature(signature, for: Array(v3.utf8)) || key.isValidSignature(signature, for: Array(v2.utf8))
        else { return invalid("device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID") }
        return .success(Accepted(deviceID: deviceID, scopes: requested, instanceID: client["instanceId"]?.string))
    }
}
