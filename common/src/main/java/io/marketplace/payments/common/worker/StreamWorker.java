package io.marketplace.payments.common.worker;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.logging.Mdc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.WakeupException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-apply-commit loop every worker runs, shared so that each gets the same guarantees:
 *
 * <ul>
 *   <li>a poll's records are applied in one database transaction, each only if this consumer has
 *       not applied its dedupe key before (recorded in that same transaction);
 *   <li>offsets are committed only after that transaction commits, so a crash in between re-reads
 *       records that the dedupe then skips: effects happen once. They are committed asynchronously,
 *       at most every {@value #COMMIT_INTERVAL_MILLIS} ms, and synchronously when partitions are
 *       revoked and when the worker stops: a commit lost in between costs only a re-read, never an
 *       effect;
 *   <li>records the handler says it has no use for ({@link RecordHandler#handles}) are passed over
 *       without touching the database;
 *   <li>a failure of PostgreSQL or Kafka is waited out with backoff, however long, losing nothing;
 *   <li>a record that itself fails is retried alone with backoff, then sent to {@code <topic>.dlq}
 *       with the SPEC §4 headers, and the partition moves on. While the dead-letter topic refuses
 *       it (missing, too small for it, no ACL) the worker waits, holding its place, and reports
 *       itself unhealthy until the record is sent: a stalled partition shows, it is not silent;
 *   <li>a batch that keeps failing on an error that looks transient (a statement timeout of a large
 *       transaction) is tried record by record after {@value #BATCH_ATTEMPTS} attempts;
 *   <li>authentication, authorization and fencing errors are fatal: the worker stops and reports
 *       itself unhealthy, as Kafka's exactly-once processor template does;
 *   <li>a partition its group has no offset for starts at its earliest record. An offset that is
 *       out of range is never reset silently: one below the log start (records deleted by retention
 *       before they were applied, on starting or while running behind) is an ERROR naming the
 *       group, the partition, both offsets and how many records were lost (those the group had
 *       applied or passed over before a replay rewound it are told, not counted), counted in {@code
 *       payments.worker.records.lost}, and the worker goes on from the log start (reconcile repairs
 *       from Stripe what those events did not apply); one past the log end resumes at the earliest
 *       record, as {@link KafkaConfig#AUTO_OFFSET_RESET} says. Each transaction also records how
 *       far its group has applied each partition ({@link WorkerPositions}), so a group whose
 *       committed offsets Kafka forgot (expired while it was down) still tells and counts the
 *       records deleted before it reached them.
 * </ul>
 */
public final class StreamWorker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StreamWorker.class);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final Duration DLQ_SEND_TIMEOUT = Duration.ofSeconds(30);
  static final long COMMIT_INTERVAL_MILLIS = 100;
  static final int BATCH_ATTEMPTS = 5;
  private static final Duration OFFSET_COMMIT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration OFFSET_LOOKUP_TIMEOUT = Duration.ofSeconds(10);
  private static final java.util.concurrent.atomic.AtomicInteger INSTANCES =
      new java.util.concurrent.atomic.AtomicInteger();

  private final WorkerOptions options;
  private final KafkaConfig kafka;
  private final Jdbi jdbi;
  private final RecordHandler handler;
  private final Producer<String, byte[]> dlqProducer;
  private final MeterRegistry registry;
  private final Clock clock;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Counter applied;
  private final Counter duplicates;
  private final Counter deadLettered;
  private final Counter retries;
  private final Counter skipped;

  /** Per topic consumed: records deleted from the log before this group applied them. */
  private final Map<String, Counter> lost = new HashMap<>();

  private final Timer batchTimer;
  private final Timer eventAge;
  private volatile boolean running = true;
  private volatile boolean failed;

  /** Set while a dead letter waits for its topic to take it: the partition cannot move on. */
  private volatile boolean deadLetterRefused;

  /**
   * {@link System#nanoTime()} when the records in hand were taken, or when the last of them was
   * applied, dead-lettered or handed over; {@link #NOT_WAITING} while the worker holds none. Read
   * by {@code payments.worker.waiting}.
   */
  private volatile long waitingSince = NOT_WAITING;

  private static final long NOT_WAITING = Long.MIN_VALUE;

  private volatile boolean assigned;
  private boolean waiting;

  /**
   * The next offset to read of each partition, past every record applied: what may be committed.
   */
  private final Map<TopicPartition, OffsetAndMetadata> appliedOffsets = new HashMap<>();

  /**
   * The partitions revoked or lost since the last poll of the loop: their records in hand were
   * given up, not applied, and the position of one assigned again restarts at its last commit.
   */
  private final Set<TopicPartition> revokedSincePoll = new HashSet<>();

  /**
   * How far polls whose every record was passed over ({@link RecordHandler#handles}) got in each
   * partition, not yet in {@code worker_positions}: recorded with the next transaction that applies
   * records, or on their own every {@link #POSITIONS_INTERVAL}, on revocation and on stopping.
   */
  private final Map<TopicPartition, Long> unrecordedPositions = new HashMap<>();

  /**
   * {@link System#nanoTime()} after which {@link #unrecordedPositions} are written on their own.
   */
  private long positionsDueNanos = System.nanoTime();

  /**
   * How often a worker that applies nothing records how far it read: a crash forgets at most this
   * much of it, which a later loss would overstate by the records passed over in it.
   */
  static final Duration POSITIONS_INTERVAL = Duration.ofSeconds(5);

  /** After a failure to record them (the database down), the next try. */
  private static final Duration POSITIONS_RETRY = Duration.ofMinutes(1);

  private boolean offsetsToCommit;
  private long lastCommitNanos = System.nanoTime();
  private volatile Consumer<String, byte[]> consumer;

  /**
   * Which of this process's workers of the same group this is, from 0 in the order they are made:
   * with the process's instance id, a static member id that is the same after a restart.
   */
  private final int slot;

  private static final ConcurrentMap<String, AtomicInteger> SLOTS = new ConcurrentHashMap<>();

  private static final CloseOptions LEAVE_GROUP =
      CloseOptions.groupMembershipOperation(GroupMembershipOperation.LEAVE_GROUP);

  public StreamWorker(
      WorkerOptions options,
      KafkaConfig kafka,
      Jdbi jdbi,
      RecordHandler handler,
      Producer<String, byte[]> dlqProducer,
      MeterRegistry registry,
      Clock clock) {
    this.options = options;
    this.kafka = kafka;
    this.jdbi = jdbi;
    this.handler = handler;
    this.dlqProducer = dlqProducer;
    this.registry = registry;
    this.clock = clock;
    String name = options.consumer();
    this.slot = SLOTS.computeIfAbsent(name, group -> new AtomicInteger()).getAndIncrement();
    this.applied = counter("applied");
    this.duplicates = counter("duplicate");
    this.deadLettered = counter("dead_lettered");
    this.retries = counter("retried");
    this.skipped = counter("skipped");
    // registered at 0 for every topic, so that a first loss, soon after a start, is an increase
    for (Topic topic : options.topics()) {
      lost.put(
          topic.name(),
          Counter.builder("payments.worker.records.lost")
              .description(
                  "records deleted from the log (retention) before this consumer group applied"
                      + " them: Stripe events never applied")
              .tag("consumer", name)
              .tag("topic", topic.name())
              .register(registry));
    }
    this.batchTimer =
        Timer.builder("payments.worker.batch")
            .description("time to apply one poll's records in the database")
            .tag("consumer", name)
            .publishPercentileHistogram()
            .register(registry);
    this.eventAge =
        Timer.builder("payments.worker.event.latency")
            .description("from the record's timestamp on the topic to its effect being committed")
            .tag("consumer", name)
            .publishPercentileHistogram()
            .register(registry);
    // One record that keeps failing for a passing reason (a lock held, a statement timing out)
    // holds its partition, and every other one of this worker, without end and without a dead
    // letter; with other replicas applying, no rate of the fleet shows it. This gauge does, per
    // worker thread, for the WorkerRecordsWaiting alert.
    Gauge.builder("payments.worker.waiting", this, StreamWorker::secondsWaiting)
        .description(
            "seconds this worker has held records without applying, dead-lettering or handing over"
                + " any of them; 0 while it holds none")
        .baseUnit("seconds")
        .tag("consumer", name)
        .tag("worker", Integer.toString(slot))
        .strongReference(true)
        .register(registry);
    this.thread = Thread.ofPlatform().name("worker-" + name).unstarted(this::run);
  }

  private double secondsWaiting() {
    long since = waitingSince;
    return since == NOT_WAITING || !isAlive() ? 0 : (System.nanoTime() - since) / 1e9;
  }

  /**
   * Records in hand were applied, dead-lettered or handed to another member: those left wait from
   * now.
   */
  private void progressed() {
    waitingSince = System.nanoTime();
  }

  private Counter counter(String outcome) {
    return Counter.builder("payments.worker.records")
        .tag("consumer", options.consumer())
        .tag("outcome", outcome)
        .register(registry);
  }

  public StreamWorker start() {
    thread.start();
    return this;
  }

  /**
   * False once the worker stopped on a fatal error, and while a failed record waits for its
   * dead-letter topic to take it; the readiness check reports it.
   */
  public boolean isHealthy() {
    return isAlive() && !deadLetterRefused;
  }

  /**
   * False once the worker stopped on a fatal error (or its thread ended): it will not resume by
   * itself, and a restart of the process is what brings it back. The liveness check reports it.
   */
  public boolean isAlive() {
    return !failed && thread.isAlive();
  }

  /** True once the group gave this worker its partitions (tests wait for it before producing). */
  public boolean isAssigned() {
    return assigned;
  }

  public String consumerName() {
    return options.consumer();
  }

  private void run() {
    try (Consumer<String, byte[]> c =
            new KafkaConsumer<>(
                kafka.workerConsumer(
                    options.consumer(),
                    options.consumer() + "-" + ProcessHandle.current().pid() + "-" + slot,
                    slot));
        // a worker stopped on purpose leaves its group, static member or not: its partitions
        // move now, as a rolling update needs (a static member would otherwise keep them for the
        // session timeout, waiting for a restart under its name that a new pod does not make)
        AutoCloseable leave = () -> c.close(LEAVE_GROUP);
        KafkaClientMetrics metrics = new KafkaClientMetrics(c)) {
      consumer = c;
      metrics.bindTo(registry);
      c.subscribe(options.topics().stream().map(Topic::name).toList(), new Rebalance());
      log.info("worker {} consuming {}", options.consumer(), options.topics());
      try {
        while (running) {
          ConsumerRecords<String, byte[]> records = poll(c, POLL);
          revokedSincePoll.clear();
          if (!records.isEmpty()) {
            waitingSince = System.nanoTime();
            boolean applied = applyAll(c, records);
            waitingSince = NOT_WAITING;
            if (!applied) {
              return; // stopping: the records in hand are not applied, their offsets stay
            }
            options.beforeOffsetCommit().run();
            noteApplied(c, records);
          }
          commitIfDue(c);
          if (!unrecordedPositions.isEmpty() && System.nanoTime() - positionsDueNanos >= 0) {
            recordPositions();
          }
        }
      } finally {
        commitApplied(c, appliedOffsets.keySet());
        recordPositions();
      }
    } catch (WakeupException e) {
      if (running) {
        failed = true;
        log.error("worker {} woken up unexpectedly", options.consumer(), e);
      }
    } catch (AuthenticationException | AuthorizationException | FencedInstanceIdException e) {
      failed = true;
      log.error("worker {} stopped on a fatal Kafka error", options.consumer(), e);
    } catch (Exception e) {
      failed = true;
      log.error("worker {} stopped", options.consumer(), e);
    } finally {
      stopped.countDown();
    }
  }

  /**
   * Polls, placing the partitions whose offset is missing or out of range ({@code
   * auto.offset.reset=none}: the consumer resets nothing by itself) and returning nothing for them
   * this time.
   */
  private ConsumerRecords<String, byte[]> poll(Consumer<String, byte[]> c, Duration timeout) {
    try {
      return c.poll(timeout);
    } catch (NoOffsetForPartitionException e) {
      noOffset(c, e.partitions());
    } catch (OffsetOutOfRangeException e) {
      outOfRange(c, e.offsetOutOfRangePartitions());
    }
    return ConsumerRecords.empty();
  }

  /**
   * Places each partition its group has no committed offset for at its earliest record, as a new
   * group reads. A group that has applied the partition before ({@link WorkerPositions}: its
   * offsets expired in Kafka while it was down) and finds records it never reached deleted is told
   * and counted as one whose offset is below the log start. When the database does not answer, that
   * is said and the partition is placed all the same: the check must not stop the worker. When
   * Kafka does not tell the log start, nothing is placed and the next poll tries again.
   */
  private void noOffset(Consumer<String, byte[]> c, Collection<TopicPartition> unplaced) {
    Set<TopicPartition> partitions = new HashSet<>(unplaced);
    partitions.retainAll(c.assignment());
    if (partitions.isEmpty()) {
      return;
    }
    Map<TopicPartition, WorkerPositions.Position> applied;
    try {
      applied = jdbi.withHandle(h -> WorkerPositions.read(h, options.consumer(), partitions));
    } catch (RuntimeException e) {
      log.warn(
          "worker {}: no committed offset for {}, and the database did not say how far the group"
              + " had applied them, so records deleted before it applied them cannot be told;"
              + " reading from the earliest record: {}",
          options.consumer(),
          partitions,
          e.toString());
      c.seekToBeginning(partitions);
      return;
    }
    Map<TopicPartition, Long> start = Map.of();
    if (!applied.isEmpty()) {
      try {
        start = c.beginningOffsets(applied.keySet(), OFFSET_LOOKUP_TIMEOUT);
      } catch (AuthenticationException | AuthorizationException | WakeupException e) {
        throw e; // fatal, or the worker stopping
      } catch (KafkaException e) {
        log.warn(
            "worker {}: no committed offset for {}, and the log start could not be read, trying"
                + " again: {}",
            options.consumer(),
            applied.keySet(),
            e.toString());
        return;
      }
    }
    for (Map.Entry<TopicPartition, Long> entry : start.entrySet()) {
      TopicPartition partition = entry.getKey();
      WorkerPositions.Position position = applied.get(partition);
      long first = entry.getValue();
      if (position.nextOffset() < first) {
        lost(
            partition,
            first - position.nextOffset(),
            "the group has no committed offset (expired in Kafka while it was down, or deleted),"
                + " and the database says it had applied up to offset "
                + position.nextOffset()
                + " (at "
                + position.at()
                + "), below the log start offset "
                + first,
            position.at().toString());
      }
    }
    c.seekToBeginning(partitions);
  }

  /**
   * Places each partition whose offset the broker found out of range: below the log start the
   * records in between were deleted before they were applied, which is told and counted, and the
   * worker goes on from the log start. Those the group had applied or passed over before ({@link
   * WorkerPositions}: a replay rewound its offset in Kafka only) are told in a WARN line, not
   * counted as lost; past the log end it resumes at the earliest record (see {@link
   * KafkaConfig#AUTO_OFFSET_RESET}). An offset in range again by now (the log grew, a new leader
   * caught up) is read from where it is. When Kafka does not tell the log's bounds, nothing is
   * moved and the next poll finds the offset out of range again.
   */
  private void outOfRange(Consumer<String, byte[]> c, Map<TopicPartition, Long> offsets) {
    Map<TopicPartition, Long> positions = new HashMap<>(offsets);
    positions.keySet().retainAll(c.assignment());
    if (positions.isEmpty()) {
      return;
    }
    Map<TopicPartition, Long> start;
    Map<TopicPartition, Long> end;
    try {
      start = c.beginningOffsets(positions.keySet(), OFFSET_LOOKUP_TIMEOUT);
      end = c.endOffsets(positions.keySet(), OFFSET_LOOKUP_TIMEOUT);
    } catch (AuthenticationException | AuthorizationException | WakeupException e) {
      throw e; // fatal, or the worker stopping
    } catch (KafkaException e) {
      log.warn(
          "worker {}: offsets {} are out of range and the log's bounds could not be read, trying"
              + " again: {}",
          options.consumer(),
          positions,
          e.toString());
      return;
    }
    Map<TopicPartition, WorkerPositions.Position> applied =
        appliedBefore(
            positions.entrySet().stream()
                .filter(entry -> entry.getValue() < start.get(entry.getKey()))
                .map(Map.Entry::getKey)
                .toList());
    for (Map.Entry<TopicPartition, Long> entry : positions.entrySet()) {
      TopicPartition partition = entry.getKey();
      long offset = entry.getValue();
      long first = start.get(partition);
      long last = end.get(partition);
      if (offset < first) {
        // a replay rewinds the group in Kafka only: what it got past before is told, not counted
        WorkerPositions.Position position = applied.get(partition);
        long reached = position == null ? offset : Math.max(offset, position.nextOffset());
        if (reached > offset) {
          long readBefore = Math.min(reached, first);
          log.warn(
              "worker {}: {} records of {} (offsets {} to {}) were deleted from the log"
                  + " (retention) before consumer group {} read them again: its offset {} is"
                  + " behind how far it had applied or passed over them (up to offset {}, at {}),"
                  + " as after a replay, so they are not counted as lost. A replay meant to"
                  + " re-read records a release passed over cannot re-read these: repair from"
                  + " Stripe with ./payments reconcile --since <the replay's target time>",
              options.consumer(),
              readBefore - offset,
              partition,
              offset,
              readBefore - 1,
              options.consumer(),
              offset,
              reached,
              position.at());
        }
        if (reached < first) {
          lost(
              partition,
              first - reached,
              reached > offset
                  ? "the database says it had applied or passed over up to offset "
                      + reached
                      + " (its offset "
                      + offset
                      + " is behind that, as after a replay), below the log start offset "
                      + first
                  : "its offset "
                      + offset
                      + " (committed, or reached since) is below the log start offset "
                      + first,
              "<a time before they were written>");
        }
        c.seek(partition, first);
      } else if (offset > last) {
        log.warn(
            "worker {}: offset {} of {} is past the log end {} (records lost in an unclean leader"
                + " election, or the topic truncated or recreated): resuming at its earliest"
                + " record, {}",
            options.consumer(),
            offset,
            partition,
            last,
            first);
        c.seekToBeginning(List.of(partition));
      } else {
        c.seek(partition, offset);
      }
    }
  }

  /**
   * How far the group had applied each of {@code partitions} ({@link WorkerPositions}), for offsets
   * found below the log start; none when the database does not answer, which is said: the records
   * below the log start are then all told as lost, as the check must not stop the worker.
   */
  private Map<TopicPartition, WorkerPositions.Position> appliedBefore(
      Collection<TopicPartition> partitions) {
    if (partitions.isEmpty()) {
      return Map.of();
    }
    try {
      return jdbi.withHandle(h -> WorkerPositions.read(h, options.consumer(), partitions));
    } catch (RuntimeException e) {
      log.warn(
          "worker {}: offsets of {} are below the log start, and the database did not say how far"
              + " the group had applied them, so records it applied before a replay cannot be"
              + " told from records lost: {}",
          options.consumer(),
          partitions,
          e.toString());
      return Map.of();
    }
  }

  /**
   * Tells and counts {@code count} records of {@code partition} deleted before the group applied
   * them ({@code how}: which offsets say so), for the RecordsLostToRetention alert; {@code since}:
   * where reconcile's window starts.
   */
  private void lost(TopicPartition partition, long count, String how, String since) {
    log.error(
        "worker {}: {} records of {} were deleted from the log (retention) before consumer group {}"
            + " applied them: {}. Their Stripe events were never applied; going on from the log"
            + " start. Repair from Stripe: ./payments reconcile --since {} (runbook: \"Records"
            + " lost to retention\")",
        options.consumer(),
        count,
        partition,
        options.consumer(),
        how,
        since);
    lost.get(partition.topic()).increment(count);
  }

  /**
   * False for a dead letter redriven for another consumer group that reads the same topic (the
   * payment processor and the refund worker both read the Stripe events): that group's failure is
   * not this one's, which applied the event, or has a dead letter of its own that waits for its own
   * redrive. Passed over, as a record of a type it does not handle.
   */
  private boolean redrivenForThisConsumer(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.REDRIVEN_FOR)
        .map(options.consumer()::equals)
        .orElse(true);
  }

  /** Applies every record of a poll; false when the worker is stopping and must not commit. */
  private boolean applyAll(Consumer<String, byte[]> c, ConsumerRecords<String, byte[]> records) {
    List<ConsumerRecord<String, byte[]>> batch = new ArrayList<>(records.count());
    for (ConsumerRecord<String, byte[]> record : records) {
      if (handler.handles(record) && redrivenForThisConsumer(record)) {
        batch.add(record);
      }
    }
    skipped.increment(records.count() - batch.size());
    Map<TopicPartition, Long> reached = new HashMap<>();
    for (TopicPartition partition : records.partitions()) {
      reached.put(partition, records.records(partition).getLast().offset() + 1);
    }
    if (batch.isEmpty()) {
      reached.forEach(
          (partition, offset) -> unrecordedPositions.merge(partition, offset, Math::max));
      return true;
    }
    // the whole poll is handled once its batch is applied, the records passed over included, and
    // those of the polls passed over before it
    unrecordedPositions.forEach((partition, offset) -> reached.merge(partition, offset, Math::max));
    Duration backoff = options.initialBackoff();
    int attempts = 0;
    while (running) {
      try {
        batchTimer.record(() -> applyInOneTransaction(batch, reached));
        unrecordedPositions.clear();
        positionsDueNanos = System.nanoTime() + POSITIONS_INTERVAL.toNanos();
        recordLatency(batch);
        return true;
      } catch (RuntimeException e) {
        attempts++;
        if (batch.size() > 1 && attempts >= BATCH_ATTEMPTS) {
          // transient or not, the batch itself may be what fails (a statement timeout of its
          // transaction): each record alone still waits out an outage
          log.warn(
              "worker {}: a batch of {} failed {} times; applying its records one by one",
              options.consumer(),
              batch.size(),
              attempts,
              e);
          break;
        }
        if (!Failures.isTransient(e)) {
          log.warn(
              "worker {}: a batch of {} failed; applying its records one by one",
              options.consumer(),
              batch.size(),
              e);
          break;
        }
        log.warn(
            "worker {}: infrastructure unavailable, retrying in {} ms: {}",
            options.consumer(),
            backoff.toMillis(),
            e.toString());
        waitKeepingMembership(c, backoff);
        backoff = grow(backoff);
        // the wait polled: a partition revoked meanwhile is its new owner's to apply
        batch.removeIf(record -> !owns(c, record));
        // nor is one given back since (its position restarted at its last commit): where it got
        // to is told by the next transaction that reads it again
        reached.keySet().retainAll(c.assignment());
        reached.keySet().removeAll(revokedSincePoll);
        if (batch.isEmpty()) {
          return true;
        }
      }
    }
    for (ConsumerRecord<String, byte[]> record : batch) {
      if (!applyAlone(c, record)) {
        return false;
      }
    }
    return running;
  }

  private boolean applyAlone(Consumer<String, byte[]> c, ConsumerRecord<String, byte[]> record) {
    int attempts = 0;
    Duration backoff = options.initialBackoff();
    while (running) {
      if (!inHand(c, record)) {
        // revoked during a wait: its new owner applies it, or dead-letters it; given back since,
        // it is read again from its last commit
        progressed();
        return true;
      }
      try {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        applyInOneTransaction(List.of(record), Map.of(partition, record.offset() + 1));
        recordLatency(List.of(record));
        progressed();
        return true;
      } catch (RuntimeException e) {
        if (!Failures.isTransient(e)) {
          attempts++;
          if (attempts >= options.maxAttempts()) {
            // not sent means stopping: the record stays unapplied and its offset uncommitted
            return deadLetter(c, record, e) && running;
          }
          retries.increment();
          log.warn(
              "worker {}: {}-{}@{} failed (attempt {} of {}): {}",
              options.consumer(),
              record.topic(),
              record.partition(),
              record.offset(),
              attempts,
              options.maxAttempts(),
              e.toString());
        } else {
          // never dead-lettered (the database or Kafka may be what fails), so never silent: the
          // partition and every other one of this worker wait behind this record
          log.warn(
              "worker {}: {}-{}@{} failed for a passing reason, retrying in {} ms; this worker"
                  + " applies nothing else until it is applied: {}",
              options.consumer(),
              record.topic(),
              record.partition(),
              record.offset(),
              backoff.toMillis(),
              e.toString());
        }
        waitKeepingMembership(c, backoff);
        backoff = grow(backoff);
      }
    }
    return false;
  }

  /**
   * Writes {@link #unrecordedPositions} in a transaction of their own. Losing it to a crash costs
   * only precision (records passed over since would be told as lost, should the group's offsets
   * also expire and retention delete them), so it does not wait for the disk; a failure is told and
   * tried again later, never holding the worker up.
   */
  private void recordPositions() {
    if (unrecordedPositions.isEmpty()) {
      return;
    }
    Map<TopicPartition, Long> positions = Map.copyOf(unrecordedPositions);
    try {
      jdbi.useTransaction(
          tx -> {
            tx.execute("SET LOCAL synchronous_commit = off");
            WorkerPositions.record(tx, options.consumer(), positions);
          });
      unrecordedPositions.clear();
      positionsDueNanos = System.nanoTime() + POSITIONS_INTERVAL.toNanos();
    } catch (RuntimeException e) {
      positionsDueNanos = System.nanoTime() + POSITIONS_RETRY.toNanos();
      log.warn(
          "worker {}: could not record how far it read {}, trying again in {} s: {}",
          options.consumer(),
          positions,
          POSITIONS_RETRY.toSeconds(),
          e.toString());
    }
  }

  /**
   * Applies {@code batch} in one transaction, which also records how far the group has applied each
   * partition ({@code reached}, see {@link WorkerPositions}).
   */
  private void applyInOneTransaction(
      List<ConsumerRecord<String, byte[]>> batch, Map<TopicPartition, Long> reached) {
    int[] counts = new int[2];
    List<String> keys = new ArrayList<>(batch.size());
    for (ConsumerRecord<String, byte[]> record : batch) {
      keys.add(dedupeKey(record));
    }
    jdbi.useTransaction(
        tx -> {
          counts[0] = 0;
          counts[1] = 0;
          // the keys this transaction is first to apply; a key twice in the batch is applied once
          Set<String> fresh = ProcessedEvents.markNew(tx, options.consumer(), keys);
          WorkerPositions.record(tx, options.consumer(), reached);
          for (int i = 0; i < batch.size(); i++) {
            String key = keys.get(i);
            try (var a = Mdc.put(Mdc.CONSUMER, options.consumer());
                var b = Mdc.put(Mdc.STRIPE_EVENT_ID, key)) {
              if (!fresh.remove(key)) {
                counts[1]++;
                continue;
              }
              applyOne(tx, batch.get(i));
              counts[0]++;
            }
          }
        });
    applied.increment(counts[0]);
    duplicates.increment(counts[1]);
    if (counts[0] > 0) {
      options.afterApplied().run();
    }
  }

  /** The record's dedupe key; a stack overflow computing it fails the record, as in applyOne. */
  private String dedupeKey(ConsumerRecord<String, byte[]> record) {
    try {
      return handler.dedupeKey(record);
    } catch (StackOverflowError e) {
      throw new RecordFailedException(e);
    }
  }

  /**
   * Applies one record. A StackOverflowError is the record's failure, as an exception is: its data
   * drove the handler's recursion deeper than the thread's stack (a nesting the code does not
   * expect), and the stack is unwound by the time it reaches here. Escaping the loop, it ended the
   * worker's thread, which left the group; the record's partition moved to another replica, whose
   * worker it ended in turn, so one record stopped every partition of every replica. Other errors
   * (out of memory, a class that does not link) are the process's, not the record's, and still stop
   * the worker: dead-lettering on them would take good payments out of the stream.
   */
  private void applyOne(Handle tx, ConsumerRecord<String, byte[]> record) {
    try {
      handler.apply(tx, record);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception | StackOverflowError e) {
      throw new RecordFailedException(e);
    }
  }

  /**
   * A checked failure of a handler, or its stack overflow, carried out of the transaction with its
   * cause intact.
   */
  static final class RecordFailedException extends RuntimeException {
    RecordFailedException(Throwable cause) {
      super(
          cause instanceof Error
              ? cause.getClass().getSimpleName() + " while applying the record"
              : cause.getMessage(),
          cause);
    }
  }

  /**
   * Sends {@code record} to its dead-letter topic, waiting out a topic that refuses it, then counts
   * it and lets the handler note it. Returns false, having counted and noted nothing, when the
   * worker stopped (or its thread was interrupted) before the broker acknowledged it: nothing is on
   * the dead-letter topic, so nothing may say it is, and the caller must not move past the record,
   * which the next run reads again. Returns true, having sent nothing, when the record's partition
   * was revoked while the topic refused it: its new owner dead-letters it (or this worker, reading
   * it again from its last commit, once the partition is given back). Once sent, the record is
   * noted as {@link #noteDeadLetter} says.
   */
  private boolean deadLetter(
      Consumer<String, byte[]> c, ConsumerRecord<String, byte[]> record, Exception failure) {
    Throwable error =
        failure instanceof RecordFailedException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    Topic dlq = new Topic(record.topic(), 1).dlq();
    var out =
        new ProducerRecord<>(dlq.name(), null, record.key(), record.value(), record.headers());
    String message = error.getMessage() == null ? error.toString() : error.getMessage();
    RecordHeaders.put(out.headers(), RecordHeaders.ERROR_CLASS, error.getClass().getName());
    RecordHeaders.put(
        out.headers(),
        RecordHeaders.ERROR_MESSAGE,
        message.length() > 1000 ? message.substring(0, 1000) : message);
    RecordHeaders.put(out.headers(), RecordHeaders.FAILED_AT, clock.instant().toString());
    RecordHeaders.put(out.headers(), RecordHeaders.CONSUMER, options.consumer());
    RecordHeaders.put(out.headers(), RecordHeaders.SOURCE_TOPIC, record.topic());
    RecordHeaders.put(
        out.headers(), RecordHeaders.SOURCE_PARTITION, Integer.toString(record.partition()));
    RecordHeaders.put(out.headers(), RecordHeaders.SOURCE_OFFSET, Long.toString(record.offset()));
    Duration backoff = options.initialBackoff();
    boolean sent = false;
    try {
      while (running && !sent) {
        try {
          dlqProducer.send(out).get(DLQ_SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
          sent = true;
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            break;
          }
          deadLetterRefused = true;
          log.warn(
              "worker {}: dead-letter topic {} unavailable for {}-{}@{}, retrying; the partition"
                  + " waits, and the worker reports itself unhealthy until it is sent",
              options.consumer(),
              dlq.name(),
              record.topic(),
              record.partition(),
              record.offset(),
              e);
          waitKeepingMembership(c, backoff);
          backoff = grow(backoff);
          if (!inHand(c, record)) {
            log.info(
                "worker {}: {}-{}@{} was revoked while it waited for {}; whoever reads it again"
                    + " from its last commit dead-letters it",
                options.consumer(),
                record.topic(),
                record.partition(),
                record.offset(),
                dlq.name());
            return true;
          }
        }
      }
    } finally {
      deadLetterRefused = false;
    }
    if (!sent) {
      log.warn(
          "worker {}: stopping before {}-{}@{} reached {}; the next run reads it again",
          options.consumer(),
          record.topic(),
          record.partition(),
          record.offset(),
          dlq.name());
      return false;
    }
    deadLettered.increment();
    progressed();
    log.error(
        "worker {}: dead-lettered {}-{}@{} to {}",
        options.consumer(),
        record.topic(),
        record.partition(),
        record.offset(),
        dlq.name(),
        error);
    // the handler is told of an exception: an overflow comes wrapped, its message naming it
    return noteDeadLetter(c, record, error instanceof Exception e ? e : failure);
  }

  /**
   * Lets the handler note {@code record}, now on the dead-letter topic, in a transaction of its own
   * (the payment processor's audit row). A failure that passes (a deadlock, a failover) is waited
   * out as a record's is: given up at once, the note was lost for good while the partition moved
   * on, and the dead letter left no trace in the database. Returns false, having noted nothing,
   * when the worker stops first: the record's offset is not committed, so the next run reads it
   * again, dead-letters it again and notes it. Returns true, having noted nothing, when the
   * record's partition was revoked meanwhile (its new owner reads it again, from the last commit)
   * or the note itself fails for good.
   */
  private boolean noteDeadLetter(
      Consumer<String, byte[]> c, ConsumerRecord<String, byte[]> record, Exception noted) {
    Duration backoff = options.initialBackoff();
    while (running) {
      try {
        jdbi.useTransaction(tx -> handler.onDeadLetter(tx, record, noted));
        return true;
      } catch (RuntimeException e) {
        if (!Failures.isTransient(e)) {
          log.warn(
              "worker {}: could not note the dead letter {}-{}@{} in the database",
              options.consumer(),
              record.topic(),
              record.partition(),
              record.offset(),
              e);
          return true;
        }
        log.warn(
            "worker {}: noting the dead letter {}-{}@{} failed for a passing reason, retrying in"
                + " {} ms: {}",
            options.consumer(),
            record.topic(),
            record.partition(),
            record.offset(),
            backoff.toMillis(),
            e.toString());
        waitKeepingMembership(c, backoff);
        backoff = grow(backoff);
        if (!owns(c, record)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether {@code record} is still this worker's to apply or dead-letter: its partition is its own
   * ({@link #owns}) and was not revoked and assigned again since the poll. A partition given back
   * restarts at its last commit and its records in hand are not committed ({@link #noteApplied}):
   * they are read again, so dead-lettering one of them now as well sent it to the dead-letter topic
   * twice (a rebalance revokes every partition, and gives most of them back at once).
   */
  private boolean inHand(Consumer<String, byte[]> c, ConsumerRecord<String, byte[]> record) {
    return owns(c, record)
        && !revokedSincePoll.contains(new TopicPartition(record.topic(), record.partition()));
  }

  /**
   * Whether {@code record}'s partition is still this worker's. A wait polls, and a rebalance in
   * that poll may give the partition to another member, which reads it again from the last commit:
   * applying or dead-lettering its records here too would do its work twice (a dead letter sent by
   * both), and report this worker not ready for a partition that is not its own.
   */
  private static boolean owns(Consumer<String, byte[]> c, ConsumerRecord<String, byte[]> record) {
    return c.assignment().contains(new TopicPartition(record.topic(), record.partition()));
  }

  private void noteApplied(Consumer<String, byte[]> c, ConsumerRecords<String, byte[]> records) {
    Set<TopicPartition> assigned = c.assignment();
    for (TopicPartition partition : records.partitions()) {
      if (!assigned.contains(partition) || revokedSincePoll.contains(partition)) {
        // revoked while its records were retried: the next owner commits it. Given back since,
        // some of its records may have been dropped unapplied; its position restarted at its
        // last commit, so they are read again and applied (or skipped), never committed past
        continue;
      }
      List<ConsumerRecord<String, byte[]>> list = records.records(partition);
      appliedOffsets.put(partition, new OffsetAndMetadata(list.getLast().offset() + 1));
    }
    offsetsToCommit = true;
  }

  /** Sends the applied offsets, without waiting, when some are new and the interval has passed. */
  private void commitIfDue(Consumer<String, byte[]> c) {
    long now = System.nanoTime();
    if (!offsetsToCommit
        || now - lastCommitNanos < TimeUnit.MILLISECONDS.toNanos(COMMIT_INTERVAL_MILLIS)) {
      return;
    }
    offsetsToCommit = false;
    lastCommitNanos = now;
    c.commitAsync(
        Map.copyOf(appliedOffsets),
        (offsets, e) -> {
          if (e != null) {
            // The effects are committed and recorded; whoever re-reads these records skips them.
            // Sent again with the next interval, even if no record comes meanwhile, so that lag
            // and a restart do not stay behind what was applied (callbacks run on this thread)
            offsetsToCommit = true;
            log.warn(
                "worker {}: offset commit failed, sent again within {} ms; records may be re-read"
                    + " and skipped: {}",
                options.consumer(),
                COMMIT_INTERVAL_MILLIS,
                e.toString());
          }
        });
  }

  /**
   * Commits, waiting for it, the applied offsets of {@code partitions} and forgets them: when they
   * are revoked and when the worker stops. A failure is logged, not thrown: the records would be
   * re-read and skipped.
   */
  private void commitApplied(Consumer<String, byte[]> c, Collection<TopicPartition> partitions) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition partition : List.copyOf(partitions)) {
      OffsetAndMetadata offset = appliedOffsets.remove(partition);
      if (offset != null) {
        offsets.put(partition, offset);
      }
    }
    if (offsets.isEmpty()) {
      return;
    }
    for (int attempt = 1; ; attempt++) {
      try {
        c.commitSync(offsets, OFFSET_COMMIT_TIMEOUT);
        return;
      } catch (WakeupException e) {
        // close() woke the consumer to stop it; the commit is still wanted, once more
        if (attempt > 1) {
          log.warn("worker {}: offset commit interrupted on stopping", options.consumer());
          return;
        }
      } catch (AuthenticationException | AuthorizationException e) {
        throw e;
      } catch (KafkaException e) {
        log.warn(
            "worker {}: offset commit failed, records will be re-read and skipped",
            options.consumer(),
            e);
        return;
      }
    }
  }

  /**
   * Pauses fetching and keeps polling, so the group does not evict this member while it waits.
   * Partitions assigned during the wait are paused as they arrive (a rebalance does not keep
   * pauses); should a poll still return records, the position is moved back to the first of them,
   * so nothing is skipped.
   */
  private void waitKeepingMembership(Consumer<String, byte[]> c, Duration duration) {
    waiting = true;
    c.pause(c.assignment());
    long deadline = System.nanoTime() + duration.toNanos();
    try {
      while (running && System.nanoTime() < deadline) {
        ConsumerRecords<String, byte[]> stray =
            poll(
                c,
                Duration.ofMillis(
                    Math.min(100, Math.max(1, (deadline - System.nanoTime()) / 1_000_000))));
        for (TopicPartition partition : stray.partitions()) {
          c.seek(partition, stray.records(partition).getFirst().offset());
          c.pause(List.of(partition));
        }
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } finally {
      waiting = false;
      c.resume(c.assignment());
    }
  }

  private void recordLatency(List<ConsumerRecord<String, byte[]>> batch) {
    long now = clock.millis();
    for (ConsumerRecord<String, byte[]> record : batch) {
      if (record.timestamp() > 0) {
        eventAge.record(Duration.ofMillis(Math.max(0, now - record.timestamp())));
      }
    }
  }

  private Duration grow(Duration backoff) {
    Duration doubled = backoff.multipliedBy(2);
    return doubled.compareTo(options.maxBackoff()) > 0 ? options.maxBackoff() : doubled;
  }

  /**
   * Asks the worker to stop, without waiting for it: a service running several workers asks each of
   * them before {@link #close() closing} them one by one, so that they leave their groups side by
   * side (each consumer's close waits for the answer to its last fetch, which the broker may hold
   * for its fetch wait) and the service stops in the time of one of them, not the sum.
   */
  public void requestStop() {
    running = false;
    Consumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
  }

  @Override
  public void close() {
    requestStop();
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        log.warn("worker {} did not stop within 30 s", options.consumer());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // What is applied and not yet committed is committed now, so the next owner does not re-read
      // it. Records still in hand (this poll came from a wait) are the next owner's: after the
      // wait, those of a partition no longer assigned are neither applied nor dead-lettered here.
      commitApplied(consumer, partitions);
      recordPositions();
      revokedSincePoll.addAll(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      // no longer ours to commit: the next owner re-reads from the last commit and skips
      partitions.forEach(appliedOffsets::remove);
      revokedSincePoll.addAll(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assigned = true;
      if (waiting) {
        consumer.pause(partitions);
      }
      log.info("worker {} assigned {}", options.consumer(), partitions);
    }
  }
}
