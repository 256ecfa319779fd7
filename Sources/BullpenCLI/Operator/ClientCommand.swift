import ArgumentParser

/// `bullpen client create|update|list|show`.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Clients of the agency.",
        subcommands: [Create.self, Update.self, List.self, Show.self])

    static let columns = ["id", "name", "email", "company", "status", "plan", "createdAt"]

    /// The fields create and update share.
    struct Details: ParsableArguments {
        @Option var company: String?
        @Option(help: "sprint, pro or scale.") var plan: String?
        @Option(help: "portal, email, slack or discord.") var channel: String?
        @Option(help: "IANA time zone, e.g. Europe/Berlin.") var timezone: String?
        @Option(help: "The client's Slack incoming webhook URL, for chat notifications.") var slackWebhook: String?
        @Option(help: "The client's Discord webhook URL, for chat notifications.") var discordWebhook: String?
        @Option(help: "The client's Slack channel id (C0123ABCD): its people's messages there come onto the thread.")
        var slackChannel: String?
        @Option(
            help: "The client's Discord channel id (a snowflake): its people's messages there come onto the thread.")
        var discordChannel: String?
        @Option(help: "The client's Clerk user id (user_...): its Clerk sign-in opens the portal as this client.")
        var clerkUser: String?

        func add(to body: inout [String: Any]) {
            body["company"] = company
            body["plan"] = plan
            body["channel"] = channel
            body["timezone"] = timezone
            body["slackWebhookUrl"] = slackWebhook
            body["discordWebhookUrl"] = discordWebhook
            body["slackChannelId"] = slackChannel
            body["discordChannelId"] = discordChannel
            body["clerkUserId"] = clerkUser
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a client.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var name: String
        @Option var email: String
        @OptionGroup var details: Details

        func run() throws {
            var body: [String: Any] = ["name": name, "email": email]
            details.add(to: &body)
            try Output.issue("POST", "/v1/clients", body, api: api, wait: wait)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a client's details.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var name: String?
        @Option var email: String?
        @OptionGroup var details: Details
        @Option(help: "active, inactive or churned.") var status: String?

        func run() throws {
            var body: [String: Any] = [:]
            body["name"] = name
            body["email"] = email
            body["status"] = status
            details.add(to: &body)
            try Output.issue("PATCH", "/v1/clients/\(id)", body, api: api, wait: wait)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option var status: String?
        @Option(help: "The client with this email address.") var email: String?

        func run() throws {
            let path = Output.path("/v1/clients", page.query + [("status", status), ("email", email)])
            Output.list(try api.client().get(path), api: api, columns: ClientCommand.columns)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a client and its projects.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            let client = try api.client().get("/v1/clients/\(id)")
            Output.show(client, api: api, fields: ClientCommand.columns + ["channel", "timezone"])
            if !api.json {
                print("")
                Output.list(["data": client["projects"] ?? []], api: api, columns: ProjectCommand.columns)
            }
        }
    }
}
