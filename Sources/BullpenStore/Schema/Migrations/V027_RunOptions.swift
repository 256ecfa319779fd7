extension Migration {
    /// Scale configurations in full, and what each run used: a configuration's thinking level and knowledge
    /// base (its documents' text, sent with every run); the models a configuration may name, with their
    /// prices (`Config/models.json`, written by `bullpen migrate`); and per attempt what the run was asked to
    /// use (`run_options`) and what the gateway reported it used, its usage and its cost.
    static let v027RunOptions = Migration(
        version: 27, name: "run options and usage",
        sql: #"""
            ALTER TABLE agent_configs ADD COLUMN thinking text;
            CREATE TABLE agent_knowledge (
                config_id     bigint NOT NULL REFERENCES agent_configs (id) ON DELETE CASCADE,
                name          text NOT NULL,
                content_type  text NOT NULL,
                body          text NOT NULL,
                file_id       text NOT NULL,
                PRIMARY KEY (config_id, name)
            );
            CREATE TABLE model_prices (
                name         text PRIMARY KEY,
                input        double precision NOT NULL CHECK (input >= 0),
                output       double precision NOT NULL CHECK (output >= 0),
                cache_read   double precision NOT NULL CHECK (cache_read >= 0),
                cache_write  double precision NOT NULL CHECK (cache_write >= 0)
            );
            ALTER TABLE task_attempts
                ADD COLUMN run_options    jsonb,
                ADD COLUMN used_provider  text,
                ADD COLUMN used_model     text,
                ADD COLUMN usage          jsonb,
                ADD COLUMN cost_cents     numeric(14, 4);
            """#)
}
