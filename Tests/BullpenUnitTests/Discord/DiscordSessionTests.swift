import Discord
import Foundation
import Testing

/// A listening bot's Gateway session rules (Discord's Gateway documentation, API v10), without a network.
@Suite("Discord Gateway session")
struct DiscordSessionTests {
    func frame(_ text: String) -> DiscordFrame { DiscordFrame.parse(text)! }

    func sent(_ actions: [DiscordSession.Action]) -> [[String: Any]] {
        actions.compactMap { action in
            guard case .send(let text) = action else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        }
    }

    func message(_ sequence: Int, id: String = "9001", bot: Bool = false, content: String = "Hello") -> DiscordFrame {
        frame(
            #"{"op":0,"s":\#(sequence),"t":"MESSAGE_CREATE","d":{"id":"\#(id)","channel_id":"123456789012345678","guild_id":"1","content":"\#(content)","author":{"id":"7","username":"ann","bot":\#(bot)}}}"#
        )
    }

    var ready: DiscordFrame {
        frame(
            #"{"op":0,"s":1,"t":"READY","d":{"session_id":"abc","resume_gateway_url":"wss://resume.discord.test"}}"#)
    }

    @Test("a fresh connection identifies with the token and the message content intent, and beats at Hello's interval")
    func identify() {
        var session = DiscordSession(token: "bot-token", gatewayURL: "wss://gateway.discord.gg/?v=10&encoding=json")
        let actions = session.receive(frame(#"{"op":10,"d":{"heartbeat_interval":41250}}"#))
        #expect(actions.first == .startHeartbeat(interval: .milliseconds(41_250)))
        let identify = sent(actions)
        #expect(identify.first?["op"] as? Int == 2)
        let data = identify.first?["d"] as? [String: Any]
        #expect(data?["token"] as? String == "bot-token")
        #expect(((data?["intents"] as? Int) ?? 0) & (1 << 15) != 0, "the message content intent")
        #expect(session.connectURL == "wss://gateway.discord.gg/?v=10&encoding=json")
    }

    @Test("after READY and a drop it resumes, from the last sequence handled, at READY's resume URL")
    func resume() {
        var session = DiscordSession(token: "t", gatewayURL: "wss://gateway.discord.gg/?v=10&encoding=json")
        _ = session.receive(ready)
        // A person's message is delivered; until it is handled, the sequence stays where it was.
        #expect(session.receive(message(2)) == [.deliver(DiscordMessage(message(2).object!)!, sequence: 2)])
        #expect(session.sequence == 1)
        session.handled(2)
        #expect(session.closed(code: 1006) == .reconnect(resume: true, after: .seconds(1)))
        #expect(session.connectURL == "wss://resume.discord.test/?v=10&encoding=json")
        let resume = sent(session.receive(frame(#"{"op":10,"d":{"heartbeat_interval":1000}}"#)))
        #expect(resume.first?["op"] as? Int == 6)
        let data = resume.first?["d"] as? [String: Any]
        #expect(data?["session_id"] as? String == "abc" && data?["seq"] as? Int == 2)
    }

    @Test("a bot's message and an empty one are not delivered, only counted handled")
    func ignored() {
        var session = DiscordSession(token: "t", gatewayURL: "wss://g")
        _ = session.receive(ready)
        #expect(session.receive(message(2, bot: true)).isEmpty)
        #expect(session.receive(message(3, content: "")).isEmpty)
        #expect(session.sequence == 3)
    }

    @Test("a heartbeat not acknowledged by the next is a dead connection; Discord's own heartbeat request is answered")
    func heartbeats() {
        var session = DiscordSession(token: "t", gatewayURL: "wss://g")
        _ = session.receive(ready)
        guard case .send(let beat) = session.heartbeatDue() else {
            Issue.record("no beat")
            return
        }
        #expect(beat.contains(#""op":1"#) && beat.contains(#""d":1"#))
        #expect(session.receive(frame(#"{"op":11}"#)).isEmpty)
        guard case .send = session.heartbeatDue() else {
            Issue.record("no second beat")
            return
        }
        #expect(session.heartbeatDue() == .reconnect(resume: true, after: .zero), "no ACK came")
        let asked = sent(session.receive(frame(#"{"op":1,"d":null}"#)))
        #expect(asked.first?["op"] as? Int == 1)
    }

    @Test("Reconnect resumes; Invalid Session resumes when Discord says it may, else identifies anew after a pause")
    func reconnects() {
        var session = DiscordSession(token: "t", gatewayURL: "wss://g")
        _ = session.receive(ready)
        #expect(session.receive(frame(#"{"op":7,"d":null}"#)) == [.reconnect(resume: true, after: .zero)])
        #expect(session.receive(frame(#"{"op":9,"d":true}"#)) == [.reconnect(resume: true, after: .zero)])
        #expect(session.canResume)
        #expect(session.receive(frame(#"{"op":9,"d":false}"#)) == [.reconnect(resume: false, after: .seconds(2))])
        #expect(!session.canResume && session.connectURL == "wss://g")
    }

    @Test("close codes: a bad token or intents stop for good; a timed-out session identifies anew; others resume")
    func closeCodes() {
        var session = DiscordSession(token: "t", gatewayURL: "wss://g")
        _ = session.receive(ready)
        guard case .stop(let reason) = session.closed(code: 4004) else {
            Issue.record("4004 retried")
            return
        }
        #expect(reason.contains("token"))
        guard case .stop(let intents) = session.closed(code: 4014) else {
            Issue.record("4014 retried")
            return
        }
        #expect(intents.contains("message content intent"))
        #expect(session.closed(code: 4000) == .reconnect(resume: true, after: .seconds(1)))
        #expect(session.closed(code: 4009) == .reconnect(resume: false, after: .seconds(1)))
        #expect(!session.canResume)
    }
}
