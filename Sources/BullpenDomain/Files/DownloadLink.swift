import Foundation

/// Signed, expiring download links to one attachment: `/files/<file id>?deliverable=<id>&expires=<unix seconds>
/// &signature=<hex HMAC-SHA256 of "<file id>.<deliverable id>.<expires>">`. Files are kept by content, so two
/// versions (two clients, even) attaching the same bytes share a file; the link names the attachment, whose
/// row gives the name and type served. An altered id, version, expiry or signature fails; a link past its
/// expiry fails. The rules, with no clock and no crypto of their own: the caller passes the time and the HMAC.
public enum DownloadLink {
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed
        case expired
        case mismatch

        public var description: String {
            switch self {
            case .malformed: return "the link is not signed: it needs deliverable, expires and signature"
            case .expired: return "the link has expired; ask for a new one"
            case .mismatch: return "the link's signature does not match"
            }
        }
    }

    public typealias HMAC = (_ key: [UInt8], _ message: [UInt8]) -> [UInt8]

    static func message(_ fileID: String, _ deliverableID: Int64, _ expires: Int) -> [UInt8] {
        Array("\(fileID).\(deliverableID).\(expires)".utf8)
    }

    /// The query of a link to `fileID` as attached to deliverable `deliverableID`, valid until `expires`.
    public static func query(fileID: String, deliverableID: Int64, expires: Int, key: [UInt8], hmac: HMAC) -> String {
        let signature = Hex.string(hmac(key, message(fileID, deliverableID, expires)))
        return "deliverable=\(deliverableID)&expires=\(expires)&signature=\(signature)"
    }

    /// Checks a link's parameters: well formed, its signature (compared in constant time) the HMAC of the id
    /// and expiry, and not past its expiry at `now`.
    /// Returns the deliverable the link names.
    public static func verify(
        fileID: String, deliverable: String?, expires: String?, signature: String?, key: [UInt8], now: Date,
        hmac: HMAC
    ) -> Result<Int64, Refusal> {
        guard let expires, let seconds = Int(expires), let deliverable, let deliverableID = Int64(deliverable),
            deliverableID > 0, let signature, let given = Hex.bytes(signature), given.count == 32
        else { return .failure(.malformed) }
        let expected = hmac(key, message(fileID, deliverableID, seconds))
        guard ConstantTime.equal(expected, given) else { return .failure(.mismatch) }
        guard Int(now.timeIntervalSince1970) <= seconds else { return .failure(.expired) }
        return .success(deliverableID)
    }
}
