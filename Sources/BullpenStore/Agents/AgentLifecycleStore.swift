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
                       status = CASE WHEN $2 AND status = 'offline' AND status_set_by = 'liveness' THEN 'online'
                                     ELSE status END
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

    /// Applies ``AgentLiveness`` to every agent at `now`: `listed` is what the gateway's `agents.list` said (nil
    /// when it was not asked), `limit` how long an agent may stay unheard. Each status change is a conditional
    /// update with an events row, so two workers deciding the same change write it once. Returns the changes
    /// written.
    @discardableResult
    public static func checkLiveness(
        listed: Set<String>?, now: Date, limit: Duration, messageID: String, in tx: PGConnection
    ) throws -> [AgentLiveness.Change] {
        let agents = try tx.query(
            "SELECT id, name, status, status_set_by, last_seen, listed_at FROM agents ORDER BY id"
        ).rows.map { row in
            AgentLiveness.Agent(
                id: try row.decode("id"), name: try row.decode("name"),
                status: AgentStatus(rawValue: try row.decode("status")) ?? .offline,
                setByOperator: try row.decode("status_set_by", as: String.self) == "operator",
                lastSeen: try row.decode("last_seen"), listedAt: try row.decode("listed_at", as: Date?.self))
        }
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        var written: [AgentLiveness.Change] = []
        let changes = AgentLiveness.decide(agents, listed: listed, now: now, silenceLimit: seconds)
        let seen = changes.compactMap { change -> Int64? in
            if case .listed(let id) = change { return id }
            return nil
        }
        if !seen.isEmpty {
            try tx.query(
                "UPDATE agents SET last_seen = greatest(last_seen, $2), listed_at = $2 WHERE id = ANY($1::bigint[])",
                [PGArray(seen.map(String.init)), now])
        }
        for change in changes {
            let (id, status, reason): (Int64, AgentStatus, String)
            switch change {
            case .listed: continue
            case .online(let agent, let why): (id, status, reason) = (agent, .online, why)
            case .offline(let agent, let why): (id, status, reason) = (agent, .offline, why)
            }
            let changed =
                try tx.query(
                    """
                    UPDATE agents SET status = $2, status_reason = $3
                     WHERE id = $1 AND status <> $2 AND status_set_by = 'liveness' RETURNING id
                    """, [id, status.rawValue, reason]
                ).first != nil
            guard changed else { continue }
            try EventLog.record(
                "agent.\(status.rawValue)", "Agent \(id) went \(status.rawValue): \(reason)",
                data: String(
                    decoding: try JSONSerialization.data(withJSONObject: ["reason": reason]), as: UTF8.self),
                about: .init(agentID: id),
                messageID: "\(messageID):\(id)", in: tx)
            written.append(change)
        }
        return written
    }
}
