-- V6 marked every chargeback known then as counted toward a ban, those recorded without a user (their
-- events came before their payment's row) included. A dispute counts once it has its user: the
-- refund worker gives it the payment's user when the row appears, and counts it then, deciding the
-- ban; one already marked counted was never counted for anyone, and its user escaped the ban rule.
UPDATE payment_disputes SET counted_at = NULL WHERE user_id IS NULL AND counted_at IS NOT NULL;
