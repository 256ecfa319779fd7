import Foundation
import ServiceLifecycle

/// Runs a blocking loop on a thread of its own and returns when the loop does. Graceful shutdown (in a
/// `ServiceGroup`) or task cancellation calls `stop`, which must make the loop return.
func runBlockingLoop(
    name: String, stop: @escaping @Sendable () -> Void, loop: @escaping @Sendable () -> Void
) async {
    await withTaskCancellationOrGracefulShutdownHandler {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                loop()
                done.resume()
            }
            thread.name = name
            thread.start()
        }
    } onCancelOrGracefulShutdown: {
        stop()
    }
}
