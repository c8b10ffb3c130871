package io.marketplace.payments.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.token.TokenCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./payments demo}: against a running {@code up}, a new user posts a housing listing, checks
 * out, pays with Stripe's test card, and watches the listing turn active, step by step.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Against a running `./payments up`: a paid listing from creation to active.")
public final class DemoCommand implements Callable<Integer> {

  private final OpsContext context;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Spec CommandSpec spec;

  @Option(
      names = "--category",
      description =
          "a category slug; a free one is live at once, with nothing to pay (default: ${DEFAULT-VALUE})")
  String category = "housing";

  @Option(names = "--card", description = "Stripe test payment method (default: ${DEFAULT-VALUE})")
  String card = "pm_card_visa";

  @Option(
      names = "--timeout",
      description = "seconds to wait for activation (default: ${DEFAULT-VALUE})")
  int timeoutSeconds = 30;

  public DemoCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String api = context.env().required("API_URL");
    String stripe = context.env().required("STRIPE_API_BASE");
    String stripeKey = context.env().required("STRIPE_SECRET_KEY");
    UUID user = UUID.randomUUID();
    String token =
        TokenCommand.sign(
            context.env().required("AUTH_JWT_SECRET"),
            user,
            List.of("user"),
            context.clock().instant(),
            Duration.ofHours(1));
    step(out, "1. user " + user + " signs in (token from AUTH_JWT_SECRET)");

    String theApi = "the API at " + api;
    JsonNode listing =
        send(
            theApi,
            bearer(api + "/api/marketplace/listings", token)
                .POST(
                    json(
                        "{\"title\":\"Sunny room near the park\",\"categorySlug\":\""
                            + category
                            + "\"}"))
                .build(),
            201);
    String listingId = listing.path("id").asText();
    step(
        out,
        "2. listing "
            + listingId
            + " created in "
            + category
            + ": "
            + listing.path("status").asText());
    if (!listing.path("status").asText().equals("pending_payment")) {
      // a free category: the listing is live from its creation, and checkout would refuse it
      step(
          out,
          "   "
              + category
              + " charges no posting fee: the listing is live at once, with nothing to pay"
              + " (a paid category shows the payment: --category housing)");
      return 0;
    }

    JsonNode checkout =
        send(
            theApi,
            bearer(api + "/api/marketplace/listings/" + listingId + "/checkout", token)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            200);
    String paymentIntent = checkout.path("paymentIntentId").asText();
    step(
        out,
        "3. checkout: PaymentIntent "
            + paymentIntent
            + " for "
            + checkout.path("amountCents").asInt()
            + " cents "
            + checkout.path("currency").asText());

    String basic =
        Base64.getEncoder().encodeToString((stripeKey + ":").getBytes(StandardCharsets.UTF_8));
    HttpRequest confirm =
        HttpRequest.newBuilder(
                URI.create(stripe + "/v1/payment_intents/" + paymentIntent + "/confirm"))
            .header("Authorization", "Basic " + basic)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "payment_method=" + URLEncoder.encode(card, StandardCharsets.UTF_8)))
            .timeout(Duration.ofSeconds(10))
            .build();
    HttpResponse<String> answer = exchange("Stripe at " + stripe, confirm);
    JsonNode declined = cardError(answer);
    if (declined != null) {
      // a decline card's expected outcome, told as Stripe.js tells the buyer: not a dump of it
      step(
          out,
          "4. paid with "
              + card
              + " at Stripe: declined ("
              + declined.path("code").asText()
              + (declined.hasNonNull("decline_code")
                  ? ", " + declined.path("decline_code").asText()
                  : "")
              + "): "
              + declined.path("message").asText());
      step(
          out,
          "   listing "
              + listingId
              + " stays pending_payment; checkout again hands back the same PaymentIntent,"
              + " to be paid with another card (--card pm_card_visa)");
      return 1;
    }
    JsonNode confirmed = expect(confirm, answer, 200);
    step(
        out,
        "4. paid with " + card + " at Stripe: PaymentIntent " + confirmed.path("status").asText());

    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    String last = listing.path("status").asText();
    while (System.nanoTime() < deadline) {
      JsonNode current =
          send(
              theApi,
              bearer(api + "/api/marketplace/listings/" + listingId, token).GET().build(),
              200);
      String status = current.path("status").asText();
      if (!status.equals(last)) {
        step(out, "5. webhook -> gateway -> Kafka -> payment processor: listing is " + status);
        last = status;
      }
      if (status.equals("active")) {
        step(out, "   " + Json.write(current));
        return 0;
      }
      Thread.sleep(200);
    }
    spec.commandLine()
        .getErr()
        .println(
            "the listing is still "
                + last
                + " after "
                + timeoutSeconds
                + " s; see docs/runbook.md");
    return 1;
  }

  private static void step(PrintWriter out, String line) {
    out.println(line);
    out.flush();
  }

  private static HttpRequest.Builder bearer(String url, String token) {
    return HttpRequest.newBuilder(URI.create(url))
        .header("Authorization", "Bearer " + token)
        .timeout(Duration.ofSeconds(10));
  }

  private static HttpRequest.BodyPublisher json(String body) {
    return HttpRequest.BodyPublishers.ofString(body);
  }

  /**
   * Sends {@code request} to {@code service} ("the API at ..."), expecting {@code expected}. A
   * service that does not answer, or answers otherwise, is one line for the operator.
   */
  private JsonNode send(String service, HttpRequest request, int expected)
      throws IOException, InterruptedException {
    return expect(request, exchange(service, request), expected);
  }

  /** Stripe's {@code error} of a card declined (402 {@code card_error}); null for any other. */
  private static JsonNode cardError(HttpResponse<String> response) {
    if (response.statusCode() != 402) {
      return null;
    }
    try {
      JsonNode error = Json.mapper().readTree(response.body()).path("error");
      return error.path("type").asText().equals("card_error") ? error : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static JsonNode expect(HttpRequest request, HttpResponse<String> response, int expected)
      throws IOException {
    if (response.statusCode() != expected) {
      throw new OperatorError(
          request.method()
              + " "
              + request.uri()
              + " answered "
              + response.statusCode()
              + ": "
              + response.body());
    }
    return Json.mapper().readTree(response.body());
  }

  /**
   * Sends {@code request} to {@code service}; one line for the operator when it does not answer.
   */
  private HttpResponse<String> exchange(String service, HttpRequest request)
      throws InterruptedException {
    HttpRequest withType =
        request.method().equals("POST") && request.headers().firstValue("Content-Type").isEmpty()
            ? HttpRequest.newBuilder(request, (name, value) -> true)
                .header("Content-Type", "application/json")
                .build()
            : request;
    HttpResponse<String> response;
    try {
      response = http.send(withType, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new OperatorError(service + " does not answer: is ./payments up running?", e);
    } catch (HttpTimeoutException e) {
      throw new OperatorError(
          service + " did not answer " + request.method() + " " + request.uri() + " in time", e);
    } catch (IOException e) {
      throw new OperatorError(service + " failed: " + e, e);
    }
    return response;
  }
}
