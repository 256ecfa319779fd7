import BullpenDomain
import Foundation
import Testing

@testable import BullpenIngest

/// Every page's template renders with sample data: its title, its landmarks, its forms with their tokens,
/// and every value escaped; Markdown carries no markup of the author's own.
@Suite("Web pages")
struct WebPagesTests {
    let pages = try! WebPages(folder: Repository.root + "/Web")
    let user: [String: Any] = ["email": "ops@agency.test", "isOperator": true, "csrf": "c5rf"]

    func render(_ page: String, _ values: [String: Any]) -> String {
        var values = values
        values["title"] = "A <title>"
        values["user"] = values["user"] ?? user
        values["csrf"] = "c5rf"
        return pages.html(page, values)
    }

    nonisolated(unsafe) static let samples: [String: [String: Any]] = [
        "signin": ["next": "/projects/3", "error": "Enter <your> address"],
        "signin-sent": ["email": "a<b>@acme.test"],
        "brief": ["hasPlan": false, "formKey": "k1"],
        "client": [
            "client": ["id": 4, "name": "Acme <Co>", "email": "cto@acme.test", "status": "active"],
            "subscriptions": [
                ["plan": "pro", "status": "past_due", "statusLabel": "past due", "priceDollars": "$4500.00"]
            ],
            "sla": ["met": 5, "breached": 1, "atRisk": 0, "onTrack": 2], "compliance": "83 %",
            "projects": [["id": 3, "name": "Launch <copy>", "status": "active", "tier": "pro"]],
            "invoices": [["id": 9, "status": "open", "amountDollars": "$4500.00", "attempts": 2]],
            "history": [["message": "Payment <failed>", "occurredAt": "2026-12-06 10:00 UTC"]],
        ],
        "billing": [
            "mrrChart": "<svg class=\"chart\"></svg>", "mrrNow": "$9000.00", "hasPastDue": true,
            "failedPayments": [["id": 9, "clientId": 4, "client": "Acme <Co>", "amountDueDollars": "$4500.00"]],
            "pastDue": [["clientId": 4, "client": "Acme <Co>", "plan": "pro", "priceDollars": "$4500.00"]],
            "renewals": [["clientId": 5, "client": "Beta", "plan": "scale", "cancelAtPeriodEnd": true]],
        ],
        "signin-confirm": ["token": String(repeating: "a", count: 64), "next": "/"],
        "message": ["text": "There is no <such> page."],
        "home-client": [
            "projects": [["id": 3, "name": "Launch <copy>", "status": "active", "tier": "pro"]],
            "plans": [
                [
                    "planName": "Pro", "status": "active", "statusLabel": "active",
                    "use": "2 of 4 deliverables this period",
                    "limited": true, "percent": 50, "periodEnd": "2027-01-06 00:00 UTC", "revisionRounds": 2,
                    "responseTimeHours": 24,
                ]
            ],
        ],
        "home-operator": [
            "reviewCount": 2, "activeClients": 4, "mrrCents": 49_900, "slasAtRisk": 1, "slasBreached": 0, "parked": 0,
            "tasksByStatus": [["status": "running", "count": 3]],
            "agents": [["name": "writer-<1>", "status": "online", "openRuns": 1, "maxConcurrentTasks": 2]],
            "review": [["id": 9, "title": "Draft", "version": 2, "projectId": 3]],
        ],
        "project": [
            "id": 3, "name": "Launch", "status": "active", "tier": "pro", "done": 1, "total": 2, "percent": 50,
            "hasRunning": true, "running": [["title": "Draft", "status": "running"]],
            "deliverables": [["id": 9, "title": "Draft", "version": 1, "status": "delivered"]],
            "tasks": [["id": 5, "title": "Draft", "status": "running", "assignedAgentId": 2, "dependsOn": [4]]],
            "messages": [
                ["sender": "client", "senderName": "Ada", "content": "<script>alert(1)</script>", "createdAt": "now"]
            ],
            "due": [], "formKey": "k1",
        ],
        "deliverable": [
            "id": 9, "projectId": 3, "projectName": "Launch", "title": "Draft", "version": 2, "status": "review",
            "inReview": true, "contentHTML": "<p>new</p>", "previous": ["version": 1, "contentHTML": "<p>old</p>"],
            "formKey": "k2", "ratings": [["value": 5, "checked": true]], "hasFiles": true,
            "files": [
                ["name": "notes <1>.txt", "contentType": "text/plain", "size": "52 bytes", "url": "/files/f1?x=1&y=2"]
            ],
        ],
        "clients": [
            "clients": [
                [
                    "name": "Acme <Co>", "email": "ops@acme.test", "plan": "pro", "status": "active",
                    "slackConnected": true,
                ]
            ],
            "leads": [
                ["name": "Grace", "email": "g@acme.test", "brief": "A <site>", "plan": "scale", "status": "new"]
            ],
        ],
        "review": [
            "count": 1, "items": [["id": 9, "title": "Draft", "version": 2, "projectId": 3, "createdAt": "now"]],
        ],
        "command": ["id": "cmd_1", "pending": true, "back": "/deliverables/9"],
        "sessions": [
            "sessions": [
                [
                    "id": 4, "createdAt": "2026-12-06", "expiresAt": "2026-12-20", "active": true, "current": true,
                    "state": "active",
                ]
            ]
        ],
    ]

