import Foundation

/// One frame of the gateway protocol (JSON text frames over WebSocket).
public enum GatewayFrame: Sendable, Equatable {
    /// `{"type":"req","id","method","params"}`
    case request(id: String, method: String, params: JSONValue)
    /// `{"type":"res","id","ok":true,"payload"}` or `{"type":"res","id","ok":false,"error"}`
    case response(id: String, result: Result<JSONValue, GatewayErrorShape>)
    /// `{"type":"event","event","payload","seq"?}`
    case event(name: String, payload: JSONValue, seq: Int?)

    /// Reads a frame; anything that is not one of the three shapes is an error naming what is wrong.
    public static func parse(_ text: String) throws(GatewayProtocolError) -> GatewayFrame {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), let object = value.object
        else { throw GatewayProtocolError("a frame is not a JSON object") }
        switch object["type"]?.string {
        case "req":
            guard let id = object["id"]?.string, let method = object["method"]?.string else {
                throw GatewayProtocolError("a request frame needs a string id and method")
            }
            return .request(id: id, method: method, params: object["params"] ?? .object([:]))
        case "res":
            guard let id = object["id"]?.string, let ok = object["ok"]?.bool else {
                throw GatewayProtocolError("a response frame needs a string id and a boolean ok")
            }
            if ok { return .response(id: id, result: .success(object["payload"] ?? .null)) }
            let error = object["error"]
            return .response(
                id: id,
                result: .failure(
                    GatewayErrorShape(
                        code: error?["code"]?.string ?? "UNKNOWN", message: error?["message"]?.string ?? "",
                        details: error?["details"], retryable: error?["retryable"]?.bool,
                        retryAfterMs: error?["retryAfterMs"]?.int, payload: object["payload"])))
        case "event":
            guard let name = object["event"]?.string else {
                throw GatewayProtocolError("an event frame needs a string event")
            }
            return .event(name: name, payload: object["payload"] ?? .null, seq: object["seq"]?.int)
        default:
            throw GatewayProtocolError("a frame's type must be req, res or event")
        }
    }

    /// The frame as JSON text (keys sorted, so the same frame is the same text).
    public var text: String {
        var object: [String: JSONValue]
        switch self {
        case .request(let id, let method, let params):
            object = ["type": "req", "id": .string(id), "method": .string(method), "params": params]
        case .response(let id, .success(let payload)):
            object = ["type": "res", "id": .string(id), "ok": true, "payload": payload]
        case .response(let id, .failure(let error)):
            object = ["type": "res", "id": .string(id), "ok": false, "error": error.json]
            if let payload = error.payload { object["payload"] = payload }
        case .event(let name, let payload, let seq):
            object = ["type": "event", "event": .string(name), "payload": payload]
            if let seq { object["seq"] = .number(Double(seq)) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(JSONValue.object(object))) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// The error of a failed response: `{code, message, details?, retryable?, retryAfterMs?}`.
public struct GatewayErrorShape: Error, Sendable, Equatable {
    public var code: String
    public var message: String
    public var details: JSONValue?
    public var retryable: Bool?
    public var retryAfterMs: Int?
    /// The response's payload, which some failures carry (an `agent` run that ended in error).
    public var payload: JSONValue?

    public init(
        code: String, message: String, details: JSONValue? = nil, retryable: Bool? = nil, retryAfterMs: Int? = nil,
        payload: JSONValue? = nil
    ) {
        self.code = code
        self.message = message
        self.details = details
        self.retryable = retryable
        self.retryAfterMs = retryAfterMs
        self.payload = payload
    }

    /// `details.code`, where the gateway puts the precise reason (AUTH_TOKEN_MISMATCH, PAIRING_REQUIRED ...).
    public var detailCode: String? { details?["code"]?.string }

    var json: JSONValue {
        var object: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let details { object["details"] = details }
        if let retryable { object["retryable"] = .bool(retryable) }
        if let retryAfterMs { object["retryAfterMs"] = .number(Double(retryAfterMs)) }
        return .object(object)
    }
}

/// A frame Bullpen cannot read.
public struct GatewayProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
