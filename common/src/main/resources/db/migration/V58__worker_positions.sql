-- How far each consumer group has applied each partition it reads: the next offset past every record
-- it applied or passed over, written in the transaction of the records applied (and every few seconds
-- on its own while a worker only passes records over). Kafka's committed
-- offsets say where a group resumes; Kafka forgets them once the group has been empty for
-- offsets.retention.minutes (7 days by default), and the group then starts again from the earliest
-- record as if new. This row outlives that, so a worker finding no committed offset can tell whether
-- retention deleted records its group had not reached yet (records lost, told and counted) or not.
-- Never moves back: a replay rewinds the group in Kafka, not here.
SET LOCAL lock_timeout = '5s';
CREATE TABLE IF NOT EXISTS worker_positions (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL CHECK (partition >= 0),
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
