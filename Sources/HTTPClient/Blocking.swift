import Foundation

/// Runs blocking work (a libcurl call) on a thread of its own and awaits its result, so that async code never
/// blocks one of Swift concurrency's few pool threads: with two cores there are two, and two blocked calls
/// would starve every task, the server answering those calls included.
public enum Blocking {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }
}
