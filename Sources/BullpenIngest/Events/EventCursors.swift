import BullpenStore
import Crypto
import Foundation

/// Event cursors as callers hold them: an ``EventPosition`` sealed with AES-GCM under a key derived from
/// ingest's link secret (the same on every ingest, so a stream resumes on any of them). A cursor is opaque: the
/// transaction and event ids inside count every tenant's work, and a client must learn nothing of the
/// agency's volume from them. It is bound to its audience (the viewer is the sealed data's associated data),
/// so one viewer's cursor is refused for another. `"0"` is the start of the feed.
public struct EventCursors: Sendable {
    /// The AES-256 key's bytes (kept as bytes: `SymmetricKey` is not `Sendable`).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(secret: String) {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Array(secret.utf8)), info: Array("bullpen event cursor v1".utf8),
            outputByteCount: 32)
        keyBytes = derived.withUnsafeBytes { Array($0) }
    }

    /// The opaque cursor of `position` for `viewer`.
    public func cursor(_ position: EventPosition, for viewer: Viewer) -> String {
        var plain = [UInt8]()
        withUnsafeBytes(of: position.transaction.bigEndian) { plain.append(contentsOf: $0) }
        withUnsafeBytes(of: position.id.bigEndian) { plain.append(contentsOf: $0) }
        // A sealed box's combined form: nonce, ciphertext, tag. Sealing with a random nonce cannot fail.
        let sealed = try! AES.GCM.seal(plain, using: key, authenticating: Self.audience(viewer)).combined!
        return Self.base64url(Array(sealed))
    }

    /// The position a cursor holds, if it is one this deployment made for `viewer`; `"0"` is the start.
    public func position(_ cursor: String, for viewer: Viewer) -> EventPosition? {
        if cursor == "0" { return .start }
        guard cursor.utf8.count <= 128, let bytes = Self.unbase64url(cursor),
            let box = try? AES.GCM.SealedBox(combined: bytes),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Self.audience(viewer)), plain.count == 16
        else { return nil }
        let transaction = plain.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let id = plain.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return EventPosition(transaction: transaction, id: Int64(bitPattern: id))
    }

    static func audience(_ viewer: Viewer) -> [UInt8] {
        Array((viewer.clientID.map { "client:\($0)" } ?? "operator").utf8)
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), text.allSatisfy(\.isASCII)
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}
