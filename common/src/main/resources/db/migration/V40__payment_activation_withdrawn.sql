-- When the payment processor last took back the activation a posting fee had made after all of its
-- money had gone back at Stripe (it applied the success before the refund worker recorded that
-- money gone, and was told so on payments.internal.delivery-commands.v1; listing.withdrawn); null
-- when it never did. Kept once the fee is delivered again (the money came back), so that the new
-- activation is announced as a fact of its own, not under the id of the one taken back. Adding a
-- nullable column without a default rewrites nothing; its lock is waited for 5 s at most.
SET LOCAL lock_timeout = '5s';
ALTER TABLE payments ADD COLUMN IF NOT EXISTS activation_withdrawn_at timestamptz;
