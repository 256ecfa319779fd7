import BullpenDomain
import Foundation
import Testing

/// The agent roster file and what applying it takes, without services.
@Suite("Agent roster")
struct AgentRosterTests {
    func roster(_ json: String) throws(ValidationError) -> AgentRoster { try AgentRoster(json: Array(json.utf8)) }

    func refusal(_ json: String) -> String? {
        do {
            _ = try roster(json)
            return nil
        } catch { return error.description }
    }

    @Test("the example roster reads; each bad entry is refused by its index and field")
    func reads() throws {
        let example = try #require(
            FileManager.default.contents(atPath: Repository.root + "/Config/agents.example.json"))
        let roster = try AgentRoster(json: Array(example))
        #expect(roster.agents.map(\.name) == ["researcher-1", "writer-1", "coder-1", "designer-1", "reviewer-1"])
        #expect(roster.agents[1].soul?.isEmpty == false && roster.agents[0].capabilities == [.webSearch])
        #expect(
            refusal(#"{"agents": [{"name": "a"}, {"name": "b", "maxConcurrentTasks": 99}]}"#)?.hasPrefix(
                "agents[1].maxConcurrentTasks") == true)
        #expect(
            refusal(#"{"agents": [{"name": "a", "specialization": "poet"}]}"#)?.hasPrefix("agents[0].specialization")
                == true)
        #expect(refusal(#"{"agents": [{"name": "a", "colour": "red"}]}"#)?.hasPrefix("agents[0].colour") == true)
        #expect(refusal(#"{"agents": [{"name": "a"}, {"name": "a"}]}"#)?.hasPrefix("agents[1].name") == true)
        #expect(refusal(#"{"agents": [1]}"#)?.hasPrefix("agents[0] must be an object") == true)
        #expect(refusal(#"{"agents": {}}"#)?.hasPrefix("agents must be a list") == true)
        #expect(refusal(#"{"agent": []}"#)?.hasPrefix("agent is not a field") == true)
    }

    @Test("steps: the unknown registered, the changed updated with only what changed, the same left alone")
    func steps() throws {
        let roster = try roster(
            #"""
            {"agents": [
              {"name": "new", "specialization": "writer"},
              {"name": "moved", "specialization": "coder", "capabilities": ["file_access", "code_execution"], "maxConcurrentTasks": 4},
              {"name": "same", "specialization": "writer", "capabilities": ["web_search"], "model": "m"},
              {"name": "souled", "soul": "Be brief."}
            ]}
            """#)
        let known: [String: AgentRoster.Known] = [
            "moved": .init(
                id: 2, specialization: .coder, capabilities: [.codeExecution, .fileAccess], model: nil,
                maxConcurrentTasks: 1),
            "same": .init(
                id: 3, specialization: .writer, capabilities: [.webSearch], model: "m", maxConcurrentTasks: 1),
            "souled": .init(id: 4, specialization: nil, capabilities: [], model: nil, maxConcurrentTasks: 1),
            "other": .init(id: 5, specialization: nil, capabilities: [], model: nil, maxConcurrentTasks: 1),
        ]
        let steps = roster.steps(known: known)
        #expect(steps.count == 4, "the roster's entries only: 'other' is left alone")
        guard case .register(let added) = steps[0] else {
            Issue.record("\(steps[0])")
            return
        }
        #expect(added.name == "new")
        guard case .update("moved", let moved) = steps[1] else {
            Issue.record("\(steps[1])")
            return
        }
        #expect(moved.id == 2 && moved.maxConcurrentTasks == 4)
        #expect(moved.capabilities == nil && moved.specialization == nil, "capabilities in another order are the same")
        #expect(steps[2] == .unchanged(name: "same", id: 3))
        guard case .update("souled", let souled) = steps[3] else {
            Issue.record("\(steps[3])")
            return
        }
        #expect(souled.soul == "Be brief." && souled.id == 4)
        // Applied, the roster converges: the same roster against what it made is all unchanged.
        var after = known
        after["new"] = .init(id: 6, specialization: .writer, capabilities: [], model: nil, maxConcurrentTasks: 1)
        after["moved"]?.maxConcurrentTasks = 4
        after["souled"]?.soul = "Be brief."
        #expect(
            roster.steps(known: after).allSatisfy {
                if case .unchanged = $0 { return true }
                return false
            }, "\(roster.steps(known: after))")
    }
}
