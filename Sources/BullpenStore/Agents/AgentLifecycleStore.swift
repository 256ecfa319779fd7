import BullpenDomain
import Foundation
import PostgreSQL

/// What the gateway's lifecycle hook changes: the named agent's last-seen time (and online again when a
/// session starts or it boots), and an events row either way.
public enum AgentLifecycleStore {
    public static func record(_ event: AgentLifecycleEvent, messageID: String, in tx: PGConnection) throws {
        var agentID: Int64?
        if let name = event.agentName {
            agentID = try tx.query(
                """
                UPDATE agents SET last_seen = now(),
                       status = CASE WHEN $2 AND status = 'offline' THEN 'online' ELSE status END
                 WHERE name = $1 RETURNING id
                """, [name, event.marksOnline]
            ).first?.decode("id")
        }
        var data: [String: Any] = ["event": event.kind.rawValue]
        data["sessionKey"] = event.sessionKey
        if let context = event.contextJSON, let object = try? JSONSerialization.jsonObject(with: Data(context.utf8)) {
            data["context"] = object
        }
        let json = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])).map {
            String(decoding: $0, as: UTF8.self)
        }
        let who =
            event.agentName.map { name in agentID == nil ? "unknown agent \(name)" : "agent \(name)" } ?? "the gateway"
        try EventLog.record(
            eventType(event.kind), "\(event.kind.rawValue) from \(who)", data: json ?? "{}",
            about: .init(agentID: agentID), messageID: messageID, in: tx)
    }

    static func eventType(_ kind: AgentLifecycleEvent.Kind) -> String {
        switch kind {
        case .commandNew: return "agent.session_started"
        case .commandReset: return "agent.session_reset"
        case .commandStop: return "agent.session_stopped"
        case .agentBootstrap: return "agent.bootstrapped"
        case .gatewayStartup: return "gateway.started"
        }
    }

    /// Online agents not seen for `limit` go offline (the heartbeat check); returns their ids.
    public static func markSilentOffline(limit: Duration, messageID: String, in tx: PGConnection) throws -> [Int64] {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        let silent: [Int64] = try tx.query(
            """
            UPDATE agents SET status = 'offline'
             WHERE status <> 'offline' AND last_seen < now() - $1 * interval '1 second'
            RETURNING id
            """, [seconds]
        ).rows.map { try $0.decode("id") }
        for id in silent {
            try EventLog.record(
                "agent.offline", "Agent \(id) went offline: silent for more than \(Int(seconds)) s",
                about: .init(agentID: id), messageID: "\(messageID):\(id)", in: tx)
        }
        return silent
    }
}