    @Test("every page renders: a title, the main landmark, the stylesheet and script of our own, no value unescaped")
    func everyPage() {
        for page in WebPages.pages {
            let html = render(page, Self.samples[page] ?? [:])
            #expect(html.contains("<title>A &lt;title&gt; · Bullpen</title>"), "\(page)")
            #expect(html.contains("<main id=\"main\""), "\(page)")
            #expect(html.contains("href=\"/static/app.css\"") && html.contains("src=\"/static/app.js\""), "\(page)")
            #expect(!html.contains("<script>alert"), "\(page) let markup through")
            #expect(!html.contains("http://") && !html.contains("https://"), "\(page) names another origin")
            #expect(html.hasSuffix("</html>\n"), "\(page)")
        }
    }

    @Test("a client's home offers a plan to choose with none, and the Customer Portal with one, when billing is set up")
    func planChoices() {
        let choices: [[String: Any]] = [["id": "pro", "name": "Pro", "price": "4500.00 USD a month"]]
        let none = render("home-client", ["plans": [], "billing": ["hasPlans": false, "choices": choices]])
        #expect(none.contains("id=\"choose-pro\"") && !none.contains("change-plan"))
        #expect(none.contains("action=\"/billing/checkout\"") && none.contains("name=\"csrf\" value=\"c5rf\""))
        let plans: [[String: Any]] = [["planName": "Pro", "status": "active", "use": "1 of 4"]]
        let one = render("home-client", ["plans": plans, "billing": ["hasPlans": true, "choices": choices]])
        #expect(one.contains("id=\"change-plan\"") && !one.contains("choose-pro"))
        let unset = render("home-client", ["plans": plans])
        #expect(!unset.contains("change-plan") && !unset.contains("choose-pro"))
    }

