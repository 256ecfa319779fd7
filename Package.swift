// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "bullpen",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bullpen", targets: ["bullpen"]),
        .executable(name: "bullpen-bench", targets: ["BullpenBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/JohnSundell/Ink.git", from: "0.6.0"),
    ],
    targets: [
        // C layers: system libraries plus header-only shims for macros and variadic calls.
        .systemLibrary(name: "CAMQP", pkgConfig: "librabbitmq", providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Thin, safe Swift layers. Nothing above these touches a C pointer.
        .target(name: "ServiceURL", swiftSettings: swiftSettings),
        // A connection attempt given up on at its handshake deadline, not waited for (OpenClaw, Discord).
        .target(name: "ConnectionDeadline", swiftSettings: swiftSettings),
        .target(name: "AMQP", dependencies: ["CAMQP", "ServiceURL"], swiftSettings: swiftSettings),
        .target(name: "PostgreSQL", dependencies: ["CPostgres", "ServiceURL"], swiftSettings: swiftSettings),
        .target(name: "HTTPClient", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        .target(name: "Providers", dependencies: ["HTTPClient"], swiftSettings: swiftSettings),
        // Clerk's session tokens: RS256 against the instance's JWKS (jwt-kit), the claims' rules, the handshake.
        .target(
            name: "Clerk", dependencies: ["HTTPClient", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: swiftSettings),
        // Deliverables' files, kept by content.
        .target(
            name: "Files", dependencies: ["HTTPClient", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // The operator API's client (libcurl), for the CLI and the benchmarks: typed commands from the domain.
        .target(
            name: "BullpenAPIClient", dependencies: ["HTTPClient", "BullpenDomain"], swiftSettings: swiftSettings),

        // Bullpen itself, from the bottom up. The domain is pure Swift (rules, message types); messaging is
        // the worker runtime over AMQP and PostgreSQL; the store holds the domain's SQL; workers, ingest and
        // the CLI sit on top.
        .target(name: "BullpenDomain", swiftSettings: swiftSettings),
        .target(
            name: "BullpenMessaging",
            dependencies: [
                "AMQP", "PostgreSQL", "BullpenDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "BullpenStore", dependencies: ["PostgreSQL", "BullpenDomain"], swiftSettings: swiftSettings),
        .target(
            name: "BullpenWorkers",
            dependencies: [
                "BullpenMessaging", "BullpenStore", "BullpenDomain", "PostgreSQL", "OpenClaw", "Providers", "Discord",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BullpenIngest",
            dependencies: [
                "BullpenMessaging", "BullpenStore", "BullpenDomain", "PostgreSQL", "AMQP", "Files", "Providers",
                "Clerk", "OpenClaw",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Ink", package: "Ink"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["OpenAPIEmbed"]
        ),
        // openapi.json embedded in ingest at build time.
        .plugin(name: "OpenAPIEmbed", capability: .buildTool(), dependencies: ["OpenAPIEmbedTool"]),
        .executableTarget(name: "OpenAPIEmbedTool", swiftSettings: swiftSettings),
        // Discord's Gateway: a bot's session rules (pure) and the connection that listens for a client's messages.
        .target(
            name: "Discord",
            dependencies: [
                "ConnectionDeadline",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The OpenClaw gateway's protocol: the client every worker shares, and the frames and handshake rules
        // that the sandbox's fake gateway checks too.
        .target(
            name: "OpenClaw",
            dependencies: [
                "ConnectionDeadline",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `bullpen sandbox`: local stand-ins that speak the outside services' real wire protocols.
        .target(
            name: "BullpenSandbox",
            dependencies: [
                "Discord",
                "OpenClaw", "HTTPClient", "BullpenDomain", "Providers", "Clerk",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Rows for the demo, the benchmarks and the tests (shipped as a library, like HummingbirdTesting).
        .target(
            name: "BullpenFixtures",
            dependencies: ["PostgreSQL", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BullpenCLI",
            dependencies: [
                "Providers",
                "BullpenIngest", "BullpenWorkers", "BullpenMessaging", "BullpenStore", "BullpenDomain",
                "BullpenFixtures",
                "AMQP", "PostgreSQL", "HTTPClient", "BullpenAPIClient", "OpenClaw", "BullpenSandbox", "Clerk",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bullpen",
            dependencies: ["BullpenCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // The load generator behind ops/bench.
        .executableTarget(
            name: "BullpenBench",
            dependencies: [
                "AMQP", "PostgreSQL", "HTTPClient", "BullpenAPIClient", "BullpenDomain", "BullpenMessaging",
                "BullpenStore", "BullpenFixtures", "BullpenSandbox", "BullpenWorkers",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // Pure tests: no broker, no database, no network; they run in seconds (`swift test --filter BullpenUnitTests`).
        .testTarget(
            name: "BullpenUnitTests",
            dependencies: [
                "AMQP", "ServiceURL", "PostgreSQL", "BullpenDomain", "BullpenMessaging", "BullpenIngest",
                "BullpenAPIClient", "OpenClaw", "BullpenSandbox", "BullpenWorkers", "BullpenStore", "Providers",
                "HTTPClient", "Files", "Clerk", "Discord", "ConnectionDeadline",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // Against the real RabbitMQ and PostgreSQL that ops/services starts; the fault tests restart them.
        .testTarget(
            name: "BullpenIntegrationTests",
            dependencies: [
                "AMQP", "PostgreSQL", "HTTPClient", "ServiceURL", "BullpenDomain", "BullpenStore", "BullpenMessaging",
                "BullpenWorkers", "BullpenIngest", "BullpenFixtures", "OpenClaw", "BullpenSandbox", "Providers",
                "Files", "Clerk", "Discord",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
