-- The passes of the promotion expirer that held the pass lock: when each started and finished, what it
-- ended, and whether it got to the end. The latest succeeded pass is what every replica schedules from
-- (so a restart or a second replica does not run an extra pass) and what the
-- payments.expirer.last.success gauge reports, so the "expirer stopped running" alert survives restarts.
CREATE TABLE expirer_runs (
    id                 bigserial   PRIMARY KEY,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    status             text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    promotions_expired integer     NOT NULL DEFAULT 0 CHECK (promotions_expired >= 0),
    listings_expired   integer     NOT NULL DEFAULT 0 CHECK (listings_expired >= 0),
    batches            integer     NOT NULL DEFAULT 0 CHECK (batches >= 0),
    error_message      text,
    CONSTRAINT expirer_runs_finished_has_time CHECK (status = 'running' OR finished_at IS NOT NULL)
);
CREATE INDEX expirer_runs_succeeded ON expirer_runs (started_at DESC) WHERE status = 'succeeded';
