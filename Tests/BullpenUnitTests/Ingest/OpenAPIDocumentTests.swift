import BullpenDomain
import Foundation
import HTTPTypes
import Testing

@testable import BullpenIngest

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    let document: [String: Any]

    init() throws {
        document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
    }

    @Test("the served copy is openapi.json at the repository root (embedded at build time)")
    func embedded() throws {
        let file = try String(contentsOfFile: Repository.root + "/openapi.json", encoding: .utf8)
        #expect(OpenAPIDocument.json + "\n" == file || OpenAPIDocument.json == file)
    }

    /// Every path and method the route table lists, in the document's notation (`{id}` for `:id`). That the
    /// router serves each of them is for ops/contract (schemathesis sends every operation).
    static let served: [String: Set<String>] = {
        var served: [String: Set<String>] = [:]
        for (path, methods) in IngestServer.routes.routes {
            served[path.replacingOccurrences(of: ":id", with: "{id}"), default: []]
                .formUnion(methods.map { $0.rawValue.lowercased() })
        }
        return served
    }()

    @Test("every route the router serves is an operation of the document, and every operation a route")
    func everyRoute() throws {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = paths.mapValues { Set($0.keys.filter { $0 != "parameters" }) }
        #expect(documented == Self.served)
    }

    @Test("every list of notification kinds in the document is NotificationKind's, in its order")
    func notificationKinds() throws {
        var lists: [[String]] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let list = object["enum"] as? [String], list.contains("dispatch-failed") { lists.append(list) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(document)
        #expect(!lists.isEmpty)
        for list in lists { #expect(list == NotificationKind.allCases.map(\.rawValue)) }
    }

    @Test("every operation answers JSON errors in the one shape and every $ref resolves")
    func shapes() throws {
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        let components = try #require(document["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        let shared = try #require(components["responses"] as? [String: [String: Any]])
        func response(_ declared: [String: Any]) -> [String: Any] {
            (declared["$ref"] as? String).flatMap { shared[String($0.dropFirst("#/components/responses/".count))] }
                ?? declared
        }
        for (path, operations) in paths {
            for (method, operation) in operations {
                let responses = try #require(operation["responses"] as? [String: [String: Any]], "\(method) \(path)")
                for (status, declared) in responses where status.hasPrefix("4") || status.hasPrefix("5") {
                    // Pages for people in a browser answer HTML (the intake confirmation's refusal is a page).
                    guard path != "/readyz", (response(declared)["content"] as? [String: Any])?["text/html"] == nil
                    else { continue }
                    let response = response(declared)
                    let schema = (response["content"] as? [String: [String: [String: String]]])?["application/json"]?[
                        "schema"]
                    #expect(schema?["$ref"] == "#/components/schemas/Error", "\(method) \(path) \(status)")
                }
            }
        }
        let text = OpenAPIDocument.json
        var searchFrom = text.startIndex
        while let range = text.range(of: "#/components/schemas/", range: searchFrom..<text.endIndex) {
            let name = text[range.upperBound...].prefix { $0 != "\"" }
            #expect(schemas[String(name)] != nil, "unresolved $ref \(name)")
            searchFrom = range.upperBound
        }
    }
}

@Suite("Route table")
struct RouteTableTests {
    let table = RouteTable(routes: [
        ("/v1/tasks", [.get, .post]), ("/v1/tasks/:id", [.get]), ("/v1/tasks/split", [.post]),
    ])

    @Test("a path matches its routes, parameters included, its own words first; an unknown path matches none")
    func matching() {
        #expect(table.methods(for: "/v1/tasks") == [.get, .post])
        #expect(table.methods(for: "/v1/tasks/42") == [.get])
        #expect(table.methods(for: "/v1/tasks/split") == [.post])
        #expect(table.methods(for: "/v1/tasks/42/x") == nil)
        #expect(table.methods(for: "/v2") == nil)
    }
}
