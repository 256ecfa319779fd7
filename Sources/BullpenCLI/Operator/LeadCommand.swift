import ArgumentParser

/// `bullpen lead list|update`: the briefs that came through the public intake form (`POST /v1/intake`).
struct LeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lead", abstract: "Leads: briefs from the public intake form.",
        subcommands: [List.self, Update.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leads, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this status's (new, contacted, converted, discarded).") var status: String?
        @Option(help: "Only this address's.") var email: String?

        func run() throws {
            Output.list(
                try api.client().get(Output.path("/v1/leads", page.query + [("status", status), ("email", email)])),
                api: api, columns: ["id", "name", "email", "company", "plan", "status", "clientId", "createdAt"])
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a lead on: contacted, discarded, or new.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "new, contacted or discarded.") var status: String

        func run() throws {
            try Output.issue("PATCH", "/v1/leads/\(id)", ["status": status], api: api, wait: wait)
        }
    }
}
