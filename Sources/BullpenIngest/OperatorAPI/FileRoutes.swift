import BullpenDomain
import BullpenStore
import Crypto
import Files
import Foundation
import HTTPClient
import Hummingbird

/// Deliverables' files: the store uploads go to, and the signer of download links (an HMAC over the file's
/// id and the link's expiry, so that any ingest holding the secret can check a link another one made).
public struct FileService: Sendable {
    public let store: any FileStore
    let key: [UInt8]
    /// How long a link stays valid.
    public let linkLifetime: Duration
    /// The largest upload.
    public let maxBytes: Int

    public init(store: any FileStore, secret: String, linkLifetime: Duration = .seconds(900), maxBytes: Int = 10 << 20)
    {
        self.store = store
        key = Array(secret.utf8)
        self.linkLifetime = linkLifetime
        self.maxBytes = maxBytes
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// A path to download the file as attached to deliverable `deliverableID`, valid for the link lifetime
    /// from `now`.
    func link(_ fileID: String, of deliverableID: Int64, now: Date = Date()) -> (url: String, expires: Int) {
        let expires = Int(now.timeIntervalSince1970) + Int(linkLifetime.components.seconds)
        let query = DownloadLink.query(
            fileID: fileID, deliverableID: deliverableID, expires: expires, key: key, hmac: Self.hmac)
        return ("/files/\(fileID)?" + query, expires)
    }

    /// An upload's body and type: the type one of the allowed (415), the body at most the limit (413).
    func upload(_ request: Request) async throws -> (bytes: [UInt8], type: String) {
        let type = request.headers[.contentType].map { String($0.split(separator: ";")[0]).lowercased() } ?? ""
        guard DeliverableFile.contentTypes.contains(type) else {
            throw APIError(
                .unsupportedMediaType,
                "a file must be one of: \(DeliverableFile.contentTypes.sorted().joined(separator: ", "))")
        }
        return (try await RequestBody.read(request, upTo: maxBytes), type)
    }

    /// Stores checked bytes (off the event loop); 503 if the store fails.
    func keep(_ bytes: [UInt8], context: APIContext) async throws {
        let store = store
        do { _ = try await Blocking.run { try store.put(bytes) } } catch {
            context.logger.error("storing a file failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "the file could not be stored; try again")
        }
    }

    /// The deliverable a link names, if its signature holds and it has not expired.
    func verify(
        _ fileID: String, deliverable: String?, expires: String?, signature: String?
    ) -> Result<Int64, DownloadLink.Refusal> {
        DownloadLink.verify(
            fileID: fileID, deliverable: deliverable, expires: expires, signature: signature, key: key, now: Date(),
            hmac: Self.hmac)
    }
}

/// `POST /v1/deliverables/{id}/files?name=` (operators): the body is the file, its `Content-Type` one of the
/// allowed types, at most the upload limit; stored by content, then attached by a `deliverable.attach_file`
/// command (202). `GET /v1/deliverables/{id}/files`: the version's files with signed links, to whoever may
/// see the version.
struct DeliverableFileRoutes {
    let api: OperatorAPI

    struct Listed: Encodable {
        let fileId: String
        let name: String
        let contentType: String
        let sizeBytes: Int64
        let url: String
        let expiresAt: Int
    }

    func add(to routes: RouterGroup<APIContext>) {
        routes.post(":id/files") { request, context in
            let caller = try context.requireCaller()
            try caller.requireIssuer(of: .deliverableAttachFile)
            let id = try request.pathID(context)
            let query = try ListQuery(request, filters: ["name"], paged: false)
            guard let name = query.parameters["name"] else {
                throw APIError(.badRequest, "name is required: the file's name", code: "invalid_query", field: "name")
            }
            let (bytes, type) = try await api.files.upload(request)
            guard !bytes.isEmpty else { throw APIError(.badRequest, "the file is empty", code: "invalid_body") }
            let command = DeliverableFile(
                id: id, fileId: FileID.of(bytes), name: name, contentType: type, sizeBytes: Int64(bytes.count))
            do { try command.validate() } catch let error as ValidationError {
                throw APIError(.badRequest, error.description, code: "invalid_query", field: error.field)
            }
            // Stored before the command is published: a command never names a file the store lacks.
            try await api.files.keep(bytes, context: context)
            return try await api.submit(
                OperatorCommand(command), key: try OperatorAPI.idempotencyKey(request), caller: caller,
                context: context)
        }
        routes.get(":id/files") { request, context in
            let (id, viewer) = (try request.pathID(context), try context.requireCaller().viewer)
            _ = try ListQuery(request, filters: [], paged: false)
            let files: [DeliverableStore.File]?
            do {
                files = try await api.database.run { db in try DeliverableStore.files(of: id, viewer: viewer, on: db) }
            } catch { throw APIError.database(error) }
            guard let files else { throw APIError(.notFound, "there is no deliverable \(id)") }
            return Response.json(
                .ok,
                [
                    "data": files.map { file in
                        let link = api.files.link(file.fileID, of: id)
                        return Listed(
                            fileId: file.fileID, name: file.name, contentType: file.contentType,
                            sizeBytes: file.sizeBytes, url: link.url, expiresAt: link.expires)
                    }
                ])
        }
    }
}

/// `GET /files/{id}?deliverable=&expires=&signature=`: a file as attached to a version, to whoever holds a link
/// that is signed and not expired (no token: the link is the permission). The name and type served are that
/// attachment's, never another version's that holds the same bytes. An altered or expired link is 403 with
/// the reason.
struct FileDownloadRoutes {
    let files: FileService
    let database: DatabasePool

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.get("/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard FileID.isValid(id) else { throw APIError(.notFound, "there is no file \(id.prefix(80))") }
            let query = request.uri.queryParameters
            let deliverableID: Int64
            switch files.verify(
                id, deliverable: query["deliverable"].map(String.init), expires: query["expires"].map(String.init),
                signature: query["signature"].map(String.init))
            {
            case .success(let deliverable): deliverableID = deliverable
            case .failure(let refusal): throw APIError(.forbidden, refusal.description, code: "link_refused")
            }
            let served: (contentType: String, name: String)?
            do {
                served = try await database.run { db in try DeliverableStore.served(id, of: deliverableID, on: db) }
            } catch {
                throw APIError.database(error)
            }
            let store = files.store
            guard let served, let bytes = try await Blocking.run({ try store.get(id) }) else {
                throw APIError(.notFound, "there is no file \(id)")
            }
            var headers: HTTPFields = [.contentType: served.contentType, .cacheControl: "private, max-age=60"]
            headers[.contentDisposition] =
                "attachment; filename=\"\(served.name.replacingOccurrences(of: "\"", with: ""))\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return routes
    }
}

