import BullpenDomain
import Foundation
import PostgreSQL

/// Agent rows, as operators register and change them.
public enum AgentStore {
    /// Registers an agent, online; refused when the name is taken.
    public static func register(_ new: NewAgent, messageID: String, in tx: PGConnection) throws -> Int64 {
        let id: Int64 = try Refusals.unique("an agent named \(new.name) exists already") {
            try tx.query(
                """
                INSERT INTO agents (name, status, specialization, capabilities, model, max_concurrent_tasks, soul,
                                    cost_per_task_cents)
                VALUES ($1, 'online', $2, $3::text[], $4, coalesce($5, 1), $6, $7) RETURNING id
                """,
                [
                    new.name, new.specialization?.rawValue, PGArray((new.capabilities ?? []).map(\.rawValue)),
                    new.model,
                    new.maxConcurrentTasks, new.soul, new.costPerTaskCents,
                ]
            ).first!.decode("id")
        }
        try EventLog.record(
            "agent.registered", "Agent \(id) (\(new.name)) registered", about: .init(agentID: id), messageID: messageID,
            in: tx)
        return id
    }

    public static func update(_ changes: AgentChanges, messageID: String, in tx: PGConnection) throws {
        let updated = try Refusals.unique("another agent is named \(changes.name ?? "")") {
            try tx.query(
                """
                UPDATE agents SET name = coalesce($2, name), specialization = coalesce($3, specialization),
                       capabilities = coalesce($4::text[], capabilities), model = coalesce($5, model),
                       max_concurrent_tasks = coalesce($6, max_concurrent_tasks), soul = coalesce($7, soul),
                       cost_per_task_cents = coalesce($8, cost_per_task_cents)
                 WHERE id = $1
                """,
                [
                    changes.id, changes.name, changes.specialization?.rawValue,
                    changes.capabilities.map { PGArray($0.map(\.rawValue)) }, changes.model, changes.maxConcurrentTasks,
                    changes.soul, changes.costPerTaskCents,
                ]
            ).rowsAffected
        }
        guard updated == 1 else { throw CommandRejection("there is no agent \(changes.id)") }
        try EventLog.record(
            "agent.updated", "Agent \(changes.id) updated", about: .init(agentID: changes.id), messageID: messageID,
            in: tx)
    }

    /// `agent.set_status`: the operator's status and reason. Offline and paused are the operator's (liveness
    /// leaves them); online hands the agent back to liveness, seen now.
    public static func setStatus(_ change: AgentStatusChange, messageID: String, in tx: PGConnection) throws {
        guard
            let row = try tx.query(
                """
                UPDATE agents a SET status = $2, status_reason = $3,
                       status_set_by = CASE WHEN $2 = 'online' THEN 'liveness' ELSE 'operator' END,
                       last_seen = CASE WHEN $2 = 'online' THEN greatest(a.last_seen, now()) ELSE a.last_seen END
                  FROM agents b
                 WHERE a.id = $1 AND b.id = a.id RETURNING b.status AS previous
                """, [change.id, change.status.rawValue, change.reason]
            ).first
        else { throw CommandRejection("there is no agent \(change.id)") }
        let previous: String = try row.decode("previous")
        try EventLog.record(
            "agent.status_set",
            "Agent \(change.id) set \(change.status.rawValue) by an operator (was \(previous))"
                + (change.reason.map { ": \($0)" } ?? ""),
            data: String(
                decoding: try JSONSerialization.data(
                    withJSONObject: ["status": change.status.rawValue, "reason": change.reason as Any? ?? NSNull()],
                    options: [.sortedKeys]), as: UTF8.self),
            about: .init(agentID: change.id), messageID: messageID, in: tx)
    }

