-- A super_admin may refund any succeeded payment for a chosen amount (POST
-- /admin/api/marketplace/payments/{paymentIntentId}/refunds): who asked for it is kept with the
-- record, next to the admin's note (in `note`). NULL for every other refund.
ALTER TABLE payment_refunds ADD COLUMN created_by uuid;
