package io.marketplace.payments.common.refund;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The statements of the refund executor on {@code payment_refunds}. */
@RegisterRowMapper(RefundRecord.Mapper.class)
public interface RefundDao {

  @SqlQuery("SELECT " + RefundRecord.COLUMNS + " FROM payment_refunds WHERE id = :id")
  Optional<RefundRecord> find(@Bind("id") UUID id);

  /** Reads a refund and holds its row until the transaction ends: callers re-check its status. */
  @SqlQuery("SELECT " + RefundRecord.COLUMNS + " FROM payment_refunds WHERE id = :id FOR UPDATE")
  Optional<RefundRecord> lock(@Bind("id") UUID id);

  /** approved → processed; 0 when the row is no longer approved. */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET status = 'processed', stripe_refund_id = :stripeRefundId, processed_at = :at,
          last_error = NULL, updated_at = :at
      WHERE id = :id AND status = 'approved'
      """)
  int markProcessed(
      @Bind("id") UUID id, @Bind("stripeRefundId") String stripeRefundId, @Bind("at") Instant at);

  /** Notes why Stripe did not refund yet; the record stays approved, to be retried. */
  @SqlUpdate(
      """
      UPDATE payment_refunds SET last_error = :error, updated_at = :at
      WHERE id = :id AND status = 'approved'
      """)
  int noteFailure(@Bind("id") UUID id, @Bind("error") String error, @Bind("at") Instant at);
}
