-- The FIFO check asks "is an older delivery to this recipient unfinished?".
-- Its index used to hold every waiting row, keyed by user first: with many
-- recipients each commit rewrote a leaf page per recipient with activity,
-- since every state change of a row moved its entry. A fresh pending row
-- needs no entry: rows are dispatched in due order, so an older fresh row
-- is reached before a younger one. Only rows that were handed out before
-- (in flight, retrying, or queued again after a failed hand-over or a
-- restart) can be overtaken, and only they are indexed now: a handful of
-- entries, a page or two, whatever the backlog.
DROP INDEX IF EXISTS deliveries_queue;
CREATE INDEX deliveries_queue ON deliveries (user, target_instance, target_address, id)
    WHERE state IN ('retrying', 'in-flight') OR (state = 'pending' AND attempts > 0);

-- No query reads deliveries by user through this index (listings filter a
-- scan newest-first with a LIMIT, as events do since migration 3), and it
-- cost a leaf page per recipient per commit.
DROP INDEX IF EXISTS deliveries_by_user;
