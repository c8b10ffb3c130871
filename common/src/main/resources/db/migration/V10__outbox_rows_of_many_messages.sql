-- An outbox row may carry every message of one worker transaction, in order. The payment processor
-- announces two facts per Stripe event; one row per transaction instead of two per event spares
-- PostgreSQL a heap tuple and two index entries per message when it is written, and a tuple per
-- message when the relay reads and deletes it (docs/benchmarks.md).
-- Ids, destinations, keys and types are parallel arrays; the payloads are one text, separated by
-- the character U+001E (record separator), which JSON text never holds unescaped: one text spares
-- PostgreSQL the parse of an array literal, character by character, every quote escaped.
-- A row is either one message (the columns as before) or many (the batch_ columns), never both.
ALTER TABLE outbox_events
    ALTER COLUMN event_id DROP NOT NULL,
    ALTER COLUMN destination DROP NOT NULL,
    ALTER COLUMN message_key DROP NOT NULL,
    ALTER COLUMN event_type DROP NOT NULL,
    ALTER COLUMN payload DROP NOT NULL,
    ADD COLUMN batch_ids uuid[],
    ADD COLUMN batch_destinations text[],
    ADD COLUMN batch_keys text[],
    ADD COLUMN batch_types text[],
    ADD COLUMN batch_payloads text,
    ADD CONSTRAINT outbox_events_one_message_or_many CHECK (
        (batch_ids IS NULL AND batch_destinations IS NULL AND batch_keys IS NULL
            AND batch_types IS NULL AND batch_payloads IS NULL
            AND event_id IS NOT NULL AND destination IS NOT NULL AND message_key IS NOT NULL
            AND event_type IS NOT NULL AND payload IS NOT NULL)
        OR (event_id IS NULL AND destination IS NULL AND message_key IS NULL
            AND event_type IS NULL AND payload IS NULL
            AND cardinality(batch_ids) > 0
            AND cardinality(batch_destinations) = cardinality(batch_ids)
            AND cardinality(batch_keys) = cardinality(batch_ids)
            AND cardinality(batch_types) = cardinality(batch_ids)
            AND cardinality(string_to_array(batch_payloads, E'\x1e')) = cardinality(batch_ids)
            AND array_position(batch_ids, NULL) IS NULL
            AND array_position(batch_destinations, NULL) IS NULL
            AND array_position(batch_keys, NULL) IS NULL
            AND array_position(batch_types, NULL) IS NULL));

-- A transaction's messages are hundreds of kilobytes, stored out of line; compressing them would
-- cost the writer CPU for bytes that live a few milliseconds, until the relay deletes the row.
ALTER TABLE outbox_events
    ALTER COLUMN batch_ids SET STORAGE EXTERNAL,
    ALTER COLUMN batch_destinations SET STORAGE EXTERNAL,
    ALTER COLUMN batch_keys SET STORAGE EXTERNAL,
    ALTER COLUMN batch_types SET STORAGE EXTERNAL,
    ALTER COLUMN batch_payloads SET STORAGE EXTERNAL;
