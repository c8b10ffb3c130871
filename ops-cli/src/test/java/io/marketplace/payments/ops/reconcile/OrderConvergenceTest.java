package io.marketplace.payments.ops.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.stripe.StripeClient;
import com.stripe.model.Refund;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.events.ModerationDecision;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The books of one payment converge whatever order its facts arrive in: Stripe does not order its
 * webhooks and may send one change twice under two event ids, and the payment processor and the
 * refund worker read them from places of their own. Each scenario plays one payment's history at
 * the Stripe emulator (what Stripe did is fixed), then delivers its events (and a moderation
 * decision where there is one) to both workers in several orders, each on a payment of its own:
 * every permutation when there are few, else a seeded sample that includes Stripe's order and its
 * reverse, and once more in Stripe's order with every event sent twice under two ids. Every run
 * must end in the same books (listing, payment, refunds, featured weeks, ban, what Stripe refunded)
 * and announce the same facts on {@code payments.events.v1}, each once.
 *
 * <p>Each item of a run is applied, and the commands it sets off between the workers settled,
 * before the run's next item is sent, so the order a run names is the order both workers apply (the
 * two events of a change, in the twins run, go together). The runs, on payments of their own, go
 * side by side. Where the docs accept a difference between orders, the run's state is normalized by
 * {@link Scenario#accepted} and {@link EndState#withoutActivationsTakenBack}, which say which and
 * why.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OrderConvergenceTest {

  private static final long SEED = 20261206L;
  private static final int SAMPLE = 6;
  private static final Set<String> PROCESSOR_TYPES =
      Set.of(
          "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled");

  private final PaymentsWorld world = new PaymentsWorld();
  private final HttpClient http = HttpClient.newHttpClient();
  private StripeEmulator emulator;
  private StripeClient stripe;
  private RefundWorker refunds;
  private KafkaConsumer<String, byte[]> commandReader;
  private final Set<String> commandsNotSeenApplied = new HashSet<>();

  @BeforeAll
  void start() {
    // what Stripe did, it did two minutes before its webhooks reach us: a refund or a chargeback
    // is then, in every order, older than any activation the processor makes
    emulator =
        StripeEmulator.start(
            StripeEmulator.Config.defaults()
                .withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-2))));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
    world.startProcessor();
    refunds = world.startRefundWorker(emulator, stripe);
    commandReader =
        new KafkaConsumer<>(world.kafka.consumerConfig(TestInfra.uniqueName("orders_reader_")));
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic :
        List.of(world.topics.refundCommands().name(), world.topics.deliveryCommands().name())) {
      commandReader
          .partitionsFor(topic)
          .forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
    }
    commandReader.assign(partitions);
    commandReader.seekToBeginning(partitions);
  }

  @AfterAll
  void stop() {
    if (commandReader != null) {
      commandReader.close();
    }
    if (refunds != null) {
      refunds.close();
    }
    world.close();
    emulator.close();
  }

  /**
   * (a) A featured week is bought; an admin refunds 200 of its 500; the customer, who charged back
   * a payment before, charges back the other 300 and the dispute is won. The week runs on (a part
   * refunded), ends when the chargeback takes the last of the money, and what was left of it is
   * given back when the dispute is won. The second chargeback, open when Stripe opened it, bans the
   * customer (SPEC §1: decided when it is counted); the win does not lift the ban.
   */
  @Test
  void shouldConvergeWhenAPartlyRefundedFeaturedWeeksChargebackIsWon() throws Exception {
    assertConverges(
        new Scenario() {
          @Override
          public Run start() throws Exception {
            UUID listing = activeListing();
            String pi = world.paidAtStripe(stripe, listing, "promotion_featured", 500);
            world.paymentRow(pi, listing, "promotion_featured", 500);
            Run run = new Run(listing, world.ownerOf(listing), pi);
            run.prefix.addAll(earlierChargeback(run));
            // the purchase applied, as the admin route refunds only a succeeded payment
            for (ObjectNode event : run.newEvents("payment_intent.succeeded")) {
              run.prefix.add(stripeEvent(run, event));
            }
            run.prefix.add(adminRefund(run, 200));
            return run;
          }

          @Override
          public void history(Run run) throws Exception {
            String dispute = emulator.openDispute(run.pi);
            emulator.closeDispute(dispute, "won");
            for (ObjectNode event : handled(run.newEvents(null))) {
              // the network charged back what the admin's refund left: 300 of the 500
              JsonNode object = event.path("data").path("object");
              if ("dispute".equals(object.path("object").asText())) {
                ((ObjectNode) object).put("amount", 300);
              }
              run.items.add(stripeEvent(run, event));
            }
          }

          @Override
          public EndState accepted(EndState state) {
            // docs/events.md, promotion.created: a dispute won before its chargeback was applied
            // never ended the week; applied while open, its chargeback ends the week (the last of
            // its money) and the win gives back what was left of it, all of it here
            return state.withWeekGivenBackAsRan(
                "featured ended=true cause=disputed hours=168",
                "featured given back ended=false cause=null hours=168",
                "featured ended=false cause=null hours=168");
          }
        });
  }

  /**
   * (b) A posting fee is paid, the customer charges it back, moderation rejects the listing and the
   * dispute is lost. Stripe refuses any refund while the chargeback is open, so the customer has
   * the 500 back once, by the chargeback; the moderation decision may come before or after any
   * event.
   */
  @Test
  void shouldConvergeWhenARejectedListingsChargebackIsLost() throws Exception {
    assertConverges(
        new Scenario() {
          @Override
          public Run start() throws Exception {
            UUID listing = world.pendingListing();
            String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
            world.paymentRow(pi, listing, "posting_fee", 500);
            Run run = new Run(listing, world.ownerOf(listing), pi);
            String dispute = emulator.openDispute(pi);
            emulator.closeDispute(dispute, "lost");
            List<ObjectNode> events = handled(run.newEvents(null));
            for (ObjectNode event : events) {
              run.items.add(stripeEvent(run, event));
            }
            // moderation decides once the dispute's money is gone (Stripe's order)
            int afterWithdrawn = indexOf(run.items, "charge.dispute.funds_withdrawn") + 1;
            run.items.add(afterWithdrawn, moderationRejection(run));
            return run;
          }

          @Override
          public EndState accepted(EndState state) {
            // README, "How it flows": an automatic refund (a rejection's, or a technical failure's
            // when the success is applied to a listing rejected already) asked before the refund
            // worker heard of the dispute is refused by Stripe (charge_disputed), recorded failed
            // and announced once; a lost dispute leaves it so, for an admin to close. In the other
            // order nothing is asked. Stripe refunded nothing either way: compared without it.
            return state
                .withoutRefund("moderation_rejection 500 failed charge_disputed", "refund.failed")
                .withoutRefund("technical_failure 500 failed charge_disputed", "refund.failed");
          }
        });
  }

  /**
   * (c) A posting fee (its success and charge sent twice by Stripe under two ids each) refunded in
   * full in Stripe's dashboard; that refund fails days later (the card closed), and a second full
   * refund from the dashboard succeeds.
   */
  @Test
  void shouldConvergeWhenADashboardRefundFailsAndASecondOneSucceeds() throws Exception {
    assertConverges(
        new Scenario() {
          @Override
          public Run start() throws Exception {
            UUID listing = world.pendingListing();
            String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
            world.paymentRow(pi, listing, "posting_fee", 500);
            Run run = new Run(listing, world.ownerOf(listing), pi);
            String first = emulator.refundOutsideSystem(pi, 500L).get("id").toString();
            emulator.failRefund(first);
            emulator.refundOutsideSystem(pi, null);
            for (ObjectNode event : run.newEvents(null)) {
              String type = event.path("type").asText();
              if (handled(List.of(event)).isEmpty() && !type.equals("charge.succeeded")) {
                continue;
              }
              run.items.add(stripeEvent(run, event));
              if (type.equals("payment_intent.succeeded") || type.equals("charge.succeeded")) {
                run.items.add(stripeEvent(run, twin(event)));
              }
            }
            return run;
          }

          @Override
          public EndState accepted(EndState state) {
            // StripeRefundHandler: a refund made outside the system whose failure is told before
            // it is recorded is not recorded ("no money moved"); told after, it is recorded,
            // announced, then failed and announced so. Its money is back with us either way
            return state.withoutRefund(
                "user_request 500 failed expired_or_canceled_card",
                "refund.processed",
                "refund.failed");
          }
        });
  }

  /**
   * (d) A bump goes out; weeks later the customer's bank opens an inquiry, which is closed and then
   * escalates to a chargeback under the same id. The bump stays (it went out); the inquiry counts
   * for nothing, the chargeback once, and, the customer's second, bans them.
   */
  @Test
  void shouldConvergeWhenABumpsInquiryEscalatesToAChargeback() throws Exception {
    assertConverges(
        new Scenario() {
          @Override
          public Run start() throws Exception {
            UUID listing = activeListing();
            String pi = world.paidAtStripe(stripe, listing, "promotion_bump", 200);
            world.paymentRow(pi, listing, "promotion_bump", 200);
            Run run = new Run(listing, world.ownerOf(listing), pi);
            run.prefix.addAll(earlierChargeback(run));
            for (ObjectNode event : run.newEvents("payment_intent.succeeded")) {
              run.prefix.add(stripeEvent(run, event));
            }
            return run;
          }

          @Override
          public void history(Run run) throws Exception {
            String inquiry = emulator.openDisputeInquiry(run.pi);
            // closed without a chargeback (warning_closed), then escalated by the network
            emulator.closeDispute(inquiry, "won");
            emulator.escalateDispute(inquiry);
            for (ObjectNode event : handled(run.newEvents(null))) {
              run.items.add(stripeEvent(run, event));
            }
          }
        });
  }

  // ---- the runs

  /**
   * One payment's history, played at Stripe. {@link #start} makes a new payment and what every
   * order starts from ({@link Run#prefix}, applied in that order); {@link #history} then plays the
   * rest at Stripe and gives its items, to be delivered in some order.
   */
  private interface Scenario {
    Run start() throws Exception;

    default void history(Run run) throws Exception {}

    /** The state with the differences between orders the docs accept taken out. */
    default EndState accepted(EndState state) {
      return state;
    }
  }

  /**
   * One thing delivered to the workers, and how to know they applied it; {@code twin} makes the
   * same change under another Stripe event id (null for what is not a Stripe event).
   */
  private record Item(String label, Runnable send, BooleanSupplier applied, Supplier<Item> twin) {}

  /**
   * A payment of a scenario: what was applied before, and what is to be delivered in some order.
   */
  private final class Run {
    final UUID listing;
    final UUID user;
    final String pi;
    final List<Item> prefix = new ArrayList<>();
    final List<Item> items = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();

    Run(UUID listing, UUID user, String pi) {
      this.listing = listing;
      this.user = user;
      this.pi = pi;
    }

    /**
     * The events Stripe made about this payment that were not taken yet, oldest first; only those
     * of {@code type} when it is not null.
     */
    List<ObjectNode> newEvents(String type) throws IOException, InterruptedException {
      List<ObjectNode> events = new ArrayList<>();
      for (ObjectNode event : stripeEventsOf(pi)) {
        if ((type == null || type.equals(event.path("type").asText()))
            && seen.add(event.path("id").asText())) {
          events.add(event);
        }
      }
      return events;
    }
  }

  private void assertConverges(Scenario scenario) throws Exception {
    // the runs are on payments of their own, so they go side by side: each step of each run is
    // applied, and what it set off settled, before the next step of any run is sent
    List<Run> started = new ArrayList<>();
    for (int r = 0; r <= SAMPLE; r++) {
      started.add(scenario.start());
    }
    applyInStep(started, started.stream().map(r -> r.prefix).toList());
    for (Run run : started) {
      scenario.history(run);
    }
    List<List<Integer>> orders = orders(started.getFirst().items.size());
    // one run per order, and the last for the twins; a run left over (few orders) is not sent on
    List<Run> runs = new ArrayList<>(started.subList(0, orders.size()));
    runs.add(started.getLast());
    List<List<Item>> ordered = new ArrayList<>();
    for (int o = 0; o < orders.size(); o++) {
      ordered.add(orders.get(o).stream().map(runs.get(o).items::get).toList());
    }
    // and once in Stripe's order, each Stripe event sent twice under two ids, both at once
    List<Item> doubled = new ArrayList<>();
    for (Item item : runs.getLast().items) {
      doubled.add(item.twin() == null ? item : withTwin(item, item.twin().get()));
    }
    ordered.add(doubled);
    applyInStep(runs, ordered);

    world.db.awaitOutboxPublished(PaymentsWorld.WAIT);
    Map<String, List<String>> announced = announcedByKey();
    Map<String, EndState> states = new LinkedHashMap<>();
    for (int r = 0; r < runs.size(); r++) {
      String label =
          (r == runs.size() - 1 ? "twins: " : "")
              + ordered.get(r).stream().map(Item::label).collect(Collectors.joining(", "));
      states.put(
          label, scenario.accepted(endState(runs.get(r), announced).withoutActivationsTakenBack()));
    }
    EndState expected = states.values().iterator().next();
    assertThat(states)
        .as("end state after each order (first: Stripe's order)")
        .allSatisfy((order, state) -> assertThat(state).as(order).isEqualTo(expected));
  }

  /**
   * Sends step k of every run, waits until each is applied and all it set off settled, then k+1.
   */
  private void applyInStep(List<Run> runs, List<List<Item>> items) {
    int steps = items.stream().mapToInt(List::size).max().orElse(0);
    for (int k = 0; k < steps; k++) {
      List<Item> step = new ArrayList<>();
      for (List<Item> run : items) {
        if (k < run.size()) {
          step.add(run.get(k));
        }
      }
      step.forEach(item -> item.send().run());
      for (Item item : step) {
        Await.until(PaymentsWorld.WAIT, item.label() + " applied", item.applied());
      }
      settle(runs);
    }
  }

  /** Every permutation of {@code n} items when few, else Stripe's, its reverse and a seeded few. */
  private static List<List<Integer>> orders(int n) {
    List<Integer> natural = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      natural.add(i);
    }
    List<List<Integer>> orders = new ArrayList<>();
    if (n <= 3) {
      permutations(natural, 0, orders);
      return orders;
    }
    orders.add(natural);
    List<Integer> reversed = new ArrayList<>(natural);
    Collections.reverse(reversed);
    orders.add(reversed);
    Random random = new Random(SEED + n);
    while (orders.size() < SAMPLE) {
      List<Integer> shuffled = new ArrayList<>(natural);
      Collections.shuffle(shuffled, random);
      if (!orders.contains(shuffled)) {
        orders.add(shuffled);
      }
    }
    return orders;
  }

  private static void permutations(List<Integer> items, int from, List<List<Integer>> out) {
    if (from == items.size()) {
      out.add(new ArrayList<>(items));
      return;
    }
    for (int i = from; i < items.size(); i++) {
      Collections.swap(items, from, i);
      permutations(items, from + 1, out);
      Collections.swap(items, from, i);
    }
  }

  // ---- delivering

  private Item stripeEvent(Run run, ObjectNode event) {
    return stripeEvent(run.pi, event);
  }

  /** A Stripe event about {@code pi}, as the gateway publishes it (keyed by the PaymentIntent). */
  private Item stripeEvent(String pi, ObjectNode event) {
    String id = event.path("id").asText();
    String type = event.path("type").asText();
    byte[] body = Json.bytes(event);
    int consumers =
        (PROCESSOR_TYPES.contains(type) ? 1 : 0) + (refunds.handlesStripeEvent(type) ? 1 : 0);
    return new Item(
        type,
        () -> {
          world.kafka.send(
              world.topics.stripeEvents(),
              pi,
              body,
              Map.of(
                  RecordHeaders.STRIPE_EVENT_ID, id,
                  RecordHeaders.STRIPE_EVENT_TYPE, type,
                  RecordHeaders.RECEIVED_AT, Instant.now().toString()));
        },
        () -> world.db.count("processed_events WHERE event_key = ?", id) >= consumers,
        () -> stripeEvent(pi, twin(event)));
  }

  /** {@code item} and its twin, sent together, as Stripe sends the two events of one change. */
  private static Item withTwin(Item item, Item twin) {
    return new Item(
        item.label() + " (twins)",
        () -> {
          item.send().run();
          twin.send().run();
        },
        () -> item.applied().getAsBoolean() && twin.applied().getAsBoolean(),
        null);
  }

  /** The same change under another event id, as Stripe sometimes sends it. */
  private static ObjectNode twin(ObjectNode event) {
    ObjectNode copy = event.deepCopy();
    copy.put("id", "evt_twin_" + UUID.randomUUID().toString().replace("-", "").substring(0, 20));
    return copy;
  }

  private Item moderationRejection(Run run) {
    Instant decidedAt = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String key = "moderation:" + run.listing + ":rejected:" + decidedAt;
    String body =
        Json.write(
            new ModerationDecision(run.listing, ModerationDecision.REJECTED, "scam", decidedAt));
    return new Item(
        "moderation rejected",
        () -> {
          world.kafka.send(world.topics.moderation(), run.listing.toString(), body);
        },
        () ->
            world.db.count(
                    "processed_events WHERE consumer = ? AND event_key = ?",
                    RefundWorker.MODERATION_CONSUMER,
                    key)
                == 1,
        null);
  }

  /**
   * A chargeback, still open, of an earlier posting fee of the run's user: the events that record
   * it, to apply before the run's own.
   */
  private List<Item> earlierChargeback(Run run) throws Exception {
    UUID listing = UUID.randomUUID();
    world.db.execute(
        """
        INSERT INTO marketplace_listings
            (id, user_id, category_id, title, status, activated_at, expires_at)
        VALUES (?, ?, 1, 'Bike, barely used', 'active', now(), now() + interval '30 days')
        """,
        listing,
        run.user);
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = now()"
            + " WHERE stripe_payment_intent_id = ?",
        pi);
    emulator.openDispute(pi);
    List<Item> items = new ArrayList<>();
    for (ObjectNode event : handled(stripeEventsOf(pi))) {
      items.add(stripeEvent(pi, event));
    }
    return items;
  }

  /** A super_admin's refund of {@code amount} of the payment, as checkout-api's route makes it. */
  private Item adminRefund(Run run, long amount) {
    return new Item(
        "admin refund of " + amount, () -> refundAsAdmin(run, amount), () -> true, null);
  }

  private void refundAsAdmin(Run run, long amount) {
    UUID id = UUID.randomUUID();
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note,
             created_by, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 'user_request', 'approved', 'goodwill', ?, now(), now())
        """,
        id,
        run.user,
        run.listing,
        run.pi,
        amount,
        UUID.randomUUID());
    assertThat(refunds.executor().execute(id).refund().status().toString())
        .isEqualToIgnoringCase("processed");
  }

  /**
   * Waits until nothing is left in flight for the runs: no refund approved and not yet sent to
   * Stripe, every outbox row published, every command between the workers applied.
   */
  private void settle(List<Run> runs) {
    String[] pis = runs.stream().map(r -> r.pi).toArray(String[]::new);
    while (true) {
      Await.until(
          PaymentsWorld.WAIT,
          "the refunds approved sent to Stripe",
          () -> {
            if (world.db.count(
                    "payment_refunds WHERE stripe_payment_intent_id = ANY(?) AND status = 'approved'",
                    (Object) pis)
                == 0) {
              return true;
            }
            refunds.retryApprovedRefunds();
            return false;
          });
      world.db.awaitOutboxPublished(PaymentsWorld.WAIT);
      boolean more = readCommands();
      if (!more && commandsNotSeenApplied.isEmpty()) {
        return;
      }
      Await.until(
          PaymentsWorld.WAIT,
          "commands between the workers applied: " + commandsNotSeenApplied,
          () -> {
            commandsNotSeenApplied.removeIf(
                key -> world.db.count("processed_events WHERE event_key = ?", key) > 0);
            return commandsNotSeenApplied.isEmpty();
          });
    }
  }

  /** Reads the commands the workers sent each other since the last read; false when none. */
  private boolean readCommands() {
    var partitions = commandReader.assignment();
    Map<TopicPartition, Long> end = commandReader.endOffsets(partitions);
    boolean read = false;
    long deadline = System.nanoTime() + PaymentsWorld.WAIT.toNanos();
    while (partitions.stream().anyMatch(p -> commandReader.position(p) < end.get(p))) {
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError("could not read the commands to their end " + end);
      }
      for (ConsumerRecord<String, byte[]> r : commandReader.poll(Duration.ofMillis(50))) {
        String prefix =
            r.topic().equals(world.topics.refundCommands().name())
                ? "refund-command:"
                : "delivery-command:";
        commandsNotSeenApplied.add(prefix + idOf(r));
        read = true;
      }
    }
    return read;
  }

  private static String idOf(ConsumerRecord<String, byte[]> command) {
    try {
      return Json.mapper().readTree(command.value()).path("id").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- reading

  /** What a user of the books sees of one run, times and ids left out. */
  record EndState(
      String listing,
      String payment,
      List<String> refunds,
      List<String> weeks,
      boolean banned,
      List<String> refundedAtStripe,
      Map<String, Long> announced) {

    /**
     * This state without the refund record {@code refund} (reason, amount, status, failure) and, if
     * it was there, one announcement of each of {@code eventTypes}.
     */
    EndState withoutRefund(String refund, String... eventTypes) {
      if (!refunds.contains(refund)) {
        return this;
      }
      List<String> fewer = new ArrayList<>(refunds);
      fewer.remove(refund);
      return new EndState(
          listing, payment, fewer, weeks, banned, refundedAtStripe, less(announced, eventTypes));
    }

    /**
     * This state with the week {@code ended} and the week {@code givenBack} for it taken as the
     * week {@code ran}, one {@code promotion.expired} and one {@code promotion.created} less.
     */
    EndState withWeekGivenBackAsRan(String ended, String givenBack, String ran) {
      if (!weeks.contains(ended) || !weeks.contains(givenBack)) {
        return this;
      }
      List<String> fewer = new ArrayList<>(weeks);
      fewer.remove(ended);
      fewer.remove(givenBack);
      fewer.add(ran);
      Collections.sort(fewer);
      return new EndState(
          listing,
          payment,
          refunds,
          fewer,
          banned,
          refundedAtStripe,
          less(announced, "promotion.expired", "promotion.created"));
    }

    /**
     * This state without the activations each taken back by a {@code listing.withdrawn}:
     * docs/events.md, {@code listing.withdrawn}: a posting fee whose money all went back before its
     * success was applied is held back (nothing announced), and one applied first activates the
     * listing and takes the activation back (two events); the listing ends the same.
     */
    EndState withoutActivationsTakenBack() {
      long pairs =
          Math.min(
              announced.getOrDefault("listing.activated", 0L),
              announced.getOrDefault("listing.withdrawn", 0L));
      Map<String, Long> events = announced;
      for (long i = 0; i < pairs; i++) {
        events = less(events, "listing.activated", "listing.withdrawn");
      }
      return new EndState(listing, payment, refunds, weeks, banned, refundedAtStripe, events);
    }

    private static Map<String, Long> less(Map<String, Long> announced, String... eventTypes) {
      Map<String, Long> events = new TreeMap<>(announced);
      for (String type : eventTypes) {
        events.computeIfPresent(type, (t, c) -> c == 1 ? null : c - 1);
      }
      return events;
    }
  }

  private EndState endState(Run run, Map<String, List<String>> announcedByKey) throws Exception {
    String listing = world.listingStatus(run.listing);
    Map<String, Object> payment =
        world
            .db
            .row(
                "SELECT status, delivery_withheld_at IS NOT NULL AS withheld FROM payments"
                    + " WHERE stripe_payment_intent_id = ?",
                run.pi)
            .orElseThrow();
    List<String> refundRows =
        world
            .db
            .rows(
                "SELECT reason, amount_cents, status, failure_reason FROM payment_refunds"
                    + " WHERE stripe_payment_intent_id = ?",
                run.pi)
            .stream()
            .map(
                r ->
                    (r.get("reason")
                            + " "
                            + r.get("amount_cents")
                            + " "
                            + r.get("status")
                            + (r.get("failure_reason") == null
                                ? ""
                                : " " + r.get("failure_reason")))
                        .trim())
            .sorted()
            .toList();
    List<String> weeks =
        world
            .db
            .rows(
                """
                SELECT type, expired_at IS NOT NULL AS ended, end_cause,
                       restores_promotion_id IS NOT NULL AS given_back,
                       round(extract(epoch FROM (expires_at - starts_at)) / 3600) AS hours
                FROM listing_promotions WHERE listing_id = ?
                """,
                run.listing)
            .stream()
            .map(
                r ->
                    r.get("type")
                        + (Boolean.TRUE.equals(r.get("given_back")) ? " given back" : "")
                        + " ended="
                        + r.get("ended")
                        + " cause="
                        + r.get("end_cause")
                        + " hours="
                        + r.get("hours"))
            .sorted()
            .toList();
    boolean banned = world.db.count("users WHERE id = ? AND banned_at IS NOT NULL", run.user) == 1;
    List<String> atStripe = new ArrayList<>();
    for (Refund refund :
        stripe
            .v1()
            .refunds()
            .list(RefundListParams.builder().setPaymentIntent(run.pi).setLimit(100L).build())
            .getData()) {
      atStripe.add(refund.getAmount() + " " + refund.getStatus());
    }
    Collections.sort(atStripe);
    List<String> events =
        new ArrayList<>(announcedByKey.getOrDefault(run.listing.toString(), List.of()));
    events.addAll(announcedByKey.getOrDefault(run.user.toString(), List.of()));
    assertThat(events.stream().map(e -> e.split(" ")[1]).toList())
        .as("ids announced about %s", run.pi)
        .doesNotHaveDuplicates();
    Map<String, Long> announced =
        events.stream()
            .map(e -> e.split(" ")[0])
            .collect(
                Collectors.groupingBy(Function.identity(), TreeMap::new, Collectors.counting()));
    return new EndState(
        listing,
        payment.get("status") + (Boolean.TRUE.equals(payment.get("withheld")) ? " withheld" : ""),
        refundRows,
        weeks,
        banned,
        atStripe,
        announced);
  }

  /** The type and id of every event on {@code payments.events.v1}, by key. */
  private Map<String, List<String>> announcedByKey() {
    Map<String, List<String>> byKey = new TreeMap<>();
    for (ConsumerRecord<String, byte[]> r : world.kafka.readAll(world.topics.paymentEvents())) {
      JsonNode event;
      try {
        event = Json.mapper().readTree(r.value());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      byKey
          .computeIfAbsent(r.key(), k -> new ArrayList<>())
          .add(event.path("type").asText() + " " + event.path("id").asText());
    }
    return byKey;
  }

  /** Every event the emulator made about {@code pi}, oldest first. */
  private List<ObjectNode> stripeEventsOf(String pi) throws IOException, InterruptedException {
    List<ObjectNode> newestFirst = new ArrayList<>();
    String after = null;
    while (true) {
      String url =
          emulator.baseUrl()
              + "/v1/events?limit=100"
              + (after == null ? "" : "&starting_after=" + after);
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(url))
                  .header("Authorization", "Bearer " + emulator.secretKey())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      JsonNode page = Json.mapper().readTree(response.body());
      for (JsonNode event : page.path("data")) {
        JsonNode object = event.path("data").path("object");
        String of =
            "payment_intent".equals(object.path("object").asText())
                ? object.path("id").asText()
                : object.path("payment_intent").asText();
        if (pi.equals(of)) {
          newestFirst.add((ObjectNode) event);
        }
        after = event.path("id").asText();
      }
      if (!page.path("has_more").asBoolean(false)) {
        break;
      }
    }
    Collections.reverse(newestFirst);
    return newestFirst;
  }

  private UUID activeListing() {
    UUID listing = world.pendingListing();
    world.db.execute(
        """
        UPDATE marketplace_listings
        SET status = 'active', activated_at = now(), expires_at = now() + interval '30 days'
        WHERE id = ?
        """,
        listing);
    return listing;
  }

  /** The events one of the workers acts on; the others both pass over. */
  private List<ObjectNode> handled(List<ObjectNode> events) {
    return events.stream()
        .filter(
            e -> {
              String type = e.path("type").asText();
              return PROCESSOR_TYPES.contains(type) || refunds.handlesStripeEvent(type);
            })
        .toList();
  }

  private static int indexOf(List<Item> items, String label) {
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i).label().equals(label)) {
        return i;
      }
    }
    throw new AssertionError("no " + label + " among " + items);
  }
}
