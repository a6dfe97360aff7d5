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
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    enabled    INTEGER NOT NULL DEFAULT 1,
    -- The whole SubscriptionSpec as JSON (tocsin-routing), validated on
    -- the way in; the columns above are for lookups and listings.
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    change_seq INTEGER NOT NULL
) STRICT;

-- One row per (event, target). States:
--   pending -> in-flight -> sent -> delivered -> displayed
--   in-flight -> retrying -> in-flight ... -> dead
--   pending/retrying -> expired | coalesced | dropped
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
    expires_at      INTEGER,
    escalate_at     INTEGER,
    last_error      TEXT,
    message_id      TEXT    NOT NULL UNIQUE,
    coalesce_key    TEXT,
    priority        INTEGER NOT NULL,
    flags           INTEGER NOT NULL DEFAULT 0,
    summary         TEXT    NOT NULL,
    body            TEXT    NOT NULL DEFAULT '',
    escalated_from  INTEGER REFERENCES deliveries (id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    change_seq      INTEGER NOT NULL
) STRICT;

-- The scheduler's next-due lookup walks only waiting rows, in due order.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
-- FIFO per (user, target): is anything older still unfinished?
CREATE INDEX deliveries_queue ON deliveries (user, target_instance, target_address, id)
    WHERE state IN ('pending', 'retrying', 'in-flight');
CREATE INDEX deliveries_escalate ON deliveries (escalate_at)
    WHERE escalate_at IS NOT NULL;
CREATE INDEX deliveries_coalesce ON deliveries (subscription_id, coalesce_key)
    WHERE coalesce_key IS NOT NULL AND state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_state ON deliveries (state, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_by_user ON deliveries (user, id);
CREATE INDEX deliveries_finished ON deliveries (updated_at)
    WHERE state IN ('delivered', 'displayed', 'sent', 'expired', 'coalesced', 'dropped', 'failed');

CREATE TABLE delivery_history (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
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
