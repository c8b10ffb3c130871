package io.marketplace.payments.system.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.system.hostile.ApiUnderAttack.Answer;
import io.marketplace.payments.system.hostile.ApiUnderAttack.Call;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The API given what no honest frontend sends, by a caller with a valid token: malformed JSON, the
 * wrong types, unknown categories, empty and huge titles, bodies of megabytes, deep nesting, bad
 * query parameters and Idempotency-Keys. Each is answered 4xx as a problem, naming the field where
 * there is one, and changes nothing in the database.
 */
class ApiHostileInputTest {

  private static final String LISTINGS = "/api/marketplace/listings";

  private static ApiUnderAttack system;
  private static UUID owner;
  private static UUID paid;
  private static UUID refund;
  private static String asOwner;
  private static String asAdmin;

  @BeforeAll
  static void startApiWithAPaidListing() {
    system = ApiUnderAttack.start();
    owner = UUID.randomUUID();
    paid = system.paidListing(owner);
    refund = system.pendingRefund(UUID.randomUUID());
    asOwner = "Bearer " + system.tokens.user(owner);
    asAdmin = "Bearer " + system.tokens.admin(UUID.randomUUID());
  }

  @AfterAll
  static void stopApi() {
    system.close();
  }

  /** A hostile call, the status it must get, and the field the problem must name (or null). */
  private record Case(String name, Call call, int status, String field) {}

  @Test
  void shouldAnswerFourHundredNamingTheFieldAndChangeNothingWhenBodiesAreMalformed() {
    // Given bodies that are not JSON, not objects, or objects with wrong fields, on every route
    // that reads a body
    String promote = LISTINGS + "/" + paid + "/promote";
    String refundRequest = LISTINGS + "/" + paid + "/refund-request";
    String rejectRefund = "/admin/api/marketplace/refunds/" + refund + "/reject";
    String rejectListing = "/admin/api/marketplace/listings/" + paid + "/reject";
    List<Case> cases =
        List.of(
            create("truncated JSON", "{\"title\": \"Bike\", \"categorySlug\": ", 400, null),
            create("not JSON", "title=Bike&categorySlug=housing", 400, null),
            create("a JSON array", "[\"Bike\", \"housing\"]", 400, null),
            create("a JSON string", "\"Bike\"", 400, null),
            create("a JSON number", "42", 400, null),
            create("JSON null", "null", 400, null),
            create(
                "two JSON objects", json("Bike", "for-sale") + json("Car", "for-sale"), 400, null),
            create("an object and then garbage", json("Bike", "for-sale") + " trailing", 400, null),
            create("NaN", "{\"title\": NaN, \"categorySlug\": \"housing\"}", 400, null),
            create(
                "title a number", "{\"title\": 123, \"categorySlug\": \"housing\"}", 400, "title"),
            create(
                "title an array",
                "{\"title\": [\"Bike\"], \"categorySlug\": \"housing\"}",
                400,
                "title"),
            create(
                "title an object",
                "{\"title\": {\"$ne\": 1}, \"categorySlug\": \"housing\"}",
                400,
                "title"),
            create("title true", "{\"title\": true, \"categorySlug\": \"housing\"}", 400, "title"),
            create("title null", "{\"title\": null, \"categorySlug\": \"housing\"}", 400, "title"),
            create("title missing", "{\"categorySlug\": \"housing\"}", 400, "title"),
            create("title empty", "{\"title\": \"\", \"categorySlug\": \"housing\"}", 400, "title"),
            create(
                "title blank",
                "{\"title\": \" \\t\\n \", \"categorySlug\": \"housing\"}",
                400,
                "title"),
            create("title 201 characters", json("x".repeat(201), "housing"), 400, "title"),
            create("title 100,000 characters", json("x".repeat(100_000), "housing"), 400, "title"),
            create(
                "categorySlug a number",
                "{\"title\": \"Bike\", \"categorySlug\": 7}",
                400,
                "categorySlug"),
            create("categorySlug unknown", json("Bike", "yachts"), 400, "categorySlug"),
            create("categorySlug in capitals", json("Bike", "HOUSING"), 400, "categorySlug"),
            create("categorySlug SQL", json("Bike", "housing' OR '1'='1"), 400, "categorySlug"),
            create("categorySlug empty", json("Bike", ""), 400, "categorySlug"),
            create("empty object", "{}", 400, "title"),
            create("empty body", "", 400, "title"),
            create(
                "nested 10,000 deep",
                "{\"title\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}",
                400,
                null),
            body("promote type unknown", promote, asOwner, "{\"type\": \"gold\"}", 400, "type"),
            body("promote type a number", promote, asOwner, "{\"type\": 1}", 400, "type"),
            body("promote type missing", promote, asOwner, "{}", 400, "type"),
            body(
                "promote type in capitals",
                promote,
                asOwner,
                "{\"type\": \"FEATURED\"}",
                400,
                "type"),
            body("promote not JSON", promote, asOwner, "featured", 400, null),
            body("refund reason missing", refundRequest, asOwner, "{}", 400, "reason"),
            body(
                "refund reason a list",
                refundRequest,
                asOwner,
                "{\"reason\": [\"a\"]}",
                400,
                "reason"),
            body(
                "refund reason 1,001 characters",
                refundRequest,
                asOwner,
                "{\"reason\": \"" + "r".repeat(1001) + "\"}",
                400,
                "reason"),
            body("reject refund reason missing", rejectRefund, asAdmin, "{}", 400, "reason"),
            body(
                "reject refund reason a number",
                rejectRefund,
                asAdmin,
                "{\"reason\": 5}",
                400,
                "reason"),
            body("reject listing reason missing", rejectListing, asAdmin, "{}", 400, "reason"),
            body("reject listing not an object", rejectListing, asAdmin, "[]", 400, null));

    // When each is sent, Then each is refused as its case says, and nothing changes
    assertRefused(cases);
  }

