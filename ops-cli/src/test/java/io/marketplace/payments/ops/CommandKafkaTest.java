package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CommandKafkaTest {

  @ParameterizedTest
  @ValueSource(longs = {1, 500, 5_000, 30_000, 120_000})
  void shouldGiveUpASendWithinTheCommandTimeoutWhenKafkaDoesNotAnswer(long timeoutMillis) {
    // Given the operator's KAFKA_COMMAND_TIMEOUT
    Duration timeout = Duration.ofMillis(timeoutMillis);

    // When a command builds its producer
    Properties props =
        CommandKafka.producer(
            new KafkaConfig("localhost:9092", Topics.withPrefix("")), "test", timeout);

    // Then neither the wait for a topic's metadata nor a record's retries outlast that timeout (or
    // a
    // linger more, the least the client takes), and the client accepts the
    // settings
    long linger = Long.parseLong(props.get(ProducerConfig.LINGER_MS_CONFIG).toString());
    assertThat(((Number) props.get(ProducerConfig.MAX_BLOCK_MS_CONFIG)).longValue())
        .isEqualTo(timeoutMillis);
    assertThat(((Number) props.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).longValue())
        .isLessThanOrEqualTo(timeoutMillis + linger);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      assertThat(producer.metrics()).isNotEmpty();
    }
  }
}
