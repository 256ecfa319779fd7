import BullpenSandbox
import BullpenWorkers
import HummingbirdTesting
import Logging
import Providers
import Testing

/// The notify side of a test: the sandbox's Resend, Slack and Discord stand-ins (live, on a loopback port) and
/// a notification handler that sends to them.
enum SandboxNotify {
    static let templates = try! NotificationTemplates(folder: TestEnvironment.repositoryRoot + "/Config/templates")

    static func handler(port: Int, operatorEmail: String? = "ops@agency.test") -> NotificationHandler {
        var channels = NotificationChannels(
            resend: ResendClient(baseURL: "http://127.0.0.1:\(port)", apiKey: "re_test_key", timeout: .seconds(5)),
            from: "Bullpen <bullpen@agency.test>", operatorEmail: operatorEmail)
        channels.operatorSlack = "http://127.0.0.1:\(port)/slack/operators"
        channels.operatorDiscord = "http://127.0.0.1:\(port)/discord/1/operators"
        return NotificationHandler(channels: channels, templates: templates)
    }

    /// The stand-ins, a handler sending to them and their port, for the length of `body`.
    static func withOutbound(
        logger: Logger, operatorEmail: String? = "ops@agency.test",
        _ body: @escaping @Sendable (SandboxOutbound, NotificationHandler, Int) async throws -> Void
    ) async throws {
        let outbound = SandboxOutbound(configuration: .init(port: 0), logger: logger)
        try await outbound.application().test(.live) { app in
            let port = try #require(app.port)
            try await body(outbound, handler(port: port, operatorEmail: operatorEmail), port)
        }
    }
}
