import BullpenDomain
import BullpenStore
import Foundation
import Hummingbird

/// The query string of a list: `limit` (1 to 200, default 50), `cursor` (from the previous page's
/// `nextCursor`) and the list's filters, each checked; an unknown parameter is refused rather than ignored.
struct ListQuery {
    let parameters: [String: String]

    /// `paged` false: a route that is not a list (the queues, the event stream) takes neither `limit` nor `cursor`.
    init(_ request: Request, filters allowed: Set<String>, paged: Bool = true) throws {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) || (paged && (name == "limit" || name == "cursor")) else {
                throw APIError(
                    .badRequest, "\(name) is not a parameter of this list", code: "invalid_query", field: name)
            }
            parameters[name] = String(value)
        }
        self.parameters = parameters
    }

    var page: PageRequest {
        get throws {
            let limit = try integer("limit", 1...Int64(PageRequest.maxLimit)).map(Int.init) ?? 50
            let after = try integer("cursor", 0...Int64.max) ?? 0
            return PageRequest(after: after, limit: limit)
        }
    }

    func integer(_ name: String, _ range: ClosedRange<Int64> = 1...Int64.max) throws -> Int64? {
        guard let text = parameters[name] else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError(
                .badRequest,
                name == "cursor"
                    ? "cursor must be a nextCursor this API returned"
                    : "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)",
                code: "invalid_query", field: name)
        }
        return value
    }

    /// A day, `YYYY-MM-DD` (UTC midnight).
    func day(_ name: String) throws -> Date? {
        guard let text = parameters[name] else { return nil }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy-MM-dd"
        guard text.utf8.count == 10, let day = format.date(from: text) else {
            throw APIError(.badRequest, "\(name) must be a day, YYYY-MM-DD", code: "invalid_query", field: name)
        }
        return day
    }

    /// A free-text filter: 1 to `maxLength` bytes.
    func text(_ name: String, maxLength: Int = 320) throws -> String? {
        guard let text = parameters[name] else { return nil }
        guard !text.isEmpty, text.utf8.count <= maxLength else {
            throw APIError(
                .badRequest, "\(name) must be 1 to \(maxLength) bytes", code: "invalid_query", field: name)
        }
        return text
    }

    func choice<C: Choice>(_ name: String, _ type: C.Type) throws -> String? {
        guard let text = parameters[name] else { return nil }
        guard C(rawValue: text) != nil else {
            throw APIError(.badRequest, "\(name) must be one of: \(C.choices)", code: "invalid_query", field: name)
        }
        return text
    }
}

extension Request {
    /// The `:id` path parameter: a positive integer, or 404 (no such row can exist).
    func pathID(_ context: APIContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError(.notFound, "no route for \(method) \(uri.path)")
        }
        return id
    }
}
