package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.ops.CommandKafka;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.Text;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Sends dead letters back to their source topic for another try: the original key, value and
 * headers, without the worker's error headers, plus {@code redriven-from} and {@code redriven-for}
 * (the consumer group that gave up on it: a group that shares the topic passes it over, and its own
 * dead letter of the event waits for its own redrive). A redrive applies the event once: the
 * workers record an event as applied only in the transaction that applies it, and a dead-lettered
 * event's transaction rolled back, so the redriven record is applied exactly when it is read again;
 * any other copy of it is skipped.
 */
public final class Redriver {

  private static final Duration CLAIM_MARGIN = Duration.ofSeconds(2);

  private final KafkaConfig kafka;
  private final Duration sendTimeout;
  private final Jdbi jdbi;
  private final String operator;

  /** Each send waits at most {@code sendTimeout} for Kafka's acknowledgement. */
  public Redriver(KafkaConfig kafka, Duration sendTimeout, Jdbi jdbi, String operator) {
    this.kafka = kafka;
    this.sendTimeout = sendTimeout;
    this.jdbi = jdbi;
    this.operator = operator;
  }

  /**
   * What a run did: how many it sent, and how many it left because another run was sending them
   * (the others were redriven before).
   */
  public record Outcome(int sent, int busy) {}

  /**
   * Redrives {@code letters} in order. A letter another run is sending right now is waited for as
   * long as that run's send may take; if its claim is still held then, it is named on {@code
   * progress}, left, and the run goes on with the others.
   */
  public Outcome redrive(List<DeadLetter> letters, PrintWriter out, PrintWriter progress) {
    int sent = 0;
    int busy = 0;
    if (letters.isEmpty()) {
      return new Outcome(sent, busy);
    }
    requireSources(letters, "nothing redriven");
    try (Producer<String, byte[]> producer =
        new KafkaProducer<>(CommandKafka.producer(kafka, "payments-cli-redrive", sendTimeout))) {
      for (DeadLetter letter : letters) {
        ProducerRecord<String, byte[]> record = recordFor(letter);
        RecordMetadata where;
        RecordMetadata[] sentAs = {null};
        try {
          where =
              inTransaction(
                  tx -> {
                    // another run's claim is held while its send waits for Kafka: wait that long,
                    // then it was sent (and this claim finds it) or it was given up (and this
                    // claim takes it); a claim held beyond is another run's, still at work
                    tx.execute("SET LOCAL lock_timeout = " + claimWait().toMillis());
                    if (!Redrives.claim(tx, letter, operator)) {
                      return null;
                    }
                    // the claim commits only once the broker has the record: a failed send leaves
                    // no
                    // claim, and a crash after the send at worst allows a second send, which the
                    // worker skips as already applied
                    RecordMetadata metadata = send(producer, record, letter);
                    sentAs[0] = metadata;
                    Redrives.sentTo(tx, letter, metadata.partition(), metadata.offset());
                    return metadata;
                  });
        } catch (JdbiException e) {
          if (sentAs[0] != null) {
            throw sentButNotRecorded(letter, sentAs[0], sent, e);
          }
          if (!(e instanceof UnableToExecuteStatementException statement)
              || !Redrives.isWaitGivenUp(statement)) {
            throw e;
          }
          busy++;
          progress.println(
              "busy: "
                  + letter.coordinates()
                  + " ("
                  + Text.printable(letter.eventId())
                  + ") not sent: another redrive is sending it; run this again once that one"
                  + " ended (what it sent is then skipped)");
          progress.flush();
          continue;
        }
        if (where == null) {
          out.println("skipped " + letter.coordinates() + ": redriven before");
          continue;
        }
        sent++;
        out.println(
            "redriven "
                + letter.coordinates()
                + " ("
                + Text.printable(letter.eventId())
                + ") to "
                + where.topic()
                + "/"
                + where.partition()
                + "/"
                + where.offset());
        if (sent % 100 == 0) {
          progress.println("redriven " + sent + " of " + letters.size());
          progress.flush();
        }
      }
    }
    out.flush();
    return new Outcome(sent, busy);
  }

  /**
   * Refuses when a source topic of {@code letters} is missing from the cluster, saying {@code
   * outcome}: a source topic deleted since, or named under another prefix. A send would wait out
   * its metadata and blame Kafka, or a broker that creates topics on first use would make one no
   * worker reads. A dry run checks it too, so that it does not promise a redrive the real run
   * refuses.
   */
  public void requireSources(List<DeadLetter> letters, String outcome) {
    if (letters.isEmpty()) {
      return;
    }
    CommandKafka.requireTopics(
        kafka,
        letters.stream().map(letter -> sourceOf(letter).name()).distinct().toList(),
        sendTimeout,
        outcome);
  }