    @Test("a brief's form: a date is its day's end, UTC; a bad date or no name names its field")
    func briefForm() throws {
        let brief = try PortalPages.brief(["name": " Update ", "brief": "One page.", "deadline": "2027-01-31"])
        #expect(brief.name == " Update " && brief.brief == "One page.")
        #expect(brief.deadline?.date == Date(timeIntervalSince1970: 1_801_439_999))
        #expect(try PortalPages.brief(["name": "U", "brief": "B", "deadline": ""]).deadline == nil)
        #expect(throws: ValidationError(field: "deadline", message: "must be a date (2027-01-31)")) {
            try PortalPages.brief(["name": "U", "brief": "B", "deadline": "31/01/2027"])
        }
        #expect((try? PortalPages.brief(["name": "  ", "brief": "B"])) == nil)
    }

    @Test("a long project's page says how many tasks and versions it leaves out, with the way to all of them")
    func projectShowsLatest() {
        let base: [String: Any] = ["id": 3, "name": "Launch", "tasks": [], "deliverables": []]
        #expect(!render("project", base).contains("show all"))
        var long = base
        long["tasksTotal"] = 120
        long["deliverablesTotal"] = 90
        let html = render("project", long)
        #expect(html.contains("The latest 30 of 120 tasks: show all") && html.contains("href=\"?all=1#tasks\""))
        #expect(html.contains("The latest 30 of 90 versions: show all"))
    }

    @Test("the sign-in page offers Clerk only when it is set up, its link escaped")
    func clerkLink() {
        #expect(!render("signin", ["next": "/"]).contains("Sign in with Clerk"))
        let html = render("signin", ["next": "/", "clerkURL": "https://clerk.agency.test/sign-in?redirect_url=a&b\"x"])
        #expect(
            html.contains(
                "href=\"https://clerk.agency.test/sign-in?redirect_url=a&amp;b&quot;x\">Sign in with Clerk</a>"))
    }

    @Test("every form that posts to a signed-in route carries the session's form token")
    func formsCarryTheToken() {
        for page in WebPages.pages where !page.hasPrefix("signin") {
            let html = render(page, Self.samples[page] ?? [:])
            let forms = html.components(separatedBy: "<form").dropFirst()
            for form in forms {
                #expect(form.contains("name=\"csrf\" value=\"c5rf\""), "\(page): a form without its token")
            }
        }
    }

    @Test("the review screen shows the version before beside this one, and the operator's actions with keys")
    func reviewScreen() {
        let html = render("deliverable", Self.samples["deliverable"]!)
        #expect(html.contains("side-by-side") && html.contains("<p>old</p>") && html.contains("<p>new</p>"))
        #expect(html.contains("accesskey=\"d\"") && html.contains("/deliverables/9/revision"))
        #expect(html.contains("/deliverables/9/reject"))
        var client = Self.samples["deliverable"]!
        client["user"] = ["email": "a@acme.test", "isOperator": false, "csrf": "c5rf"]
        #expect(!render("deliverable", client).contains("/deliverables/9/deliver"), "a client sees no review actions")
    }

    @Test("Markdown: headings and code, but no raw HTML block and no script link")
    func markdown() {
        let html = WebPages.markdown(
            "# Title\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n```\n<b>kept as code</b>\n```\n")
        #expect(html.contains("<h1>Title</h1>"))
        #expect(!html.contains("<script>"))
        #expect(!html.lowercased().contains("href=\"javascript:"))
        #expect(html.contains("&lt;b&gt;kept as code&lt;/b&gt;"))
    }

    @Test("a line chart as SVG: every point, the largest value on its axis, labels escaped; an empty one says so")
    func chart() {
        let svg = SVGChart.line([("2026-12-01", 10), ("<b>", 40), ("2026-12-03", 20)], title: "MRR & more")
        #expect(svg.hasPrefix("<svg viewBox=\"0 0 640 200\" role=\"img\" aria-label=\"MRR &amp; more\""))
        #expect(svg.components(separatedBy: "<circle").count == 4)
        #expect(svg.contains(">40</text>") && svg.contains("&lt;b&gt;: 40") && !svg.contains("<b>"))
        #expect(svg.contains("<path d=\"M48.0 ") && svg.hasSuffix("</svg>"))
        #expect(SVGChart.line([], title: "none").contains("No figures yet"))
    }

    @Test("the form token is the session's: another session's, or none, does not hold")
    func formToken() {
        let caller = Caller(tokenID: 1, role: .client, clientID: 3)
        let mine = WebUser(caller: caller, email: "a@acme.test", sessionID: 1, secret: "bp_one")
        let theirs = WebUser(caller: caller, email: "a@acme.test", sessionID: 2, secret: "bp_two")
        #expect(WebSession.formTokenHolds(mine.csrf, for: mine))
        #expect(!WebSession.formTokenHolds(theirs.csrf, for: mine))
        #expect(!WebSession.formTokenHolds(nil, for: mine))
        #expect(!WebSession.formTokenHolds("", for: mine))
    }

    @Test("the cookie: HttpOnly, SameSite=Lax, Secure only behind TLS; the secret read back, nothing else")
    func cookie() {
        let set = WebSession.setCookie("bp_abc", maxAge: 60, secure: true)
        #expect(set == "bullpen_session=bp_abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure")
        #expect(!WebSession.setCookie("bp_abc", maxAge: 60, secure: false).contains("Secure"))
    }

    @Test("the read model's JSON for people: times and periods as dates, states with spaces, cents as dollars")
    func humane() {
        let object = WebRoutes.humane([
            "createdAt": "2026-12-06T23:55:49.2277+00:00", "periodEnd": "2027-01-06T01:27:54+00:00",
            "status": "at_risk", "mrrCents": NSNumber(value: 450_000), "nested": ["deadline": "2026-12-08T10:00:00Z"],
        ])
        #expect(object["createdAt"] as? String == "2026-12-06 23:55 UTC")
        #expect(object["periodEnd"] as? String == "2027-01-06 01:27 UTC")
        #expect(object["statusLabel"] as? String == "at risk" && object["mrrDollars"] as? String == "$4500.00")
        #expect((object["nested"] as? [String: Any])?["deadline"] as? String == "2026-12-08 10:00 UTC")
    }

    @Test("a sign-in or a form sends back only to a path of this site")
    func localPaths() {
        #expect(WebRoutes.localPath("/projects/3") == "/projects/3")
        #expect(WebRoutes.localPath("%2Fprojects%2F3") == "/projects/3")
        for hostile in ["//evil.test/x", "https://evil.test", "/\\evil.test", "javascript:alert(1)", "%2F%2Fevil.test"]
        {
            #expect(WebRoutes.localPath(hostile) == nil, "\(hostile)")
        }
    }
}
