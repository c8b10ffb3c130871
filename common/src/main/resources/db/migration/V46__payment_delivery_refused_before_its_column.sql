-- V45 records on a payment when the processor found its purchase undeliverable and sent it for an
-- automatic refund as a technical failure, so that a success applied again (a reconcile repair,
-- another event id) never delivers what is being refunded. Purchases refused before V45 carry no
-- such mark, and a repair would have delivered them once they fitted: the customer would have the
-- purchase and the money. The processor is the only sender of technical-failure refunds, and every
-- one of them means the payment's money is going back, so each payment with one is marked refused
-- as of its first such refund. Few rows are touched; a lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
UPDATE payments p
   SET delivery_refused_at = r.first_at
  FROM (SELECT stripe_payment_intent_id, min(created_at) AS first_at
          FROM payment_refunds
         WHERE reason = 'technical_failure'
         GROUP BY stripe_payment_intent_id) r
 WHERE p.stripe_payment_intent_id = r.stripe_payment_intent_id
   AND p.delivery_refused_at IS NULL;
