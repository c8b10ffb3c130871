-- Which dead letters an operator sent back to their source topic (payments dlq redrive), so that one
-- is never redriven twice by accident. A dead letter is known by where it sits: its dead-letter topic,
-- partition and offset. If the redriven record fails again, the worker dead-letters it anew at a new
-- offset, and that new dead letter can be redriven in its turn.
CREATE TABLE dlq_redrives (
    dlq_topic        text        NOT NULL,
    dlq_partition    integer     NOT NULL,
    dlq_offset       bigint      NOT NULL,
    source_topic     text        NOT NULL,
    event_id         text,
    consumer         text,
    redriven_by      text        NOT NULL,
    redriven_at      timestamptz NOT NULL DEFAULT now(),
    target_partition integer,
    target_offset    bigint,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dlq_redrives_by_event ON dlq_redrives (event_id);
