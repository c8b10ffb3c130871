package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The lock that shows a process's Idempotency-Key claims alive, as other processes see it. */
class ClaimOwnerTest {

  private static final String SESSION = "claim-owner-test";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private TestDatabase db;
  private Database database;
  private IdempotencyKeyDao keys;
  private SimpleMeterRegistry registry;

  @BeforeEach
  void openDatabase() {
    db = TestInfra.freshDatabase();
    database = Database.open(db.dbConfig(), "claim-owner-test-pool");
    keys = db.jdbi().onDemand(IdempotencyKeyDao.class);
    registry = new SimpleMeterRegistry();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  @Test
  void shouldShowItsClaimsAliveUntilItCloses() {
    // Given an owner started
    ClaimOwner owner = ClaimOwner.start(() -> database.openSession(SESSION), registry);

    // Then another session sees it alive, and no owner by another number
    assertThat(keys.ownerAlive(ClaimOwner.LOCK_CLASS, owner.id())).isTrue();
    assertThat(keys.ownerAlive(ClaimOwner.LOCK_CLASS, owner.id() ^ 1)).isFalse();
    assertThat(registry.get("payments.idempotency.owner.lock").gauge().value()).isEqualTo(1.0);

    // When it closes (its session ends; ProcessKillTest kills a whole process)
    owner.close();

    // Then it is seen gone
    Await.until(
        WAIT, "the owner seen gone", () -> !keys.ownerAlive(ClaimOwner.LOCK_CLASS, owner.id()));
    assertThat(registry.get("payments.idempotency.owner.lock").gauge().value()).isZero();
  }

  @Test
  void shouldTakeItsLockAgainWhenItsSessionWasEnded() {
    // Given an owner whose session the server ends (a restart, a network fault, an admin)
    ClaimOwner owner = ClaimOwner.start(() -> database.openSession(SESSION), registry);
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        + " WHERE application_name = ? AND datname = current_database()",
                    SESSION));
    Await.until(
        WAIT, "the owner seen gone", () -> !keys.ownerAlive(ClaimOwner.LOCK_CLASS, owner.id()));

    // When it checks its session, as it does every second
    owner.maintain();

    // Then it holds the same lock again
    assertThat(owner.held()).isTrue();
    assertThat(keys.ownerAlive(ClaimOwner.LOCK_CLASS, owner.id())).isTrue();
    owner.close();
  }
}
