import BullpenDomain
import Crypto

/// Ids ingest derives from content (a command's token and key, a hook event's body, a brief and its address),
/// so that the same content sent again is the same id: the first `bytes` bytes of its SHA-256, in hex.
enum ContentID {
    static func of(_ content: [UInt8], bytes: Int = 16) -> String {
        Hex.string(SHA256.hash(data: content).prefix(bytes))
    }

    static func of(_ text: String, bytes: Int = 16) -> String { of(Array(text.utf8), bytes: bytes) }
}
