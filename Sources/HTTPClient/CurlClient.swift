import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking HTTP client over libcurl, with one reusable easy handle per thread (keeps connections alive).
///
/// Call it from a thread that may block (a worker's handler thread), not from Swift concurrency's pool.
///
/// ```swift
/// let response = try CurlClient.perform(HTTPClientRequest(method: "POST", url: url, body: Array(json.utf8)))
/// ```
public enum CurlClient {
    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_ALL))
    }()

    /// Sends the request and returns the response, whatever its status.
    public static func perform(_ request: HTTPClientRequest) throws -> HTTPClientResponse {
        try perform(request, onBody: nil)
    }

    /// Sends the request and hands the body to `onBody` chunk by chunk as it arrives (the response's `body` is
    /// then empty), until the server ends it or `onBody` returns false. For streams (Server-Sent Events): the
    /// request's `timeout` does not apply; instead a connection that sends nothing for `idleTimeout` (a
    /// stream's heartbeats keep it alive) fails with `.timeout`.
    public static func stream(
        _ request: HTTPClientRequest, idleTimeout: Duration, onBody: @escaping ([UInt8]) -> Bool
    ) throws -> HTTPClientResponse {
        var streaming = request
        streaming.timeout = .zero
        return try perform(streaming, onBody: onBody, idleTimeout: idleTimeout)
    }

    private static func perform(
        _ request: HTTPClientRequest, onBody: (([UInt8]) -> Bool)?, idleTimeout: Duration? = nil
    ) throws -> HTTPClientResponse {
        _ = globalInit
        let handle = ThreadHandle.current()
        curl_easy_reset(handle)
        let sink = ResponseSink()
        sink.onBody = onBody
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        bp_curl_set_string(handle, CURLOPT_URL, request.url)
        bp_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        if let idleTimeout {
            // No overall deadline for a stream; less than a byte a second for idleTimeout ends it.
            bp_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            bp_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, max(1, idleTimeout.curlMilliseconds / 1000))
        } else {
            bp_curl_set_long(handle, CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds)
        }
        bp_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds)
        bp_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        bp_curl_set_string(handle, CURLOPT_USERAGENT, "bullpen/1")
        switch request.method.uppercased() {
        case "GET": bp_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": bp_curl_set_long(handle, CURLOPT_NOBODY, 1)
        case "POST": bp_curl_set_long(handle, CURLOPT_POST, 1)
        default: bp_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method.uppercased())
        }
        if let body = request.body {
            // COPYPOSTFIELDS copies the bytes, so the buffer need only live for this call.
            let bytes = body.isEmpty ? [0] : body
            bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    _ = bp_curl_set_postfields(handle, $0, body.count)
                }
            }
        }
        // Without this, curl adds "Expect: 100-continue" to larger bodies and waits for the server.
        var headers = request.headers
        if !headers.contains(where: { $0.name.lowercased() == "expect" }) { headers.append(("Expect", "")) }
        for header in headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        bp_curl_set_slist(handle, CURLOPT_HTTPHEADER, headerList)

        let box = Unmanaged.passUnretained(sink).toOpaque()
        bp_curl_set_write_callback(handle) { data, size, count, user in
            let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            guard let data else { return length }
            let chunk = UnsafeRawBufferPointer(start: data, count: length)
            if let onBody = sink.onBody { return onBody(Array(chunk)) ? length : 0 }
            sink.body.append(contentsOf: chunk)
            return length
        }
        bp_curl_set_pointer(handle, CURLOPT_WRITEDATA, box)
        bp_curl_set_header_callback(handle) { data, size, count, user in
            let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            if let data { sink.headerLine(UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        }
        bp_curl_set_pointer(handle, CURLOPT_HEADERDATA, box)

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            let kind: HTTPClientError.Kind
            switch code {
            case CURLE_OPERATION_TIMEDOUT: kind = .timeout
            case CURLE_WRITE_ERROR where sink.onBody != nil:
                // The caller ended the stream.
                return HTTPClientResponse(status: bp_curl_response_code(handle), headers: sink.headers, body: [])
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: kind = .connect
            default: kind = .transport
            }
            throw HTTPClientError(kind: kind, message: "\(request.method) \(Self.redactedURL(request.url)): \(text)")
        }
        return HTTPClientResponse(status: bp_curl_response_code(handle), headers: sink.headers, body: sink.body)
    }

    /// The URL without its query string, which may carry tokens (Slack and Discord hooks carry them in the path,
    /// so only scheme, host and the first path segment are kept).
    static func redactedURL(_ url: String) -> String {
        let noQuery = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let parts = noQuery.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 4 else { return noQuery }
        return parts.prefix(4).joined(separator: "/") + "/..."
    }
}

/// Collects the body and headers as curl delivers them.
final class ResponseSink {
    var body: [UInt8] = []
    /// Streaming: receives each chunk instead of `body`; false stops the transfer.
    var onBody: (([UInt8]) -> Bool)?
    var headers: [(name: String, value: String)] = []

    func headerLine(_ raw: UnsafeRawBufferPointer) {
        let line = String(decoding: raw, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers.removeAll()  // a new response (after a 100 Continue or redirect) starts here
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingSpaces()
        headers.append((name, value))
    }
}

/// One curl easy handle per thread, freed when the thread exits.
enum ThreadHandle {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            curl_easy_cleanup(pointer)
        }
        return key
    }()

    static func current() -> UnsafeMutableRawPointer {
        if let existing = pthread_getspecific(key) { return existing }
        let handle = curl_easy_init()!
        pthread_setspecific(key, handle)
        return handle
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" || l == "\r\n" { s = s.dropLast() }
        return String(s)
    }
}

extension Duration {
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
