package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.dispute.DisputeService;
import io.marketplace.payments.stripeemulator.http.Ids;
import io.marketplace.payments.stripeemulator.http.RequestOrigin;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.state.Store;
import io.marketplace.payments.stripeemulator.webhook.EventPublisher;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * PaymentIntents through their card flow. Publishes {@code payment_intent.created}, {@code
 * charge.succeeded} + {@code payment_intent.succeeded} on an approved confirmation, {@code
 * charge.failed} + {@code payment_intent.payment_failed} on a decline, and {@code
 * payment_intent.canceled}. A dispute test card then has its dispute opened by {@link
 * DisputeService}.
 */
public final class PaymentIntentService {
  private static final long MIN_AMOUNT = 50;
  private static final long MAX_AMOUNT = 99_999_999;
  private static final Set<String> CANCELLATION_REASONS =
      Set.of("duplicate", "fraudulent", "requested_by_customer", "abandoned");

  /** The parameters of {@code POST /v1/payment_intents} that the emulator honours. */
  public record Create(
      Long amount,
      String currency,
      Map<String, String> metadata,
      String description,
      String paymentMethod,
      boolean confirm,
      Map<String, Object> automaticPaymentMethods,
      List<String> paymentMethodTypes,
      String receiptEmail) {}

  private final Store store;
  private final EventPublisher events;
  private final DisputeService disputes;

  public PaymentIntentService(Store store, EventPublisher events, DisputeService disputes) {
    this.store = store;
    this.events = events;
    this.disputes = disputes;
  }

  public PaymentIntent create(Create c, RequestOrigin origin) {
    if (c.amount() == null) {
      throw StripeError.missingParam("amount");
    }
    if (c.currency() == null) {
      throw StripeError.missingParam("currency");
    }
    String currency = c.currency().toLowerCase(Locale.ROOT);
    if (!currency.matches("[a-z]{3}")) {
      throw StripeError.invalidRequest(
          "Invalid currency: " + c.currency(), "currency", "parameter_invalid_string");
    }
    if (c.amount() < MIN_AMOUNT) {
      throw StripeError.invalidRequest(
          "Amount must be at least $0.50 " + currency, "amount", "amount_too_small");
    }
    if (c.amount() > MAX_AMOUNT) {
      throw StripeError.invalidRequest(
          "Amount must be no more than $999,999.99", "amount", "amount_too_large");
    }
    PaymentMethod pm = c.paymentMethod() == null ? null : resolve(c.paymentMethod());
    String id = Ids.newId("pi");
    return store.locked(
        id,
        () -> {
          PaymentIntent pi =
              new PaymentIntent(
                  id,
                  store.nextSequence(),
                  store.now(),
                  c.amount(),
                  currency,
                  pm == null
                      ? PaymentIntentStatus.REQUIRES_PAYMENT_METHOD
                      : PaymentIntentStatus.REQUIRES_CONFIRMATION,
                  c.metadata(),
                  c.description(),
                  pm == null ? null : pm.id(),
                  id + "_secret_" + Ids.random(25),
                  null,
                  null,
                  c.automaticPaymentMethods(),
                  c.paymentMethodTypes().isEmpty() ? List.of("card") : c.paymentMethodTypes(),
                  null,
                  null,
                  0,
                  c.receiptEmail());
          store.put(pi);
          events.publish("payment_intent.created", pi.toJson(), null, origin);
          return c.confirm() ? confirmLocked(pi, null, origin) : pi;
        });
  }

  /**
   * {@code POST /v1/payment_intents/{id}}: changes the {@code amount} and {@code currency} of a
   * PaymentIntent not yet confirmed, as Stripe lets anyone with the account's secret key do (its
   * API or its dashboard): whoever holds its client secret then pays the new amount. Stripe refuses
   * it once the PaymentIntent is processing, paid or canceled.
   */
  public PaymentIntent update(String id, Long amount, String currency) {
    retrieve(id);
    String lower = currency == null ? null : currency.toLowerCase(Locale.ROOT);
    if (lower != null && !lower.matches("[a-z]{3}")) {
      throw StripeError.invalidRequest(
          "Invalid currency: " + currency, "currency", "parameter_invalid_string");
    }
    if (amount != null && amount < MIN_AMOUNT) {
      throw StripeError.invalidRequest(
          "Amount must be at least $0.50 " + (lower == null ? "usd" : lower),
          "amount",
          "amount_too_small");
    }
    if (amount != null && amount > MAX_AMOUNT) {
      throw StripeError.invalidRequest(
          "Amount must be no more than $999,999.99", "amount", "amount_too_large");
    }
    return store.locked(
        id,
        () -> {
          PaymentIntent pi = retrieve(id);
          if (!pi.status().confirmable()) {
            throw unexpectedState(
                pi,
                "You cannot update this PaymentIntent because it has a status of "
                    + pi.status().wire()
                    + ".");
          }
          PaymentIntent updated =
              pi.withAmount(
                  amount == null ? pi.amount() : amount, lower == null ? pi.currency() : lower);
          store.put(updated);
          return updated;
        });
  }

