package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A janitor stopped for good by an error no round can recover from (the heap exhausted, a class
 * that no longer loads) leaves approved refunds unretried and late disputes uncounted, with every
 * consumer still running: the worker says it is not live, so that it is restarted.
 */
class RefundJanitorStoppedTest {

  private static final AtomicBoolean exhausted = new AtomicBoolean();

  private static Harness h;

  @BeforeAll
  static void start() {
    h =
        new Harness(
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            stripe -> stripe.setHttpClient(new ExhaustedOnRefunds()));
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldNotBeLiveOnceAnErrorStoppedItsJanitor() throws Exception {
    // Given a live worker
    assertThat(live()).isEqualTo(200);

    // When its janitor's retry of an approved refund meets an error that is not an exception
    var paid = h.paidListing(Duration.ofHours(1));
    exhausted.set(true);
    h.approvedRefund(paid, 100);
    h.db().execute("UPDATE payment_refunds SET updated_at = now() - interval '1 hour'");

    // Then the worker answers /health/live with 503 within seconds
    Await.until(Duration.ofSeconds(10), "/health/live to answer 503", () -> live() == 503);
  }

  private static int live() {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client
          .send(
              HttpRequest.newBuilder(URI.create(h.worker().baseUrl() + "/health/live")).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** stripe-java's client, but a refund call throws what an exhausted heap throws. */
  private static final class ExhaustedOnRefunds extends HttpURLConnectionClient {

    @Override
    public StripeResponse request(StripeRequest request) throws ApiConnectionException {
      if (exhausted.get() && request.url().getPath().startsWith("/v1/refunds")) {
        throw new OutOfMemoryError("Java heap space");
      }
      return super.request(request);
    }
  }
}
