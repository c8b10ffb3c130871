-- When the payment's last recorded failure happened (the event's created): Stripe may tell of one
-- declined attempt in two events, and the second may come after a later attempt's. A failure older
-- than the one recorded changes nothing.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS failed_at timestamptz;
