package io.marketplace.payments.common.outbox;

import io.marketplace.payments.common.db.RecordSeparated;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes outbox rows in order, at least once: a row is deleted only after the broker
 * acknowledged all of its messages; a crash in between publishes it again under the same event ids,
 * which subscribers dedupe on. One relay at a time holds a PostgreSQL advisory lock, so several
 * replicas can run it without reordering a key's events.
 *
 * <p>A row the broker refuses (too large for its topic, a topic this principal may not write to, a
 * partition that stays unavailable) keeps its place: its failure is noted on it ({@code attempts},
 * {@code failed_at}, {@code last_error}) and it is sent again after a rest that doubles with each
 * failure, up to {@value #MAX_REST_MILLIS} ms. Of a row of many messages, those the broker took are
 * noted too ({@code acknowledged_ids}) and not sent again: only the rest are. Until the broker
 * takes it, the messages that share a key on a topic with its messages still to send wait behind
 * it, so that key's events reach subscribers in the order they were written; every other message is
 * published meanwhile, also those of a row that has one waiting (a worker transaction's row holds
 * hundreds of keys: waiting whole, it held them all, the rows after it that share one of them held
 * theirs, and so on, until the rows waiting filled a pass and nothing was published at all). Within
 * a pass each key's messages leave one at a time (see {@link #sendInOrder}), so one written after a
 * message refused for the first time is not sent in that pass either. A row this version cannot
 * publish (a destination a newer version added, during a rolling deploy) or cannot read is kept as
 * a refused one, its error noted, and the others go on. Rows that wait do not fill a pass: it reads
 * on past them, up to {@link #LOOKAHEAD} pages, and the passes after it start past those at the
 * head of the outbox until one's rest ends (see {@link Head}), so that a topic refused for long
 * neither has them read again by every pass nor, however many they are, holds back the rows behind
 * them. A pass that leaves a refused row behind does not count as completed for {@code
 * payments.outbox.stalled}, so the OutboxRelayStalled alert fires while one waits. A topic that
 * does not exist (deleted; the broker creates none on its own) blocks a send {@link #MAX_BLOCK} in
 * the relay's thread, holding back every other topic's events: after one such send the relay sends
 * nothing to it, its rows refused at once, until a check in the background finds it again.
 *
 * <p>Idle, it looks for rows every {@code idleInterval}, or sooner when {@link #wakeUp()} says a
 * transaction of this service just wrote some; passes woken that way are at least {@value
 * #MIN_WOKEN_SPACING_MILLIS} ms apart, so a busy worker does not turn each of its commits into a
 * relay transaction.
 */
public final class OutboxRelay implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
  private static final long ADVISORY_LOCK = 0x6f7574626f78L; // "outbox"

  /**
   * Rows a pass reads at once (a page); it reads another page only while it has fewer rows than
   * this to send.
   */
  private static final int BATCH = 500;

  /**
   * Pages a pass reads at most, to find rows to send past rows that wait (refused, resting, behind
   * one refused): a topic that refuses every message (one this service may not write to, one a
   * newer version added) leaves a row waiting for each message written for it, and a page of them
   * held back every row behind them, of any topic, until it was sent. Up to 10,000 rows; the next
   * pass starts past those it found waiting (see {@link Head}).
   */
  static final int LOOKAHEAD = 20;

  /**
   * Messages a pass starts at most: rows are read while fewer than this many messages still to send
   * came before them (a row of many messages, a worker transaction's, is never split, and the first
   * row of a page is always read); messages that wait leave room for others.
   */
  private static final int MESSAGES = 5_000;

  /**
   * How long a pass waits for the broker, its PostgreSQL transaction open: from its first send to
   * the last acknowledgement it waits for. The relay's producer gives up within it on its own (see
   * {@link #producerSettings}).
   */
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

  /**
   * How long a send may block ({@code max.block.ms}): for the metadata of its topic (one that does
   * not exist, or whose leader the broker does not know) or for room in the producer's buffer.
   * Kafka's default, a minute, is twice a pass's time, and each message for such a topic waited
   * that long again.
   */
  private static final Duration MAX_BLOCK = Duration.ofSeconds(5);

  /**
   * How long the producer tries to deliver a record once it took it ({@code delivery.timeout.ms}):
   * with {@link #MAX_BLOCK}, a pass's {@link #SEND_TIMEOUT}, so that a record sent at the start of
   * a pass has its answer, or the producer's reason for giving up, before the pass stops waiting.
   * Kafka's default, two minutes, outlasted the pass: the relay gave up on a record the producer
   * could still deliver later, while the next pass sent it again.
   */
  private static final Duration DELIVERY_TIMEOUT = SEND_TIMEOUT.minus(MAX_BLOCK);

  /**
   * A produce request the broker does not answer within this is sent again ({@code
   * request.timeout.ms}): below {@link #DELIVERY_TIMEOUT}, which Kafka requires to be at least it
   * plus {@code linger.ms}, so that a request lost on a broken connection is retried in time.
   */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  static final long MAX_REST_MILLIS = 5_000;

  /**
   * How long after a check found no metadata for a topic the next one starts: each blocks up to
   * {@link #MAX_BLOCK} itself, so a topic that stays missing is asked for about every 6 s.
   */
  private static final Duration PROBE_SPACING = Duration.ofSeconds(1);

  private static final int MAX_ERROR = 1_000;
  private static final Duration RETENTION = Duration.ofDays(7);
  static final long MIN_WOKEN_SPACING_MILLIS = 10;

  private final Jdbi jdbi;
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final Duration idleInterval;
  private final Counter published;
  private final Counter rowsRead;
  private final AtomicLong backlog = new AtomicLong();
  private final Thread thread;
  private final Semaphore work = new Semaphore(0);

  /**
   * Topics a send blocked {@link #MAX_BLOCK} for in vain (one deleted, the broker creating none on
   * its own), with the failure their messages are refused with: nothing is sent to them until a
   * check in the background ({@link #probe}) finds their metadata, so that each retry of their rows
   * does not block the relay's thread, and with it every other topic's events, for that long.
   */
  private final Map<String, KafkaException> unavailable = new ConcurrentHashMap<>();

  private final ScheduledExecutorService probes;
  private volatile long lastPassNanos = System.nanoTime();
  private volatile boolean running = true;
  // read and written by the relay's thread only
  private Head head;
  private static final int VACUUM_AFTER_ROWS = 20_000;
  private static final Duration VACUUM_EVERY = Duration.ofSeconds(5);
  private long lastPurge;
  private long lastVacuum;
  private long deletedSinceVacuum;

  public OutboxRelay(
      Jdbi jdbi,
      Producer<String, byte[]> producer,
      Topics topics,
      Duration idleInterval,
      MeterRegistry registry,
      String owner) {
    this.jdbi = jdbi;
    this.producer = producer;
    this.topics = topics;
    this.idleInterval = idleInterval;
    this.published = Counter.builder("payments.outbox.published").register(registry);
    registry.gauge("payments.outbox.backlog", backlog);
    // what the passes cost PostgreSQL: rows that wait (refused, resting, behind a refused key)
    // are read again by the passes that look past them
    this.rowsRead =
        Counter.builder("payments.outbox.rows.read")
            .description(
                "outbox rows the relay's passes read, to send or to look past; those found waiting"
                    + " at the head of the outbox are read again once one's rest ends")
            .register(registry);
    // A relay whose passes fail (the database or the broker unreachable), leave a row the broker
    // refuses (too large, a topic it may not write to), or whose thread died: this grows from the
    // last pass that published all it read, so the OutboxRelayStalled alert sees it.
    Gauge.builder("payments.outbox.stalled", this, OutboxRelay::secondsSinceLastPass)
        .description(
            "seconds since this relay last completed a pass: published all it read, or found"
                + " nothing; a row the broker refuses keeps it growing")
        .baseUnit("seconds")
        .strongReference(true)
        .register(registry);
    this.thread = Thread.ofPlatform().name("outbox-relay-" + owner).daemon().unstarted(this::run);
    this.probes =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("outbox-probe-" + owner).daemon().factory());
  }

  /**
   * The settings of the producer a relay is given: the durable ones ({@link KafkaConfig#producer})
   * with time limits that fit a pass ({@link #MAX_BLOCK}, {@link #DELIVERY_TIMEOUT}, {@link
   * #REQUEST_TIMEOUT}), so that the producer gives up on a record, and says why, before the pass
   * stops waiting for it. A service's workers may share it (their dead-letter sends wait as long).
   */
  public static Properties producerSettings(KafkaConfig kafka, String clientId) {
    Properties props = kafka.producer(clientId);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis());
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis());
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) REQUEST_TIMEOUT.toMillis());
    return props;
  }

  private double secondsSinceLastPass() {
    return (System.nanoTime() - lastPassNanos) / 1e9;
  }

  public OutboxRelay start() {
    thread.start();
    return this;
  }

  private void run() {
    Duration backoff = idleInterval;
    while (running) {
      try {
        Pass pass = publishBatch();
        if (pass.completed()) {
          lastPassNanos = System.nanoTime();
        }
        vacuumWhenWorthIt(pass.messages());
        purgeOccasionally();
        backoff = idleInterval;
        if (!pass.full()) {
          awaitWork();
        }
      } catch (RuntimeException e) {
        if (!running) {
          return;
        }
        log.warn("outbox relay could not publish; retrying in {} ms", backoff.toMillis(), e);
        pause(backoff);
        backoff = min(backoff.multipliedBy(2), Duration.ofSeconds(5));
      }
    }
  }

  /**
   * What one pass published.
   *
   * @param messages messages the broker acknowledged
   * @param full whether it stopped at a limit having published, so more rows may be waiting
   * @param waiting rows it read and left in the outbox: refused, resting after a refusal, or behind
   *     one, with those it started past ({@link Head}); for a pass that found another relay at
   *     work, 0 when the oldest row is younger than {@link #OLDEST_ROW_IN_FLOW} (that relay is
   *     keeping up) and -1 otherwise
   */
  private record Pass(int messages, boolean full, int waiting) {

    /** Whether it completed: published all it read, or found another relay keeping up. */
    boolean completed() {
      return waiting == 0;
    }
  }

  /**
   * A row this young may be in a pass of the relay holding the lock (a pass waits up to {@link
   * #SEND_TIMEOUT} for the broker, and a send started just before may block {@link #MAX_BLOCK}).
   * Older, it is left behind: a relay that did not get the lock does not count its pass as
   * completed then, or replicas taking turns at a refused row would each reset their stall gauge
   * now and then and the OutboxRelayStalled alert never fire.
   */
  static final Duration OLDEST_ROW_IN_FLOW = Duration.ofSeconds(60);

  /**
   * Publishes one batch if this relay holds the lock. A pass starts after the rows at the head of
   * the outbox that the passes before found waiting ({@link #head}), while they still wait and none
   * was added or removed among them; it reads them again, from the oldest row, once one's rest
   * ended and the passes read to the end of the outbox since they were read.
   */
  private Pass publishBatch() {
    long started = System.nanoTime();
    Head known = head != null && (started - head.until() < 0 || !head.readToEnd()) ? head : null;
    // forgotten until this pass commits: one that fails may have left any row as it was
    head = null;
    Result result = publishBatch(known, started);
    head = result.head();
    return result.pass();
  }

  /** What a pass published, and the rows at the head of the outbox that wait after it, if any. */
  private record Result(Pass pass, Head head) {}

  private Result publishBatch(Head remembered, long started) {
    return jdbi.inTransaction(
        tx -> {
          boolean leader =
              tx.createQuery("SELECT pg_try_advisory_xact_lock(:lock)")
                  .bind("lock", ADVISORY_LOCK)
                  .mapTo(Boolean.class)
                  .one();
          if (!leader) {
            boolean inFlow =
                tx.createQuery(
                        """
                        SELECT coalesce(
                            (SELECT created_at > now() - make_interval(secs => :flow)
                             FROM outbox_events ORDER BY seq LIMIT 1),
                            true)
                        """)
                    .bind("flow", (double) OLDEST_ROW_IN_FLOW.toSeconds())
                    .mapTo(Boolean.class)
                    .one();
            return new Result(new Pass(0, false, inFlow ? 0 : -1), null);
          }
          Head known = remembered != null && remembered.unchanged(tx) ? remembered : null;
          // a row refused before, or one this version cannot read, holds the keys of the messages
          // it has still to send, on their topics, until the broker takes them. A message of a
          // held key waits; the other messages of its row leave, each after the earlier ones of
          // its key (sendInOrder), so a row waiting for one key holds back no other. Rows that
          // wait do not fill the pass: it reads on past them, a page at a time, until it has a
          // full pass to send, or has read LOOKAHEAD pages. It starts after the head of rows
          // known to wait, their keys held
          Set<String> knownKeys = known == null ? Set.of() : known.keys();
          Set<String> heldKeys = new HashSet<>();
          List<Row> rows = new ArrayList<>();
          List<Sending> sending = new ArrayList<>();
          int waiting = known == null ? 0 : known.waiting();
          int read = 0;
          int pages = 0;
          int toSend = 0;
          long after = known == null ? 0 : known.end();
          boolean more = false;
          while (true) {
            int budget = MESSAGES - toSend;
            List<Row> page = page(tx, after, budget);
            if (page.isEmpty()) {
              more = false;
              break;
            }
            long pending = 0;
            for (Row row : page) {
              List<Message> rowPending = row.pending();
              pending += rowPending.size();
              List<Message> free =
                  rowPending.stream()
                      .filter(m -> !heldKeys.contains(m.order()) && !knownKeys.contains(m.order()))
                      .toList();
              boolean behindOne = free.size() < rowPending.size();
              if (row.attempts() > 0 || row.unreadable().isPresent()) {
                rowPending.forEach(m -> heldKeys.add(m.order()));
              }
              if (row.resting() || (row.unreadable().isPresent() ? behindOne : free.isEmpty())) {
                waiting++;
                continue;
              }
              sending.add(new Sending(row, free));
              toSend += free.size();
            }
            // what the next passes need to know of them: not their payloads, which a pass of a
            // worker's transactions holds megabytes of
            page.forEach(row -> rows.add(row.withoutPayloads()));
            read += page.size();
            rowsRead.increment(page.size());
            pages++;
            after = page.get(page.size() - 1).seq();
            more = page.size() == BATCH || pending >= budget;
            if (!more || sending.size() >= BATCH || toSend >= MESSAGES || pages >= LOOKAHEAD) {
              break;
            }
          }
          if (read == 0) {
            backlog.set(waiting);
            return new Result(new Pass(0, false, waiting), known == null ? null : known.toEnd());
          }
          Map<Long, Outcome> outcomes = sendInOrder(sending);
          List<Long> done = new ArrayList<>();
          int messages = 0;
          PreparedBatch refused =
              tx.prepareBatch(
                  """
                  UPDATE outbox_events
                  SET attempts = attempts + 1, failed_at = now(), last_error = :error,
                      acknowledged_ids = CAST(:acknowledged AS uuid[])
                  WHERE seq = :seq
                  """);
          PreparedBatch partly =
              tx.prepareBatch(
                  """
                  UPDATE outbox_events SET acknowledged_ids = CAST(:acknowledged AS uuid[])
                  WHERE seq = :seq
                  """);
          for (Sending sent : sending) {
            Row row = sent.row();
            Outcome outcome = outcomes.get(row.seq());
            messages += outcome.acknowledged().size();
            List<String> acknowledged = row.acknowledgedWith(outcome.acknowledged());
            if (outcome.failure().isPresent()) {
              waiting++;
              log.warn(
                  "outbox row {} not published ({} failures so far, {} of its {} messages"
                      + " taken): {}",
                  row.seq(),
                  row.attempts() + 1,
                  acknowledged.size(),
                  row.messages().size(),
                  outcome.failure().get());
              refused
                  .bind("seq", row.seq())
                  .bind("error", outcome.failure().get())
                  .bind("acknowledged", acknowledged.toArray(String[]::new))
                  .add();
            } else if (acknowledged.size() == row.messages().size()) {
              done.add(row.seq());
            } else {
              // the rest of its messages wait: behind one of their key refused in this pass, or
              // for the next pass once this one ran out of time
              waiting++;
              if (!outcome.acknowledged().isEmpty()) {
                partly
                    .bind("seq", row.seq())
                    .bind("acknowledged", acknowledged.toArray(String[]::new))
                    .add();
              }
            }
          }
          if (refused.size() > 0) {
            refused.execute();
          }
          if (partly.size() > 0) {
            partly.execute();
          }
          // Deleted, not marked: an update writes a new version of every row and its indexes,
          // a delete only marks it, and once the broker has the event the topic is its record.
          if (!done.isEmpty()) {
            tx.createUpdate("DELETE FROM outbox_events WHERE seq = ANY(:seqs)")
                .bind("seqs", done.stream().mapToLong(Long::longValue).toArray())
                .execute();
          }
          published.increment(messages);
          Head next = Head.after(known, rows, outcomes, started, !more);
          // a pass that stopped at a limit having read only rows that wait (refused in it, too)
          // is followed at once by one that starts past them
          boolean readPast = next != null && next.end() == after;
          boolean full = more && (messages > 0 || readPast);
          backlog.set(full ? messages : waiting);
          return new Result(new Pass(messages, full, waiting), next);
        });
  }

  /**
   * The rows at the head of the outbox, up to {@code end} (by {@code seq}), that a pass found
   * waiting, and that the next passes would find waiting too until {@code until} ({@link
   * System#nanoTime()}), the earliest end of their rests: each rests after a refusal, or has all
   * its messages still to send (one this version cannot read: one of them) behind a key of one of
   * them on its topic; the rows published between them are gone. The passes until then start after
   * {@code end}, these keys held, instead of reading every one of these rows again: a topic refused
   * for an hour left thousands, which a busy service's every commit had read again, and the rows
   * past {@link #LOOKAHEAD} pages of them waited, whatever their topic. Once one's rest ended, the
   * passes read on to the end of the outbox before they start from the oldest row again, so that
   * rows retried do not keep the rows behind them from their first try.
   *
   * <p>Each pass first counts the rows up to {@code end} (an index range, no row read): a row that
   * committed below {@code end} after a pass looked past it (its transaction took its {@code seq}
   * before the rows after it, and committed after them), or one published by another replica's
   * relay meanwhile, changes their number or the sum of their {@code seq}s, and the pass then reads
   * from the oldest row, so that the late row goes before a later one of its key.
   *
   * @param keys the keys (on their topics) of their messages still to send
   * @param waiting how many of them wait
   * @param seqs the sum of their {@code seq}s
   * @param readToEnd whether a pass read to the end of the outbox since they were read
   */
  private record Head(
      long end, Set<String> keys, int waiting, long seqs, long until, boolean readToEnd) {

    /** Whether the outbox holds these rows up to {@code end}, no other and none less. */
    boolean unchanged(Handle tx) {
      return tx.createQuery(
              """
              SELECT count(*) AS n, coalesce(sum(seq), 0) AS s FROM outbox_events
              WHERE published_at IS NULL AND seq <= :end
              """)
          .bind("end", end)
          .map((rs, ctx) -> rs.getLong("n") == waiting && rs.getLong("s") == seqs)
          .one();
    }

    /**
     * The head after a pass that started after {@code known} (or from the oldest row), read {@code
     * rows} (to the end of the outbox: {@code toEnd}) and sent some of them with {@code outcomes}:
     * longer by the rows it read that the next pass would find waiting too, up to the first it
     * would not; none when none waits.
     */
    static Head after(
        Head known, List<Row> rows, Map<Long, Outcome> outcomes, long started, boolean toEnd) {
      Set<String> keys = known == null ? new HashSet<>() : known.keys();
      Set<String> added = new HashSet<>();
      long end = known == null ? 0 : known.end();
      int waiting = known == null ? 0 : known.waiting();
      long seqs = known == null ? 0 : known.seqs();
      long until =
          known == null ? started + TimeUnit.MILLISECONDS.toNanos(MAX_REST_MILLIS) : known.until();
      for (Row row : rows) {
        Outcome outcome = outcomes.get(row.seq());
        List<Message> left;
        if (outcome == null) {
          // not sent: resting, or behind a held key
          left = row.pending();
          if (row.resting()) {
            until = Math.min(until, started + TimeUnit.MILLISECONDS.toNanos(row.restLeftMillis()));
          } else if (!behind(row, left, keys, added)) {
            break;
          }
        } else {
          left =
              row.pending().stream()
                  .filter(m -> !outcome.acknowledged().contains(m.eventId()))
                  .toList();
          if (outcome.failure().isPresent()) {
            until =
                Math.min(until, started + TimeUnit.MILLISECONDS.toNanos(rest(row.attempts() + 1)));
          } else if (!left.isEmpty() && !behind(row, left, keys, added)) {
            // the rest of its messages go in the next pass (this one ran out of time)
            break;
          }
        }
        boolean published = outcome != null && outcome.failure().isEmpty() && left.isEmpty();
        if (!published) {
          waiting++;
          seqs += row.seq();
        }
        left.forEach(m -> added.add(m.order()));
        end = row.seq();
      }
      if (waiting == 0) {
        return null;
      }
      keys.addAll(added);
      boolean readToEnd = toEnd || (known != null && known.readToEnd());
      return new Head(end, keys, waiting, seqs, until, readToEnd);
    }

    /** These rows, once a pass read past them to the end of the outbox. */
    Head toEnd() {
      return new Head(end, keys, waiting, seqs, until, true);
    }

    /**
     * Whether a row not resting would wait in the next pass: all its messages still to send (one
     * this version cannot read: one of them) behind a held key.
     */
    private static boolean behind(
        Row row, List<Message> left, Set<String> keys, Set<String> added) {
      var held = left.stream().map(m -> keys.contains(m.order()) || added.contains(m.order()));
      return row.unreadable().isPresent() ? held.anyMatch(b -> b) : held.allMatch(b -> b);
    }
  }

  /** The rest after a row's {@code attempts}-th refusal, in milliseconds. */
  private static long rest(int attempts) {
    return Math.min(MAX_REST_MILLIS, 100L << Math.min(attempts, 16));
  }

  /**
   * The oldest rows still to publish after {@code after} (by {@code seq}): at most {@link #BATCH},
   * read while fewer than {@code messages} messages still to send came before them in the page (its
   * first row always). A row resting after a refusal is not sent in this pass: only its keys are
   * read, not its payloads.
   */
  private static List<Row> page(Handle tx, long after, int messages) {
    return tx.createQuery(
            """
            SELECT o.seq, o.event_id, o.destination, o.message_key, o.event_type,
                   CASE WHEN r.resting THEN NULL ELSE o.payload END AS payload,
                   o.batch_ids, o.batch_destinations, o.batch_keys, o.batch_types,
                   CASE WHEN r.resting THEN NULL ELSE o.batch_payloads END AS batch_payloads,
                   o.acknowledged_ids, o.attempts, r.resting,
                   CASE WHEN r.resting
                       THEN ceil(extract(epoch FROM rest.remaining) * 1000) ELSE 0
                   END AS rest_left_millis
            FROM (
                SELECT seq,
                       sum(pending) OVER (ORDER BY seq) - pending AS before
                FROM (SELECT seq,
                             coalesce(cardinality(batch_ids), 1)
                                 - coalesce(cardinality(acknowledged_ids), 0) AS pending
                      FROM outbox_events
                      WHERE published_at IS NULL AND seq > :after
                      ORDER BY seq LIMIT :rows) AS oldest
            ) AS due
            JOIN outbox_events o USING (seq)
            CROSS JOIN LATERAL (
                SELECT o.failed_at + least(:maxRest, 100 * power(2, least(o.attempts, 16)))
                           * interval '1 millisecond' - now() AS remaining
            ) AS rest
            CROSS JOIN LATERAL (
                SELECT coalesce(rest.remaining > interval '0', false) AS resting
            ) AS r
            WHERE due.before < :messages
            ORDER BY o.seq
            """)
        .bind("after", after)
        .bind("rows", BATCH)
        .bind("maxRest", MAX_REST_MILLIS)
        .bind("messages", messages)
        .map((rs, ctx) -> Row.of(rs))
        .list();
  }

  /**
   * Sends one message; a send the producer refuses at once is a failed acknowledgement, and so is a
   * message for a destination this version does not know: a newer one wrote it during a rolling
   * deploy, and publishes it once it holds the lock. A send that blocked {@link #MAX_BLOCK} in vain
   * (its topic's metadata, room in the buffer) makes its topic {@link #unavailable}: its messages,
   * in this pass and the next ones, fail the same way at once, instead of each pass waiting as long
   * again, until a check in the background finds the topic.
   */
  private Future<RecordMetadata> send(Message message) {
    Destination destination;
    try {
      destination = Destination.valueOf(message.destination());
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(
              "no destination " + message.destination() + " in this version of the relay"));
    }
    String topic = destination.topicIn(topics).name();
    KafkaException blockedBefore = unavailable.get(topic);
    if (blockedBefore != null) {
      return CompletableFuture.failedFuture(blockedBefore);
    }
    var record =
        new ProducerRecord<>(
            topic, message.key(), message.payload().getBytes(StandardCharsets.UTF_8));
    RecordHeaders.put(record.headers(), RecordHeaders.EVENT_ID, message.eventId().toString());
    RecordHeaders.put(record.headers(), RecordHeaders.EVENT_TYPE, message.type());
    Future<RecordMetadata> ack;
    try {
      ack = producer.send(record);
    } catch (KafkaException e) {
      ack = CompletableFuture.failedFuture(e);
    }
    blockedInVain(ack).ifPresent(e -> awaitMetadata(topic, e));
    return ack;
  }

  /**
   * Sends nothing more to {@code topic}, whose send blocked in vain with {@code blocked}, until a
   * check in the background finds its metadata. Its messages are refused meanwhile as that one was
   * (their rows rest, their keys held, as for any refusal), with a failure that names the topic.
   */
  private void awaitMetadata(String topic, KafkaException blocked) {
    var failure =
        new org.apache.kafka.common.errors.TimeoutException(
            blocked.getMessage()
                + " Not sent to topic "
                + topic
                + " again until its metadata is found.");
    if (unavailable.putIfAbsent(topic, failure) == null) {
      log.warn(
          "outbox relay sends nothing to topic {} until it finds its metadata: {}",
          topic,
          blocked.toString());
      probeLater(topic);
    }
  }

  private void probeLater(String topic) {
    try {
      probes.schedule(() -> probe(topic), PROBE_SPACING.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  /**
   * Asks the producer for the partitions of an {@link #unavailable} topic, off the relay's thread
   * (blocking up to {@link #MAX_BLOCK}); once it has them, the relay sends to the topic again and
   * is woken. Any other answer than silence (a topic it may not describe, a closed producer) ends
   * the wait too: the relay's next send meets that failure itself, and a send that blocks again
   * makes the topic unavailable again.
   */
  private void probe(String topic) {
    try {
      producer.partitionsFor(topic);
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      if (running) {
        probeLater(topic);
      }
      return;
    } catch (InterruptException e) {
      // closing
      return;
    } catch (KafkaException e) {
      log.warn("outbox relay could not check topic {}: {}", topic, e.toString());
    }
    if (unavailable.remove(topic) != null) {
      log.info("outbox relay found topic {} again; its rows are sent once their rest ends", topic);
      wakeUp();
    }
  }

  /** The failure of a send that returned failed, having blocked {@link #MAX_BLOCK}, if it did. */
  private static Optional<KafkaException> blockedInVain(Future<RecordMetadata> ack) {
    if (!ack.isDone()) {
      return Optional.empty();
    }
    try {
      ack.get();
      return Optional.empty();
    } catch (ExecutionException e) {
      return e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException timeout
          ? Optional.of(timeout)
          : Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /**
   * Sends the messages of {@code rows} given to send, each key's (on its topic) in order and one at
   * a time: a key's next message leaves once the broker acknowledged the one before it, and none
   * after one refused. Sent all at once, a later message of a key could be taken while an earlier
   * one is refused (the broker judges each record: one too large for its topic is refused, the one
   * behind it taken) and so reach subscribers first, for good. Messages of different keys travel
   * together, so a pass takes as many round trips as its busiest key has messages (two for most of
   * the processor's transactions: a payment's fact and its listing's). No send starts after {@link
   * #SEND_TIMEOUT}; what is left waits for the next pass.
   *
   * @return what became of each row's messages, by row
   */
  private Map<Long, Outcome> sendInOrder(List<Sending> rows) {
    Map<Long, Outcome> outcomes = new HashMap<>();
    Map<String, ArrayDeque<Outgoing>> keys = new LinkedHashMap<>();
    for (Sending sending : rows) {
      Row row = sending.row();
      Outcome outcome = new Outcome();
      outcomes.put(row.seq(), outcome);
      if (row.unreadable().isPresent()) {
        outcome.refuse(row.unreadable().get());
        continue;
      }
      for (Message message : sending.messages()) {
        keys.computeIfAbsent(message.order(), k -> new ArrayDeque<>())
            .add(new Outgoing(row.seq(), message));
      }
    }
    long deadline = System.nanoTime() + SEND_TIMEOUT.toNanos();
    while (!keys.isEmpty() && System.nanoTime() - deadline < 0) {
      List<Outgoing> round = new ArrayList<>(keys.size());
      List<Future<RecordMetadata>> acks = new ArrayList<>(keys.size());
      for (ArrayDeque<Outgoing> key : keys.values()) {
        if (System.nanoTime() - deadline >= 0) {
          break;
        }
        Outgoing next = key.remove();
        round.add(next);
        acks.add(send(next.message()));
      }
      // no flush: it would wait for every record of the producer, with no deadline but the
      // producer's own, and linger.ms sends these within a millisecond anyway
      for (int i = 0; i < round.size(); i++) {
        Outgoing sent = round.get(i);
        Optional<String> failure = failure(acks.get(i), deadline);
        if (failure.isEmpty()) {
          outcomes.get(sent.seq()).acknowledged().add(sent.message().eventId());
        } else {
          outcomes.get(sent.seq()).refuse(failure.get());
          keys.remove(sent.message().order());
        }
      }
      keys.values().removeIf(ArrayDeque::isEmpty);
    }
    return outcomes;
  }

  /** A row to send in a pass, and which of its messages: those whose key is not held. */
  private record Sending(Row row, List<Message> messages) {}

  /** A message on its way, and the row it belongs to. */
  private record Outgoing(long seq, Message message) {}

  /** What became of the messages of one row sent in a pass. */
  private static final class Outcome {
    private final Set<UUID> acknowledged = new HashSet<>();
    private String failure;

    /** The ids of its messages the broker acknowledged in this pass. */
    Set<UUID> acknowledged() {
      return acknowledged;
    }

    /** The first refusal of one of its messages in this pass, if any. */
    Optional<String> failure() {
      return Optional.ofNullable(failure);
    }

    void refuse(String failure) {
      if (this.failure == null) {
        this.failure = failure;
      }
    }
  }

  /**
   * Waits, until {@code deadline} at most, for an acknowledgement; its failure, if any. An
   * interrupt (the relay closing) fails the pass, which rolls back and leaves the rows.
   */
  private static Optional<String> failure(Future<RecordMetadata> ack, long deadline) {
    try {
      ack.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing the outbox", e);
    } catch (ExecutionException e) {
      return Optional.of(describe(e.getCause() == null ? e : e.getCause()));
    } catch (TimeoutException e) {
      return Optional.of("no acknowledgement within " + SEND_TIMEOUT.toSeconds() + " s");
    }
  }

  private static String describe(Throwable failure) {
    String text = failure.getClass().getSimpleName() + ": " + failure.getMessage();
    return text.length() <= MAX_ERROR ? text : text.substring(0, MAX_ERROR);
  }

  /**
   * Vacuums the outbox once enough rows were deleted. The relay finds its next batch by scanning
   * from the oldest entry of the primary key, and a deleted row's entry stays there until a vacuum,
   * so between two of autovacuum's visits (a minute or more) each scan walked every row published
   * since: 6,000 pages a batch at 4,000 events/s. A vacuum of a table this small, whose live rows
   * are only the ones not yet published, takes milliseconds.
   */
  private void vacuumWhenWorthIt(int sent) {
    deletedSinceVacuum += sent;
    long now = System.nanoTime();
    if (deletedSinceVacuum < VACUUM_AFTER_ROWS || now - lastVacuum < VACUUM_EVERY.toNanos()) {
      return;
    }
    deletedSinceVacuum = 0;
    lastVacuum = now;
    try {
      jdbi.useHandle(h -> h.execute("VACUUM outbox_events"));
    } catch (RuntimeException e) {
      // only slower scans until autovacuum comes by; a real outage shows in the next batch
      log.warn("could not vacuum the outbox: {}", e.toString());
    }
  }

  /**
   * Rows marked published by relays of earlier versions (which kept them a week) are dropped once
   * that week is over; rows this relay publishes are deleted as it publishes them.
   */
  private void purgeOccasionally() {
    long now = System.nanoTime();
    if (now - lastPurge < Duration.ofMinutes(10).toNanos()) {
      return;
    }
    lastPurge = now;
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "DELETE FROM outbox_events WHERE published_at < now() - make_interval(secs => :s)")
                .bind("s", (double) RETENTION.toSeconds())
                .execute());
  }

  /**
   * Tells the relay that a committed transaction wrote outbox rows; it looks for them at once, or
   * {@value #MIN_WOKEN_SPACING_MILLIS} ms after its last pass. Cheap, and safe to call from any
   * thread.
   */
  public void wakeUp() {
    if (work.availablePermits() == 0) {
      work.release();
    }
  }

  /** Waits for a {@link #wakeUp()} or the idle interval, whichever comes first. */
  private void awaitWork() {
    try {
      if (work.tryAcquire(idleInterval.toNanos(), TimeUnit.NANOSECONDS)) {
        long wait =
            lastPassNanos
                + TimeUnit.MILLISECONDS.toNanos(MIN_WOKEN_SPACING_MILLIS)
                - System.nanoTime();
        if (wait > 0) {
          // the rows of commits made meanwhile are picked up by the same pass
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        work.drainPermits();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  private void pause(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /**
   * Stops the relay: its pass under way rolls back, and a check of a missing topic under way is
   * interrupted (it would end within {@link #MAX_BLOCK} anyway). The producer is the caller's.
   */
  @Override
  public void close() {
    running = false;
    probes.shutdownNow();
    thread.interrupt();
    try {
      thread.join(Duration.ofSeconds(10));
      probes.awaitTermination(MAX_BLOCK.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * One message to publish.
   *
   * @param destination the name of a {@link Destination}, or of one a newer version added
   */
  private record Message(
      UUID eventId, String destination, String key, String type, String payload) {

    /** What orders this message among others: its key on its topic. */
    String order() {
      return destination + '\u0000' + key;
    }
  }

  /**
   * An outbox row: one message, or a transaction's messages in order (the batch_ columns).
   *
   * @param acknowledged the ids of its messages the broker took in an earlier pass, while another
   *     of them was refused or waited
   * @param attempts how often the broker refused it (or this relay could not read it)
   * @param resting whether it rests after its last refusal, not to be sent in this pass
   * @param restLeftMillis how long its rest lasts after the start of the pass, when it rests
   * @param unreadable why none of its messages can be sent, for a row this version cannot make
   *     sense of: it is refused, as one the broker refuses, and the others go on
   */
  private record Row(
      long seq,
      List<Message> messages,
      Set<UUID> acknowledged,
      int attempts,
      boolean resting,
      long restLeftMillis,
      Optional<String> unreadable) {

    /** This row without its payloads: its keys, ids and state. */
    Row withoutPayloads() {
      List<Message> kept =
          messages.stream()
              .map(m -> new Message(m.eventId(), m.destination(), m.key(), m.type(), null))
              .toList();
      return new Row(seq, kept, acknowledged, attempts, resting, restLeftMillis, unreadable);
    }

    /** Its messages still to send, in order. */
    List<Message> pending() {
      if (acknowledged.isEmpty()) {
        return messages;
      }
      return messages.stream().filter(m -> !acknowledged.contains(m.eventId())).toList();
    }

    /**
     * The ids of its messages acknowledged before or in this pass ({@code now}), in its order: all
     * of them once it is published.
     */
    List<String> acknowledgedWith(Set<UUID> now) {
      if (messages.isEmpty()) {
        // unreadable: what was noted on it before stays noted
        return acknowledged.stream().map(UUID::toString).toList();
      }
      return messages.stream()
          .map(Message::eventId)
          .filter(id -> acknowledged.contains(id) || now.contains(id))
          .map(UUID::toString)
          .toList();
    }

    /**
     * Reads a row. One it cannot make sense of does not fail the pass (every later pass would fail
     * the same way, and nothing of the service be published): it is read as unreadable, its keys
     * held back when they can be read.
     */
    static Row of(ResultSet rs) throws SQLException {
      long seq = rs.getLong("seq");
      int attempts = rs.getInt("attempts");
      boolean resting = rs.getBoolean("resting");
      long restLeft = rs.getLong("rest_left_millis");
      Array acknowledgedIds = rs.getArray("acknowledged_ids");
      Set<UUID> acknowledged =
          acknowledgedIds == null
              ? Set.of()
              : Set.copyOf(Arrays.asList((UUID[]) acknowledgedIds.getArray()));
      try {
        Array ids = rs.getArray("batch_ids");
        if (ids == null) {
          Message message =
              new Message(
                  rs.getObject("event_id", UUID.class),
                  rs.getString("destination"),
                  rs.getString("message_key"),
                  rs.getString("event_type"),
                  rs.getString("payload"));
          return new Row(
              seq, List.of(message), acknowledged, attempts, resting, restLeft, Optional.empty());
        }
        UUID[] eventIds = (UUID[]) ids.getArray();
        String[] destinations = (String[]) rs.getArray("batch_destinations").getArray();
        String[] keys = (String[]) rs.getArray("batch_keys").getArray();
        String[] types = (String[]) rs.getArray("batch_types").getArray();
        String joined = rs.getString("batch_payloads");
        // a resting row is not sent in this pass: its payloads are not read
        List<String> payloads =
            joined == null && resting
                ? Collections.nCopies(eventIds.length, null)
                : RecordSeparated.split(joined);
        List<Message> messages = new ArrayList<>(eventIds.length);
        for (int i = 0; i < eventIds.length; i++) {
          messages.add(
              new Message(
                  eventIds[i],
                  destinations[i],
                  keys[i],
                  types[i],
                  i < payloads.size() ? payloads.get(i) : null));
        }
        Optional<String> unreadable =
            payloads.size() == eventIds.length
                ? Optional.empty()
                : Optional.of(
                    "outbox row "
                        + seq
                        + " holds "
                        + eventIds.length
                        + " ids and "
                        + payloads.size()
                        + " payloads");
        return new Row(
            seq, List.copyOf(messages), acknowledged, attempts, resting, restLeft, unreadable);
      } catch (RuntimeException e) {
        // its keys unknown, it holds none back
        return new Row(
            seq,
            List.of(),
            acknowledged,
            attempts,
            resting,
            restLeft,
            Optional.of("unreadable outbox row " + seq + ": " + describe(e)));
      }
    }
  }
}
