package io.marketplace.payments.common.kafka;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/** Answers whether the brokers answer: the Kafka part of {@code /health/ready}. */
public final class KafkaHealth implements AutoCloseable {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private final Admin admin;

  public KafkaHealth(KafkaConfig config, String clientId) {
    this.admin = Admin.create(config.admin(clientId + "-health"));
  }

  public boolean isReachable() {
    try {
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs((int) TIMEOUT.toMillis()))
          .clusterId()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(2));
  }
}
