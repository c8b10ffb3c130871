package io.marketplace.payments.checkout.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.router.ParsedEndpoint;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OpenApiTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldDocumentExactlyTheRegisteredRoutesWhenServed() {
    // Given the routes Javalin registered
    Set<String> registered =
        app.api.javalin().unsafe.internalRouter.allHttpHandlers().stream()
            .map((ParsedEndpoint e) -> e.endpoint)
            .filter(e -> e.method.isHttpMethod())
            .map(e -> e.method.name().toLowerCase() + " " + e.path)
            .collect(Collectors.toCollection(TreeSet::new));

    // When the served document is read
    Http.Response response = app.http.get("/openapi.json").send();
    assertThat(response.status()).isEqualTo(200);
    JsonNode document = response.json();
    Set<String> documented = new TreeSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields();
        paths.hasNext(); ) {
      Map.Entry<String, JsonNode> path = paths.next();
      path.getValue()
          .fieldNames()
          .forEachRemaining(method -> documented.add(method + " " + path.getKey()));
    }

    // Then each has the other's every route
    assertThat(document.get("openapi").asText()).startsWith("3.");
    assertThat(registered).contains("post /api/marketplace/listings/{id}/checkout");
    assertThat(documented).isEqualTo(registered);
  }

  @Test
  void shouldResolveEveryReferenceWhenTheDocumentIsRead() {
    // Given
    JsonNode document = app.http.get("/openapi.json").send().json();

    // When every $ref is collected
    Set<String> refs = new TreeSet<>();
    document.findValues("$ref").forEach(ref -> refs.add(ref.asText()));

    // Then each points at something defined
    assertThat(refs).isNotEmpty();
    for (String ref : refs) {
      assertThat(ref).startsWith("#/");
      assertThat(document.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
    }
  }
}
