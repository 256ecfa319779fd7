import ArgumentParser
import BullpenWorkers
import Logging
import Providers

/// Where a worker that consumes the notify queue sends notifications from, and to whom operator alerts go.
struct NotifyOptions: ParsableArguments {
    @Option(help: "The notification templates' folder (env BULLPEN_TEMPLATES_DIR).")
    var templates: String = Environment.value("BULLPEN_TEMPLATES_DIR", default: "Config/templates")

    @Option(help: "Resend's API base URL (env BULLPEN_RESEND_URL; the sandbox's for tests and the demo).")
    var resendURL: String = Environment.value("BULLPEN_RESEND_URL", default: "https://api.resend.com")

    @Option(help: "Resend's API key (env BULLPEN_RESEND_API_KEY); without one, emails are retried, then parked.")
    var resendAPIKey: String = Environment.value("BULLPEN_RESEND_API_KEY", default: "")

    @Option(help: "The sender of Bullpen's emails, \"Name <address>\" (env BULLPEN_EMAIL_FROM).")
    var emailFrom: String = Environment.value("BULLPEN_EMAIL_FROM", default: "Bullpen <bullpen@localhost>")

    @Option(help: "Where operator alerts are emailed (env BULLPEN_OPERATOR_EMAIL); without one they are skipped.")
    var operatorEmail: String = Environment.value("BULLPEN_OPERATOR_EMAIL", default: "")

    @Option(help: "The client portal's base URL, for links in clients' emails (env BULLPEN_PORTAL_URL).")
    var portalURL: String = Environment.value("BULLPEN_PORTAL_URL", default: "http://localhost:3000")

    @Option(help: "Seconds a provider has to answer (Resend, Slack, Discord).")
    var providerTimeoutSeconds: Int = 10

    /// The notification handler; the templates are read and checked now.
    func handler(logger: Logger) throws -> NotificationHandler {
        let templates: NotificationTemplates
        do { templates = try NotificationTemplates(folder: self.templates) } catch {
            throw ValidationError("\(error)")
        }
        guard (1...120).contains(providerTimeoutSeconds) else {
            throw ValidationError("--provider-timeout-seconds must be 1...120")
        }
        let timeout = Duration.seconds(providerTimeoutSeconds)
        if resendAPIKey.isEmpty { logger.warning("no BULLPEN_RESEND_API_KEY: emails cannot be sent by this worker") }
        var channels = NotificationChannels(
            resend: resendAPIKey.isEmpty
                ? nil : ResendClient(baseURL: resendURL, apiKey: resendAPIKey, timeout: timeout),
            from: emailFrom, operatorEmail: operatorEmail.isEmpty ? nil : operatorEmail)
        channels.slack = SlackWebhook(timeout: timeout)
        channels.discord = DiscordWebhook(timeout: timeout)
        channels.portalURL = portalURL
        // The operators' chat webhooks are credentials: from the environment only, never an option.
        channels.operatorSlack = Environment.value("BULLPEN_OPERATOR_SLACK_WEBHOOK", default: "").nilIfEmpty
        channels.operatorDiscord = Environment.value("BULLPEN_OPERATOR_DISCORD_WEBHOOK", default: "").nilIfEmpty
        return NotificationHandler(channels: channels, templates: templates)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
