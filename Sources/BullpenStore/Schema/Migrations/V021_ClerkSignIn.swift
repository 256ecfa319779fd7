extension Migration {
    /// Signing in with Clerk: a Clerk session token exchanged for a web session is recorded as a used sign-in
    /// (its SHA-256, so one token opens one session), marked `clerk` so it never counts against the emailed
    /// links' hourly limit.
    static let v021ClerkSignIn = Migration(
        version: 21, name: "clerk sign-in",
        sql: #"""
            ALTER TABLE sign_in_links ADD COLUMN via text NOT NULL DEFAULT 'email' CHECK (via IN ('email', 'clerk'));
            """#)
}
