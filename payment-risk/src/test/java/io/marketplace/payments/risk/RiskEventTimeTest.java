package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An event whose {@code created} lies after the moment it reached the topic (a sender's clock far
 * ahead, a record written by hand, a number no clock reads) on the real broker: the service dates
 * it by its arrival and goes on counting. Dated as it says, its observation is a record the broker
 * refuses on the repartition topic (over {@code log.message.timestamp.after.max.ms}, an hour by
 * default, ahead of the broker's clock) or a time no {@code long} of milliseconds holds, and the
 * stream thread failed on it, was replaced, read it again and failed again, counting nothing more.
 */
class RiskEventTimeTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path stateDir;

  @Test
  void shouldGoOnCountingWhenAnEventIsDatedAfterItArrived() throws Exception {
    // Given the risk service on its own topics, flagging at the second decline of a user
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig config =
        new RiskConfig(
            TestInfra.kafkaConfig(topics),
            0,
            stateDir,
            0,
            RiskRules.fromEnv(Env.of(Map.of("RISK_DECLINES_THRESHOLD", "2"))),
            db.dbConfig(),
            Duration.ofHours(1));
    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      Await.until(WAIT, "the service runs", () -> service.state() == KafkaStreams.State.RUNNING);
      String pi = "pi_3Pfuture" + UUID.randomUUID().toString().replace("-", "");

      // When declines of another user arrive dated two days ahead of now, past what a long of
      // milliseconds holds, and past any date, on the partition of the PaymentIntent below
      String other = UUID.randomUUID().toString();
      kafka.send(
          topics.stripeEvents(),
          pi,
          RiskEvents.declined(
              "evt_3Pahead" + other, pi, other, Instant.now().plus(Duration.ofDays(2))));
      kafka.send(
          topics.stripeEvents(),
          pi,
          RiskEvents.declined("evt_3Pnoclock" + other, pi, other, 10_000_000_000_000_000L));
      kafka.send(
          topics.stripeEvents(),
          pi,
          RiskEvents.declined("evt_3Pnodate" + other, pi, other, 100_000_000_000_000_000L));

      // And a user's payment is then declined twice, now
      String user = UUID.randomUUID().toString();
      long now = Instant.now().getEpochSecond();
      kafka.send(
          topics.stripeEvents(), pi, RiskEvents.declined("evt_3Pfirst" + user, pi, user, now - 2));
      kafka.send(
          topics.stripeEvents(), pi, RiskEvents.declined("evt_3Psecond" + user, pi, user, now - 1));

      // Then the user's signal is published: the service did not stop at the records before
      ConsumerRecord<String, byte[]> signal =
          kafka.awaitRecord(topics.riskSignals(), r -> user.equals(r.key()), WAIT);
      JsonNode data = Json.mapper().readTree(signal.value()).path("data");
      assertThat(data.path("signal").asText()).isEqualTo("card_testing_declines");
      assertThat(data.path("count").asLong()).isEqualTo(2);

      // And the other user's two datable declines count too, dated when they arrived: their signal
      // holds the user from now, not from two days ahead (the record past any date is skipped)
      ConsumerRecord<String, byte[]> otherSignal =
          kafka.awaitRecord(topics.riskSignals(), r -> other.equals(r.key()), WAIT);
      Instant raisedAt =
          Instant.parse(Json.mapper().readTree(otherSignal.value()).path("occurredAt").asText());
      assertThat(raisedAt).isBefore(Instant.now().plusSeconds(1));
    }
  }
}
