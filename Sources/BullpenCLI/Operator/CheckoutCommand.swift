import ArgumentParser
import BullpenAPIClient
import Foundation

/// `bullpen checkout`: what the pricing page does, from a terminal: a Stripe Checkout Session for a plan
/// (`POST /v1/checkout`, no token needed). The client pays on the session's page; Stripe's webhooks then make
/// the client, its subscription and its first project.
struct CheckoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout", abstract: "Start a purchase: a Stripe Checkout Session for a plan; prints its URL.")

    @Option(help: "Ingest's base URL (env BULLPEN_URL).") var url: String?
    @Option(help: "sprint, pro or scale.") var plan: String
    @Option(help: "The buyer's email address.") var email: String
    @Option(help: "What the client wants first: its first project's brief.") var brief: String?
    @Flag(help: "Print the API's JSON.") var json = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let base =
            url ?? environment["BULLPEN_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "http://127.0.0.1:\(environment["BULLPEN_HTTP_PORT"] ?? "8080")"
        var body: [String: Any] = ["plan": plan, "email": email]
        body["brief"] = brief
        let started = try APIClient(baseURL: base, token: "").post("/v1/checkout", body)
        if json {
            print(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: started, options: [.sortedKeys]), as: UTF8.self
                ))
        } else {
            print("\(started["sessionId"] as? String ?? "")\t\(started["url"] as? String ?? "")")
        }
    }
}