  public PaymentIntent retrieve(String id) {
    return store
        .paymentIntent(id)
        .orElseThrow(() -> StripeError.noSuch("payment_intent", id, "intent"));
  }

  /**
   * Deletes a PaymentIntent, as Stripe's "delete all test data" does in test mode: from then on it
   * answers 404 {@code resource_missing} ({@code No such payment_intent: 'pi_...'}) to every call,
   * which is also what a key of another account or mode gets for it. Returns whether it existed.
   */
  public boolean delete(String id) {
    return store.locked(id, () -> store.removePaymentIntent(id));
  }

  public List<PaymentIntent> all() {
    return store.paymentIntents();
  }

  /**
   * Confirms with {@code paymentMethod} (a test token such as {@code pm_card_visa}, or a {@code
   * pm_...} id) or the one already attached. A decline throws the 402 card error after the
   * PaymentIntent went back to {@code requires_payment_method}.
   */
  public PaymentIntent confirm(String id, String paymentMethod, RequestOrigin origin) {
    retrieve(id);
    PaymentMethod pm = paymentMethod == null ? null : resolve(paymentMethod);
    return store.locked(id, () -> confirmLocked(retrieve(id), pm, origin));
  }

  public PaymentIntent cancel(String id, String reason, RequestOrigin origin) {
    if (reason != null && !CANCELLATION_REASONS.contains(reason)) {
      throw StripeError.invalidRequest(
          "Invalid cancellation_reason: must be one of duplicate, fraudulent,"
              + " requested_by_customer, or abandoned",
          "cancellation_reason",
          null);
    }
    retrieve(id);
    return store.locked(
        id,
        () -> {
          PaymentIntent pi = retrieve(id);
          if (!pi.status().cancelable()) {
            throw unexpectedState(
                pi,
                "You cannot cancel this PaymentIntent because it has a status of "
                    + pi.status().wire()
                    + ". Only a PaymentIntent with one of the following statuses may be canceled:"
                    + " requires_payment_method, requires_capture, requires_confirmation,"
                    + " requires_action.");
          }
          PaymentIntent canceled = pi.canceled(store.now(), reason);
          store.put(canceled);
          events.publish("payment_intent.canceled", canceled.toJson(), null, origin);
          return canceled;
        });
  }

  /**
   * Test control: a PaymentIntent not yet paid starts being paid with {@code paymentMethod} (a test
   * token such as {@code pm_card_visa}) and waits for the outcome ({@code processing}, {@code
   * payment_intent.processing}), as a payment whose network answers late does: neither confirmable
   * nor cancelable until {@link #failProcessing} ends it.
   */
  public PaymentIntent holdProcessing(String id, String paymentMethod, RequestOrigin origin) {
    retrieve(id);
    PaymentMethod pm = resolve(paymentMethod);
    return store.locked(
        id,
        () -> {
          PaymentIntent pi = retrieve(id);
          if (!pi.status().confirmable()) {
            throw unexpectedState(
                pi,
                "You cannot process this PaymentIntent because it has a status of "
                    + pi.status().wire()
                    + ".");
          }
          PaymentIntent processing = pi.processing(pm.id());
          store.put(processing);
          events.publish("payment_intent.processing", processing.toJson(), null, origin);
          return processing;
        });
  }

  /**
   * Test control: the payment of a PaymentIntent {@code processing} fails, as its network answers:
   * a failed charge, and the PaymentIntent back in {@code requires_payment_method}, payable again
   * (and cancelable), with {@code charge.failed} and {@code payment_intent.payment_failed}.
   */
  public PaymentIntent failProcessing(String id, RequestOrigin origin) {
    retrieve(id);
    return store.locked(
        id,
        () -> {
          PaymentIntent pi = retrieve(id);
          if (pi.status() != PaymentIntentStatus.PROCESSING) {
            throw unexpectedState(
                pi,
                "This PaymentIntent is not processing: it has a status of "
                    + pi.status().wire()
                    + ".");
          }
          PaymentMethod pm = store.paymentMethod(pi.paymentMethod()).orElseThrow();
          Charge charge =
              new Charge(
                  Ids.newId("ch"),
                  store.nextSequence(),
                  store.now(),
                  pi.id(),
                  pi.amount(),
                  pi.currency(),
                  false,
                  pm.id(),
                  pm.card(),
                  pi.metadata(),
                  pi.description(),
                  0,
                  false,
                  Ids.newId("txn"),
                  pi.receiptEmail());
          store.put(charge);
          Map<String, Object> error = new LinkedHashMap<>();
          error.put("charge", charge.id());
          error.put("code", "card_declined");
          error.put("decline_code", "generic_decline");
          error.put("doc_url", "https://stripe.com/docs/error-codes/card-declined");
          error.put("message", "Your card was declined.");
          error.put("payment_method", pm.toJson());
          error.put("type", "card_error");
          PaymentIntent failed = pi.declined(charge.id(), error);
          store.put(failed);
          events.publish("charge.failed", charge.toJson(), null, origin);
          events.publish("payment_intent.payment_failed", failed.toJson(), null, origin);
          return failed;
        });
  }

