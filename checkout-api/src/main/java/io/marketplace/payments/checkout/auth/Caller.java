package io.marketplace.payments.checkout.auth;

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
}
