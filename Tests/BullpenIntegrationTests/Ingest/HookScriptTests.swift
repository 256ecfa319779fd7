import BullpenDomain
import Crypto
import Foundation
import Testing

/// The gateway's side of the lifecycle hook (deploy/openclaw/hooks/bullpen-sync): its `sign.mjs`, run with
/// Node, signs as ingest verifies (a fixed secret and signing time), and its body drops `context.cfg` and
/// parses as ingest parses it. Needs `node` (ops/test installs Debian's nodejs).
@Suite("The bullpen-sync hook")
struct HookScriptTests {
    static let script = TestEnvironment.repositoryRoot + "/deploy/openclaw/hooks/bullpen-sync/sign.mjs"

    /// What the module prints for `code` (a module body with `m` the hook's module).
    func node(_ code: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "node", "--input-type=module", "-e",
            "const m = await import(\(Self.quoted("file://" + Self.script)));\n" + code,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    @Test("its signature verifies with ingest's verifier: the secret and signing time fixed; another secret does not")
    func signature() throws {
        let body =
            #"{"type":"command","action":"new","sessionKey":"agent:writer-1:bullpen-7","timestamp":null,"context":null}"#
        let header = try node(
            "console.log(m.signature(\(Self.quoted(body)), 'whsec_hook_fixed_secret', 1796000000))")
        #expect(header.hasPrefix("t=1796000000,v1="))
        let now = Date(timeIntervalSince1970: 1_796_000_030)
        let verified = WebhookSignature.verify(
            header: header, body: Array(body.utf8), secrets: ["whsec_hook_fixed_secret"], now: now, hmac: Self.hmac)
        #expect((try? verified.get()) == 1_796_000_000)
        let other = WebhookSignature.verify(
            header: header, body: Array(body.utf8), secrets: ["another"], now: now, hmac: Self.hmac)
        #expect((try? other.get()) == nil)
        let late = WebhookSignature.verify(
            header: header, body: Array(body.utf8), secrets: ["whsec_hook_fixed_secret"],
            now: now.addingTimeInterval(600), hmac: Self.hmac)
        #expect((try? late.get()) == nil, "a stale signature is refused")
    }

    @Test("its body never carries the gateway's configuration, and parses as ingest parses a lifecycle event")
    func body() throws {
        let body = try node(
            """
            console.log(m.payload({type: 'command', action: 'stop', sessionKey: 'agent:writer-1:bullpen-7',
              timestamp: new Date(0), context: {cfg: {token: 'gateway-secret'}, reason: 'done'}}))
            """)
        #expect(!body.contains("cfg") && !body.contains("gateway-secret"))
        let event = try AgentLifecycleEvent.parse(Array(body.utf8))
        #expect(event.kind == .commandStop && event.agentName == "writer-1")
        #expect(event.contextJSON == #"{"reason":"done"}"#)
        #expect(try node("console.log(m.payload({type: 'session', action: 'compact'}))") == "null")
    }
}