  /**
   * The record is back on its topic, and the worker applies it, but its redrive was not recorded:
   * the operator must not take the failure for "not sent" and apply the event some other way.
   */
  private static OperatorError sentButNotRecorded(
      DeadLetter letter, RecordMetadata where, int sentBefore, JdbiException e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    String reason = String.valueOf(root.getMessage()).lines().findFirst().orElse("");
    return new OperatorError(
        letter.coordinates()
            + " ("
            + Text.printable(letter.eventId())
            + ") was sent to "
            + where.topic()
            + "/"
            + where.partition()
            + "/"
            + where.offset()
            + ", but the database failed to record its redrive ("
            + reason
            + "), so it may still be listed as waiting. Do not apply it by hand: the worker applies"
            + " the record sent, and skips it if it is redriven again. "
            + sentBefore
            + " redriven before it; the others were not sent: run again once the database"
            + " answers",
        e);
  }

  /** How long a claim waits for another run's: that run's send, and a margin. */
  private Duration claimWait() {
    return sendTimeout.plus(CLAIM_MARGIN);
  }

  ProducerRecord<String, byte[]> recordFor(DeadLetter letter) {
    Topic source = sourceOf(letter);
    Integer partition = letter.key() == null ? letter.sourcePartition() : null;
    var record = new ProducerRecord<>(source.name(), partition, letter.key(), letter.value());
    letter.originalHeaders().forEach(h -> record.headers().add(h));
    record
        .headers()
        .add(DeadLetter.REDRIVEN_FROM, letter.coordinates().getBytes(StandardCharsets.UTF_8));
    // only the consumer that gave up on it applies it: another reading the same topic (the
    // processor and the refund worker share the Stripe events) passes it over, and its own dead
    // letter of the event waits for its own redrive
    if (letter.consumer() != null) {
      RecordHeaders.put(record.headers(), RecordHeaders.REDRIVEN_FOR, letter.consumer());
    }
    return record;
  }

  /** Only the workers' own source topics: a header must not send a record anywhere else. */
  private Topic sourceOf(DeadLetter letter) {
    return source(kafka, letter)
        .orElseThrow(() -> new OperatorError(refusal(kafka, letter).orElseThrow()));
  }

  /**
   * Why {@code letter} may not be redriven, if it may not: it sits on no dead-letter topic of this
   * system, or names as its source another topic than the one its dead-letter topic belongs to (a
   * record anyone who reaches Kafka could have written there).
   */
  static Optional<String> refusal(KafkaConfig kafka, DeadLetter letter) {
    if (source(kafka, letter).isPresent()) {
      return Optional.empty();
    }
    for (Topic topic : kafka.topics().all()) {
      if (topic.dlq().name().equals(letter.dlqTopic())) {
        return Optional.of(
            letter.coordinates()
                + " names "
                + Text.printable(letter.sourceTopic())
                + " as its source, not "
                + topic.name()
                + "; not redriven");
      }
    }
    return Optional.of(
        Text.printable(letter.dlqTopic()) + " is not a dead-letter topic of this system");
  }

  private static Optional<Topic> source(KafkaConfig kafka, DeadLetter letter) {
    return kafka.topics().all().stream()
        .filter(topic -> topic.dlq().name().equals(letter.dlqTopic()))
        .filter(topic -> topic.name().equals(letter.sourceTopic()))
        .findFirst();
  }

  private <T> T inTransaction(org.jdbi.v3.core.HandleCallback<T, RuntimeException> work) {
    try {
      return jdbi.inTransaction(work);
    } catch (UnableToExecuteStatementException e) {
      throw Redrives.missingTable(e);
    }
  }

  private RecordMetadata send(
      Producer<String, byte[]> producer, ProducerRecord<String, byte[]> record, DeadLetter letter) {
    try {
      return producer.send(record).get(sendTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      if (e instanceof TimeoutException || OperatorError.isKafkaTimeout(e)) {
        throw OperatorError.kafkaDidNotAnswer(
            kafka.bootstrapServers(), sendTimeout, letter.coordinates() + " not redriven", e);
      }
      throw new OperatorError(
          "Kafka did not acknowledge the redrive to " + record.topic() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OperatorError("interrupted", e);
    }
  }
}
