package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.Text;
import io.marketplace.payments.ops.replay.ConsumerGroups;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@code --consumer NAME}: the dead letters one consumer group gave up on (their {@code consumer}
 * header, the CONSUMER column of {@code dlq list}). The payment processor and the refund worker
 * both read {@code stripe.events.v1} and share its dead-letter topic: after a bad release of one,
 * only its dead letters are to be sent back.
 */
final class ConsumerFilter {

  private static final int NAMES_SHOWN = 20;

  private ConsumerFilter() {}

  /**
   * The dead letters of {@code consumer} among {@code letters}; all of them when it is null.
   * Refuses a name that no dead letter has and that is no consumer group of the cluster: a typo
   * would match nothing and read as "nothing waiting".
   */
  static List<DeadLetter> of(
      String consumer, List<DeadLetter> letters, KafkaConfig kafka, Duration timeout) {
    if (consumer == null) {
      return letters;
    }
    List<DeadLetter> matching =
        letters.stream().filter(l -> consumer.equals(l.consumer())).toList();
    if (matching.isEmpty()) {
      requireKnown(consumer, letters, kafka, timeout);
    }
    return matching;
  }

  /** The consumers {@code letters} are of, by name, with how many each: "refund-worker (2)". */
  static String consumersOf(Collection<DeadLetter> letters) {
    SortedSet<String> names = new TreeSet<>();
    letters.stream().map(DeadLetter::consumer).filter(Objects::nonNull).forEach(names::add);
    return String.join(
        ", ",
        names.stream()
            .map(
                n ->
                    Text.printable(n)
                        + " ("
                        + letters.stream().filter(l -> n.equals(l.consumer())).count()
                        + ")")
            .toList());
  }

  private static void requireKnown(
      String consumer, List<DeadLetter> letters, KafkaConfig kafka, Duration timeout) {
    String ofLetters = letters.isEmpty() ? "none" : consumersOf(letters);
    SortedSet<String> groups;
    try (ConsumerGroups cluster = new ConsumerGroups(kafka, timeout)) {
      groups = cluster.knownGroups();
    } catch (RuntimeException e) {
      throw new OperatorError(
          "no dead letter is of consumer "
              + consumer
              + ", and the cluster's consumer groups could not be listed to tell whether it is"
              + " one ("
              + e.getMessage()
              + "); the dead letters are of: "
              + ofLetters,
          e);
    }
    if (!groups.contains(consumer)) {
      throw new OperatorError(
          "no consumer "
              + consumer
              + ": no dead letter is of it, and the cluster has no such consumer group; the dead"
              + " letters are of: "
              + ofLetters
              + "; the consumer groups are: "
              + (groups.isEmpty()
                  ? "none"
                  : String.join(", ", groups.stream().limit(NAMES_SHOWN).toList())
                      + (groups.size() > NAMES_SHOWN ? ", ..." : "")));
    }
  }
}
