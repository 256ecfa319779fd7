import Crypto
import Foundation

/// The Ed25519 key pair that identifies this Bullpen installation to the gateway as a device. Generated once
/// and kept in a file readable only by its owner (mode 0600): the gateway pairs a device with the scopes it
/// first asked for, so the key must outlive restarts.
public struct DeviceIdentity: Sendable {
    /// The raw 32-byte private key (the key type itself is not Sendable).
    private let rawPrivateKey: [UInt8]
    /// The raw 32-byte public key.
    public let publicKey: [UInt8]

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        rawPrivateKey = Array(privateKey.rawRepresentation)
        publicKey = Array(privateKey.publicKey.rawRepresentation)
    }

    /// The device id: hex SHA-256 of the raw public key.
    public var deviceID: String { SHA256.hash(data: publicKey).map { String(format: "%02x", $0) }.joined() }

    /// The public key as the gateway reads it: base64url, no padding.
    public var publicKeyBase64URL: String { Base64URL.encode(publicKey) }

    /// Signs `text` (UTF-8); base64url without padding.
    public func sign(_ text: String) throws -> String {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
        return Base64URL.encode(Array(try key.signature(for: Array(text.utf8))))
    }

    /// Reads the key from `path`, or makes one and writes it there (mode 0600, its folder created). A file
    /// that others may read is refused: the key is a credential.
    public static func loadOrCreate(at path: String) throws -> DeviceIdentity {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let attributes = try manager.attributesOfItem(atPath: path)
            if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
                throw DeviceIdentityError(
                    "\(path) may be read by others (mode \(String(mode, radix: 8))); run chmod 600 on it")
            }
            guard let data = manager.contents(atPath: path),
                let raw = Data(
                    base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                ),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            else { throw DeviceIdentityError("\(path) does not hold an Ed25519 private key (base64 of 32 bytes)") }
            return DeviceIdentity(privateKey: key)
        }
        let key = Curve25519.Signing.PrivateKey()
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try manager.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        // Written aside, then linked into place, which fails if the file exists: two processes starting at
        // once (a worker and ingest) end up with one key, the first one's.
        let aside = path + ".\(ProcessInfo.processInfo.processIdentifier).new"
        guard
            manager.createFile(
                atPath: aside, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw DeviceIdentityError("cannot write the device key to \(path)") }
        defer { unlink(aside) }
        guard link(aside, path) == 0 else {
            if errno == EEXIST { return try loadOrCreate(at: path) }
            throw DeviceIdentityError("cannot write the device key to \(path) (errno \(errno))")
        }
        return DeviceIdentity(privateKey: key)
    }
}

public struct DeviceIdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// base64url without padding (RFC 4648 section 5), as the gateway writes keys and signatures.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), text.allSatisfy(\.isASCII)
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
