package io.marketplace.payments.system.crash;

import io.marketplace.payments.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A Kafka broker in an OS process of its own, so that a test can {@code kill -9} it as a node crash
 * would and start it again on the same log directory and port: {@code BrokerMain <dataDir> <port>}.
 * Prints {@value #READY} once the broker accepts requests, and runs until killed.
 */
public final class BrokerMain {

  public static final String READY = "broker ready";

  private BrokerMain() {}

  public static void main(String[] args) throws InterruptedException {
    EmbeddedKafka kafka = EmbeddedKafka.start(Path.of(args[0]), Integer.parseInt(args[1]));
    System.out.println(READY + " at " + kafka.bootstrapServers());
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
