package io.marketplace.payments.common.refund;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.UUID;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/** One row of {@code payment_refunds}. */
public record RefundRecord(
    UUID id,
    UUID userId,
    UUID listingId,
    String paymentIntentId,
    String stripeRefundId,
    String stripeDisputeId,
    long amountCents,
    RefundReason reason,
    RefundStatus status,
    String note,
    String rejectionReason,
    String lastError,
    Instant createdAt,
    Instant updatedAt,
    Instant processedAt,
    int attempt,
    Instant firstAttemptedAt,
    String failureReason,
    Instant failedAt,
    Instant closedAt,
    String closeOutcome,
    int keyRound,
    Instant keyRoundAt,
    int reopened) {

  /** The columns {@link Mapper} reads, for {@code SELECT} lists. */
  public static final String COLUMNS =
      "id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, stripe_dispute_id,"
          + " amount_cents, reason, status, note, rejection_reason, last_error, created_at,"
          + " updated_at, processed_at, attempt, first_attempted_at, failure_reason, failed_at,"
          + " closed_at, close_outcome, key_round, key_round_at, reopened";

  /** The key of this refund's events on {@code payments.events.v1}: its listing, else its user. */
  public String eventKey() {
    return listingId != null ? listingId.toString() : userId.toString();
  }

  /**
   * The fact key of this refund's {@code refund.processed} and {@code refund.failed} events: the
   * refund id, plus the attempt after an admin's retry, so that each attempt's outcome is announced
   * under its own stable id.
   */
  public String factKey() {
    return attempt == 0 ? id.toString() : id + "/attempt-" + attempt;
  }

  /**
   * The fact key of this refund's {@code refund.requested} and {@code refund.rejected} events: the
   * refund id, plus how often it was reopened (V51) once it was, so that a request pending again
   * after it was closed, and its next decision, are announced under ids of their own.
   */
  public String decisionKey() {
    return reopened == 0 ? id.toString() : id + "/reopened-" + reopened;
  }

  /** Maps a row selected with {@link #COLUMNS}; statuses and reasons from their wire values. */
  public static final class Mapper implements RowMapper<RefundRecord> {
    @Override
    public RefundRecord map(ResultSet rs, StatementContext ctx) throws SQLException {
      return new RefundRecord(
          rs.getObject("id", UUID.class),
          rs.getObject("user_id", UUID.class),
          rs.getObject("listing_id", UUID.class),
          rs.getString("stripe_payment_intent_id"),
          rs.getString("stripe_refund_id"),
          rs.getString("stripe_dispute_id"),
          rs.getLong("amount_cents"),
          RefundReason.fromWire(rs.getString("reason")),
          RefundStatus.fromWire(rs.getString("status")),
          rs.getString("note"),
          rs.getString("rejection_reason"),
          rs.getString("last_error"),
          instant(rs, "created_at"),
          instant(rs, "updated_at"),
          instant(rs, "processed_at"),
          rs.getInt("attempt"),
          instant(rs, "first_attempted_at"),
          rs.getString("failure_reason"),
          instant(rs, "failed_at"),
          instant(rs, "closed_at"),
          rs.getString("close_outcome"),
          rs.getInt("key_round"),
          instant(rs, "key_round_at"),
          rs.getInt("reopened"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
      OffsetDateTime time = rs.getObject(column, OffsetDateTime.class);
      return time == null ? null : time.toInstant();
    }
  }
}
