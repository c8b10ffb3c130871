package io.marketplace.payments.common.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ReadinessTest {

  @Test
  void shouldAskTheDependenciesAtMostOncePerSecondWhenTheProbeIsFlooded() {
    // Given a readiness probe whose Kafka check counts its calls, and a clock that stands still
    AtomicInteger asked = new AtomicInteger();
    AtomicBoolean kafkaUp = new AtomicBoolean(true);
    AtomicLong now = new AtomicLong();
    Readiness readiness =
        new Readiness(
            List.of(
                new HealthCheck(
                    "kafka",
                    () -> {
                      asked.incrementAndGet();
                      return kafkaUp.get();
                    })),
            Duration.ofSeconds(1),
            now::get);

    // When anyone calls it a thousand times within the second
    for (int i = 0; i < 1000; i++) {
      assertThat(readiness.result().up()).isTrue();
    }

    // Then Kafka was asked once
    assertThat(asked).hasValue(1);

    // When Kafka goes away and the answer has aged a second, then the probe says so
    kafkaUp.set(false);
    now.addAndGet(Duration.ofMillis(999).toNanos());
    assertThat(readiness.result().up()).isTrue();
    now.addAndGet(Duration.ofMillis(1).toNanos());
    Readiness.Result result = readiness.result();
    assertThat(result.up()).isFalse();
    assertThat(result.checks()).containsEntry("kafka", "DOWN");
    assertThat(asked).hasValue(2);
  }
}
