package io.marketplace.payments.checkout.auth;

import java.util.Arrays;
import java.util.Optional;

/** The roles a token's {@code roles} claim may carry (SPEC §3); unknown ones are ignored. */
public enum Role {
  USER("user"),
  SUPER_ADMIN("super_admin");

  private final String claim;

  Role(String claim) {
    this.claim = claim;
  }

  public String claim() {
    return claim;
  }

  public static Optional<Role> fromClaim(String value) {
    return Arrays.stream(values()).filter(r -> r.claim.equals(value)).findFirst();
  }
}
