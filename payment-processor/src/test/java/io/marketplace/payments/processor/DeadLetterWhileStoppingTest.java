package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A worker stopped while the dead-letter topic refuses a failed record has not dead-lettered it:
 * nothing says it did, and the record is dead-lettered by the next run.
 */
class DeadLetterWhileStoppingTest {

  @Test
  void shouldNotNoteADeadLetterThatNeverReachedTheDeadLetterTopicWhenStopped() throws Exception {
    Logger workerLog = (Logger) LoggerFactory.getLogger(StreamWorker.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    workerLog.addAppender(logged);
    try (ProcessorFixture world = new ProcessorFixture().workers(1)) {
      // Given a dead-letter topic that refuses every record (the broker answers "too large")
      String dlq = world.topics.stripeEvents().dlq().name();
      TestInfra.setMaxMessageBytes(dlq, 16);
      world.start();

      // And a record that is no Stripe event, which the worker fails and tries to dead-letter
      String pi = StripeFixtures.id("pi");
      String poisonId = "evt_3PstopWhileDeadLettering01";
      world.kafka.send(
          world.topics.stripeEvents(),
          pi,
          "{\"id\": \"" + poisonId + "\", \"object\": \"event\", truncated",
          Map.of(
              RecordHeaders.STRIPE_EVENT_ID,
              poisonId,
              RecordHeaders.STRIPE_EVENT_TYPE,
              "payment_intent.succeeded",
              RecordHeaders.RECEIVED_AT,
              Instant.now().toString()));
      Await.until(
          ProcessorFixture.WAIT,
          "the dead-letter topic to refuse the failed record",
          () ->
              List.copyOf(logged.list).stream()
                  .anyMatch(
                      e ->
                          e.getLevel() == Level.WARN
                              && e.getFormattedMessage().contains("unavailable for")));
      // And the processor says it is not ready while the record waits, naming its worker, though
      // it is alive (a restart would not make the topic take the record)
      Await.until(
          ProcessorFixture.WAIT,
          "readiness down while the dead letter waits",
          () -> {
            var ready = world.admin("/health/ready");
            return ready.getKey() == 503 && ready.getValue().contains("\"worker\":\"DOWN\"");
          });
      assertThat(world.admin("/health/live")).isEqualTo(Map.entry(200, "{\"status\":\"UP\"}"));

      // When the worker is stopped while the dead-letter topic still refuses it
      world.stop();

      // Then the record is not noted as dead-lettered: it is not on the dead-letter topic, and its
      // audit row does not say it failed there
      assertThat(world.db.count("webhook_events WHERE event_id = ?", poisonId))
          .as("audit rows of a record that never reached the dead-letter topic")
          .isZero();
      assertThat(
              List.copyOf(logged.list).stream()
                  .anyMatch(e -> e.getFormattedMessage().contains("dead-lettered")))
          .as("a dead letter logged as sent")
          .isFalse();

      // And once the dead-letter topic takes records again, the next run dead-letters it, once
      TestInfra.setMaxMessageBytes(dlq, Topics.MAX_MESSAGE_BYTES);
      world.start();
      world.kafka.awaitRecord(
          world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
      assertThat(world.awaitOutcome(poisonId)).containsEntry("status", "failed");
      // And the worker is ready again once it moved on
      Await.until(
          ProcessorFixture.WAIT,
          "readiness up once the dead letter is sent",
          () -> world.admin("/health/ready").getValue().contains("\"worker\":\"UP\""));
    } finally {
      workerLog.detachAppender(logged);
    }
  }
}
