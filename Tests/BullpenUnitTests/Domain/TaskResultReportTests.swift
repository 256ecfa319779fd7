import BullpenDomain
import Testing

@Suite("Task result reports")
struct TaskResultReportTests {
    func parse(_ json: String) -> Result<TaskResultReport, ValidationError> {
        Result { () throws(ValidationError) in try TaskResultReport.parse(Array(json.utf8)) }
    }

    @Test("a valid completed report")
    func valid() throws {
        let report = try parse(#"{"taskId": 7, "status": "completed", "output": "done"}"#).get()
        #expect(report == TaskResultReport(taskId: 7, status: .completed, output: "done"))
    }

    @Test("an id written as a decimal string is taken (agents quote values); nothing looser")
    func idAsString() throws {
        let report = try parse(#"{"taskId": "5", "status": "completed", "output": "done"}"#).get()
        #expect(report.taskId == 5)
        #expect(
            try parse(#"{"taskId": "123456789012345678", "status": "failed", "error": "x"}"#).get().taskId
                == 123_456_789_012_345_678)
    }

    @Test(
        "each malformed body names the field at fault",
        arguments: [
            ("", ""),
            ("not json", ""),
            ("[1, 2]", ""),
            (#"{"status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "07", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "0", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "-7", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": " 7", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "7.0", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "seven", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": "1234567890123456789", "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": 7.5, "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": true, "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": -1, "status": "completed", "output": "x"}"#, "taskId"),
            (#"{"taskId": 7, "output": "x"}"#, "status"),
            (#"{"taskId": 7, "status": "done", "output": "x"}"#, "status"),
            (#"{"taskId": 7, "status": "completed"}"#, "output"),
            (#"{"taskId": 7, "status": "completed", "output": 5}"#, "output"),
            (#"{"taskId": 7, "status": "failed"}"#, "error"),
            (#"{"taskId": 7, "status": "completed", "output": "x", "extra": 1}"#, "extra"),
        ])
    func malformed(body: String, field: String) {
        guard case .failure(let error) = parse(body) else {
            Issue.record("accepted \(body)")
            return
        }
        #expect(error.field == field, "\(body): \(error)")
    }

    @Test("a NUL character (JSON \\u0000) in any text field is refused, naming the field")
    func nulCharacter() {
        for (body, field) in [
            (#"{"taskId": 7, "status": "completed", "output": "before\u0000after"}"#, "output"),
            (#"{"taskId": 7, "status": "failed", "error": "\u0000"}"#, "error"),
            (#"{"taskId": 7, "status": "completed\u0000", "output": "x"}"#, "status"),
        ] {
            guard case .failure(let error) = parse(body) else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(error.field == field)
            #expect(error.message.contains("NUL"))
        }
    }

    @Test("an oversized output is refused")
    func oversized() {
        let big = String(repeating: "a", count: TaskResultReport.maxOutputBytes + 1)
        guard case .failure(let error) = parse(#"{"taskId": 7, "status": "completed", "output": "\#(big)"}"#) else {
            Issue.record("accepted an oversized output")
            return
        }
        #expect(error.field == "output")
    }

    @Test("the message id is deterministic per task attempt")
    func messageID() {
        let report = TaskResultReport(taskId: 42, status: .completed, output: "x")
        let a = TaskResultMessage(report: report, attempt: 2, receivedAt: 1)
        let b = TaskResultMessage(report: report, attempt: 2, receivedAt: 99)
        #expect(a.messageID == "task-result:42:2")
        #expect(a.messageID == b.messageID)
        #expect(TaskResultMessage(report: report, attempt: 3, receivedAt: 1).messageID != a.messageID)
    }
}
