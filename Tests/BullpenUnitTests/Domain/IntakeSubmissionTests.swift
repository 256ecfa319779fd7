import BullpenDomain
import Testing

/// The intake form's rules, without services: each field checked and named, the bots' hidden field refused,
/// and the message id the same for the same brief from the same address in any case.
@Suite("Intake form")
struct IntakeSubmissionTests {
    func submission(_ json: String) throws(ValidationError) -> IntakeSubmission {
        try IntakeSubmission(form: Array(json.utf8)) { email, brief in "\(email)|\(brief)" }
    }

    func refusal(_ json: String) -> String? {
        do {
            _ = try submission(json)
            return nil
        } catch { return error.field }
    }

    @Test("a full form is read; the dedupe key is the lower-cased address with the brief")
    func reads() throws {
        let form = try submission(
            #"{"name": "Ada", "email": "Ada@NewCo.test", "company": "NewCo", "brief": "A page", "plan": "scale", "source": "ad", "website": ""}"#
        )
        #expect(form.name == "Ada" && form.email == "Ada@NewCo.test" && form.company == "NewCo")
        #expect(form.plan == .scale && form.source == "ad" && form.brief == "A page")
        #expect(form.dedupeKey == "ada@newco.test|A page" && form.messageID == "intake:ada@newco.test|A page")
        #expect(IntakeSubmission.queue == .command)
        #expect(
            try submission(#"{"name": "B", "email": "b@c.test", "brief": "  \n  Careers page \nmore"}"#).title
                == "Careers page")
        let bare = try submission(#"{"name": "B", "email": "b@c.test", "brief": "x"}"#)
        #expect(bare.company == nil && bare.plan == nil && bare.source == nil)
    }

    @Test("every bad field is refused by name, the hidden field's value included")
    func refuses() {
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": "x", "website": "spam"}"#) == "website")
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": "x", "extra": 1}"#) == "extra")
        #expect(refusal(#"{"email": "b@c.test", "brief": "x"}"#) == "name")
        #expect(refusal(#"{"name": "B", "email": "b", "brief": "x"}"#) == "email")
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": " "}"#) == "brief")
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": "x", "plan": "gold"}"#) == "plan")
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": "x", "company": ""}"#) == "company")
        let long = String(repeating: "a", count: 20_001)
        #expect(refusal(#"{"name": "B", "email": "b@c.test", "brief": "\#(long)"}"#) == "brief")
        #expect(refusal("[]") == "")
    }
}
