package io.marketplace.payments.checkout.auth;

import io.marketplace.payments.common.http.ProblemException;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * SPEC §1: a banned user (two or more chargebacks) may not create listings, check out or promote.
 * Checked inside the caller's transaction, so a ban that commits first is always seen.
 */
public final class Bans {

  private Bans() {}

  public static void refuseBanned(Handle tx, UUID userId) {
    if (tx.attach(UserDao.class).bannedAt(userId).isPresent()) {
      // an admin may lift it: a retry under the same Idempotency-Key then runs
      throw ProblemException.forbidden("this account is banned from buying and posting")
          .untilLifted();
    }
  }
}
