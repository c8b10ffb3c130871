-- A failed refund the refund worker closed as 'not_owed' because an automatic refund just decided
-- (a moderation rejection's, a technical failure's) owes its money names that automatic refund's
-- record. An admin who rejects the automatic refund then reopens the failed refunds it took over:
-- closed for a refund that will never be paid, they were owed after all (a user's request an admin
-- had approved before Stripe failed it), and no admin could retry a closed one.
--
-- Closes made before this column name the record only in their text
-- ('owed by automatic <reason> refund <uuid> (part <n>)'); they are read from it once here.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payment_refunds ADD COLUMN IF NOT EXISTS closed_for uuid;

UPDATE payment_refunds
   SET closed_for = substring(close_reason from
           '^owed by automatic [a-z_]+ refund ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) \(part')::uuid
 WHERE close_outcome = 'not_owed'
   AND closed_for IS NULL
   AND close_reason ~ '^owed by automatic [a-z_]+ refund [0-9a-f-]{36} \(part';

