package io.marketplace.payments.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

  @Test
  void shouldReturnTheValueWhenItAppearsWithinTheTimeout() {
    // Given a value that appears on the third poll
    AtomicInteger polls = new AtomicInteger();

    // When awaited
    String value =
        Await.value(
            Duration.ofSeconds(2),
            "the third poll",
            () -> polls.incrementAndGet() >= 3 ? Optional.of("ready") : Optional.empty());

    // Then it is returned
    assertThat(value).isEqualTo("ready");
    assertThat(polls).hasValue(3);
  }

  @Test
  void shouldAskNoMoreOftenThanTheIntervalGiven() {
    // Given a condition that never holds, asked every 200 ms for 1 s
    AtomicInteger polls = new AtomicInteger();

    // When awaited
    assertThatThrownBy(
            () ->
                Await.until(
                    Duration.ofSeconds(1),
                    Duration.ofMillis(200),
                    "nothing",
                    () -> polls.incrementAndGet() < 0))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("nothing");

    // Then it was asked at most once per interval, and at the end (the default asks ~20 times)
    assertThat(polls.get()).isBetween(2, 6);
  }

  @Test
  void shouldRefuseAPollIntervalThatIsNotPositive() {
    assertThatThrownBy(
            () -> Await.until(Duration.ofSeconds(1), Duration.ZERO, "anything", () -> true))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldFailWithTheDescriptionWhenTheConditionNeverHolds() {
    assertThatThrownBy(
            () -> Await.until(Duration.ofMillis(120), "the listing to activate", () -> false))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("the listing to activate")
        .hasMessageContaining("120 ms");
  }

  @Test
  void shouldAttachTheLastFailureWhenTheAssertionNeverPasses() {
    assertThatThrownBy(
            () ->
                Await.untilAsserted(
                    Duration.ofMillis(100), () -> assertThat(1).as("one is two").isEqualTo(2)))
        .isInstanceOf(AssertionError.class)
        .cause()
        .hasMessageContaining("one is two");
  }

  @Test
  void shouldFailAtOnceWhenTheForbiddenConditionHolds() {
    assertThatThrownBy(() -> Await.never(Duration.ofSeconds(5), "a second refund", () -> true))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("a second refund");
  }
}
