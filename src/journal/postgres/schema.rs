//! The shared journal's tables, made and brought up to date by the agents themselves.
//! `imagen_sync_schema` says the database is ours and which version made it.

/// Each entry brings the schema one version further; they run in order, each in one
/// transaction with its version bump, while an advisory lock keeps two agents starting
/// at once from both running it.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first studio release.
    r#"
CREATE TABLE shoots (
    id BIGSERIAL PRIMARY KEY,
    folder_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    batch BIGINT NOT NULL,
    kind TEXT NOT NULL,
    outbox_inside TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    project_name TEXT NOT NULL UNIQUE,
    project_uuid TEXT,
    create_attempted BOOLEAN NOT NULL DEFAULT FALSE,
    edit_sent BOOLEAN NOT NULL DEFAULT FALSE,
    follow_up BOOLEAN NOT NULL DEFAULT FALSE,
    allow_over_limit BOOLEAN NOT NULL DEFAULT FALSE,
    failure TEXT,
    last_error TEXT,
    project_started_ms BIGINT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    holder TEXT,
    claim_token TEXT,
    lease_until_ms BIGINT,
    UNIQUE (folder_id, folder, batch)
);
CREATE INDEX shoots_by_state ON shoots (state);
CREATE INDEX shoots_by_project_start ON shoots (project_started_ms);
CREATE TABLE files (
    shoot_id BIGINT NOT NULL REFERENCES shoots (id),
    relative TEXT NOT NULL,
    upload_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (shoot_id, upload_name)
);
CREATE TABLE outputs (
    shoot_id BIGINT NOT NULL REFERENCES shoots (id),
    file_name TEXT NOT NULL,
    path_inside TEXT NOT NULL,
    placed BOOLEAN NOT NULL DEFAULT FALSE,
    placed_by TEXT,
    dev BIGINT,
    ino BIGINT,
    PRIMARY KEY (shoot_id, file_name)
);
CREATE INDEX outputs_by_path ON outputs (path_inside);
CREATE INDEX outputs_by_identity ON outputs (dev, ino);
CREATE TABLE not_sent (
    folder_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    file TEXT NOT NULL,
    reason TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    PRIMARY KEY (folder_id, folder, file)
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE agents (
    session TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    pid BIGINT NOT NULL,
    version TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL
);
-- Every write moves this on: an idle reader compares one number to know whether to
-- look again.
CREATE SEQUENCE journal_changes;
CREATE FUNCTION journal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('journal_changes');
    RETURN NULL;
END $$;
CREATE TRIGGER shoots_changed AFTER INSERT OR UPDATE OR DELETE ON shoots
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changed();
CREATE TRIGGER files_changed AFTER INSERT OR UPDATE OR DELETE ON files
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changed();
CREATE TRIGGER outputs_changed AFTER INSERT OR UPDATE OR DELETE ON outputs
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changed();
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changed();
CREATE TRIGGER not_sent_changed AFTER INSERT OR UPDATE OR DELETE ON not_sent
    FOR EACH STATEMENT EXECUTE FUNCTION journal_changed();
"#,
    // 2: what a finished shoot could not deliver ("done with problems"); each output's
    // size and time as placed or last synced, and the hash of the touch-up last sent.
    r#"
ALTER TABLE shoots ADD COLUMN problems TEXT;
ALTER TABLE outputs ADD COLUMN stamp TEXT;
ALTER TABLE outputs ADD COLUMN synced_hash TEXT;
ALTER TABLE outputs ADD COLUMN sync_pending BOOLEAN NOT NULL DEFAULT FALSE;
"#,
    // 3: each photo's (device, inode) as it was taken in, so a file swapped in after
    // that is never uploaded in its place.
    r#"
ALTER TABLE files ADD COLUMN dev BIGINT;
ALTER TABLE files ADD COLUMN ino BIGINT;
"#,
    // 4: live shoots: which projects are batches of one, and up to which batch each
    // live shoot's end was told.
    r#"
ALTER TABLE shoots ADD COLUMN live BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE live_ends (
    folder_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    through_id BIGINT NOT NULL,
    PRIMARY KEY (folder_id, folder)
);
"#,
    // 5: what each shoot folder was known by when taken in, so a start-up does not
    // read every finished shoot again.
    r#"
CREATE TABLE folder_marks (
    folder_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    stamp BIGINT NOT NULL,
    print BIGINT NOT NULL,
    PRIMARY KEY (folder_id, folder)
);
"#,
];

/// The database clock in milliseconds: leases are compared on one clock, the server's,
/// whatever the agents' clocks say.
pub(super) const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// The advisory lock key migrations hold (any fixed number, "imagen" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x696d_6167_656e;
