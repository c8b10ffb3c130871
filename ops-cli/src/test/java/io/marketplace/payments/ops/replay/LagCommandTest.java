package io.marketplace.payments.ops.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code payments lag} in the replay workflow: after {@code payments replay}, the operator is told
 * to follow the re-reading with {@code payments lag --consumer NAME --wait}, which returns once the
 * lag is 0.
 */
class LagCommandTest {

  private final Topics topics = Topics.withPrefix(TestInfra.uniqueName("lag") + ".");

  {
    KafkaTopics.createTopics(
        TestInfra.kafka().bootstrapServers(),
        Map.of(topics.stripeEvents().name(), topics.stripeEvents().partitions()));
  }

  private final Cli cli = new Cli().kafka(topics);
  private final KafkaTestClient kafka = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    kafka.close();
  }

  /**
   * A mistyped group name (or a worker that never started) has no committed offsets: "lag 0" would
   * tell the operator the replay was re-read in full. It is refused, as {@code replay} refuses it.
   */
  @Test
  void shouldRefuseUnknownConsumerGroupInsteadOfReportingLagZero() {
    // Given records the worker has yet to read
    for (int i = 0; i < 3; i++) {
      kafka.send(topics.stripeEvents(), "pi_" + i, "{}");
    }

    // When the operator follows a replay with a mistyped group name
    Cli.Result result =
        cli.run("lag", "--consumer", "payment-procesor", "--wait", "--timeout", "5s");

    // Then it is refused, naming the group
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err()).as(result.toString()).contains("payment-procesor");
  }

  /**
   * A --timeout that is no duration is wrong usage, told as such before anything is asked of Kafka,
   * as every command tells a value it cannot read: not after a lookup, whose failure (an unknown
   * group, Kafka down) would hide it.
   */
  @Test
  void shouldRefuseATimeoutThatIsNoDurationBeforeAskingKafka() {
    // When the operator types a timeout without its unit, against a Kafka that does not answer
    Cli.Result result =
        new Cli()
            .set("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + Cli.closedPort())
            .set("KAFKA_COMMAND_TIMEOUT", "2s")
            .run("lag", "--consumer", "payment-processor", "--wait", "--timeout", "30");

    // Then it is wrong usage, naming the value
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.err()).as(result.toString()).contains("'30' is not a duration");
  }
}
