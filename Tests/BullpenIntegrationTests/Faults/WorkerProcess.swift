import BullpenMessaging
import Foundation

/// A real `bullpen worker` process, started from the build folder, for tests that kill and restart it.
final class WorkerProcess: @unchecked Sendable {
    let arguments: [String]
    let environment: [String: String]
    let logPath: String
    private(set) var process: Process?

    /// The debug build of the executable (ops/test builds it before the tests).
    static let binary = TestEnvironment.repositoryRoot + "/.build/debug/bullpen"

    init(
        arguments: [String], schema: String, prefix: String, name: String, extraEnvironment: [String: String] = [:]
    ) throws {
        self.arguments = ["worker"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BULLPEN_DATABASE_URL"] =
            TestEnvironment.databaseURL
            + (TestEnvironment.databaseURL.contains("?") ? "&" : "?") + "search_path=\(schema)"
        environment["BULLPEN_AMQP_URL"] = TestEnvironment.amqpURL
        environment["BULLPEN_TOPOLOGY_PREFIX"] = prefix
        environment["BULLPEN_QUEUES_DIR"] = TestEnvironment.repositoryRoot + "/Queues"
        environment["BULLPEN_LOG_LEVEL"] = "warning"
        self.environment = environment.merging(extraEnvironment) { $1 }
        let logs = TestEnvironment.repositoryRoot + "/.data/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        logPath = logs + "/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
    }

    /// SIGKILL: no chance to ack, close or clean up.
    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the exit; returns the exit status and how long the stop took.
    func terminate() -> (status: Int32, took: Duration) {
        guard let process, process.isRunning else { return (process?.terminationStatus ?? 0, .zero) }
        let started = ContinuousClock.now
        process.terminate()
        process.waitUntilExit()
        return (process.terminationStatus, ContinuousClock.now - started)
    }

    var isRunning: Bool { process?.isRunning ?? false }
}

/// Runs a program to its end with posix_spawn and waitpid, its output discarded; returns the exit status.
func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { throw TestFailure("cannot start \(path): \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return (status >> 8) & 0xff
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw TestFailure("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Writes a topology's queue files (as the test's fixture changed them: shorter delay tiers) to a new
/// temporary folder, for worker processes to read (`BULLPEN_QUEUES_DIR`); returns the folder.
func queueFiles(of topology: Topology, stem: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(stem)-queues-\(UUID())").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for spec in topology.queues {
        try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: folder + "/\(spec.name).json"))
    }
    return folder
}
