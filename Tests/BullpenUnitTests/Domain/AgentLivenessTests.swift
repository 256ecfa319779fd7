import BullpenDomain
import Foundation
import Testing

@Suite("Agent liveness")
struct AgentLivenessTests {
    let now = Date(timeIntervalSince1970: 1_900_000_000)
    let limit: TimeInterval = 900

    func agent(
        _ id: Int64, _ status: AgentStatus, idle: TimeInterval, byOperator: Bool = false, listedBefore: Bool = false
    ) -> AgentLiveness.Agent {
        .init(
            id: id, name: "agent-\(id)", status: status, setByOperator: byOperator,
            lastSeen: now.addingTimeInterval(-idle), listedAt: listedBefore ? now.addingTimeInterval(-60) : nil)
    }

    @Test("an idle agent the live gateway lists stays online and is seen; the silence limit does not apply to it")
    func idleButListed() {
        let changes = AgentLiveness.decide(
            [agent(1, .online, idle: 3_600, listedBefore: true)], listed: ["agent-1"], now: now, silenceLimit: limit)
        #expect(changes == [.listed(id: 1)])
    }

    @Test("an agent the gateway no longer lists goes offline; it comes back when listed again")
    func unlistedThenBack() {
        let gone = AgentLiveness.decide(
            [agent(1, .online, idle: 5, listedBefore: true)], listed: [], now: now, silenceLimit: limit)
        #expect(gone == [.offline(id: 1, reason: "the gateway no longer lists it")])
        let back = AgentLiveness.decide(
            [agent(1, .offline, idle: 120, listedBefore: true)], listed: ["agent-1"], now: now, silenceLimit: limit)
        #expect(back == [.listed(id: 1), .online(id: 1, reason: "the gateway lists it again")])
    }

    @Test("never listed, or no gateway answer: the silence limit decides")
    func silence() {
        let agents = [agent(1, .online, idle: 901), agent(2, .online, idle: 899), agent(3, .busy, idle: 10_000)]
        for listed in [nil, Set<String>()] {
            #expect(
                AgentLiveness.decide(agents, listed: listed, now: now, silenceLimit: limit) == [
                    .offline(id: 1, reason: "silent for more than 900 s"),
                    .offline(id: 3, reason: "silent for more than 900 s"),
                ])
        }
        // Listed before, but the gateway was not asked this time: only silence counts.
        #expect(
            AgentLiveness.decide(
                [agent(4, .online, idle: 5, listedBefore: true)], listed: nil, now: now, silenceLimit: limit
            )
            .isEmpty)
    }

    @Test("an operator's offline or paused stands: liveness neither brings it back nor changes it")
    func operatorStands() {
        let agents = [
            agent(1, .paused, idle: 10_000, byOperator: true, listedBefore: true),
            agent(2, .offline, idle: 5, byOperator: true, listedBefore: true),
        ]
        #expect(
            AgentLiveness.decide(agents, listed: ["agent-1", "agent-2"], now: now, silenceLimit: limit) == [
                .listed(id: 1), .listed(id: 2),
            ])
        #expect(AgentLiveness.decide(agents, listed: [], now: now, silenceLimit: limit).isEmpty)
    }

    @Test("only online and busy agents take work")
    func takesWork() {
        #expect(AgentStatus.allCases.filter(\.takesWork) == [.online, .busy])
    }
}
