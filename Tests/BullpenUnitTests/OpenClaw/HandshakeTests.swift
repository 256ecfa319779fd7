import Crypto
import Foundation
import OpenClaw
import Testing

@testable import BullpenSandbox

/// The handshake's rules on both sides: what Bullpen's client sends, checked by the sandbox gateway's
/// checks (which follow the real gateway's), and how the client reads the gateway's answers.
@Suite("OpenClaw handshake")
struct HandshakeTests {
    let identity = DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey())
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func params(token: String = "t0k", nonce: String = "n1", at time: Date? = nil) throws -> JSONValue {
        try JSONValue(
            encoding: Handshake.connectParams(
                identity: identity, token: token, nonce: nonce, instanceID: "w1", version: "1.0.0", now: time ?? now))
    }

    func refusal(_ params: JSONValue, token: String = "t0k", nonce: String = "n1") -> ConnectCheck.Refusal? {
        if case .failure(let refusal) = ConnectCheck.check(params, token: token, nonce: nonce, now: now) {
            return refusal
        }
        return nil
    }

    @Test("the signed connect Bullpen sends is accepted: device id, key, v2 signature, time and nonce")
    func accepted() throws {
        let result = ConnectCheck.check(try params(), token: "t0k", nonce: "n1", now: now)
        #expect(
            try result.get()
                == ConnectCheck.Accepted(
                    deviceID: identity.deviceID, scopes: ["operator.read", "operator.write"], instanceID: "w1"))
        #expect(identity.deviceID.count == 64)
        #expect(identity.deviceID == SHA256.hash(data: identity.publicKey).map { String(format: "%02x", $0) }.joined())
        #expect(!identity.publicKeyBase64URL.contains("=") && !identity.publicKeyBase64URL.contains("+"))
    }

    @Test("the v2 string is the spec's, field for field")
    func signedText() {
        #expect(
            Handshake.signedText(
                deviceID: "d", clientID: "gateway-client", clientMode: "backend", role: "operator",
                scopes: ["operator.read", "operator.write"], signedAtMs: 1700, token: "tok", nonce: "non")
                == "v2|d|gateway-client|backend|operator|operator.read,operator.write|1700|tok|non")
    }

    @Test("refusals: wrong token, stale signature, another nonce, a forged signature, unknown fields, protocol 3 only")
    func refusals() throws {
        #expect(refusal(try params(token: "wrong"))?.error.detailCode == "AUTH_TOKEN_MISMATCH")
        #expect(refusal(try params(token: "wrong"))?.close == 1008)
        #expect(
            refusal(try params(at: now.addingTimeInterval(-121)))?.error.detailCode == "DEVICE_AUTH_SIGNATURE_EXPIRED")
        #expect(refusal(try params(nonce: "other"))?.error.detailCode == "DEVICE_AUTH_NONCE_MISMATCH")

        var forged = try params().object!
        var device = forged["device"]!.object!
        device["signature"] = .string(try DeviceIdentity(privateKey: .init()).sign("v2|something else"))
        forged["device"] = .object(device)
        #expect(refusal(.object(forged))?.error.detailCode == "DEVICE_AUTH_SIGNATURE_INVALID")

        var extra = try params().object!
        extra["priority"] = 1
        #expect(refusal(.object(extra))?.error.message == "unknown field: priority")

        var operatorMode = try params().object!
        var client = operatorMode["client"]!.object!
        client["mode"] = "operator"
        operatorMode["client"] = .object(client)
        #expect(refusal(.object(operatorMode))?.error.code == "INVALID_REQUEST")

        var old = try params().object!
        old["maxProtocol"] = 3
        #expect(refusal(.object(old))?.error.detailCode == "PROTOCOL_MISMATCH")
        #expect(refusal(.object(old))?.close == 1002)
    }

    @Test("answers to connect become hello or a distinct error")
    func answers() {
        let hello = Handshake.read(
            .success([
                "type": "hello-ok", "protocol": 4, "policy": ["tickIntervalMs": 30000],
                "auth": ["scopes": ["operator.read"]],
            ]))
        #expect(
            hello
                == .success(Handshake.Hello(protocolVersion: 4, tickInterval: .seconds(30), scopes: ["operator.read"])))
        func error(_ code: String, _ details: JSONValue?, retryAfterMs: Int? = nil) -> GatewayError? {
            if case .failure(let error) = Handshake.read(
                .failure(GatewayErrorShape(code: code, message: "m", details: details, retryAfterMs: retryAfterMs)))
            {
                return error
            }
            return nil
        }
        #expect(error("INVALID_REQUEST", ["code": "AUTH_TOKEN_MISMATCH"]) == .tokenMismatch("m"))
        #expect(
            error("NOT_PAIRED", ["code": "PAIRING_REQUIRED", "requestId": "req-7"])
                == .pairingRequired(requestID: "req-7", reason: nil))
        #expect(error("INVALID_REQUEST", ["code": "PROTOCOL_MISMATCH"]) == .protocolMismatch("m"))
        #expect(
            error("UNAVAILABLE", ["reason": "startup-sidecars"], retryAfterMs: 500)
                == .starting(retryAfter: .milliseconds(500)))
        #expect(error("UNAVAILABLE", nil)?.isTransient == true)
        #expect(error("INVALID_REQUEST", ["code": "AUTH_TOKEN_MISMATCH"])?.isTransient == false)
        #expect(
            GatewayError.pairingRequired(requestID: "req-7", reason: nil).description.contains(
                "approve pairing request req-7"))
        #expect(
            Handshake.read(.success(["type": "hello-ok", "protocol": 5]))
                == .failure(.protocolMismatch("the gateway chose protocol 5, outside 3..4")))
    }

    @Test("frames: the three shapes read and written; anything else refused with the reason")
    func frames() throws {
        let request = GatewayFrame.request(id: "r1", method: "status", params: [:])
        #expect(request.text == #"{"id":"r1","method":"status","params":{},"type":"req"}"#)
        #expect(try GatewayFrame.parse(request.text) == request)
        let failure = try GatewayFrame.parse(
            #"{"type":"res","id":"r2","ok":false,"error":{"code":"UNAVAILABLE","message":"x","retryable":true,"retryAfterMs":1000},"payload":{"runId":"a"}}"#
        )
        guard case .response("r2", .failure(let error)) = failure else {
            Issue.record("not a failed response: \(failure)")
            return
        }
        #expect(error.retryable == true && error.retryAfterMs == 1000 && error.payload?["runId"]?.string == "a")
        #expect(
            try GatewayFrame.parse(#"{"type":"event","event":"tick","payload":{"ts":1},"seq":3}"#)
                == .event(name: "tick", payload: ["ts": 1], seq: 3))
        #expect(throws: GatewayProtocolError("a frame's type must be req, res or event")) {
            try GatewayFrame.parse(#"{"type":"other"}"#)
        }
        #expect(throws: GatewayProtocolError("a frame is not a JSON object")) { try GatewayFrame.parse("[1]") }
    }

    @Test("the device key is made once with mode 0600, read back the same, and refused when others may read it")
    func deviceKeyFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("device-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("device.key").path
        let made = try DeviceIdentity.loadOrCreate(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try DeviceIdentity.loadOrCreate(at: path).deviceID == made.deviceID)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: DeviceIdentityError.self) { try DeviceIdentity.loadOrCreate(at: path) }
    }

    @Test("base64url without padding, both ways")
    func base64URL() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xfe, 0x01]
        #expect(Base64URL.encode(bytes) == "-__-AQ")
        #expect(Base64URL.decode("-__-AQ") == bytes)
        #expect(Base64URL.decode("a+b=") == nil)
    }
}
