import BullpenDomain
import BullpenMessaging

/// Every handler of the worker; each serves the queue its message type names.
public enum Handlers {
    /// What the dispatch handlers need: the gateway, the callback tokens' secret and the URL agents report to.
    public struct Dispatch: Sendable {
        public var gateway: any AgentGateway
        public var tokens: CallbackTokenIssuer?
        public var callbackURL: String
        /// Tasks released by a completion (their dependencies all complete) are dispatched at once.
        public var autoDispatch: Bool
        /// How long a run start waits for the gateway's first answer (a connection included) before it is
        /// retried through the dispatch queue's tiers.
        public var acceptTimeout: Duration

        public init(
            gateway: any AgentGateway, tokens: CallbackTokenIssuer?, callbackURL: String, autoDispatch: Bool = false,
            acceptTimeout: Duration = .seconds(15)
        ) {
            self.gateway = gateway
            self.tokens = tokens
            self.callbackURL = callbackURL
            self.autoDispatch = autoDispatch
            self.acceptTimeout = acceptTimeout
        }

        /// No gateway: run starts fail with the reason (retried, then parked, the task marked dispatch failed).
        public static let unconfigured = Dispatch(
            gateway: UnconfiguredGateway(reason: "no OpenClaw gateway is configured (BULLPEN_GATEWAY_TOKEN)"),
            tokens: nil, callbackURL: "")
    }

    /// `notify`: the notification handler, when this process sends notifications.
    public static func all(
        dispatch: Dispatch = .unconfigured, notify: NotificationHandler? = nil
    ) -> [any MessageHandler] {
        [
            TaskResultHandler(autoDispatch: dispatch.autoDispatch), CommandHandler(),
            DispatchRequestHandler(tokens: dispatch.tokens),
            AgentLifecycleHandler(), BillingHandler(), IntakeHandler(), IntakeConfirmationHandler(),
            ChatMessageHandler<SlackMessageReceived>(), ChatMessageHandler<DiscordMessageReceived>(),
            RunStartHandler(
                gateway: dispatch.gateway, tokens: dispatch.tokens, callbackURL: dispatch.callbackURL,
                acceptTimeout: dispatch.acceptTimeout),
            SessionRequestHandler(gateway: dispatch.gateway, timeout: dispatch.acceptTimeout),
        ] + (notify.map { [$0] } ?? [])
    }

    /// The registry a worker process runs with.
    public static func registry(
        dispatch: Dispatch = .unconfigured, notify: NotificationHandler? = nil
    ) throws -> HandlerRegistry {
        try HandlerRegistry(all(dispatch: dispatch, notify: notify))
    }
}
