package io.marketplace.payments.expirer;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void shouldExitWithStatusTwoWhenARequiredVariableIsMissing() {
    // When --once runs without a database configured, then it is a configuration error
    assertThat(Main.once(Env.of(Map.of()), new MutableClock(Instant.EPOCH))).isEqualTo(2);
  }

  @Test
  void shouldExitWithStatusZeroWhenOnePassEndedEverythingDue() {
    // Given a due promotion and the environment the Deployment gives the expirer
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    Instant now = Instant.parse("2026-03-10T03:15:00Z");
    Seed seed = new Seed(db);
    seed.featured(seed.activeListing(seed.user(), now.plusSeconds(86_400)), now.minusSeconds(1));
    String prefix =
        topics.paymentEvents().name().substring(0, topics.paymentEvents().name().indexOf('.') + 1);
    Env env =
        Env.of(
            Map.of(
                "DATABASE_URL", db.url(),
                "DATABASE_USER", db.user(),
                "DATABASE_PASSWORD", db.password(),
                "KAFKA_BOOTSTRAP_SERVERS", TestInfra.kafka().bootstrapServers(),
                "KAFKA_TOPIC_PREFIX", prefix));

    // When --once runs
    int status = Main.once(env, new MutableClock(now));

    // Then it exits 0 with the promotion ended and its event on the topic
    assertThat(status).isZero();
    assertThat(db.count("listing_promotions WHERE expired_at IS NOT NULL")).isEqualTo(1);
    try (KafkaTestClient kafka = TestInfra.kafkaClient()) {
      assertThat(kafka.readAll(topics.paymentEvents())).hasSize(1);
    }
  }
}