  @Test
  void shouldRefuseWithoutChangingAnythingWhenRequestsAreHugeOrOddlyShaped() {
    // Given bodies of 2 MiB, huge headers, bad query parameters and Idempotency-Keys, and methods
    // and paths that do not exist
    byte[] twoMiB = json("x".repeat(2 * 1024 * 1024), "housing").getBytes(StandardCharsets.UTF_8);
    List<Case> cases =
        List.of(
            new Case(
                "2 MiB listing",
                Call.of("POST", LISTINGS)
                    .withAuthorization(asOwner)
                    .body(twoMiB, "application/json"),
                413,
                null),
            new Case(
                "2 MiB of zeros as a refund reason",
                Call.of("POST", LISTINGS + "/" + paid + "/refund-request")
                    .withAuthorization(asOwner)
                    .body(new byte[2 * 1024 * 1024], "application/json"),
                413,
                null),
            new Case(
                "a 64 KiB Authorization header",
                Call.of("POST", LISTINGS)
                    .withAuthorization("Bearer " + "a".repeat(64 * 1024))
                    .json(json("Bike", "housing")),
                431,
                null),
            adminList("status unknown", "?status=paid", "status"),
            adminList("status in capitals", "?status=PENDING", "status"),
            adminList("status SQL", "?status=pending%27%20OR%20%271%27%3D%271", "status"),
            adminList("limit zero", "?limit=0", "limit"),
            adminList("limit negative", "?limit=-1", "limit"),
            adminList("limit text", "?limit=all", "limit"),
            adminList("limit too large", "?limit=100000", "limit"),
            adminList("limit overflowing", "?limit=99999999999999999999", "limit"),
            new Case(
                "Idempotency-Key of 256 characters",
                Call.of("POST", LISTINGS)
                    .withAuthorization(asOwner)
                    .json(json("Bike", "housing"))
                    .header("Idempotency-Key", "k".repeat(256)),
                400,
                "Idempotency-Key"),
            new Case(
                "Idempotency-Key with a space",
                Call.of("POST", LISTINGS)
                    .withAuthorization(asOwner)
                    .json(json("Bike", "housing"))
                    .header("Idempotency-Key", "my key"),
                400,
                "Idempotency-Key"),
            new Case(
                "PUT on listings",
                Call.of("PUT", LISTINGS).withAuthorization(asOwner).json(json("Bike", "housing")),
                405,
                null),
            new Case(
                "DELETE of a listing",
                Call.of("DELETE", LISTINGS + "/" + paid).withAuthorization(asOwner),
                405,
                null),
            new Case(
                "a path that does not exist",
                Call.of("POST", LISTINGS + "/" + paid + "/refund").withAuthorization(asOwner),
                404,
                null),
            new Case(
                "a path that climbs",
                Call.of(
                        "GET",
                        "/api/marketplace/listings/..%2F..%2Fadmin%2Fapi%2Fmarketplace%2Frefunds")
                    .withAuthorization(asOwner),
                404,
                null));

    // When each is sent, Then each is refused as its case says, and nothing changes
    assertRefused(cases);
  }

