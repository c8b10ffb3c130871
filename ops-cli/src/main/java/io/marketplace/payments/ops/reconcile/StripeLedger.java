package io.marketplace.payments.ops.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.RateLimitException;
import com.stripe.exception.StripeException;
import com.stripe.model.Dispute;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.model.StripeObject;
import com.stripe.param.ChargeListParams;
import com.stripe.param.DisputeListParams;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.ops.OperatorError;
import java.io.IOException;
import java.time.Instant;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** What Stripe holds: PaymentIntents and refunds by creation time, and single objects raw. */
public final class StripeLedger {

  private static final long PAGE = 100;

  private final StripeClient client;
  private final String apiBase;

  /** {@code client} sends to {@code apiBase} (STRIPE_API_BASE), which the errors name. */
  public StripeLedger(StripeClient client, String apiBase) {
    this.client = client;
    this.apiBase = apiBase;
  }

  /** Every PaymentIntent created at or after {@code since}, newest first, page by page. */
  public void paymentIntentsSince(Instant since, Consumer<Reconciler.StripePayment> each) {
    var params =
        PaymentIntentListParams.builder()
            .setCreated(
                PaymentIntentListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    forEach(
        "listing PaymentIntents",
        () -> client.v1().paymentIntents().list(params).autoPagingIterable(),
        pi -> each.accept(payment(pi)));
  }

  /**
   * The PaymentIntent of every succeeded charge created at or after {@code since}: money taken
   * since then, whenever its PaymentIntent was created. A PaymentIntent appears once per charge.
   */
  public void paidSince(Instant since, Consumer<String> paymentIntentId) {
    var params =
        ChargeListParams.builder()
            .setCreated(ChargeListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    forEach(
        "listing charges",
        () -> client.v1().charges().list(params).autoPagingIterable(),
        charge -> {
          if ("succeeded".equals(charge.getStatus()) && charge.getPaymentIntent() != null) {
            paymentIntentId.accept(charge.getPaymentIntent());
          }
        });
  }

  /** One PaymentIntent as Stripe has it now; empty when Stripe has none of that id. */
  public Optional<Reconciler.StripePayment> paymentIntent(String id) {
    return retrieve(id, () -> client.v1().paymentIntents().retrieve(id)).map(StripeLedger::payment);
  }

  /** One refund as Stripe has it now; empty when Stripe has none of that id. */
  public Optional<Reconciler.StripeRefund> refund(String id) {
    return retrieve(id, () -> client.v1().refunds().retrieve(id)).map(StripeLedger::refund);
  }

  /** Every dispute created at or after {@code since}. */
  public void disputesSince(Instant since, Consumer<Reconciler.StripeDispute> each) {
    var params =
        DisputeListParams.builder()
            .setCreated(DisputeListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    forEach(
        "listing disputes",
        () -> client.v1().disputes().list(params).autoPagingIterable(),
        dispute -> each.accept(dispute(dispute)));
  }

  /** One dispute as Stripe has it now; empty when Stripe has none of that id. */
  public Optional<Reconciler.StripeDispute> dispute(String id) {
    return retrieve(id, () -> client.v1().disputes().retrieve(id)).map(StripeLedger::dispute);
  }

  private static Reconciler.StripeDispute dispute(Dispute dispute) {
    return new Reconciler.StripeDispute(
        dispute.getId(),
        dispute.getPaymentIntent(),
        dispute.getStatus(),
        dispute.getAmount() == null ? 0 : dispute.getAmount());
  }

  /** Every refund created at or after {@code since}. */
  public void refundsSince(Instant since, Consumer<Reconciler.StripeRefund> each) {
    var params =
        RefundListParams.builder()
            .setCreated(RefundListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    forEach(
        "listing refunds",
        () -> client.v1().refunds().list(params).autoPagingIterable(),
        refund -> each.accept(refund(refund)));
  }

  private static Reconciler.StripeRefund refund(Refund refund) {
    return new Reconciler.StripeRefund(
        refund.getId(),
        refund.getPaymentIntent(),
        refund.getStatus(),
        refund.getMetadata() == null ? Map.of() : refund.getMetadata());
  }

  private static Reconciler.StripePayment payment(PaymentIntent pi) {
    return new Reconciler.StripePayment(
        pi.getId(),
        pi.getStatus(),
        pi.getMetadata() == null ? Map.of() : pi.getMetadata(),
        pi.getAmount() == null ? 0 : pi.getAmount(),
        pi.getAmountReceived(),
        pi.getCurrency() == null ? "" : pi.getCurrency().toLowerCase(Locale.ROOT));
  }

  /** A retrieve call of stripe-java. */
  private interface Retrieval<T> {
    T retrieve() throws StripeException;
  }

  /** The object of {@code id} as Stripe has it now; empty when Stripe has none of that id. */
  private <T> Optional<T> retrieve(String id, Retrieval<T> retrieval) {
    try {
      return Optional.of(retrieval.retrieve());
    } catch (InvalidRequestException e) {
      if (Integer.valueOf(404).equals(e.getStatusCode())) {
        return Optional.empty();
      }
      throw unreachable("retrieving " + id, e);
    } catch (StripeException | RuntimeException e) {
      throw unreachable("retrieving " + id, e);
    }
  }

  /** A list call of stripe-java, whose pages are fetched as it is iterated. */
  private interface Listing<T> {
    Iterable<T> list() throws StripeException;
  }

  /**
   * Walks Stripe's pages, giving each object to {@code each}. What fails in fetching a page is
   * Stripe's failure; what {@code each} throws (reading the database) is its own, and is not
   * reported as Stripe's.
   */
  private <T> void forEach(String doing, Listing<T> listing, Consumer<T> each) {
    Iterator<T> objects;
    try {
      objects = listing.list().iterator();
    } catch (StripeException | RuntimeException e) {
      throw unreachable(doing, e);
    }
    while (true) {
      T next;
      try {
        if (!objects.hasNext()) {
          return;
        }
        next = objects.next();
      } catch (RuntimeException e) {
        throw unreachable(doing, e);
      }
      each.accept(next);
    }
  }

  /**
   * The object {@code repair} carries as Stripe returns it now, every field kept: what a repair
   * event carries. Fetched as the kind of object the repair is of, not by its id's prefix: Stripe
   * names disputes {@code du_} or {@code dp_}, refunds {@code re_} or {@code pyr_}.
   */
  public JsonNode raw(Repair repair) {
    String objectId = repair.objectId();
    try {
      StripeObject object =
          switch (repair.eventType()) {
            case "payment_intent.succeeded" -> client.v1().paymentIntents().retrieve(objectId);
            case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed" ->
                client.v1().disputes().retrieve(objectId);
            case "refund.created", "refund.failed" -> client.v1().refunds().retrieve(objectId);
            default ->
                throw new IllegalStateException("no Stripe object for " + repair.eventType());
          };
      return Json.mapper().readTree(object.getLastResponse().body());
    } catch (StripeException | IOException | RuntimeException e) {
      throw unreachable("retrieving " + objectId, e);
    }
  }

  /**
   * When the fact a repair publishes happened, as Stripe's objects date it: the workers take an
   * event's {@code created} as that moment (a payment's {@code succeeded_at}, the start of what it
   * bought, the 24 hours of the automatic refund rule), so a repair must not date it to the day of
   * the reconciliation. A PaymentIntent succeeded when its latest charge was made (the
   * PaymentIntent's own creation, when it names none, is the earliest it can have been); a refund
   * was created at its {@code created}. Stripe dates no refund's failure, so that one is dated now
   * ({@code now}), and no change of a dispute: a dispute's update or close is dated now too, when
   * reconcile read the dispute as it is, so that what it tells is taken over what earlier events
   * told.
   */
  public Instant occurredAt(Repair repair, JsonNode object, Instant now) {
    return switch (repair.eventType()) {
      case "payment_intent.succeeded" -> {
        String charge = object.path("latest_charge").asText("");
        if (charge.isEmpty()) {
          yield Instant.ofEpochSecond(object.path("created").asLong());
        }
        try {
          yield Instant.ofEpochSecond(client.v1().charges().retrieve(charge).getCreated());
        } catch (StripeException | RuntimeException e) {
          throw unreachable("retrieving " + charge, e);
        }
      }
      case "refund.created", "charge.dispute.created" ->
          Instant.ofEpochSecond(object.path("created").asLong());
      default -> now;
    };
  }

  /**
   * Stripe's failure as one line. stripe-java words a connection failure with its global default
   * base ("IOException during API request to Stripe (https://api.stripe.com)") whatever base the
   * client sends to, so that one is told with ours.
   */
  private OperatorError unreachable(String doing, Exception e) {
    if (e instanceof OperatorError operatorError) {
      return operatorError;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RateLimitException limited) {
        // the reads were asked again for a while already (StripeConfig#readingClient)
        return new OperatorError(
            "Stripe kept answering 429 ("
                + limited.getCode()
                + ") while "
                + doing
                + ", after waiting it out: the account's rate limit is taken by other traffic (the"
                + " services, another reconcile); run it again later (a repair it published already is"
                + " applied once, however often it is published)",
            e);
      }
      if (t instanceof ApiConnectionException) {
        Throwable why = t.getCause() == null ? t : t.getCause();
        return new OperatorError(
            "Stripe at "
                + apiBase
                + " did not answer while "
                + doing
                + " ("
                + why.getMessage()
                + "): is STRIPE_API_BASE right?",
            e);
      }
    }
    return new OperatorError("Stripe failed while " + doing + ": " + e.getMessage(), e);
  }
}
