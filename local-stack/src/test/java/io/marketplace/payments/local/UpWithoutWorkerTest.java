package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.PaymentsCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Under {@code ./payments up} every worker runs in one process, and a replay refuses while the
 * worker's group has members: {@code --without payment-processor} leaves it stopped, so that the
 * operator can rewind it there as in production.
 */
class UpWithoutWorkerTest {

  @TempDir Path dataDir;

  @Test
  void shouldLeaveThePaymentProcessorStoppedSoThatItsGroupCanBeRewound() throws Exception {
    // Given a stack up without its payment processor, whose group committed offsets before
    try (LocalStack stack =
        LocalStack.start(
            dataDir, StackPorts.anyFree(), Set.of(LocalStack.Worker.PAYMENT_PROCESSOR), l -> {})) {
      String bootstrap = stack.env().get("KAFKA_BOOTSTRAP_SERVERS");
      TopicPartition partition = new TopicPartition(Topics.standard().stripeEvents().name(), 0);
      commit(bootstrap, "payment-processor", partition, 0);

      // When the operator replays it to the earliest record
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cli =
          PaymentsCli.commandLine(new OpsContext(Env.of(stack.env()), Clock.systemUTC()));
      cli.setOut(new PrintWriter(out));
      cli.setErr(new PrintWriter(err));
      int exit = cli.execute("replay", "--consumer", "payment-processor", "--to-earliest");

      // Then the group has no member, the replay runs, and the stack runs no processor
      assertThat(exit).as(out + "\n" + err).isZero();
      assertThat(out.toString()).contains("consumer group payment-processor has no live members");
      assertThat(stack.env()).doesNotContainKey("PAYMENT_PROCESSOR_URL");
      assertThat(stack.env()).containsKey("REFUND_WORKER_URL");
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        assertThat(
                admin
                    .describeConsumerGroups(List.of("payment-processor"))
                    .all()
                    .get()
                    .get("payment-processor")
                    .members())
            .isEmpty();
      }
    }
  }

  private static void commit(
      String bootstrap, String group, TopicPartition partition, long offset) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.of(partition));
      consumer.commitSync(Map.of(partition, new OffsetAndMetadata(offset)));
    }
  }
}
