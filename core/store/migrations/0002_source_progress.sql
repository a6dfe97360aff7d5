-- The S2S resume point (docs/s2s-protocol.md §9): for each source, the
-- source_event_id of the event it had stored most recently, written in the
-- same transaction as that event. One row per source, so WELCOME finds it
-- with one key lookup however many events the source has stored.
CREATE TABLE source_progress (
    source        TEXT    PRIMARY KEY,
    last_event_id TEXT    NOT NULL,
    change_seq    INTEGER NOT NULL
) WITHOUT ROWID, STRICT;

-- Databases that already hold events: start from what they have.
INSERT INTO source_progress (source, last_event_id, change_seq)
SELECT e.source, e.source_event_id, e.change_seq
FROM events e
JOIN (SELECT source, max(id) AS id FROM events GROUP BY source) m ON m.id = e.id;
