-- Every table that can change carries change_seq: the commit sequence of
-- the transaction that last wrote the row. A standby node replays changes
-- in that order (see docs/architecture.md, "Store").

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY NOT NULL
) WITHOUT ROWID, STRICT;

INSERT INTO meta (key, value) VALUES ('commit_seq', 0);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    source_event_id TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    user            TEXT    NOT NULL,
    origin_host     TEXT    NOT NULL DEFAULT '',
    occurred_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    summary         TEXT    NOT NULL,
    body            TEXT    NOT NULL DEFAULT '',
    attributes      TEXT    NOT NULL DEFAULT '{}',
    change_seq      INTEGER NOT NULL,
    UNIQUE (source, source_event_id)
) STRICT;

CREATE INDEX events_by_user ON events (user, id);

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    enabled         INTEGER NOT NULL DEFAULT 1,
    user_pattern    TEXT    NOT NULL,
    kind_pattern    TEXT    NOT NULL,
    min_priority    INTEGER NOT NULL DEFAULT 1,
    target_instance TEXT    NOT NULL,
    target_address  TEXT    NOT NULL,
    options         TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    change_seq      INTEGER NOT NULL
) STRICT;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    subscription_id INTEGER,
    target_instance TEXT    NOT NULL,
    target_address  TEXT    NOT NULL,
    user            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    message_id      TEXT,
    coalesce_key    TEXT,
    escalated_from  INTEGER REFERENCES deliveries (id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    change_seq      INTEGER NOT NULL
) STRICT;

-- The scheduler's next-due lookup only ever walks waiting rows.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_state ON deliveries (state, id);
CREATE UNIQUE INDEX deliveries_by_message_id ON deliveries (message_id)
    WHERE message_id IS NOT NULL;

CREATE TABLE delivery_history (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    at          INTEGER NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '',
    change_seq  INTEGER NOT NULL
) STRICT;

CREATE INDEX delivery_history_by_delivery ON delivery_history (delivery_id, id);

CREATE TABLE scheduled (
    id         INTEGER PRIMARY KEY,
    due_at     INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    owner      TEXT    NOT NULL DEFAULT '',
    payload    TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    change_seq INTEGER NOT NULL
) STRICT;

CREATE INDEX scheduled_due ON scheduled (due_at);

CREATE TABLE plugin_state (
    instance   TEXT NOT NULL,
    key        BLOB NOT NULL,
    value      BLOB NOT NULL,
    change_seq INTEGER NOT NULL,
    PRIMARY KEY (instance, key)
) WITHOUT ROWID, STRICT;

CREATE TABLE pool_state (
    key        TEXT PRIMARY KEY,
    value      ANY  NOT NULL,
    change_seq INTEGER NOT NULL
) WITHOUT ROWID, STRICT;