  public List<Charge> charges() {
    return store.charges();
  }

  public Charge charge(String id) {
    return store.charge(id).orElseThrow(() -> StripeError.noSuch("charge", id, "charge"));
  }

  public PaymentMethod paymentMethod(String id) {
    return store
        .paymentMethod(id)
        .orElseThrow(() -> StripeError.noSuch("payment_method", id, "payment_method"));
  }

  private PaymentIntent confirmLocked(PaymentIntent pi, PaymentMethod given, RequestOrigin origin) {
    if (!pi.status().confirmable()) {
      throw unexpectedState(
          pi,
          pi.status() == PaymentIntentStatus.SUCCEEDED
              ? "You cannot confirm this PaymentIntent because it has already succeeded after"
                  + " being previously confirmed."
              : "You cannot confirm this PaymentIntent because it has a status of "
                  + pi.status().wire()
                  + ". Only a PaymentIntent with one of the following statuses may be confirmed:"
                  + " requires_confirmation, requires_action, requires_payment_method.");
    }
    PaymentMethod pm = given != null ? given : store.paymentMethod(pi.paymentMethod()).orElse(null);
    if (pm == null) {
      throw unexpectedState(
          pi,
          "You cannot confirm this PaymentIntent because it's missing a payment method. You can"
              + " either update the PaymentIntent with a payment method and then confirm it"
              + " again, or confirm it again directly with a payment method.");
    }
    TestCard card = pm.card();
    Charge charge =
        new Charge(
            Ids.newId("ch"),
            store.nextSequence(),
            store.now(),
            pi.id(),
            pi.amount(),
            pi.currency(),
            !card.declines(),
            pm.id(),
            card,
            pi.metadata(),
            pi.description(),
            0,
            false,
            Ids.newId("txn"),
            pi.receiptEmail());
    store.put(charge);
    if (card.declines()) {
      return decline(pi, pm, charge, origin);
    }
    PaymentIntent succeeded = pi.succeeded(pm.id(), charge.id());
    store.put(succeeded);
    events.publish("charge.succeeded", charge.toJson(), null, origin);
    events.publish("payment_intent.succeeded", succeeded.toJson(), null, origin);
    switch (card.outcome()) {
      case DISPUTED_CHARGEBACK -> disputes.openLater(pi.id(), false);
      case DISPUTED_INQUIRY -> disputes.openLater(pi.id(), true);
      default -> {}
    }
    return succeeded;
  }

  private PaymentIntent decline(
      PaymentIntent pi, PaymentMethod pm, Charge charge, RequestOrigin origin) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("charge", charge.id());
    error.put("code", "card_declined");
    error.put("decline_code", pm.card().declineCode());
    error.put("doc_url", "https://stripe.com/docs/error-codes/card-declined");
    error.put("message", pm.card().declineMessage());
    error.put("payment_method", pm.toJson());
    error.put("type", "card_error");
    PaymentIntent declined = pi.declined(charge.id(), error);
    store.put(declined);
    events.publish("charge.failed", charge.toJson(), null, origin);
    events.publish("payment_intent.payment_failed", declined.toJson(), null, origin);

    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("charge", charge.id());
    extra.put("decline_code", pm.card().declineCode());
    extra.put("payment_intent", declined.toJson());
    extra.put("payment_method", pm.toJson());
    throw StripeError.card("card_declined", pm.card().declineMessage(), extra);
  }

  /** A test token makes a fresh PaymentMethod, as Stripe does; a {@code pm_...} id must exist. */
  private PaymentMethod resolve(String reference) {
    return TestCard.byToken(reference)
        .map(
            card -> {
              PaymentMethod pm =
                  new PaymentMethod(Ids.newId("pm"), store.nextSequence(), store.now(), card);
              store.put(pm);
              return pm;
            })
        .or(() -> store.paymentMethod(reference))
        .orElseThrow(
            () ->
                StripeError.invalidRequest(
                    "No such PaymentMethod: '" + reference + "'",
                    "payment_method",
                    "resource_missing"));
  }

  private static StripeError unexpectedState(PaymentIntent pi, String message) {
    return StripeError.invalidRequest(
            message, null, "payment_intent_unexpected_state", Map.of("payment_intent", pi.toJson()))
        .keptForTheKey();
  }
}
