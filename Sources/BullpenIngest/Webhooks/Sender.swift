import Hummingbird

/// Who sent a public form, for its rate limits: the peer's IP address, or, when the peer is a load balancer
/// ingest was told to trust (``IngestConfiguration/trustedProxies``), the address it says the request came
/// from (the last entry of `X-Forwarded-For`, which the balancer appends). Never the email address a form
/// names: limiting by the address named would let a stranger lock its owner out.
enum Sender {
    static func of(_ request: Request, _ context: APIContext, trustedProxies: Set<String>) -> String {
        let peer = context.peerAddress ?? "unknown"
        guard trustedProxies.contains(peer),
            let forwarded = request.headers[.init("X-Forwarded-For")!]?.split(separator: ",").last?
                .trimmingCharacters(in: .whitespaces), !forwarded.isEmpty, forwarded.utf8.count <= 64
        else { return peer }
        return forwarded
    }
}
