import Foundation
import Hummingbird
import PostgreSQL
import Testing

@testable import BullpenIngest

@Suite("JSON answers")
struct JSONAnswerTests {
    @Test("the error shape: code, message, and field only when there is one; keys sorted, slashes as they are")
    func errorShape() throws {
        let withField = APIError(.badRequest, "must be a string", code: "invalid_field", field: "output")
        #expect(
            String(decoding: withField.body, as: UTF8.self)
                == #"{"error":{"code":"invalid_field","field":"output","message":"must be a string"}}"#)
        let without = APIError(.notFound, "no route for GET /a/b")
        #expect(
            String(decoding: without.body, as: UTF8.self)
                == #"{"error":{"code":"not_found","message":"no route for GET /a/b"}}"#)
    }

    @Test("a message with quotes, control characters and non-ASCII text survives a round trip")
    func escaping() throws {
        let message = "say \"hi\"\n\t\u{1}é→"
        let decoded = try JSONDecoder().decode(APIError.Body.self, from: Data(APIError(.conflict, message).body))
        #expect(decoded.error.message == message)
        #expect(decoded.error.code == "conflict")
    }

    @Test("Content-Type: application/json with or without parameters, and +json types, are JSON; others are not")
    func contentTypes() {
        for type in [
            "application/json", "Application/JSON", "application/json; charset=utf-8", "application/problem+json",
        ] {
            #expect(JSONContentType<BasicRequestContext>.isJSON(type), "\(type)")
        }
        for type in ["text/plain", "application/jsonx", "", "application/x-www-form-urlencoded"] {
            #expect(!JSONContentType<BasicRequestContext>.isJSON(type), "\(type)")
        }
    }

    @Test("a database that cannot be reached is 503 (retry); a statement it refuses is 500 (a defect)")
    func databaseErrors() {
        #expect(APIError.database(PGError(.connectionLost, "gone")).status == .serviceUnavailable)
        #expect(APIError.database(PGError(.connectFailed, "refused")).code == "database_unavailable")
        let refused = APIError.database(PGError(.server, "malformed array literal", sqlState: "22P02"))
        #expect(refused.status == .internalServerError)
        #expect(!refused.message.contains("array"))
    }
}
