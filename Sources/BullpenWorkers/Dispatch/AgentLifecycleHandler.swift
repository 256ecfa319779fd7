import BullpenDomain
import BullpenMessaging
import BullpenStore
import PostgreSQL

/// `agent.lifecycle`: the gateway's hook, applied: the agent's last-seen time and status, and an events row.
public struct AgentLifecycleHandler: MessageHandler {
    public typealias Message = AgentLifecycleMessage

    public init() {}

    public func handle(
        _ message: AgentLifecycleMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        guard let event = message.event else {
            throw HandlerError.park(reason: "unknown lifecycle event \(message.kind)")
        }
        try AgentLifecycleStore.record(event, messageID: inbound.messageID, in: tx)
        return .applied
    }
}
