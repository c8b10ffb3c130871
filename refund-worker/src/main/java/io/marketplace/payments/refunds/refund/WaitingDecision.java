package io.marketplace.payments.refunds.refund;

import java.time.Instant;

/**
 * A row of {@code refund_decisions_awaiting_room}: an automatic refund decided with nothing left.
 */
public record WaitingDecision(String reason, Instant decidedAt, String note) {}
