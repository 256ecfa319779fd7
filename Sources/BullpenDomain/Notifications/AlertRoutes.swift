import Foundation

/// Where each kind of operator alert goes (`Config/alerts.json`): email, the operators' Slack channel, their
/// Discord channel, or several. A kind the file does not name goes by email, as before routes existed.
/// `bullpen migrate` writes the routes to the database, where the statement that writes an alert fans it out
/// to one notification per channel (each sent once, on its own).
public struct AlertRoutes: Sendable, Equatable {
    public var routes: [NotificationKind: [NotificationChannel]]

    public init(routes: [NotificationKind: [NotificationChannel]] = [:]) { self.routes = routes }

    /// The channels a kind goes to.
    public func channels(_ kind: NotificationKind) -> [NotificationChannel] { routes[kind] ?? [.email] }

    /// `{"routes": {"dispatch-failed": ["email", "slack"], ...}}`: operator kinds only, each with one channel
    /// or more, each channel once; anything else is refused, naming what.
    public static func parse(_ data: Data) throws(ValidationError) -> AlertRoutes {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let given = object["routes"] as? [String: Any]
        else { throw ValidationError(field: "routes", message: "must be an object of kind: [channel, ...]") }
        var routes: [NotificationKind: [NotificationChannel]] = [:]
        for (name, value) in given {
            guard let kind = NotificationKind(rawValue: name), kind.audience == .operators else {
                throw ValidationError(field: "routes.\(name)", message: "is not a kind of operator alert")
            }
            guard let names = value as? [String], !names.isEmpty else {
                throw ValidationError(field: "routes.\(name)", message: "must list one channel or more")
            }
            var channels: [NotificationChannel] = []
            for channelName in names {
                guard let channel = NotificationChannel(rawValue: channelName) else {
                    throw ValidationError(
                        field: "routes.\(name)", message: "\(channelName) is not a channel (email, slack, discord)")
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
            routes[kind] = channels
        }
        return AlertRoutes(routes: routes)
    }

    /// Reads the file; a missing one routes every alert by email.
    public static func load(from path: String) throws -> AlertRoutes {
        try ConfigFile.load(path, missing: AlertRoutes()) { data in try parse(data) }
    }
}
