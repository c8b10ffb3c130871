package io.marketplace.payments.ops.dlq;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What {@code payments dlq} prints of a dead letter is text others wrote: the key and the body of a
 * message another service published on {@code marketplace.moderation.v1} (SPEC §4), and the error a
 * worker's parser made of it. It reaches the operator's terminal as text, never as control
 * sequences or as lines of its own.
 */
class DeadLetterTextTest {

  private final Topics topics = TestInfra.freshTopics();
  private final KafkaTestClient kafka = TestInfra.kafkaClient();
  private final Cli cli = new Cli().kafka(topics).database(TestInfra.freshDatabase());

  @AfterEach
  void close() {
    kafka.close();
  }

  @Test
  void shouldShowControlCharactersOfADeadLetterAsTextOnItsOwnLineWhenListed() {
    // Given a moderation message another service published, with terminal control sequences and a
    // line break in its key and decision, dead-lettered by the refund worker as unreadable
    String key = "listing-1\u001b]0;owned\u0007";
    String decision =
        "rejected\n2026-01-01T00:00:00Z  refund-worker  forged/0/0  evt_forged  -  no  -\u001b[2K";
    kafka.send(
        topics.moderation().dlq(),
        key,
        Json.write(Map.of("listingId", "not-a-uuid", "decision", decision)),
        Map.of(
            RecordHeaders.SOURCE_TOPIC, topics.moderation().name(),
            RecordHeaders.CONSUMER, "refund-worker",
            RecordHeaders.FAILED_AT, "2026-03-02T10:00:00Z",
            RecordHeaders.ERROR_CLASS, "java.lang.IllegalArgumentException",
            RecordHeaders.ERROR_MESSAGE,
                "not a moderation decision: \u001b[31mnot-a-uuid\u009b0m"));

    // When the operator lists the dead letters of the moderation topic, and redrives by that key
    Cli.Result list = cli.run("dlq", "list", "--topic", "marketplace.moderation.v1");
    Cli.Result redrive =
        cli.run(
            "dlq",
            "redrive",
            "--event-id",
            key,
            "--topic",
            "marketplace.moderation.v1",
            "--dry-run");

    // Then nothing printed holds a control character, and the dead letter is one line of the list
    for (Cli.Result result : List.of(list, redrive)) {
      assertThat(result.out() + result.err())
          .as(result.toString())
          .doesNotContainPattern("[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f]");
    }
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out().lines().filter(l -> l.contains("forged"))).hasSize(1);
    assertThat(list.out().lines().toList()).hasSize(3); // the header, the dead letter, the count
    assertThat(list.out()).contains("listing-1\\u001b]0;owned\\u0007");
    assertThat(redrive.out()).contains("would redrive").contains("listing-1\\u001b]0;owned");
  }
}
