import AMQP
import BullpenDomain
import Foundation
import PostgreSQL
import Providers

/// Settings of `bullpen ingest`, read once at start-up.
public struct IngestConfiguration: Sendable {
    /// Listen address. Default 127.0.0.1.
    public var host: String
    /// Listen port. Default 8080 (`BULLPEN_HTTP_PORT`).
    public var port: Int
    public var amqp: AMQPConfiguration
    public var postgres: PostgresConfiguration
    /// Largest request body accepted. Default 1 MiB; larger bodies get 413.
    public var maxBodyBytes: Int
    /// Database connections for token look-ups (each answers a batch of waiting requests per query). Default 2.
    public var databaseConnections: Int
    /// Database connections for the read API. Default 2.
    public var readConnections: Int
    /// Requests per second (and burst) each API token may send to `/v1`; 429 beyond.
    public var rateLimit: RateLimitSettings
    /// How often a live event stream with nothing to send sends a heartbeat comment. Default 15 s.
    public var eventHeartbeat: Duration
    /// How long a client connection may idle or take to send a request.
    public var timeouts: ConnectionTimeouts
    /// How long an API token found in the database is trusted without looking again (so a revocation takes
    /// effect within it). Default 1 s; zero looks up every request.
    public var tokenCacheLifetime: Duration
    /// Secrets the gateway's lifecycle hook may sign with (more than one during a rotation); none: the hook
    /// endpoint answers 503.
    public var hookSecrets: [String]
    /// Stripe's webhook signing secrets (`whsec_...`; more than one during a rotation); none: the Stripe
    /// endpoint answers 503.
    public var stripeWebhookSecrets: [String]
    /// The Slack app's signing secrets (more than one during a rotation); none: the Slack endpoint answers 503.
    public var slackSigningSecrets: [String]
    /// Deliverables' files: the folder of the local store, the secret that signs download links, how long a
    /// link lasts and the largest upload.
    public var filesDirectory: String
    public var linkSecret: String
    public var linkLifetime: Duration
    public var maxFileBytes: Int
    /// An S3-compatible store for the files instead of the local folder; nil: the local folder.
    public var s3: S3Settings?
    /// `POST /v1/checkout`: Stripe's API and the plans; nil answers 503 (no Stripe secret key).
    public var checkout: CheckoutSettings?
    /// Load balancers whose `X-Forwarded-For` names the sender of a public form (for its rate limits). Default
    /// none: the peer is the sender.
    public var trustedProxies: Set<String> = []
    /// The client portal and the operator console (nil: no web pages).
    public var web: WebSettings?

    public struct CheckoutSettings: Sendable {
        public var stripe: StripeClient
        public var catalog: PlanCatalog
        /// Where Stripe sends the client after paying (`{CHECKOUT_SESSION_ID}` is Stripe's placeholder) and
        /// after giving up.
        public var successURL: String
        public var cancelURL: String
        /// Sessions one sender may start: a burst, then one per `refillSeconds`.
        public var perAddressBurst: Int
        public var refillSeconds: Double

        public init(
            stripe: StripeClient, catalog: PlanCatalog, successURL: String, cancelURL: String, perAddressBurst: Int = 3,
            refillSeconds: Double = 600
        ) {
            self.stripe = stripe
            self.catalog = catalog
            self.successURL = successURL
            self.cancelURL = cancelURL
            self.perAddressBurst = perAddressBurst
            self.refillSeconds = refillSeconds
        }
    }

    /// Where an S3-compatible file store is, and its credentials (never logged).
    public struct S3Settings: Sendable {
        public var endpoint: String
        public var bucket: String
        public var accessKey: String
        public var secretKey: String
        public var region: String

        public init(
            endpoint: String, bucket: String, accessKey: String, secretKey: String, region: String = "us-east-1"
        ) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.region = region
        }
    }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        maxBodyBytes: Int = 1 << 20, databaseConnections: Int = 2, readConnections: Int = 2,
        rateLimit: RateLimitSettings = .init(), eventHeartbeat: Duration = .seconds(15),
        timeouts: ConnectionTimeouts = .init(), tokenCacheLifetime: Duration = .seconds(1), hookSecrets: [String] = [],
        filesDirectory: String = ".data/files", linkSecret: String = UUID().uuidString + UUID().uuidString,
        linkLifetime: Duration = .seconds(900), maxFileBytes: Int = 10 << 20, s3: S3Settings? = nil,
        stripeWebhookSecrets: [String] = [], slackSigningSecrets: [String] = [], checkout: CheckoutSettings? = nil
    ) {
        self.host = host
        self.port = port
        self.amqp = amqp
        self.postgres = postgres
        self.maxBodyBytes = maxBodyBytes
        self.databaseConnections = databaseConnections
        self.readConnections = readConnections
        self.rateLimit = rateLimit
        self.eventHeartbeat = eventHeartbeat
        self.timeouts = timeouts
        self.tokenCacheLifetime = tokenCacheLifetime
        self.hookSecrets = hookSecrets
        self.filesDirectory = filesDirectory
        self.linkSecret = linkSecret
        self.linkLifetime = linkLifetime
        self.maxFileBytes = maxFileBytes
        self.s3 = s3
        self.stripeWebhookSecrets = stripeWebhookSecrets
        self.slackSigningSecrets = slackSigningSecrets
        self.checkout = checkout
    }
}
