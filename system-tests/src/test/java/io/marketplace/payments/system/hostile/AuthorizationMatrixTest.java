package io.marketplace.payments.system.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.system.hostile.ApiUnderAttack.Answer;
import io.marketplace.payments.system.hostile.ApiUnderAttack.Call;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every route of SPEC §3 called by every kind of caller: nobody, forged and broken tokens, a user
 * without a usable role, another user, the owner, a super_admin. Each call that is not allowed is
 * answered 401 or 403 (404 for what does not exist) as a problem, and changes nothing in the
 * database; each that is allowed succeeds.
 */
class AuthorizationMatrixTest {

  /** Who may call a route (SPEC §3, column "who"). */
  enum Access {
    ANYONE,
    USER,
    OWNER,
    OWNER_OR_ADMIN,
    ADMIN
  }

  /** The routes of SPEC §3, each on a resource of the owner's where it takes one. */
  enum Route {
    CATEGORIES("GET", "/api/marketplace/categories", Access.ANYONE, null),
    OPENAPI("GET", "/openapi.json", Access.ANYONE, null),
    CREATE_LISTING(
        "POST",
        "/api/marketplace/listings",
        Access.USER,
        "{\"title\":\"Bike\",\"categorySlug\":\"housing\"}"),
    GET_LISTING("GET", "/api/marketplace/listings/{pending}", Access.OWNER_OR_ADMIN, null),
    CHECKOUT("POST", "/api/marketplace/listings/{pending}/checkout", Access.OWNER, null),
    PROMOTE(
        "POST",
        "/api/marketplace/listings/{paid}/promote",
        Access.OWNER,
        "{\"type\":\"featured\"}"),
    REFUND_REQUEST(
        "POST",
        "/api/marketplace/listings/{paid}/refund-request",
        Access.OWNER,
        "{\"reason\":\"changed my mind\"}"),
    LIST_REFUNDS("GET", "/admin/api/marketplace/refunds?status=pending", Access.ADMIN, null),
    APPROVE_REFUND("POST", "/admin/api/marketplace/refunds/{refund}/approve", Access.ADMIN, null),
    REJECT_REFUND(
        "POST",
        "/admin/api/marketplace/refunds/{refund}/reject",
        Access.ADMIN,
        "{\"reason\":\"outside policy\"}"),
    RETRY_REFUND("POST", "/admin/api/marketplace/refunds/{refund}/retry", Access.ADMIN, null),
    CLOSE_REFUND(
        "POST",
        "/admin/api/marketplace/refunds/{refund}/close",
        Access.ADMIN,
        "{\"reason\":\"refunded another way\",\"outcome\":\"refunded_elsewhere\"}"),
    REFUND_PAYMENT(
        "POST",
        "/admin/api/marketplace/payments/{paymentIntentId}/refunds",
        Access.ADMIN,
        "{\"amountCents\":100,\"reason\":\"goodwill\"}"),
    REJECT_LISTING(
        "POST",
        "/admin/api/marketplace/listings/{free}/reject",
        Access.ADMIN,
        "{\"reason\":\"prohibited item\"}"),
    UNBAN_USER(
        "POST",
        "/admin/api/marketplace/users/{owner}/unban",
        Access.ADMIN,
        "{\"reason\":\"verified by phone\"}"),
    CLEAR_RISK(
        "POST",
        "/admin/api/marketplace/users/{owner}/risk/clear",
        Access.ADMIN,
        "{\"reason\":\"verified by phone\"}");

    final String method;
    final String path;
    final Access access;
    final String body;

    Route(String method, String path, Access access, String body) {
      this.method = method;
      this.path = path;
      this.access = access;
      this.body = body;
    }

    /**
     * The route in OpenAPI's spelling, e.g. {@code POST /api/marketplace/listings/{id}/checkout}.
     */
    String openApiName() {
      return method + " " + path.replaceAll("\\{[a-z]+}", "{id}").replaceAll("\\?.*", "");
    }
  }

  /** What a caller's token makes of them, once (and if) it is verified. */
  enum Standing {
    UNAUTHENTICATED,
    NO_USABLE_ROLE,
    OTHER_USER,
    OWNER,
    ADMIN
  }

