package io.marketplace.payments.expirer.pass;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * The {@code expirer_runs} table: one row per pass that held the pass lock. Written only by the
 * holder of the lock, so a row left {@code running} belongs to a pass that died.
 */
public final class ExpirerRuns {

  /** Older rows are dropped (the latest successful one is always kept: the schedule reads it). */
  static final Duration RETENTION = Duration.ofDays(90);

  private final Jdbi jdbi;

  public ExpirerRuns(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** The latest successful pass: when it started and finished. */
  public record LastSuccess(Instant startedAt, Instant finishedAt) {}

  public Optional<LastSuccess> lastSuccess() {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT started_at, finished_at FROM expirer_runs
                    WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1
                    """)
                .map(
                    (rs, ctx) ->
                        new LastSuccess(
                            Times.read(rs, "started_at"), Times.read(rs, "finished_at")))
                .findOne());
  }

  /** The database's clock, which every replica shares. */
  public Instant databaseNow() {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT clock_timestamp() AS now")
                .map((rs, ctx) -> Times.read(rs, "now"))
                .one());
  }

  /**
   * Records the start of a pass, and closes the rows of passes that died before they finished (the
   * caller holds the lock, so no other pass is running).
   */
  public long begin(Instant startedAt) {
    return jdbi.inTransaction(
        h -> {
          h.createUpdate(
                  """
                  UPDATE expirer_runs
                  SET status = 'failed', finished_at = :now,
                      error_message = 'the pass did not finish; a later pass went on from its last batch'
                  WHERE status = 'running'
                  """)
              .bind("now", Times.bindable(startedAt))
              .execute();
          h.createUpdate(
                  """
                  DELETE FROM expirer_runs
                  WHERE started_at < :cutoff
                    AND id <> coalesce(
                        (SELECT id FROM expirer_runs WHERE status = 'succeeded'
                         ORDER BY started_at DESC LIMIT 1), -1)
                  """)
              .bind("cutoff", Times.bindable(startedAt.minus(RETENTION)))
              .execute();
          return h.createQuery(
                  """
                  INSERT INTO expirer_runs (started_at, status) VALUES (:startedAt, 'running')
                  RETURNING id
                  """)
              .bind("startedAt", Times.bindable(startedAt))
              .mapTo(Long.class)
              .one();
        });
  }

  /** Records how a pass ended: {@code error} null means it succeeded. */
  public void finish(
      long id,
      Instant finishedAt,
      int promotionsExpired,
      int listingsExpired,
      int batches,
      String error) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    """
                    UPDATE expirer_runs
                    SET status = :status, finished_at = :finishedAt,
                        promotions_expired = :promotions, listings_expired = :listings,
                        batches = :batches, error_message = :error
                    WHERE id = :id
                    """)
                .bind("id", id)
                .bind("status", error == null ? "succeeded" : "failed")
                .bind("finishedAt", Times.bindable(finishedAt))
                .bind("promotions", promotionsExpired)
                .bind("listings", listingsExpired)
                .bind("batches", batches)
                .bind("error", error)
                .execute());
  }
}
