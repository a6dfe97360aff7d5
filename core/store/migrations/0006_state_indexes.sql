-- deliveries_by_state moved an entry on every state change of every
-- delivery (three per delivery at least) for a few readers that narrower
-- indexes serve: the queue depths of `status` count the waiting rows
-- through deliveries_due and the in-flight ones through deliveries_queue,
-- the dead-letter commands read deliveries_dead (dead rows only), and a
-- restart finds the rows left in flight through deliveries_queue.
DROP INDEX IF EXISTS deliveries_by_state;
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (id) WHERE state = 'dead';

-- Pruning and the dead-letter purge keep a delivery another one escalated
-- from; without an index each of them read the whole table to find out.
CREATE INDEX IF NOT EXISTS deliveries_escalated_from ON deliveries (escalated_from)
    WHERE escalated_from IS NOT NULL;
