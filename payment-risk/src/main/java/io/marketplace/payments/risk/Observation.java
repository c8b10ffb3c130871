package io.marketplace.payments.risk;

import java.time.Instant;

/**
 * One fact that counts toward a signal of a user: a decline (member: the Stripe event id), a card
 * (member: its fingerprint) or a dispute (member: the dispute id). Counts are of distinct members.
 */
public record Observation(String userId, Signal signal, String member, Instant occurredAt) {}
