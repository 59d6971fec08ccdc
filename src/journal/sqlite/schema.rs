//! The SQLite journal's tables, and the changes made to them after the first release.

// One transaction, so a reader (`status`) never sees half a schema.
pub(super) const SCHEMA: &str = r#"
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS shoots (
    id INTEGER PRIMARY KEY,
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    batch INTEGER NOT NULL,
    kind TEXT NOT NULL,
    outbox TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    project_name TEXT NOT NULL UNIQUE,
    project_uuid TEXT,
    create_attempted INTEGER NOT NULL DEFAULT 0,
    edit_sent INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (inbox, folder, batch)
);
CREATE INDEX IF NOT EXISTS shoots_by_state ON shoots(state);
CREATE TABLE IF NOT EXISTS files (
    shoot_id INTEGER NOT NULL REFERENCES shoots(id),
    relative TEXT NOT NULL,
    upload_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shoot_id, upload_name)
);
CREATE INDEX IF NOT EXISTS files_by_folder ON files(relative);
CREATE TABLE IF NOT EXISTS outputs (
    shoot_id INTEGER NOT NULL REFERENCES shoots(id),
    file_name TEXT NOT NULL,
    path TEXT NOT NULL,
    placed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shoot_id, file_name)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
COMMIT;
"#;

/// Changes to the schema after the first release, in order; `PRAGMA user_version` says
/// how many a journal has. Each runs in one transaction with its version bump.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the spend guard, the agent's own outputs, files not sent.
    r#"
ALTER TABLE shoots ADD COLUMN follow_up INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shoots ADD COLUMN allow_over_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shoots ADD COLUMN project_started_ms INTEGER;
CREATE INDEX shoots_by_project_start ON shoots(project_started_ms);
ALTER TABLE outputs ADD COLUMN dev INTEGER;
ALTER TABLE outputs ADD COLUMN ino INTEGER;
CREATE INDEX outputs_by_path ON outputs(path);
CREATE INDEX outputs_by_identity ON outputs(dev, ino);
CREATE TABLE not_sent (
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    file TEXT NOT NULL,
    reason TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (inbox, folder, file)
);
"#,
    // 2: why a shoot failed, as a kind. Failures recorded before it are sorted once by
    // the wording that release gave them.
    r#"
ALTER TABLE shoots ADD COLUMN failure TEXT;
UPDATE shoots SET failure = CASE
    WHEN last_error LIKE '%Imagen reported the edit as Failed%' THEN 'edit_failed'
    WHEN last_error LIKE 'the shoot folder % is gone; the shoot was abandoned' THEN 'folder_gone'
    WHEN last_error LIKE 'its outbox %; nothing was written' THEN 'outbox_in_inbox'
    WHEN last_error LIKE 'the server named an output %' THEN 'unsafe_output_name'
    ELSE 'other' END
WHERE state = 'failed';
"#,
    // 3: what a finished shoot could not deliver ("done with problems"); each output's
    // size and time as placed or last synced, and the hash of the touch-up last sent.
    r#"
ALTER TABLE shoots ADD COLUMN problems TEXT;
ALTER TABLE outputs ADD COLUMN stamp TEXT;
ALTER TABLE outputs ADD COLUMN synced_hash TEXT;
ALTER TABLE outputs ADD COLUMN sync_pending INTEGER NOT NULL DEFAULT 0;
"#,
    // 4: each photo's (device, inode) as it was taken in, so a file swapped in after
    // that is never uploaded in its place.
    r#"
ALTER TABLE files ADD COLUMN dev INTEGER;
ALTER TABLE files ADD COLUMN ino INTEGER;
"#,
    // 5: live shoots: which projects are batches of one, and up to which batch each
    // live shoot's end was told.
    r#"
ALTER TABLE shoots ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
CREATE TABLE live_ends (
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    through_id INTEGER NOT NULL,
    PRIMARY KEY (inbox, folder)
);
"#,
    // 6: what each shoot folder was known by when taken in, so a start-up does not
    // read every finished shoot again.
    r#"
CREATE TABLE folder_marks (
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    stamp INTEGER NOT NULL,
    print INTEGER NOT NULL,
    PRIMARY KEY (inbox, folder)
);
"#,
];
