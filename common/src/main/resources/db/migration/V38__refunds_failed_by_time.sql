-- The refund worker's janitor offers room, every round, to the automatic refund decisions waiting in
-- refund_decisions_awaiting_room whose payment had a refund fail in the last 7 days. Those decisions
-- that wait for good (their money did go back) stay in that table, and failed refunds stay failed,
-- so both only grow: the janitor must find the recent failures without reading every failure ever
-- recorded (refunds_failed_open holds only those no admin closed, and a closed failure gives room
-- back all the same). This index holds the failed refunds by when they failed.
--
-- Built CONCURRENTLY so that refunds keep flowing while it builds; Flyway runs this migration outside
-- a transaction, and the DROP of a second attempt removes an invalid index a failed build left.
DROP INDEX CONCURRENTLY IF EXISTS refunds_failed_by_time;
CREATE INDEX CONCURRENTLY refunds_failed_by_time ON payment_refunds (failed_at) WHERE status = 'failed';
