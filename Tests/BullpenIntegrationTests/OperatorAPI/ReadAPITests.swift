import BullpenStore
import Foundation
import HTTPTypes
import Testing

/// The read API: keyset pagination, filters, and tenancy (a client token sees only its own client's rows).
@Suite("Operator API: reads")
final class ReadAPITests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("reads") }
    deinit { fixture.tearDown() }

    /// Two clients, each with a project and a task, made through the API; returns their ids.
    func twoClients(_ api: APIClient) async throws -> [(client: Int64, project: Int64, task: Int64)] {
        var made: [(Int64, Int64, Int64)] = []
        for name in ["one", "two"] {
            let client = try await api.create(
                "/v1/clients", #"{"name": "\#(name)", "email": "\#(name)@example.test"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(client), "name": "\#(name)", "type": "content", "tier": "pro"}"#,
                "projectId")
            let task = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "\#(name)"}"#, "taskId")
            made.append((client, project, task))
        }
        return made
    }

    @Test("a client token reads its own rows on every endpoint; any other id is 404, as if it did not exist")
    func tenancy() async throws {
        try await fixture.run { api in
            let made = try await self.twoClients(api)
            let (mine, theirs) = (made[0], made[1])
            let token = try ApiTokens.create(
                name: "one", role: .client, clientID: mine.client, on: self.fixture.stack.db)
            let client = api.with(token: token.secret)

            #expect(try await client.get("/v1/clients").data.map { $0["id"] as? Int } == [Int(mine.client)])
            #expect(try await client.get("/v1/projects").data.map { $0["id"] as? Int } == [Int(mine.project)])
            #expect(try await client.get("/v1/tasks").data.map { $0["id"] as? Int } == [Int(mine.task)])
            #expect(try await client.get("/v1/projects?client=\(theirs.client)").data.isEmpty)
            let events = try await client.get("/v1/events").data
            #expect(!events.isEmpty)
            // A client's events name no client (they are all its own) and only its own projects and tasks.
            #expect(
                events.allSatisfy {
                    $0["clientId"] == nil && (($0["projectId"] as? Int).map { $0 == Int(mine.project) } ?? true)
                        && (($0["taskId"] as? Int).map { $0 == Int(mine.task) } ?? true)
                }, "\(events)")
            #expect(try await client.get("/v1/clients/\(mine.client)").status == .ok)
            #expect(try await client.get("/v1/projects/\(mine.project)").status == .ok)
            #expect(try await client.get("/v1/tasks/\(mine.task)").status == .ok)
            for uri in ["/v1/clients/\(theirs.client)", "/v1/projects/\(theirs.project)", "/v1/tasks/\(theirs.task)"] {
                let answer = try await client.get(uri)
                #expect(answer.status == .notFound, "\(uri)")
                #expect(answer.code == "not_found")
            }
            #expect(try await client.get("/v1/agents").status == .forbidden)
            // The operator sees both.
            #expect(try await api.get("/v1/clients").data.count == 2)
            #expect(try await api.get("/v1/tasks").data.count == 2)
        }
    }

    @Test(
        "keyset pages: every row once, in id order, across pages; a client by email; bad limits, cursors and filters are 400"
    )
    func pagination() async throws {
        try await fixture.run { api in
            for index in 0..<5 {
                _ = try await api.create(
                    "/v1/clients", #"{"name": "c\#(index)", "email": "c\#(index)@example.test"}"#, "clientId")
            }
            var seen: [String] = []
            var uri = "/v1/clients?limit=2"
            var pages = 0
            while true {
                let page = try await api.get(uri)
                #expect(page.status == .ok)
                seen += page.data.compactMap { $0["name"] as? String }
                pages += 1
                guard let next = page.json["nextCursor"] as? String else { break }
                uri = "/v1/clients?limit=2&cursor=\(next)"
            }
            #expect(seen == ["c0", "c1", "c2", "c3", "c4"])
            #expect(pages == 3)
            #expect(try await api.get("/v1/clients?status=churned").data.isEmpty)
            // One client by its address, whatever the case it is asked in.
            #expect(
                try await api.get("/v1/clients?email=C3%40Example.TEST").data.compactMap { $0["name"] as? String } == [
                    "c3"
                ])
            #expect(try await api.get("/v1/clients?email=nobody%40example.test").data.isEmpty)
            for (uri, field) in [
                ("/v1/clients?limit=0", "limit"), ("/v1/clients?limit=201", "limit"),
                ("/v1/clients?cursor=x", "cursor"),
                ("/v1/clients?status=gone", "status"), ("/v1/clients?email=", "email"),
                ("/v1/tasks?project=-1", "project"),
                ("/v1/clients?sort=name", "sort"),
                ("/v1/queues?limit=5", "limit"),
            ] {
                let answer = try await api.get(uri)
                #expect(answer.status == .badRequest, "\(uri)")
                #expect(answer.code == "invalid_query", "\(uri)")
                #expect(answer.error["field"] as? String == field, "\(uri)")
            }
        }
    }
}
