extension Migration {
    /// An address is not an identity: a brief through the public form that names an active client's address
    /// stays a lead until the address's owner confirms it by the link emailed there. The lead keeps the SHA-256
    /// of the link's token (the token itself only travels in the email) and when the link expires.
    static let v016IntakeConfirmation = Migration(
        version: 16, name: "intake confirmation",
        sql: #"""
            ALTER TABLE leads ADD COLUMN confirm_token_hash bytea, ADD COLUMN confirm_expires_at timestamptz,
                              ADD COLUMN confirmed_at timestamptz;
            """#)
}
