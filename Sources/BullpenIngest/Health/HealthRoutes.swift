import BullpenMessaging
import Hummingbird

/// `GET /healthz` (the process answers), `GET /readyz` (it can take work: the broker is connected), and
/// `GET /openapi.json` (the API's contract).
struct HealthRoutes {
    let publisher: ConfirmingPublisher

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.get("healthz") { _, _ -> Response in
            .json(.ok, Status(status: "ok", reason: nil))
        }
        routes.get("readyz") { [publisher] _, _ -> Response in
            publisher.isConnected
                ? .json(.ok, Status(status: "ready", reason: nil))
                : .json(.serviceUnavailable, Status(status: "not ready", reason: "no broker connection"))
        }
        routes.get("openapi.json") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        return routes
    }

    struct Status: Encodable {
        let status: String
        let reason: String?
    }
}