/// `POST /webhooks/agents/files?name=`: an agent uploads a file it made, with its run's callback token (the
/// attempt still open); the body is the file, checked as an operator's upload is, stored by content. 201
/// with the file's id, name, type and size: what the agent then lists in its result's `artifacts`.
struct AgentFileRoutes {
    let tokens: BatchingLookup<[UInt8], CallbackTokens.Attempt>
    let files: FileService

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.post("files") { request, context in
            let token = try BearerToken.parse(request.headers[.authorization], naming: "callback token")
            let attempt: CallbackTokens.Attempt?
            do { attempt = try await tokens.value(for: Array(SHA256.hash(data: Array(token.utf8)))) } catch {
                throw APIError.database(error)
            }
            guard let attempt, attempt.outcome == nil else {
                throw APIError(
                    .unauthorized, "unknown or expired callback token", headers: [.wwwAuthenticate: "Bearer"])
            }
            let name = try ListQuery(request, filters: ["name"], paged: false).parameters["name"] ?? ""
            let (bytes, type) = try await files.upload(request)
            let file = TaskResultReport.Artifact(
                fileId: FileID.of(bytes), name: name, contentType: type, sizeBytes: Int64(bytes.count))
            do { try file.file(of: attempt.taskID).validate() } catch let error as ValidationError {
                throw APIError(.badRequest, error.description, code: "invalid_query", field: error.field)
            }
            try await files.keep(bytes, context: context)
            return Response.json(.created, file)
        }
        return routes
    }
}
