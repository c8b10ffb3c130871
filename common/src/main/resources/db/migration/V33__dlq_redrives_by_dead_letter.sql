-- A dead letter's position alone does not name it: a dead-letter topic deleted and created again
-- (a purge, a failover to another cluster, a local broker wiped with the database kept) restarts
-- its offsets at 0, and a new dead letter at the position of one redriven before read as "redriven"
-- and was never sent. A redrive now records the dead letter by its position, its event id and when
-- the worker gave up on it (the failed-at header, else the record's time), and two dead letters are
-- the same only when all of these are. Rows written before this have no failed_at: they still
-- stand for the dead letter at their position with their event id.
ALTER TABLE dlq_redrives ADD COLUMN failed_at timestamptz;
ALTER TABLE dlq_redrives DROP CONSTRAINT dlq_redrives_pkey;
ALTER TABLE dlq_redrives
    ADD CONSTRAINT dlq_redrives_dead_letter
    UNIQUE NULLS NOT DISTINCT (dlq_topic, dlq_partition, dlq_offset, event_id, failed_at);