    public static func setOffline(_ offline: AgentOffline, messageID: String, in tx: PGConnection) throws {
        guard
            let row = try tx.query(
                """
                UPDATE agents a SET status = 'offline', status_set_by = 'operator',
                       status_reason = 'set offline by an operator'
                  FROM agents b
                 WHERE a.id = $1 AND b.id = a.id RETURNING b.status AS previous
                """, [offline.id]
            ).first
        else { throw CommandRejection("there is no agent \(offline.id)") }
        guard try row.decode("previous", as: String.self) != "offline" else {
            throw CommandRejection("agent \(offline.id) is offline already")
        }
        try EventLog.record(
            "agent.offline", "Agent \(offline.id) set offline", about: .init(agentID: offline.id),
            messageID: messageID, in: tx)
    }

    /// Sets (or replaces) an agent's configuration for a Scale client, and marks the agent as that client's
    /// custom agent. Refused for a client on another plan.
    public static func configure(
        _ configuration: AgentConfiguration, messageID: String, in tx: PGConnection
    ) throws
        -> Int64
    {
        guard
            let client = try tx.query(
                """
                SELECT c.plan, coalesce(p.custom_agents, false) AS custom_agents
                  FROM clients c LEFT JOIN plans p ON p.id = c.plan WHERE c.id = $1
                """, [configuration.clientId]
            ).first
        else { throw CommandRejection("there is no client \(configuration.clientId)") }
        let plan = try client.decode("plan", as: String?.self)
        guard try client.decode("custom_agents", as: Bool.self) else {
            throw CommandRejection(
                "agent configurations are for clients whose plan allows custom agents (Scale); client \(configuration.clientId) is on \(plan ?? "no plan")"
            )
        }
        if let model = configuration.model, try ModelPriceStore.price(of: model, on: tx) == nil {
            throw CommandRejection(
                "the model \(model) is not one the gateway is known to offer (Config/models.json names the models a configuration may use)"
            )
        }
        let documents = configuration.knowledge ?? []
        let id: Int64 = try tx.query(
            """
            INSERT INTO agent_configs (client_id, agent_id, name, system_prompt, brand_guidelines, model, thinking,
                                       temperature, tools, knowledge_base)
            VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '{}',
                    ARRAY(SELECT 'sha256-' || encode(sha256(convert_to(b, 'UTF8')), 'hex') FROM unnest($8::text[]) AS b))
            ON CONFLICT (client_id, agent_id) DO UPDATE SET name = EXCLUDED.name, system_prompt = EXCLUDED.system_prompt,
                brand_guidelines = EXCLUDED.brand_guidelines, model = EXCLUDED.model, thinking = EXCLUDED.thinking,
                temperature = NULL, tools = '{}', knowledge_base = EXCLUDED.knowledge_base, updated_at = now()
            RETURNING id
            """,
            [
                configuration.clientId, configuration.id, configuration.name, configuration.systemPrompt,
                configuration.brandGuidelines, configuration.model, configuration.thinking?.rawValue,
                PGArray(documents.map(\.text)),
            ]
        ).first!.decode("id")
        try tx.query("DELETE FROM agent_knowledge WHERE config_id = $1", [id])
        if !documents.isEmpty {
            try tx.query(
                """
                INSERT INTO agent_knowledge (config_id, name, content_type, body, file_id)
                SELECT $1, d.name, d.type, d.body, 'sha256-' || encode(sha256(convert_to(d.body, 'UTF8')), 'hex')
                  FROM unnest($2::text[], $3::text[], $4::text[]) AS d(name, type, body)
                """,
                [
                    id, PGArray(documents.map(\.name)), PGArray(documents.map(\.contentType)),
                    PGArray(documents.map(\.text)),
                ])
        }
        _ = try tx.query(
            "UPDATE agents SET is_custom = true, custom_for_client_id = $2 WHERE id = $1",
            [configuration.id, configuration.clientId])
        try EventLog.record(
            "agent.configured", "Agent \(configuration.id) configured for client \(configuration.clientId)",
            about: .init(clientID: configuration.clientId, agentID: configuration.id), messageID: messageID, in: tx)
        return id
    }
}
