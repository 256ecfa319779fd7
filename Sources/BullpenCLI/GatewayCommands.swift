import ArgumentParser
import BullpenDomain
import BullpenSandbox
import Foundation
import Logging
import OpenClaw

/// Where Bullpen finds the OpenClaw gateway, and the device key it signs in with.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's WebSocket URL (env BULLPEN_GATEWAY_URL).")
    var gatewayURL: String = Environment.value("BULLPEN_GATEWAY_URL", default: "ws://127.0.0.1:18789")

    @Option(help: "The gateway token (env BULLPEN_GATEWAY_TOKEN).")
    var gatewayToken: String = Environment.value("BULLPEN_GATEWAY_TOKEN", default: "")

    @Option(help: "The device key file, made on first use with mode 0600 (env BULLPEN_DEVICE_KEY).")
    var deviceKey: String = Environment.value(
        "BULLPEN_DEVICE_KEY", default: Environment.value("BULLPEN_DATA", default: ".data") + "/device.key")

    @Option(
        help:
            "Seconds a run start waits for the gateway's first answer, a connection included, before it is retried (env BULLPEN_GATEWAY_ACCEPT_SECONDS)."
    )
    var gatewayAcceptSeconds: Double = Double(Environment.value("BULLPEN_GATEWAY_ACCEPT_SECONDS", default: "15")) ?? 15

    @Flag(
        inversion: .prefixedNo,
        help:
            "Ask the gateway for operator.admin too, which it requires of a run that names a model (a Scale configuration's); an already paired device must be approved again (env BULLPEN_GATEWAY_ADMIN=1)."
    )
    var gatewayAdmin: Bool = Environment.value("BULLPEN_GATEWAY_ADMIN", default: "0") == "1"

    func configuration(instance: String) throws -> GatewayClient.Configuration {
        guard !gatewayToken.isEmpty else { throw ValidationError("no gateway token: set BULLPEN_GATEWAY_TOKEN") }
        let identity: DeviceIdentity
        do { identity = try DeviceIdentity.loadOrCreate(at: deviceKey) } catch {
            throw ValidationError("\(error)")
        }
        return GatewayClient.Configuration(
            url: gatewayURL, token: gatewayToken, identity: identity,
            instanceID: "\(instance)-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)",
            scopes: gatewayAdmin ? Handshake.adminScopes : Handshake.scopes)
    }
}

/// `bullpen gateway status`: signs in to the gateway and shows the device, the connection and the gateway's status.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "The OpenClaw gateway connection.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect once: the device id, the negotiated protocol, the tick, and the gateway's status.")
        @OptionGroup var gateway: GatewayOptions
        @Option(help: "Seconds to wait for the connection.") var timeout: Double = 10

        func run() async throws {
            Logs.bootstrap()
            let client = GatewayClient(
                configuration: try gateway.configuration(instance: "bullpen-cli"),
                logger: Logger(label: "bullpen.gateway"))
            let running = Task { try await client.run() }
            defer { running.cancel() }
            print("device id:  \(client.status.deviceID)")
            print("gateway:    \(gateway.gatewayURL)")
            do {
                let status = try await client.request("status", [:], timeout: .milliseconds(Int64(timeout * 1000)))
                let state = client.status
                print(
                    "connected:  yes (protocol \(state.protocolVersion.map(String.init) ?? "?"), tick every \(state.tickInterval.map { "\($0)" } ?? "?"))"
                )
                print("last tick:  \(state.lastTick.map { "\($0)" } ?? "none yet")")
                print("status:     \(String(decoding: try JSONEncoder().encode(status), as: UTF8.self))")
            } catch {
                print("connected:  no (\(client.status.lastError ?? "\(error)"))")
                throw CLIFailure(.unreachable, "\(error)")
            }
        }
    }
}

