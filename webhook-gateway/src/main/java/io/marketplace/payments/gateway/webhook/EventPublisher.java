package io.marketplace.payments.gateway.webhook;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;

/**
 * Writes a verified event to {@code stripe.events.v1} (SPEC §4): the raw body byte for byte, keyed
 * by the PaymentIntent it concerns, with the event's id, type and arrival time as headers; and
 * waits until every in-sync replica has it ({@code acks=all}, idempotent producer).
 *
 * <p>Timeouts. SPEC §3 gives the broker 10 s to acknowledge before we answer 503, counted from the
 * moment the event is handed to the producer: the time its body took to arrive is the client's,
 * bounded by the body deadline, not the broker's. {@code max.block.ms} bounds how long {@code send}
 * itself may block (no metadata yet, or the buffer full while the broker is away), and the wait for
 * the acknowledgement takes what is left of the 10 s. {@code delivery.timeout.ms} is set to the
 * same 10 s, so the producer gives up on a record at about the time we tell Stripe to retry it and
 * does not keep re-sending it long after. That cannot promise an unacknowledged record never lands:
 * a request may reach the broker as the client gives up on it. Such a record is harmless: Stripe
 * re-delivers the same event (same {@code evt_} id) after our 503, and every consumer applies an
 * event once per id. What can never happen is the opposite, a 200 for a record the broker did not
 * acknowledge.
 */
public final class EventPublisher implements AutoCloseable {

  /** SPEC §3: 503 when Kafka does not acknowledge within this. */
  public static final Duration ACK_TIMEOUT = Duration.ofSeconds(10);

  private final Producer<String, byte[]> producer;
  private final Topic topic;
  private final GatewayMetrics metrics;

  public EventPublisher(Producer<String, byte[]> producer, Topic topic, GatewayMetrics metrics) {
    this.producer = producer;
    this.topic = topic;
    this.metrics = metrics;
  }

  public static EventPublisher create(KafkaConfig kafka, String clientId, GatewayMetrics metrics) {
    return new EventPublisher(
        new KafkaProducer<>(producerSettings(kafka, clientId)),
        kafka.topics().stripeEvents(),
        metrics);
  }

  /** The shared durable settings (acks=all, idempotence) with the gateway's timeouts and sizes. */
  public static Properties producerSettings(KafkaConfig kafka, String clientId) {
    Properties props = kafka.producer(clientId);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) ACK_TIMEOUT.toMillis());
    // below the delivery timeout, so a request lost on a broken connection is retried once in time
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 4_000);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
    // max.request.size and the topic's max.message.bytes leave room for a 1 MiB body with its key
    // and headers, however little it compresses (KafkaConfig, Topics)
    // no lingering: every request waits for its acknowledgement, so a record held back for a batch
    // holds its request back as long, and a sender with a few connections gets no more than
    // connections / linger answers per second (32 connections at Kafka 4's 5 ms: under 5,000/s).
    // Batches still form: while a produce request is in flight, the records that arrive meanwhile
    // gather and leave together in the next one
    props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 128 * 1024);
    // one produce request in flight: what arrives while it is out leaves in the next one, so the
    // batches grow with the load instead of each request carrying a record or two. Each batch costs
    // the producer its lz4 buffers (128 KiB) and the broker a validation and an append, per
    // partition. Ordering and idempotence are the same at any number in flight
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
    return props;
  }

  /**
   * Sends {@code body} and returns once the broker acknowledged it; throws {@link
   * NotAcknowledgedException} when it did not within {@link #ACK_TIMEOUT} of this call. The
   * deadline starts here, not with the request, so that a caller cannot spend the broker's time on
   * its own work (reading a slow body).
   */
  public void publish(EventEnvelope event, byte[] body, Instant receivedAt) {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic.name(), event.key(), body);
    record.headers().add(RecordHeaders.STRIPE_EVENT_ID, utf8(event.id()));
    record.headers().add(RecordHeaders.STRIPE_EVENT_TYPE, utf8(event.type()));
    record.headers().add(RecordHeaders.RECEIVED_AT, utf8(receivedAt.toString()));
    CompletableFuture<Void> acknowledged = new CompletableFuture<>();
    long started = System.nanoTime();
    long deadline = started + ACK_TIMEOUT.toNanos();
    try {
      producer.send(
          record,
          (metadata, exception) -> {
            if (exception == null) {
              acknowledged.complete(null);
            } else {
              acknowledged.completeExceptionally(exception);
            }
          });
      acknowledged.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      metrics.published(GatewayMetrics.Outcome.ACKNOWLEDGED, System.nanoTime() - started);
    } catch (TimeoutException e) {
      metrics.published(GatewayMetrics.Outcome.TIMED_OUT, System.nanoTime() - started);
      throw new NotAcknowledgedException("the broker did not acknowledge in time", e);
    } catch (ExecutionException e) {
      metrics.published(GatewayMetrics.Outcome.FAILED, System.nanoTime() - started);
      throw new NotAcknowledgedException("the broker refused the record", e.getCause());
    } catch (KafkaException e) {
      // send() throws only before the record is queued: metadata or buffer space not in time
      metrics.published(GatewayMetrics.Outcome.FAILED, System.nanoTime() - started);
      throw new NotAcknowledgedException("the record could not be queued", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      metrics.published(GatewayMetrics.Outcome.FAILED, System.nanoTime() - started);
      throw new NotAcknowledgedException("interrupted while waiting for the broker", e);
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Flushes what is queued, waiting at most {@code timeout}. */
  public void close(Duration timeout) {
    producer.close(timeout);
  }

  @Override
  public void close() {
    close(ACK_TIMEOUT);
  }

  /** The broker did not acknowledge the event: the caller answers 503 and Stripe retries. */
  public static final class NotAcknowledgedException extends RuntimeException {
    NotAcknowledgedException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
