-- The dispatcher's due scan filters on a row's recipient (user, target)
-- and expiry before it wants anything else of it: most due rows of a large
-- backlog belong to recipients that already have deliveries in flight. With
-- those columns in the index the scan never reads a table row it skips, so
-- it can look far past a long run of one recipient's rows to find the next
-- recipient that can take a delivery. `id` comes second so that rows due
-- at the same millisecond keep their age order (sorted by user they would
-- bunch per recipient); `state` is there because the partial index's WHERE
-- alone does not make SQLite treat it as covered.
DROP INDEX IF EXISTS deliveries_due;
CREATE INDEX deliveries_due
    ON deliveries (next_attempt_at, id, user, target_instance, target_address, expires_at, state)
    WHERE state IN ('pending', 'retrying');