/// `bullpen sandbox gateway`: local stand-ins for the outside services, speaking their wire protocols.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox", abstract: "Local stand-ins for outside services (tests and the demo).",
        subcommands: [Gateway.self, Outbound.self, Stripe.self, Clerk.self])

    struct Clerk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "A Clerk instance's stand-in: its JWKS (/.well-known/jwks.json), Backend API users, sessions and session tokens (POST /v1/users, /v1/sessions, /v1/sessions/<id>/tokens|revoke with Bearer <secret key>), a sign-in page (/sign-in?redirect_url=) that comes back with Clerk's handshake; POST /sandbox/rotate-keys."
        )
        @Option(help: "Listen address.") var host: String = "127.0.0.1"
        @Option(help: "Listen port.") var port: Int = 18791
        @Option(help: "The issuer the tokens name (default: http://<host>:<port>).") var issuer: String?
        @Option(help: "The Backend API's secret key (env BULLPEN_CLERK_SECRET_KEY).")
        var secretKey: String = Environment.value("BULLPEN_CLERK_SECRET_KEY", default: "sk_test_sandbox")
        @Option(help: "Seconds a session token lasts (Clerk's: 60).") var tokenSeconds: Double = 60
        @Option(help: "Users to have at start, comma-separated: an email address, or email=user_id.")
        var users: String = ""

        func run() async throws {
            Logs.bootstrap()
            let clerk = try SandboxClerk(
                configuration: .init(
                    host: host, port: port, issuer: issuer, secretKey: secretKey, tokenLifetime: tokenSeconds),
                logger: Logger(label: "bullpen.sandbox.clerk"))
            for user in Environment.list(users) {
                let parts = user.split(separator: "=", maxSplits: 1).map(String.init)
                _ = clerk.createUser(email: parts[0], id: parts.count == 2 ? parts[1] : nil)
            }
            try await clerk.application().runService()
        }
    }

    struct Stripe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Stripe's Checkout Sessions API (POST /v1/checkout/sessions) and its signed webhooks: POST /sandbox/checkout/sessions/<id>/pay, then /sandbox/customers/<id>/renew|fail|change|cancel; {\"order\": \"shuffled\", \"duplicates\": n}."
        )
        @Option(help: "Listen address.") var host: String = "127.0.0.1"
        @Option(help: "Listen port.") var port: Int = 12111
        @Option(help: "Where the webhooks go (ingest's /webhooks/stripe).") var webhookURL: String?
        @Option(help: "The webhook signing secret (env BULLPEN_STRIPE_WEBHOOK_SECRET; the first of a list).")
        var webhookSecret: String = Environment.value("BULLPEN_STRIPE_WEBHOOK_SECRET", default: "")
        @Option(help: "The plans file: the prices the stand-in knows (env BULLPEN_PLANS).")
        var plans: String = Environment.value("BULLPEN_PLANS", default: "Config/plans.json")

        func run() async throws {
            guard webhookURL == nil || webhookSecret.hasPrefix("whsec_") else {
                throw ValidationError("give --webhook-secret whsec_... or set BULLPEN_STRIPE_WEBHOOK_SECRET")
            }
            let catalog: PlanCatalog
            do { catalog = try PlanCatalog.load(from: plans) } catch { throw ValidationError("\(error)") }
            Logs.bootstrap()
            let stripe = SandboxStripe(
                configuration: .init(
                    host: host, port: port, webhookURL: webhookURL,
                    webhookSecret: Environment.list(webhookSecret).first ?? "", catalog: catalog),
                logger: Logger(label: "bullpen.sandbox.stripe"))
            try await stripe.application().runService()
        }
    }

    struct Outbound: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Resend (POST /emails), Slack (POST /slack/<hook>) and Discord (POST /discord/<id>/<token>) stand-ins that record what they receive; faults via POST /sandbox/faults, what came in at GET /sandbox/state; POST /sandbox/slack/messages {channel, text} sends Slack's signed event to --slack-events-url. With a Discord bot token, Discord's Gateway at ws://HOST:PORT/discord/gateway: POST /sandbox/discord/messages {channelId, content} posts a person's message, /sandbox/discord/drop, /reconnect, /invalidate and /replay-all take the sessions through what Discord does."
        )
        @Option(help: "Listen address.") var host: String = "127.0.0.1"
        @Option(help: "Listen port.") var port: Int = 18790
        @Option(help: "Where Slack's events go (ingest's /webhooks/slack).") var slackEventsURL: String?
        @Option(help: "The Slack app's signing secret (env BULLPEN_SLACK_SIGNING_SECRET; the first of a list).")
        var slackSigningSecret: String = Environment.value("BULLPEN_SLACK_SIGNING_SECRET", default: "")
        @Option(
            help:
                "The bot token the Discord Gateway stand-in accepts (env BULLPEN_DISCORD_BOT_TOKEN; none: no Gateway).")
        var discordBotToken: String = Environment.value("BULLPEN_DISCORD_BOT_TOKEN", default: "")

        func run() async throws {
            Logs.bootstrap()
            let outbound = SandboxOutbound(
                configuration: .init(
                    host: host, port: port, slackEventsURL: slackEventsURL,
                    slackSigningSecret: Environment.list(slackSigningSecret).first ?? "",
                    discordBotToken: discordBotToken.isEmpty ? nil : discordBotToken),
                logger: Logger(label: "bullpen.sandbox.outbound"))
            try await outbound.application().runService()
        }
    }

    struct Gateway: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A protocol-true OpenClaw gateway with a simulated agent; faults via POST /sandbox/faults.")
        @Option(help: "Listen address.") var host: String = "127.0.0.1"
        @Option(help: "Listen port.") var port: Int = 18789
        @Option(help: "The gateway token clients must send (env BULLPEN_GATEWAY_TOKEN).")
        var token: String = Environment.value("BULLPEN_GATEWAY_TOKEN", default: "")
        @Option(help: "Milliseconds between ticks.") var tickMs: Int = 1000
        @Option(help: "Milliseconds the simulated agent works before it calls back.") var runMs: Int = 200
        @Option(help: "Comma-separated agent ids the gateway knows (default: any).") var agents: String?
        @Option(help: "Where the lifecycle hook posts each run's command:new and command:stop (default: none).")
        var hookURL: String?
        @Option(help: "The secret the hook signs with (env BULLPEN_HOOK_SECRET).")
        var hookSecret: String = Environment.value("BULLPEN_HOOK_SECRET", default: "")

        func run() async throws {
            guard !token.isEmpty else { throw ValidationError("give --token or set BULLPEN_GATEWAY_TOKEN") }
            Logs.bootstrap()
            let gateway = SandboxGateway(
                configuration: .init(
                    host: host, port: port, token: token, tickInterval: .milliseconds(tickMs),
                    runDuration: .milliseconds(runMs),
                    agents: agents.map { Set($0.split(separator: ",").map(String.init)) }, hookURL: hookURL,
                    hookSecret: hookSecret.isEmpty ? nil : hookSecret),
                logger: Logger(label: "bullpen.sandbox.gateway"))
            try await gateway.application().runService()
        }
    }
}
