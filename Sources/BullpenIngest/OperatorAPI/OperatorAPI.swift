import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenClaw
import PostgreSQL

/// The operator API under `/v1`: commands (POST, PATCH) become command messages on the command queue, answered
/// 202 after the broker's confirm; reads (GET) come from PostgreSQL, restricted to what the caller's token may
/// see. One route collection per noun; this type holds what they share.
struct OperatorAPI: Sendable {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let database: DatabasePool
    let commands: BatchingLookup<CommandStore.Record, CommandStore.Recorded>
    let maxBodyBytes: Int
    let rateLimit: RateLimitSettings
    /// Deliverables' files: where uploads are kept, and the signer of their download links.
    let files: FileService
    /// The event feed's opaque cursors.
    let cursors: EventCursors
    /// Reads a task's session on the gateway (nil: not configured for ingest).
    let gateway: GatewayClient?

    /// Every `/v1` route, behind token authentication and the per-token rate limit.
    func collection(
        tokens: BatchingLookup<[UInt8], ApiTokens.Token>, cache: TokenCache, feed: EventFeed, broker: BrokerInspector
    )
        -> RouteCollection<APIContext>
    {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: TokenAuthentication(tokens: tokens, cache: cache))
        routes.add(middleware: RateLimit(rateLimit))
        ClientRoutes(api: self).add(to: routes.group("clients"))
        ProjectRoutes(api: self).add(to: routes.group("projects"))
        commands(of: "/v1/briefs", on: routes.group("briefs"))
        TaskRoutes(api: self).add(to: routes.group("tasks"))
        DeliverableRoutes(api: self).add(to: routes.group("deliverables"))
        NotificationRoutes(api: self).add(to: routes.group("notifications"))
        AnalyticsRoutes(api: self).add(to: routes.group("analytics"))
        InvoiceRoutes(api: self).add(to: routes.group("invoices"))
        TimeEntryRoutes(api: self).add(to: routes.group("time-entries"))
        AgentRoutes(api: self).add(to: routes.group("agents"))
        LeadRoutes(api: self).add(to: routes.group("leads"))
        CommandRoutes(api: self).add(to: routes.group("commands"))
        EventRoutes(api: self).add(to: routes.group("events"))
        EventStreamRoute(api: self, feed: feed, tokens: tokens).add(to: routes.group("events"))
        QueueRoutes(api: self, broker: broker).add(
            queues: routes.group("queues"), deadLetters: routes.group("dead-letters"))
        return routes
    }

    /// The paths and methods of ``collection(tokens:cache:feed:broker:)``, for the 405 answers of the others.
    /// Every path and its methods: the reads listed here, the commands from the catalog (each at its type's
    /// route), merged by path.
    static let paths: [(path: String, methods: [HTTPRequest.Method])] = {
        let commands = CommandCatalog.payloads.map { type in
            (path: type.route.path, methods: [HTTPRequest.Method(rawValue: type.route.method.rawValue)!])
        }
        var merged: [(path: String, methods: [HTTPRequest.Method])] = []
        for (path, methods) in reads + commands {
            if let index = merged.firstIndex(where: { $0.path == path }) {
                merged[index].methods += methods.filter { !merged[index].methods.contains($0) }
            } else {
                merged.append((path, methods))
            }
        }
        return merged
    }()

    static let reads: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/v1/clients", [.get]), ("/v1/clients/:id", [.get]), ("/v1/projects", [.get]), ("/v1/projects/:id", [.get]),
        ("/v1/projects/:id/messages", [.get]), ("/v1/tasks", [.get]), ("/v1/tasks/:id", [.get]),
        ("/v1/tasks/:id/explain", [.get]), ("/v1/tasks/:id/session", [.get]), ("/v1/deliverables", [.get]),
        ("/v1/deliverables/:id", [.get]),
        ("/v1/notifications", [.get]), ("/v1/analytics/billing", [.get]), ("/v1/analytics/weekly", [.get]),
        ("/v1/invoices", [.get]), ("/v1/time-entries", [.get]), ("/v1/deliverables/:id/files", [.get]),
        ("/v1/agents", [.get]),
        ("/v1/leads", [.get]), ("/v1/commands/:id", [.get]), ("/v1/events", [.get]), ("/v1/events/stream", [.get]),
        ("/v1/queues", [.get]), ("/v1/dead-letters", [.get]), ("/v1/dead-letters/:id", [.get]),
    ]

    // MARK: commands

    /// Takes a command: operator token, JSON body checked; then one batched statement checks that the rows it
    /// names exist and records it as accepted (once per idempotency key); published with a confirm; answers
    /// 202 `{"commandId", "status"}`.
    func accept(
        _ kind: CommandKind, _ request: Request, _ context: APIContext, pathID: Int64? = nil
    ) async throws
        -> Response
    {
        let caller = try context.requireCaller()
        try caller.requireIssuer(of: kind)
        let declaresBody =
            request.headers[.transferEncoding] != nil || (request.headers[.contentLength].map { $0 != "0" } ?? false)
        if declaresBody || pathID == nil { try JSONContentType<APIContext>.require(request) }
        let body = try await RequestBody.read(request, upTo: maxBodyBytes)
        let command: OperatorCommand
        do {
            command = try OperatorCommand.parse(
                kind, body.isEmpty && pathID != nil ? Array("{}".utf8) : body, pathID: pathID)
        } catch {
            throw APIError.invalid(error)
        }

        return try await submit(command, key: try Self.idempotencyKey(request), caller: caller, context: context)
    }

    /// Records a command (once per idempotency key, its references checked) and publishes it with a confirm.
    func submit(_ command: OperatorCommand, key: String?, caller: Caller, context: APIContext) async throws -> Response
    {
        let (id, status) = try await issue(command, key: key, caller: caller, logger: context.logger)
        return Self.accepted(id, status)
    }

    /// The one way a command comes in, from the API or the web: recorded once per idempotency key (its
    /// references checked), then published with a confirm. Returns its id and status; a final status when the
    /// key's command was applied or rejected already.
    func issue(
        _ command: OperatorCommand, key: String?, caller: Caller, logger: Logger
    ) async throws -> (id: String, status: CommandStatus) {
        let kind = command.kind
        let record = CommandStore.Record(
            id: Self.commandID(tokenID: caller.tokenID, idempotencyKey: key), kind: kind, tokenID: caller.tokenID,
            payload: String(decoding: try command.payloadJSON(), as: UTF8.self), references: command.payload.references,
            clientID: caller.role == .client ? caller.viewer.clientID : nil)
        let recorded: CommandStore.Recorded?
        do {
            recorded = try await commands.value(for: record)
        } catch {
            logger.error("recording a command failed", metadata: ["error": "\(error)"])
            throw APIError.database(error)
        }
        switch recorded {
        case .missing(let reference):
            throw APIError(
                .unprocessableContent, "there is no \(reference.noun.rawValue) \(reference.id)",
                code: "unknown_reference",
                field: reference.field)
        case .conflicting:
            throw APIError(
                .unprocessableContent,
                "the Idempotency-Key was used before with another request; send a new key for a new command",
                code: "idempotency_key_reused")
        case .existing(let status) where status.isFinal:
            return (record.id, status)
        case .new, .existing, .none:
            let message = CommandMessage(
                commandId: record.id, tokenId: caller.tokenID, command: command, clientId: record.clientID)
            try await publisher.publishConfirmed(message, topology: topology, what: "the command", logger: logger)
            return (record.id, .accepted)
        }
    }

    static func accepted(_ commandID: String, _ status: CommandStatus) -> Response {
        .json(
            .accepted, Accepted(commandId: commandID, status: status), headers: [.location: "/v1/commands/\(commandID)"]
        )
    }

    struct Accepted: Codable, Equatable {
        let commandId: String
        let status: CommandStatus
    }

    /// The `Idempotency-Key` header: 1 to 200 visible ASCII characters; nil when absent.
    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...200).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw APIError(
                .badRequest, "Idempotency-Key must be 1 to 200 visible ASCII characters", code: "invalid_header",
                field: "Idempotency-Key")
        }
        return key
    }

    /// The command id: derived from the token and the idempotency key, so a retried request is the same
    /// command (and the same message id); random without a key.
    static func commandID(tokenID: Int64, idempotencyKey: String?) -> String {
        let seed = idempotencyKey.map { "\(tokenID):\($0)" } ?? "\(tokenID):\(UUID().uuidString)"
        return "cmd_" + ContentID.of(seed, bytes: 12)
    }

    /// The catalog's commands on a collection ("/v1/tasks"), each at the route its type names
    /// (``CommandPayload/route``); a file upload has a route of its own.
    func commands(of collection: String, on routes: RouterGroup<APIContext>) {
        for type in CommandCatalog.payloads where type.route.collection == collection && !type.route.upload {
            command(type.kind, HTTPRequest.Method(rawValue: type.route.method.rawValue)!, type.route.rest, on: routes)
        }
    }

    /// A command's route: on the collection (`path` ""), or on one row (`:id...`, whose id joins the payload).
    func command(
        _ kind: CommandKind, _ method: HTTPRequest.Method, _ path: String = "", on routes: RouterGroup<APIContext>
    ) {
        let onRow = path.hasPrefix(":id")
        routes.on(RouterPath(path), method: method) { request, context in
            try await accept(kind, request, context, pathID: onRow ? try request.pathID(context) : nil)
        }
    }

    // MARK: reads

    /// `GET :id`: one row as the caller may see it, or 404.
    func show(
        _ noun: String, on routes: RouterGroup<APIContext>,
        _ query: @escaping @Sendable (Int64, Viewer, PGConnection) throws -> String?
    ) {
        routes.get(":id") { request, context in
            let (id, viewer) = (try request.pathID(context), try context.requireCaller().viewer)
            return try await read("\(noun) \(id)") { db in try query(id, viewer, db) }
        }
    }

    /// Runs a read on a pooled connection and answers its JSON text (200), or 404 when it found nothing.
    func read(_ what: String, _ body: @escaping @Sendable (PGConnection) throws -> String?) async throws -> Response {
        let json: String?
        do {
            json = try await database.run(body)
        } catch {
            throw APIError.database(error)
        }
        guard let json else { throw APIError(.notFound, "there is no \(what)") }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
}