  @Test
  void shouldAnswer422AndChangeNothingWhenAnIdempotencyKeyIsReusedForAnotherBody() {
    // Given a listing created with an Idempotency-Key
    String key = UUID.randomUUID().toString();
    Answer first =
        system.send(
            Call.of("POST", LISTINGS)
                .withAuthorization(asOwner)
                .json(json("Bike", "for-sale"))
                .header("Idempotency-Key", key));
    assertThat(first.status()).as(first.toString()).isEqualTo(201);

    // When the same key comes with another body, Then 422, and nothing changes
    assertRefused(
        List.of(
            new Case(
                "the key again, another title",
                Call.of("POST", LISTINGS)
                    .withAuthorization(asOwner)
                    .json(json("Car", "for-sale"))
                    .header("Idempotency-Key", key),
                422,
                null)));
  }

  @Test
  void shouldStoreTextVerbatimWhenTitlesLookLikeInjections() {
    // Given titles that are SQL, markup, and text beyond the Basic Multilingual Plane
    List<String> titles =
        List.of(
            "'); DROP TABLE marketplace_listings; --",
            "<script>alert(1)</script>",
            "{{7*7}} ${7*7} %s %n",
            "Ünïcödé 🚲 ok");
    for (String title : titles) {
      // When each is posted as a listing
      Answer answer =
          system.send(
              Call.of("POST", LISTINGS).withAuthorization(asOwner).json(json(title, "for-sale")));

      // Then it is created, and the title comes back exactly as sent
      assertThat(answer.status()).as(answer.toString()).isEqualTo(201);
      String id = answer.json().path("id").asText();
      assertThat(
              system
                  .send(Call.of("GET", LISTINGS + "/" + id).withAuthorization(asOwner))
                  .json()
                  .path("title")
                  .asText())
          .isEqualTo(title);
    }
    // And every table is still there
    assertThat(system.db.count("marketplace_listings WHERE user_id = ?", owner))
        .isGreaterThan(titles.size());
  }

  @Test
  void shouldAnswerFourHundredAndChangeNothingWhenTextCannotBeStored() {
    // Given titles with characters PostgreSQL text cannot hold or that are not text at all: a NUL,
    // other control characters, a lone surrogate
    List<Case> cases =
        List.of(
            create(
                "title with a NUL",
                "{\"title\": \"Bike\\u0000\", \"categorySlug\": \"housing\"}",
                400,
                "title"),
            create(
                "title of only a NUL",
                "{\"title\": \"\\u0000\", \"categorySlug\": \"housing\"}",
                400,
                "title"),
            create(
                "categorySlug with a NUL",
                "{\"title\": \"Bike\", \"categorySlug\": \"housing\\u0000\"}",
                400,
                "categorySlug"),
            create(
                "title with a lone surrogate",
                "{\"title\": \"Bike \\ud800\", \"categorySlug\": \"housing\"}",
                400,
                "title"),
            body(
                "refund reason with a NUL",
                LISTINGS + "/" + paid + "/refund-request",
                asOwner,
                "{\"reason\": \"a\\u0000b\"}",
                400,
                "reason"));

    // When each is sent, Then each is refused naming the field (not a 500), and nothing changes
    assertRefused(cases);
  }

  // ---- cases

  private static Case create(String name, String body, int status, String field) {
    return body(name, LISTINGS, asOwner, body, status, field);
  }

  private static Case body(
      String name, String path, String auth, String body, int status, String field) {
    return new Case(name, Call.of("POST", path).withAuthorization(auth).json(body), status, field);
  }

  private static Case adminList(String name, String query, String field) {
    return new Case(
        name,
        Call.of("GET", "/admin/api/marketplace/refunds" + query).withAuthorization(asAdmin),
        400,
        field);
  }

  private static String json(String title, String slug) {
    return io.marketplace.payments.common.json.Json.write(
        Map.of("title", title, "categorySlug", slug));
  }

  /** Sends each case and collects every way it went wrong, so one run shows them all. */
  private static void assertRefused(List<Case> cases) {
    List<String> failures = new ArrayList<>();
    DbSnapshot before = system.settledSnapshot();
    for (Case c : cases) {
      Answer answer = system.send(c.call());
      String what = c.name() + ": " + c.call() + " => " + answer;
      if (answer.status() != c.status()) {
        failures.add("expected " + c.status() + ", " + what);
      } else if (c.status() != 431 && !answer.isProblem()) {
        failures.add("not a problem+json, " + what);
      } else if (c.field() != null) {
        JsonNode errors = answer.json().path("errors");
        if (!errors.has(c.field())) {
          failures.add("the problem does not name " + c.field() + ", " + what);
        }
      }
      DbSnapshot after = DbSnapshot.of(system.db);
      Map<String, String> changed = before.changesIn(after);
      if (!changed.isEmpty()) {
        failures.add("changed " + changed + ", " + what);
        before = after;
      }
    }
    assertThat(failures).as("of %d hostile requests", cases.size()).isEmpty();
  }
}
