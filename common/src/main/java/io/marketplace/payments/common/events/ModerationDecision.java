package io.marketplace.payments.common.events;

import java.time.Instant;
import java.util.UUID;

/**
 * A record of {@code marketplace.moderation.v1} (SPEC §4), keyed by listing id: {@code
 * {"listingId","decision":"rejected","reason","decidedAt"}}. Other services publish here too.
 */
public record ModerationDecision(
    UUID listingId, String decision, String reason, Instant decidedAt) {

  public static final String REJECTED = "rejected";
}
