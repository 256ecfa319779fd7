extension Migration {
    /// Signing in to the web by email: a link's token (only its SHA-256, single use, expiring) and the session
    /// it opened. A web session is an API token of the person's role whose secret lives in a cookie, so the
    /// web reads and commands through the same checks as the API; `web_email` marks it and says whose it is.
    static let v020WebSignIn = Migration(
        version: 20, name: "web sign-in",
        sql: #"""
            ALTER TABLE api_tokens ADD COLUMN web_email text;
            CREATE INDEX api_tokens_web_email_idx ON api_tokens (lower(web_email)) WHERE web_email IS NOT NULL;

            CREATE TABLE sign_in_links (
                id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                token_hash        bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                email             text NOT NULL,
                role              text NOT NULL CHECK (role IN ('operator', 'client')),
                client_id         bigint REFERENCES clients (id),
                created_at        timestamptz NOT NULL DEFAULT now(),
                expires_at        timestamptz NOT NULL,
                used_at           timestamptz,
                session_token_id  bigint REFERENCES api_tokens (id),
                CHECK ((role = 'client') = (client_id IS NOT NULL)),
                CHECK ((used_at IS NULL) = (session_token_id IS NULL))
            );
            CREATE INDEX sign_in_links_email_idx ON sign_in_links (lower(email), created_at);
            """#)
}
