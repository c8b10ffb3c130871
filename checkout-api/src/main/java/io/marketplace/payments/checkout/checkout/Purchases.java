package io.marketplace.payments.checkout.checkout;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.auth.Bans;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.auth.RiskFlags;
import io.marketplace.payments.checkout.listing.CategoryDao;
import io.marketplace.payments.checkout.listing.Listing;
import io.marketplace.payments.checkout.listing.ListingDao;
import io.marketplace.payments.checkout.listing.ListingStatus;
import io.marketplace.payments.checkout.listing.Listings;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.stripe.PaymentIntentsToCancel;
import java.time.Clock;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buying something for a listing (posting fee, featured, bump) with a PaymentIntent, so that no
 * retry or race ever creates a second PaymentIntent for the same purchase:
 *
 * <ol>
 *   <li>In one short transaction, with the listing row locked: check the buyer and the business
 *       rule, then find the open {@link CheckoutAttempt} of this listing and type or create one.
 *       Commit. Concurrent requests queue on the lock and all leave with the same attempt.
 *   <li>Outside any transaction: if the attempt has a PaymentIntent, retrieve it (Stripe forgets
 *       idempotency keys after 24 h); else create one with the attempt id as idempotency key. An
 *       answer Stripe keeps for the key (a server error, a 4xx refusal, or parameters other than
 *       the key's first call had) gives the attempt up: the retry starts anew. So does a
 *       PaymentIntent that the key it was recorded with no longer finds; one another key made is
 *       never replaced. So does an unpaid PaymentIntent changed at Stripe to another amount or
 *       currency than the attempt's, once Stripe has canceled it: the buyer is only ever handed
 *       what the answer says.
 *   <li>In a second transaction: put the PaymentIntent id on the attempt, with the fingerprint of
 *       the Stripe key that got it, and insert the {@code payments} row ({@code requires_payment}),
 *       both only if not there yet.
 * </ol>
 *
 * A crash between the steps is harmless: the retry finds the attempt and Stripe answers its key
 * with the same PaymentIntent. A purchase ends (its attempt closes) when its PaymentIntent is paid
 * or canceled; the next purchase of the same thing then gets a new attempt.
 */
public final class Purchases {

  private static final Logger log = LoggerFactory.getLogger(Purchases.class);
  private static final int MAX_ROUNDS = 3;

  /** Stripe statuses of a PaymentIntent that is paid, or on its way to being paid. */
  private static final Set<String> PAID = Set.of("succeeded", "processing");

  /** {@code payments.status} values that end a purchase. */
  private static final Set<String> ENDED = Set.of("succeeded", "canceled");

  private final Jdbi jdbi;
  private final PaymentIntents paymentIntents;
  private final Clock clock;
  private final IntentMetrics metrics;

  public Purchases(Jdbi jdbi, PaymentIntents paymentIntents, Clock clock, IntentMetrics metrics) {
    this.jdbi = jdbi;
    this.paymentIntents = paymentIntents;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** What the frontend needs to collect the payment with Stripe.js. */
  public record PaymentReply(
      String paymentIntentId, String clientSecret, long amountCents, String currency) {}

  /**
   * Step 1's outcome: the listing and its open attempt, or why the rules refuse the purchase now
   * and the PaymentIntent of the open attempt that the refusal closed, to cancel at Stripe.
   */
  private record Opened(
      Listing listing, CheckoutAttempt attempt, ProblemException refused, String stale) {}

  /** Buys {@code type} for the caller's listing; answers with its (possibly existing) intent. */
  public PaymentReply purchase(Caller caller, UUID listingId, PaymentType type) {
    try (var mdc = Mdc.put(Mdc.LISTING_ID, listingId.toString())) {
      for (int round = 0; round < MAX_ROUNDS; round++) {
        Opened opened = jdbi.inTransaction(tx -> open(tx, caller, listingId, type));
        if (opened.refused() != null) {
          cancelStale(opened);
          throw opened.refused();
        }
        CheckoutAttempt attempt = opened.attempt();
        boolean known = attempt.stripePaymentIntentId() != null;
        PaymentIntent intent;
        if (known) {
          try {
            intent = paymentIntents.retrieve(attempt.stripePaymentIntentId());
          } catch (PaymentIntents.Gone gone) {
            if (giveUpGone(attempt)) {
              continue;
            }
            throw gone;
          }
        } else {
          intent = create(opened);
        }
        if (repricedUnpaid(intent, attempt)) {
          giveUpRepriced(attempt, intent, known);
          continue;
        }
        if (endsPurchase(intent, type)) {
          // paid or canceled at Stripe before our records say so: this purchase is over; a paid
          // featured week counts from now on for the fit of the next (refuseFeaturedPastTheEnd)
          boolean paid = PAID.contains(intent.getStatus());
          jdbi.useHandle(
              h -> {
                CheckoutDao dao = h.attach(CheckoutDao.class);
                if (paid) {
                  dao.closePaid(attempt.id(), clock.instant());
                } else {
                  dao.close(attempt.id(), clock.instant());
                }
              });
          continue;
        }
        if (!known && !record(caller, opened, intent)) {
          continue;
        }
        return new PaymentReply(
            intent.getId(), intent.getClientSecret(), attempt.amountCents(), Prices.CURRENCY);
      }
      throw ProblemException.unavailable("the purchase could not be settled; try again", 1);
    }
  }

  /**
   * Step 2 for an attempt without a PaymentIntent. When Stripe answers with an error it keeps for
   * the attempt's key and replays to every retry for a day ({@link PaymentIntents.KeySpent}: a
   * server error, or the key's first call made with other parameters; {@link
   * PaymentIntents.Refused}: a 4xx refusal, which made nothing), the attempt is given up so that
   * the client's retry starts a new one with a new key (and the price as it is then), instead of
   * getting the same error for a day. A concurrent checkout still on the given-up attempt cannot
   * record what it gets: see {@link #record}.
   */
  private PaymentIntent create(Opened opened) {
    CheckoutAttempt attempt = opened.attempt();
    try {
      return paymentIntents.create(attempt, opened.listing());
    } catch (PaymentIntents.KeySpent e) {
      giveUpSpent(attempt);
      throw e;
    } catch (PaymentIntents.Refused e) {
      // nothing was made; a 4xx the endpoint gave is kept for the key, and a refused price is
      // priced afresh by the next attempt
      giveUpSpent(attempt);
      throw e.answer();
    }
  }

  private void giveUpSpent(CheckoutAttempt attempt) {
    int given =
        jdbi.withHandle(h -> h.attach(CheckoutDao.class).giveUp(attempt.id(), clock.instant()));
    if (given == 1) {
      log.warn(
          "{} of listing {}: Stripe answered the creation of its PaymentIntent with an error"
              + " it keeps for key {}; the next checkout starts a new attempt",
          attempt.paymentType(),
          attempt.listingId(),
          attempt.idempotencyKey());
    }
  }

  /**
   * Step 2 for an attempt whose PaymentIntent Stripe does not find ({@link PaymentIntents.Gone}).
   * Given up, so that this checkout goes on with a new attempt and a new PaymentIntent, only when
   * the key in use is the one the PaymentIntent was recorded with: that key's account and mode have
   * no such PaymentIntent any more, so nobody can pay it. Kept otherwise (recorded with another
   * key, or before keys were recorded): it may be payable where it was made, and a second one could
   * be paid too; the caller answers 502, logged here for the operators.
   */
  private boolean giveUpGone(CheckoutAttempt attempt) {
    String paymentIntentId = attempt.stripePaymentIntentId();
    if (!paymentIntents.keyFingerprint().equals(attempt.stripeKeyFingerprint())) {
      log.error(
          "{} of listing {}: Stripe does not find its PaymentIntent {} with the key in use, which"
              + " is not the key it was recorded with ({}); it is kept, not replaced, as it may"
              + " still be payable there: restore that key, or settle the purchase by hand",
          attempt.paymentType(),
          attempt.listingId(),
          paymentIntentId,
          attempt.stripeKeyFingerprint() == null
              ? "none recorded"
              : "key " + attempt.stripeKeyFingerprint());
      return false;
    }
    int given =
        jdbi.withHandle(
            h ->
                h.attach(CheckoutDao.class)
                    .giveUpHolding(attempt.id(), paymentIntentId, clock.instant()));
    if (given == 1) {
      log.warn(
          "{} of listing {}: Stripe no longer has its PaymentIntent {} for the key that made it;"
              + " nobody can pay it, so the purchase starts a new attempt",
          attempt.paymentType(),
          attempt.listingId(),
          paymentIntentId);
    }
    return true;
  }

  /**
   * Whether Stripe has the attempt's PaymentIntent, not yet paid, for another amount or currency
   * than the purchase was priced at: someone with the account's secret key changed it (Stripe's
   * dashboard, a script) after it was made. Its client secret charges what Stripe has, while the
   * answer would say the purchase's price; the processor delivers nothing for such a payment, so
   * the buyer would be charged, the wrong amount, for nothing. One paid or on its way stays as it
   * is, for the operators (docs/runbook.md, "Dead letters").
   */
  private static boolean repricedUnpaid(PaymentIntent intent, CheckoutAttempt attempt) {
    if ("canceled".equals(intent.getStatus()) || PAID.contains(intent.getStatus())) {
      return false;
    }
    return intent.getAmount() == null
        || intent.getAmount() != attempt.amountCents()
        || !Prices.CURRENCY.equalsIgnoreCase(intent.getCurrency());
  }

  /**
   * Step 2 for a PaymentIntent {@link #repricedUnpaid}: canceled at Stripe, so that nobody pays it,
   * and then the attempt given up, so that this checkout goes on with a new attempt and a
   * PaymentIntent at the purchase's price. When Stripe does not cancel it (unreachable, or it is
   * being paid meanwhile) it is not replaced, since both could then be paid: the answer is 503, and
   * the retry finds it canceled, paid or still to cancel.
   */
  private void giveUpRepriced(CheckoutAttempt attempt, PaymentIntent intent, boolean known) {
    log.error(
        "{} of listing {}: Stripe has its PaymentIntent {} for {} {}, not the {} {} it was priced"
            + " at; changed at Stripe since it was made, it is canceled and replaced",
        attempt.paymentType(),
        attempt.listingId(),
        intent.getId(),
        intent.getAmount(),
        intent.getCurrency(),
        attempt.amountCents(),
        Prices.CURRENCY);
    if (!paymentIntents.cancel(intent.getId())) {
      throw ProblemException.unavailable(
          "the payment provider holds this purchase's payment at another price than ours and did"
              + " not cancel it yet; try again shortly",
          2);
    }
    jdbi.useHandle(
        h -> {
          CheckoutDao dao = h.attach(CheckoutDao.class);
          if (known) {
            dao.giveUpHolding(attempt.id(), intent.getId(), clock.instant());
          } else {
            dao.giveUp(attempt.id(), clock.instant());
          }
        });
  }

  /** Step 1: the rules, under the listing's lock, and the open attempt. */
  private Opened open(Handle tx, Caller caller, UUID listingId, PaymentType type) {
    Instant now = clock.instant();
    Bans.refuseBanned(tx, caller.userId());
    RiskFlags.refuseFlagged(tx, caller.userId(), now);
    Listing listing = Listings.lockOwned(tx, caller, listingId, now);
    CheckoutDao dao = tx.attach(CheckoutDao.class);
    int amountCents;
    try {
      amountCents = priceIfAllowed(tx, listing, type, now);
    } catch (ProblemException refused) {
      return new Opened(listing, null, refused, closeRefused(tx, listingId, type, now));
    }
    CheckoutAttempt open = dao.findOpen(listingId, type.wire()).orElse(null);
    if (open != null && open.stripePaymentIntentId() != null) {
      String status = dao.paymentStatus(open.stripePaymentIntentId()).orElse("requires_payment");
      if ("succeeded".equals(status)
          && type == PaymentType.POSTING_FEE
          && !wentBackInFull(tx, open.stripePaymentIntentId(), open.amountCents())) {
        // never a second fee: the processor activates the listing with the same transaction
        throw ProblemException.conflict("the posting fee is paid; the listing is being activated");
      }
      if (ENDED.contains(status)) {
        dao.close(open.id(), now);
        open = null;
      }
    }
    if (open == null) {
      UUID id = UUID.randomUUID();
      dao.insert(id, listingId, listing.userId(), type.wire(), amountCents, now);
      open = dao.findOpen(listingId, type.wire()).orElseThrow();
    }
    return new Opened(listing, open, null, null);
  }

  /**
   * Whether all of a paid PaymentIntent's money went back (a refund made in Stripe's dashboard, a
   * chargeback): the processor does not deliver such a payment, so its purchase is over and the
   * buyer may pay again, rather than be told for good that the fee is paid.
   */
  private static boolean wentBackInFull(Handle tx, String paymentIntentId, int amountCents) {
    return tx.attach(RefundDao.class).returnedCents(paymentIntentId) >= amountCents;
  }

  /**
   * The rules refuse the purchase now (the listing expired, a featured week no longer fits): an
   * open attempt handed out a PaymentIntent the buyer could still pay, for what can no longer be
   * delivered. The attempt is closed; its PaymentIntent, unless our records have it paid or on its
   * way, is recorded in {@code payment_intents_to_cancel} in the same transaction, so that the
   * refund worker's janitor cancels it should Stripe not take the cancellation now (or this process
   * die before asking), and returned to be canceled at Stripe at once.
   */
  private static String closeRefused(Handle tx, UUID listingId, PaymentType type, Instant now) {
    CheckoutDao dao = tx.attach(CheckoutDao.class);
    CheckoutAttempt open = dao.findOpen(listingId, type.wire()).orElse(null);
    if (open == null || open.stripePaymentIntentId() == null) {
      return null;
    }
    String status = dao.paymentStatus(open.stripePaymentIntentId()).orElse("requires_payment");
    if (PAID.contains(status) || ENDED.contains(status)) {
      return null;
    }
    dao.close(open.id(), now);
    PaymentIntentsToCancel.ofRefusedCheckout(tx, open.stripePaymentIntentId(), listingId, now);
    return open.stripePaymentIntentId();
  }

  /**
   * Cancels at Stripe the PaymentIntent the refusal closed ({@link #closeRefused}) and, once Stripe
   * has, deletes its row to cancel; one Stripe did not cancel keeps its row for the refund worker.
   */
  private void cancelStale(Opened opened) {
    String stale = opened.stale();
    if (stale == null) {
      return;
    }
    boolean canceled = paymentIntents.cancel(stale);
    if (canceled) {
      try {
        jdbi.useHandle(h -> PaymentIntentsToCancel.done(h, stale));
      } catch (RuntimeException e) {
        // its row stays: the refund worker asks again, and Stripe says it is canceled already
        log.warn("PaymentIntent {} canceled, but its row to cancel stays", stale, e);
      }
    }
    log.warn(
        "purchase of listing {} refused ({}): its open PaymentIntent {} {}",
        opened.listing().id(),
        opened.refused().getMessage(),
        stale,
        canceled
            ? "canceled"
            : "not canceled now; the refund worker asks Stripe again, and a payment that succeeds"
                + " meanwhile is refunded as undeliverable");
  }

  /**
   * Cancels at Stripe a PaymentIntent nobody may pay for (it was not paid as far as we know);
   * returns what became of it, for the caller's log. One that gets paid all the same is refunded by
   * the processor as undeliverable.
   */
  private String cancelUnpayable(String paymentIntentId) {
    return paymentIntents.cancel(paymentIntentId)
        ? "canceled"
        : "not canceled; a payment would be refunded as undeliverable";
  }

  /**
   * {@link #cancelUnpaid}, for a PaymentIntent recorded to cancel in the transaction that refused
   * its purchase: its row is deleted once Stripe has canceled it, and stays for the refund worker
   * otherwise.
   */
  private String cancelRecorded(PaymentIntent intent) {
    String outcome = cancelUnpaid(intent);
    if (PAID.contains(intent.getStatus())) {
      return outcome;
    }
    if (!"canceled".equals(outcome)) {
      return "not canceled now; the refund worker asks Stripe again, and a payment that succeeds"
          + " meanwhile is refunded as undeliverable";
    }
    try {
      jdbi.useHandle(h -> PaymentIntentsToCancel.done(h, intent.getId()));
    } catch (RuntimeException e) {
      // its row stays: the refund worker asks again, and Stripe says it is canceled already
      log.warn("PaymentIntent {} canceled, but its row to cancel stays", intent.getId(), e);
    }
    return outcome;
  }

  private String cancelUnpaid(PaymentIntent intent) {
    return PAID.contains(intent.getStatus())
        ? "not canceled (paid); it is refunded as undeliverable"
        : cancelUnpayable(intent.getId());
  }

  /** The business rules of SPEC §1 for buying {@code type}; the price when they allow it. */
  private static int priceIfAllowed(Handle tx, Listing listing, PaymentType type, Instant now) {
    switch (type) {
      case POSTING_FEE -> {
        if (listing.listingStatus() != ListingStatus.PENDING_PAYMENT) {
          throw ProblemException.conflict(
              "the listing is "
                  + listing.status()
                  + "; only a pending_payment listing is paid for");
        }
        int fee =
            tx.attach(CategoryDao.class)
                .findById(listing.categoryId())
                .orElseThrow()
                .postingFeeCents();
        if (fee <= 0) {
          throw ProblemException.conflict("the listing's category has no posting fee");
        }
        return fee;
      }
      case PROMOTION_FEATURED, PROMOTION_BUMP -> {
        if (!listing.isLive(now)) {
          throw ProblemException.conflict(
              "the listing is "
                  + (listing.listingStatus() == ListingStatus.ACTIVE
                      ? "past its end"
                      : listing.status())
                  + "; only an active listing can be promoted");
        }
        // a featured week extends from the running one's end; one that would not end by the
        // listing's own end would run, in part or in full, on an expired listing: sold for days
        // nobody sees (the processor refunds it if it gets paid anyway, say when the running end
        // moved meanwhile)
        if (type == PaymentType.PROMOTION_FEATURED && listing.expiresAt() != null) {
          refuseFeaturedPastTheEnd(
              listing,
              tx.attach(CheckoutDao.class).featuredWeeksPaidNotRecorded(listing.id()),
              now);
        }
        if (type == PaymentType.PROMOTION_BUMP
            && listing.lastBumpedAt() != null
            && listing.lastBumpedAt().isAfter(now.minus(Prices.BUMP_INTERVAL))) {
          throw ProblemException.conflict(
              "the listing was bumped at "
                  + listing.lastBumpedAt()
                  + "; the next bump is possible from "
                  + listing.lastBumpedAt().plus(Prices.BUMP_INTERVAL));
        }
        return Prices.promotionCents(type);
      }
    }
    throw new IllegalStateException("unknown payment type " + type);
  }

  /**
   * Refuses a featured week that would not end by the listing's end. It would start where the
   * listing's featured weeks end: those recorded ({@code featuredUntil}, read under the listing's
   * lock) and then the {@code paidNotRecorded} weeks paid at Stripe that the processor has not
   * recorded yet, which it adds before this one.
   */
  private static void refuseFeaturedPastTheEnd(Listing listing, int paidNotRecorded, Instant now) {
    boolean featured = listing.featuredUntil() != null && listing.featuredUntil().isAfter(now);
    Instant startsAt =
        (featured ? listing.featuredUntil() : now)
            .plus(Prices.FEATURED_FOR.multipliedBy(paidNotRecorded));
    Instant endsAt = startsAt.plus(Prices.FEATURED_FOR);
    if (!endsAt.isAfter(listing.expiresAt())) {
      return;
    }
    String featuring = featured ? "; it is featured until " + listing.featuredUntil() : "";
    if (paidNotRecorded > 0) {
      featuring +=
          (featured ? ", and " : "; ")
              + paidNotRecorded
              + " featured week(s) paid and not yet recorded run to "
              + startsAt;
    }
    if (!startsAt.isBefore(listing.expiresAt())) {
      throw ProblemException.conflict(
          "the listing ends at "
              + listing.expiresAt()
              + featuring
              + "; another featured week would start after its end");
    }
    throw ProblemException.conflict(
        "the listing ends at "
            + listing.expiresAt()
            + featuring
            + "; a featured week of 7 days from "
            + startsAt
            + " would run past it, to "
            + endsAt);
  }

  /**
   * Whether Stripe says the attempt's PaymentIntent cannot take this payment. A canceled one never
   * can. A paid posting fee is still the answer (the listing activates once the processor has the
   * event); a paid featured promotion ends the purchase, so a new one starts; a paid bump means
   * this bump is taken, and the next must wait its 24 hours.
   */
  private static boolean endsPurchase(PaymentIntent intent, PaymentType type) {
    if ("canceled".equals(intent.getStatus())) {
      return true;
    }
    if (!PAID.contains(intent.getStatus())) {
      return false;
    }
    return switch (type) {
      case POSTING_FEE -> false;
      case PROMOTION_FEATURED -> true;
      case PROMOTION_BUMP ->
          throw ProblemException.conflict(
              "a bump of this listing was just paid for; one bump per 24 hours");
    };
  }

  /**
   * Step 3: what the PaymentIntent buys, written once, if the buyer and the listing still take the
   * purchase. Both are checked again, the listing under its lock: while Stripe was creating the
   * PaymentIntent, the buyer may have been banned or put on hold (the refund worker's janitor
   * cancels only the PaymentIntents it can see, those recorded), the listing rejected (so does
   * moderation) or its time run out. Then the purchase ends here: its attempt is closed, the new
   * PaymentIntent is canceled at Stripe, so that nobody pays for what cannot be delivered (recorded
   * in {@code payment_intents_to_cancel} in the same transaction, for the refund worker to cancel
   * should Stripe not take it now), and the answer is the 403 or 409 that step 1 would give now.
   *
   * <p>False when the attempt was given up while Stripe was making its PaymentIntent (a concurrent
   * checkout of the same purchase got a server error for the key, see {@link #create}), or holds
   * another one: that PaymentIntent is not the purchase's, is canceled at Stripe, and the caller
   * goes on with the purchase's open attempt, so no purchase ever hands out two payable intents.
   */
  private boolean record(Caller caller, Opened opened, PaymentIntent intent) {
    CheckoutAttempt attempt = opened.attempt();
    Recorded recorded =
        jdbi.inTransaction(
            tx -> {
              Instant now = clock.instant();
              try {
                // a ban or a risk hold may have committed while Stripe made the PaymentIntent
                Bans.refuseBanned(tx, caller.userId());
                RiskFlags.refuseFlagged(tx, caller.userId(), now);
                Listing listing = Listings.lockOwned(tx, caller, attempt.listingId(), now);
                priceIfAllowed(tx, listing, attempt.type(), now);
              } catch (ProblemException refused) {
                tx.attach(CheckoutDao.class).close(attempt.id(), now);
                if (!PAID.contains(intent.getStatus())) {
                  // canceled below; one Stripe does not cancel then is the refund worker's
                  PaymentIntentsToCancel.ofRefusedCheckout(
                      tx, intent.getId(), attempt.listingId(), now);
                }
                return new Recorded(null, refused);
              }
              return new Recorded(
                  recordInTransaction(tx, attempt, intent, paymentIntents.keyFingerprint(), now),
                  null);
            });
    if (recorded.recording() == Recording.GIVEN_UP) {
      log.warn(
          "{} of listing {}: PaymentIntent {} came for an attempt given up meanwhile; {}",
          attempt.paymentType(),
          attempt.listingId(),
          intent.getId(),
          cancelUnpaid(intent));
      return false;
    }
    if (recorded.refused() != null) {
      // one paid already stays paid: the processor refunds what it cannot deliver
      log.warn(
          "{} of listing {} no longer allowed once its PaymentIntent {} was created ({}): {}",
          attempt.paymentType(),
          attempt.listingId(),
          intent.getId(),
          cancelRecorded(intent),
          recorded.refused().getMessage());
      throw recorded.refused();
    }
    if (recorded.recording() == Recording.FIRST) {
      metrics.created(attempt.type());
      try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, intent.getId())) {
        log.info(
            "PaymentIntent {} created for {} of listing {} ({} cents)",
            intent.getId(),
            attempt.paymentType(),
            attempt.listingId(),
            attempt.amountCents());
      }
    }
    return true;
  }

  /** What step 3 did with the PaymentIntent. */
  private enum Recording {
    /** Recorded now: the payment row is new. */
    FIRST,
    /** Recorded before, by a concurrent or earlier checkout of the same attempt. */
    AGAIN,
    /** Not the attempt's: it was given up, or holds another PaymentIntent. */
    GIVEN_UP
  }

  /** Step 3's outcome: what was recorded, or why the purchase was refused. */
  private record Recorded(Recording recording, ProblemException refused) {}

  private static Recording recordInTransaction(
      Handle tx,
      CheckoutAttempt attempt,
      PaymentIntent intent,
      String keyFingerprint,
      Instant now) {
    CheckoutDao dao = tx.attach(CheckoutDao.class);
    if (dao.recordPaymentIntent(attempt.id(), intent.getId(), keyFingerprint, now) == 0
        && !dao.holds(attempt.id(), intent.getId())) {
      return Recording.GIVEN_UP;
    }
    int inserted =
        dao.insertPayment(
            intent.getId(),
            attempt.listingId(),
            attempt.userId(),
            attempt.paymentType(),
            attempt.amountCents(),
            Prices.CURRENCY,
            now);
    if (attempt.type() == PaymentType.POSTING_FEE) {
      tx.attach(ListingDao.class).recordPaymentIntent(attempt.listingId(), intent.getId(), now);
    }
    return inserted == 1 ? Recording.FIRST : Recording.AGAIN;
  }
}
