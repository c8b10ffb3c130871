package io.marketplace.payments.checkout.auth;

import io.marketplace.payments.common.http.ProblemException;
import java.util.Set;
import java.util.UUID;

/** Who is calling, as their verified token says. */
public record Caller(UUID userId, Set<Role> roles) {

  public Caller {
    roles = Set.copyOf(roles);
  }

  public boolean isAdmin() {
    return roles.contains(Role.SUPER_ADMIN);
  }

  /** A marketplace user: the {@code user} role, or an admin acting for themselves. */
  public boolean isUser() {
    return roles.contains(Role.USER) || isAdmin();
  }

  public boolean owns(UUID ownerId) {
    return userId.equals(ownerId);
  }

  /**
   * Four eyes: refuses (403) an admin's decision about their own account, which is a marketplace
   * account like any other; another admin decides.
   *
   * @param what what the admin may not do to it, as in "an admin may not {@code what}"
   */
  public void refuseOwn(UUID ownerId, String what) {
    if (owns(ownerId)) {
      throw ProblemException.forbidden("an admin may not " + what + "; another admin may");
    }
  }
}
