import Clerk
import Foundation

/// The web's settings: where its templates and assets are, who the operators are, and how long links and
/// sessions last.
public struct WebSettings: Sendable {
    /// The operators' addresses (lower case): these sign in as operators; any other address that is a client's
    /// contact signs in as that client.
    public var operators: Set<String>
    /// Mark the session cookie `Secure` (behind TLS).
    public var secureCookies: Bool
    /// How long a sign-in link holds, and how long a session lasts.
    public var linkLifetime: TimeInterval
    public var sessionLifetime: TimeInterval
    /// Sign-in links an address may be sent an hour.
    public var linksPerHour: Int
    /// The web's address as people reach it (`BULLPEN_PORTAL_URL`): where Clerk and Stripe send them back.
    public var portalURL: String
    /// Signing in with Clerk, when an instance is configured.
    public var clerk: ClerkSignIn?
    /// The templates and assets, read from the folder with `templates/` (Mustache) and `static/`.
    public var pages: WebPages

    /// Reads the templates and assets now: a missing or broken one is an error here, not on a request.
    public init(
        folder: String, operators: Set<String>, portalURL: String = "http://localhost:3000",
        secureCookies: Bool = false, linkLifetime: TimeInterval = 15 * 60,
        sessionLifetime: TimeInterval = 14 * 24 * 3600, linksPerHour: Int = 5
    ) throws {
        pages = try WebPages(folder: folder)
        self.operators = Set(operators.map { $0.lowercased() })
        self.portalURL = portalURL.hasSuffix("/") ? String(portalURL.dropLast()) : portalURL
        self.secureCookies = secureCookies
        self.linkLifetime = linkLifetime
        self.sessionLifetime = sessionLifetime
        self.linksPerHour = linksPerHour
    }
}

/// Signing in with a Clerk instance: its Account Portal's sign-in page, which sends the browser back to
/// `<portal>/signin/clerk` with Clerk's handshake; the verifier of its session tokens; and the Clerk users
/// that are operators (a client is the one whose `clerk_user_id` the user is).
public struct ClerkSignIn: Sendable {
    public let verifier: ClerkVerifier
    public let signInURL: String
    public let operators: Set<String>

    public init(verifier: ClerkVerifier, signInURL: String, operators: Set<String>) {
        self.verifier = verifier
        self.signInURL = signInURL
        self.operators = operators
    }

    /// Where "Sign in with Clerk" goes: the sign-in page, told to come back to `/signin/clerk` on the portal
    /// (and then to `next`).
    public func signInLink(next: String, portalURL: String) -> String {
        var back = portalURL + "/signin/clerk"
        if next != "/" { back += "?next=" + WebSettings.queryValue(next) }
        return signInURL + (signInURL.contains("?") ? "&" : "?") + "redirect_url=" + WebSettings.queryValue(back)
    }
}

extension WebSettings {
    static func queryValue(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
