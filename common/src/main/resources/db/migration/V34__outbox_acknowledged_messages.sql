-- The messages of a row of many (V10) the broker acknowledged while another of the row was refused:
-- their event ids. The relay sends a refused row again without them, so a message the broker took
-- is not published anew, under its id, after every rest for as long as a sibling on another key
-- stays refused (a record too large for its topic, a missing ACL: hours). Null for a row none of
-- whose messages went out yet, and for rows of one message, which are deleted once acknowledged.
-- Adding a nullable column without a default rewrites nothing; the lock it needs is waited for 5 s
-- at most, so that the writers of the outbox do not queue behind it during a rolling deploy.
SET LOCAL lock_timeout = '5s';
ALTER TABLE outbox_events ADD COLUMN IF NOT EXISTS acknowledged_ids uuid[];