  /** A kind of caller: how their Authorization header is made, and who that makes them. */
  record Caller(String name, Standing standing, Function<Ids, String> authorization) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** The people and things of the walk. */
  record Ids(
      UUID owner,
      UUID other,
      UUID admin,
      UUID pending,
      UUID paid,
      UUID free,
      UUID refund,
      String payment) {}

  private static ApiUnderAttack system;
  private static Ids ids;

  @BeforeAll
  static void startApiWithAnOwnersListingsAndARefund() {
    system = ApiUnderAttack.start();
    UUID owner = UUID.randomUUID();
    UUID refundOwner = UUID.randomUUID();
    UUID paid = system.paidListing(owner);
    ids =
        new Ids(
            owner,
            UUID.randomUUID(),
            UUID.randomUUID(),
            system.createListing(owner, "housing"),
            paid,
            system.createListing(owner, "for-sale"),
            system.pendingRefund(refundOwner),
            system.paymentIntentOf(paid));
  }

  @AfterAll
  static void stopApi() {
    system.close();
  }

  private static List<Caller> callers() {
    Tokens t = system.tokens;
    return List.of(
        new Caller("no Authorization header", Standing.UNAUTHENTICATED, i -> null),
        new Caller("empty bearer", Standing.UNAUTHENTICATED, i -> "Bearer "),
        new Caller("Basic credentials", Standing.UNAUTHENTICATED, i -> "Basic YWRtaW46YWRtaW4="),
        new Caller("token without a scheme", Standing.UNAUTHENTICATED, i -> t.admin(i.admin())),
        new Caller("Token scheme", Standing.UNAUTHENTICATED, i -> "Token " + t.admin(i.admin())),
        new Caller("garbage token", Standing.UNAUTHENTICATED, i -> "Bearer garbage"),
        new Caller(
            "three garbage parts", Standing.UNAUTHENTICATED, i -> "Bearer aGVsbG8.d29ybGQ.IQ"),
        new Caller(
            "expired user token",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.expired(i.owner(), "user"))),
        new Caller(
            "expired admin token",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.expired(i.admin(), "super_admin"))),
        new Caller(
            "admin token signed with another key",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.signedWith(ApiUnderAttack.OTHER_JWT_SECRET, i.admin(), "super_admin"))),
        new Caller(
            "owner token signed with another key",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.signedWith(ApiUnderAttack.OTHER_JWT_SECRET, i.owner(), "user"))),
        new Caller(
            "alg none",
            Standing.UNAUTHENTICATED,
            i -> bearer(Tokens.unsigned("none", i.admin(), "super_admin"))),
        new Caller(
            "alg None",
            Standing.UNAUTHENTICATED,
            i -> bearer(Tokens.unsigned("None", i.owner(), "user"))),
        new Caller(
            "alg NONE",
            Standing.UNAUTHENTICATED,
            i -> bearer(Tokens.unsigned("NONE", i.admin(), "super_admin"))),
        new Caller(
            "HS512 under the right key",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.hs512(i.admin(), "super_admin"))),
        new Caller(
            "user token with its payload swapped for super_admin",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.tampered(i.other(), "super_admin"))),
        new Caller(
            "owner token with a valid signature and a trailing byte",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.user(i.owner()) + "x")),
        new Caller("sub not a UUID", Standing.UNAUTHENTICATED, i -> bearer(t.withSubject("admin"))),
        new Caller("sub empty", Standing.UNAUTHENTICATED, i -> bearer(t.withSubject(""))),
        new Caller(
            "roles a string, not an array",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.rolesAsString(i.admin(), "super_admin"))),
        new Caller(
            "no exp",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.withoutExpiry(i.admin(), "super_admin"))),
        new Caller(
            "not valid yet (nbf)",
            Standing.UNAUTHENTICATED,
            i -> bearer(t.notYetValid(i.admin(), "super_admin"))),
        new Caller(
            "owner with no roles", Standing.NO_USABLE_ROLE, i -> bearer(t.withRoles(i.owner()))),
        new Caller(
            "owner with role 'admin'",
            Standing.NO_USABLE_ROLE,
            i -> bearer(t.withRoles(i.owner(), "admin"))),
        new Caller(
            "owner with role 'SUPER_ADMIN'",
            Standing.NO_USABLE_ROLE,
            i -> bearer(t.withRoles(i.owner(), "SUPER_ADMIN"))),
        new Caller(
            "owner with role 'super_admin ' (trailing space)",
            Standing.NO_USABLE_ROLE,
            i -> bearer(t.withRoles(i.owner(), "super_admin "))),
        new Caller("another user", Standing.OTHER_USER, i -> bearer(t.user(i.other()))),
        new Caller("the owner", Standing.OWNER, i -> bearer(t.user(i.owner()))),
        new Caller("a super_admin", Standing.ADMIN, i -> bearer(t.admin(i.admin()))),
        new Caller(
            "a super_admin who is also a user",
            Standing.ADMIN,
            i -> bearer(t.withRoles(i.admin(), "user", "super_admin"))));
  }

  private static String bearer(String token) {
    return "Bearer " + token;
  }

  /** The status SPEC §3 calls for; 0 when the call is allowed. */
  private static int refusal(Standing standing, Access access) {
    if (access == Access.ANYONE) {
      return 0;
    }
    return switch (standing) {
      case UNAUTHENTICATED -> 401;
      case NO_USABLE_ROLE -> 403;
      case OTHER_USER -> access == Access.USER ? 0 : 403;
      case OWNER -> access == Access.ADMIN ? 403 : 0;
      case ADMIN -> access == Access.OWNER ? 403 : 0;
    };
  }

  /** A user (or admin) refused because the listing is not theirs: checked by the route. */
  private static boolean isOwnershipRefusal(Standing standing, Access access) {
    return (standing == Standing.OTHER_USER || standing == Standing.ADMIN)
        && (access == Access.OWNER || access == Access.OWNER_OR_ADMIN);
  }

  @Test
  void shouldRefuseAndChangeNothingWhenCallerMayNotUseTheRoute() {
    // Given the owner's listings (pending, paid, free), someone's pending refund, and every kind of
    // caller
    DbSnapshot before = system.settledSnapshot();
    List<String> failures = new ArrayList<>();
    int refused = 0;

    for (Caller caller : callers()) {
      for (Route route : Route.values()) {
        int expected = refusal(caller.standing(), route.access);
        if (expected == 0) {
          continue; // allowed: the other test
        }
        // When the caller calls the route (POSTs with an Idempotency-Key, as the frontend sends)
        Call call = call(route, caller);
        Answer answer = system.send(call);
        refused++;

        // Then it is refused with the status SPEC §3 names, as a problem
        String what = caller + " -> " + call + " => " + answer;
        if (answer.status() != expected || !answer.isProblem()) {
          failures.add("expected " + expected + ": " + what);
        } else if (expected == 401
            && !answer.headers().getOrDefault("www-authenticate", List.of()).contains("Bearer")) {
          failures.add("401 without WWW-Authenticate: Bearer: " + what);
        }
        // And nothing changed. A caller refused by the guard (token, role) leaves not even an
        // Idempotency-Key behind; one refused by the route itself (not the owner) leaves its key
        // with the 403 remembered, as SPEC §3 replays the first answer to a key
        DbSnapshot after = DbSnapshot.of(system.db);
        boolean byRoute = expected == 403 && isOwnershipRefusal(caller.standing(), route.access);
        Map<String, String> changed =
            byRoute ? before.changesIn(after, Set.of("idempotency_keys")) : before.changesIn(after);
        long keys = after.rows("idempotency_keys") - before.rows("idempotency_keys");
        if (!changed.isEmpty() || keys > (byRoute ? 1 : 0)) {
          failures.add("changed " + changed + " and " + keys + " key(s): " + what);
        }
        before = after;
      }
    }

    assertThat(failures).as("refusals out of %d", refused).isEmpty();
    assertThat(refused).isGreaterThan(200);
    // And nothing changes later either, from anything those calls could have set off
    DbSnapshot last = before;
    Await.never(
        Duration.ofSeconds(1),
        "the database changing after the refused calls",
        () -> !DbSnapshot.of(system.db).equals(last));
  }

  @Test
  void shouldAnswerNotFoundAndChangeNothingButTheIdempotencyKeyWhenResourceDoesNotExist() {
    // Given ids that name nothing: a random UUID, a shortened UUID, and text
    DbSnapshot before = system.settledSnapshot();
    String owner = bearer(system.tokens.user(ids.owner()));
    String admin = bearer(system.tokens.admin(ids.admin()));
    List<String> missing =
        List.of(UUID.randomUUID().toString(), "1-2-3-4-5", "not-a-uuid", "%27%20OR%201%3D1--");
    List<Call> calls = new ArrayList<>();
    for (String id : missing) {
      calls.add(Call.of("GET", "/api/marketplace/listings/" + id).withAuthorization(owner));
      calls.add(
          Call.of("POST", "/api/marketplace/listings/" + id + "/checkout")
              .withAuthorization(owner));
      calls.add(
          Call.of("POST", "/api/marketplace/listings/" + id + "/promote")
              .withAuthorization(owner)
              .json("{\"type\":\"bump\"}"));
      calls.add(
          Call.of("POST", "/api/marketplace/listings/" + id + "/refund-request")
              .withAuthorization(owner)
              .json("{\"reason\":\"x\"}"));
      calls.add(
          Call.of("POST", "/admin/api/marketplace/refunds/" + id + "/approve")
              .withAuthorization(admin));
      calls.add(
          Call.of("POST", "/admin/api/marketplace/refunds/" + id + "/reject")
              .withAuthorization(admin)
              .json("{\"reason\":\"x\"}"));
      calls.add(
          Call.of("POST", "/admin/api/marketplace/listings/" + id + "/reject")
              .withAuthorization(admin)
              .json("{\"reason\":\"x\"}"));
      calls.add(
          Call.of("POST", "/admin/api/marketplace/payments/" + id + "/refunds")
              .withAuthorization(admin)
              .json("{\"amountCents\":100,\"reason\":\"x\"}"));
    }

    List<String> failures = new ArrayList<>();
    for (Call call : calls) {
      // When each is called, POSTs with an Idempotency-Key
      Call keyed =
          call.method().equals("POST")
              ? call.header("Idempotency-Key", UUID.randomUUID().toString())
              : call;
      Answer answer = system.send(keyed);

      // Then 404 as a problem
      if (answer.status() != 404 || !answer.isProblem()) {
        failures.add("expected 404: " + keyed + " => " + answer);
      }
      // And nothing changed but, for a POST, the remembered answer to its Idempotency-Key (SPEC §3:
      // the same key and body within 24 h get the first response again)
      DbSnapshot after = DbSnapshot.of(system.db);
      Map<String, String> changed = before.changesIn(after, Set.of("idempotency_keys"));
      long keys = after.rows("idempotency_keys") - before.rows("idempotency_keys");
      if (!changed.isEmpty() || keys > (call.method().equals("POST") ? 1 : 0)) {
        failures.add("changed " + changed + " and " + keys + " key(s): " + keyed + " => " + answer);
      }
      before = after;
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void shouldServeEveryRouteWhenCallerHasTheRightRole() {
    // Given fresh resources of an owner: a pending listing, two paid ones, a free one, and two
    // pending refunds
    UUID owner = UUID.randomUUID();
    UUID admin = UUID.randomUUID();
    UUID pending = system.createListing(owner, "cars-trucks");
    UUID paid = system.paidListing(owner);
    UUID paidToRefund = system.paidListing(owner);
    UUID paidForAdminRefund = system.paidListing(owner);
    UUID free = system.createListing(owner, "services");
    UUID toApprove = system.pendingRefund(UUID.randomUUID());
    UUID toReject = system.pendingRefund(UUID.randomUUID());
    String asOwner = bearer(system.tokens.user(owner));
    String asAdmin = bearer(system.tokens.admin(admin));

    // When the owner and a super_admin use each route they may use
    // Then each succeeds with the answer SPEC §3 names
    expect(200, Call.of("GET", "/api/marketplace/categories"));
    expect(200, Call.of("GET", "/api/marketplace/categories").withAuthorization("Bearer garbage"));
    expect(200, Call.of("GET", "/openapi.json"));
    expect(
        201,
        Call.of("POST", "/api/marketplace/listings")
            .withAuthorization(asOwner)
            .json("{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}"));
    expect(
        201,
        Call.of("POST", "/api/marketplace/listings")
            .withAuthorization(asAdmin)
            .json("{\"title\":\"Admin's own bike\",\"categorySlug\":\"for-sale\"}"));
    assertThat(
            expect(
                    200,
                    Call.of("GET", "/api/marketplace/listings/" + pending)
                        .withAuthorization(asOwner))
                .path("status")
                .asText())
        .isEqualTo("pending_payment");
    expect(200, Call.of("GET", "/api/marketplace/listings/" + pending).withAuthorization(asAdmin));
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/api/marketplace/listings/" + pending + "/checkout")
                        .withAuthorization(asOwner))
                .path("amountCents")
                .asLong())
        .isEqualTo(500);
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/api/marketplace/listings/" + paid + "/promote")
                        .withAuthorization(asOwner)
                        .json("{\"type\":\"featured\"}"))
                .path("amountCents")
                .asLong())
        .isEqualTo(500);
    assertThat(
            expect(
                    202,
                    Call.of("POST", "/api/marketplace/listings/" + paidToRefund + "/refund-request")
                        .withAuthorization(asOwner)
                        .json("{\"reason\":\"sold elsewhere\"}"))
                .path("status")
                .asText())
        .isEqualTo("pending");
    JsonNode queue =
        expect(
            200,
            Call.of("GET", "/admin/api/marketplace/refunds?status=pending")
                .withAuthorization(asAdmin));
    assertThat(ids(queue)).contains(toApprove.toString(), toReject.toString());
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/admin/api/marketplace/refunds/" + toApprove + "/approve")
                        .withAuthorization(asAdmin))
                .path("status")
                .asText())
        .isIn("approved", "processed");
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/admin/api/marketplace/refunds/" + toReject + "/reject")
                        .withAuthorization(asAdmin)
                        .json("{\"reason\":\"outside policy\"}"))
                .path("status")
                .asText())
        .isEqualTo("rejected");
    assertThat(
            expect(
                    201,
                    Call.of(
                            "POST",
                            "/admin/api/marketplace/payments/"
                                + system.paymentIntentOf(paidForAdminRefund)
                                + "/refunds")
                        .withAuthorization(asAdmin)
                        .json("{\"amountCents\":100,\"reason\":\"goodwill\"}"))
                .path("amountCents")
                .asLong())
        .isEqualTo(100);
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/admin/api/marketplace/listings/" + free + "/reject")
                        .withAuthorization(asAdmin)
                        .json("{\"reason\":\"prohibited item\"}"))
                .path("status")
                .asText())
        .isEqualTo("rejected");
    assertThat(
            expect(
                    200,
                    Call.of("POST", "/admin/api/marketplace/users/" + owner + "/risk/clear")
                        .withAuthorization(asAdmin)
                        .json("{\"reason\":\"verified by phone\"}"))
                .path("clearedFlags")
                .asInt())
        .isZero();
  }

  @Test
  void shouldCoverEveryDocumentedRouteWhenTheOpenApiDocumentListsThem() {
    // Given the routes this walk knows
    Set<String> walked =
        Arrays.stream(Route.values())
            .map(Route::openApiName)
            .collect(Collectors.toCollection(TreeSet::new));

    // When the API's own OpenAPI document is read
    JsonNode paths = system.send(Call.of("GET", "/openapi.json")).json().path("paths");
    Set<String> documented = new TreeSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> path = it.next();
      path.getValue()
          .fieldNames()
          .forEachRemaining(m -> documented.add(m.toUpperCase() + " " + path.getKey()));
    }
    documented.removeIf(route -> route.contains("/health/") || route.endsWith("metrics"));

    // Then every documented route is walked, so a new route cannot escape this test
    assertThat(walked).isEqualTo(documented);
    assertThat(EnumSet.allOf(Access.class))
        .allMatch(access -> Arrays.stream(Route.values()).anyMatch(r -> r.access == access));
  }

  private static Call call(Route route, Caller caller) {
    String path =
        route
            .path
            .replace("{pending}", ids.pending().toString())
            .replace("{paid}", ids.paid().toString())
            .replace("{free}", ids.free().toString())
            .replace("{refund}", ids.refund().toString())
            .replace("{owner}", ids.owner().toString())
            .replace("{paymentIntentId}", ids.payment());
    Call call = Call.of(route.method, path).withAuthorization(caller.authorization().apply(ids));
    if (route.body != null) {
      call = call.json(route.body);
    }
    if (route.method.equals("POST")) {
      call = call.header("Idempotency-Key", UUID.randomUUID().toString());
    }
    return call;
  }

  private static JsonNode expect(int status, Call call) {
    Answer answer = system.send(call);
    assertThat(answer.status()).as("%s => %s", call, answer).isEqualTo(status);
    return answer.json();
  }

  private static List<String> ids(JsonNode array) {
    List<String> found = new ArrayList<>();
    array.forEach(node -> found.add(node.path("id").asText()));
    return found;
  }
}
