import ArgumentParser
import BullpenFixtures
import BullpenStore
import Foundation
import PostgreSQL

/// Helpers for the README's demo and for trying the slice by hand, until dispatch (which opens task
/// attempts for real) exists. They write to the database directly.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Demo helpers: seed a running task, show a task.",
        subcommands: [SeedTask.self, ShowTask.self])

    struct SeedTask: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seed-task",
            abstract:
                "Create a client, project, agent and a running task with an open attempt; print its id and callback token."
        )

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            let token = DemoData.randomToken()
            let seeded = try DemoData.seedRunningTask(token: token, on: db)
            print("{\"taskId\":\(seeded.taskID),\"attempt\":\(seeded.attempt),\"token\":\"\(token)\"}")
        }
    }

    struct ShowTask: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show-task", abstract: "Print a task's state and its events.")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "Task id.")
        var id: Int64

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            guard
                let row = try db.query(
                    "SELECT id, title, status, attempt, left(coalesce(result, error, ''), 60) AS outcome, completed_at FROM tasks WHERE id = $1",
                    [id]
                ).first
            else { throw ValidationError("no task \(id)") }
            let completed: Date? = try row.decode("completed_at", as: Date?.self)
            print(
                "task \(try row.decode("id", as: Int64.self)) \"\(try row.decode("title", as: String.self))\": "
                    + "\(try row.decode("status", as: String.self)) (attempt \(try row.decode("attempt", as: Int.self)))"
                    + (completed.map { ", completed at \($0)" } ?? ""))
            print("  outcome: \(try row.decode("outcome", as: String.self))")
            for event in try db.query("SELECT type, message FROM events WHERE task_id = $1 ORDER BY id", [id]).rows {
                print(
                    "  event \(try event.decode("type", as: String.self)): \(try event.decode("message", as: String.self))"
                )
            }
        }
    }
}
