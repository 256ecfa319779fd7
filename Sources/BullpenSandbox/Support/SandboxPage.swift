import Hummingbird

/// The plain pages the stand-ins serve in place of a service's hosted ones (Stripe's Checkout and Customer
/// Portal, Clerk's sign-in): a title, a body, every value escaped by ``escape(_:)``.
enum SandboxPage {
    static func response(_ status: Int, service: String, title: String, body: String) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
            <title>\(escape(title)) (\(service) sandbox)</title></head><body><main><h1>\(escape(title))</h1>\(body)</main></body></html>
            """
        return Response(
            status: .init(code: status), headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
