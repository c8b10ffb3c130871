package io.marketplace.payments.checkout.listing;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Bans;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.auth.UserDao;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.Idempotency;
import io.marketplace.payments.common.http.ProblemException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Creating and reading listings. A listing in a paid category starts {@code pending_payment} and
 * waits for its posting fee; in a free category it is {@code active} at once for the listing TTL
 * (SPEC §1).
 */
public final class ListingController {

  static final int MAX_TITLE = 200;

  private final Jdbi jdbi;
  private final Clock clock;
  private final Duration listingTtl;

  public ListingController(Jdbi jdbi, Clock clock, Duration listingTtl) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.listingTtl = listingTtl;
  }

  /**
   * {@code POST /api/marketplace/listings {"title","categorySlug"}} → 201 listing.
   *
   * <p>With an {@code Idempotency-Key} the listing's id is derived from the caller, the key and the
   * body ({@link #listingId}), so that a request run again under its key (its first run created the
   * listing and then failed, or died, before its answer was stored) answers with the listing the
   * first run created instead of creating a second one.
   */
  public Reply create(Context ctx, Caller caller) {
    RequestBody body = RequestBody.of(ctx);
    String title = body.requiredText("title", MAX_TITLE);
    String slug = body.requiredText("categorySlug", 100);
    body.validate();
    String idempotencyKey = ctx.header(Idempotency.HEADER);
    Listing created =
        jdbi.inTransaction(
            tx -> {
              Bans.refuseBanned(tx, caller.userId());
              Category category =
                  tx.attach(CategoryDao.class)
                      .findBySlug(slug)
                      .orElseThrow(
                          () ->
                              ProblemException.invalidFields(
                                  Map.of("categorySlug", "is not a known category")));
              tx.attach(UserDao.class).ensure(caller.userId());
              Instant now = clock.instant();
              ListingDao listings = tx.attach(ListingDao.class);
              UUID id = UUID.randomUUID();
              if (idempotencyKey != null) {
                id =
                    Idempotency.recordId(
                        generation ->
                            listingId(caller.userId(), idempotencyKey, title, slug, generation),
                        candidate -> listings.find(candidate, now).map(Listing::createdAt),
                        now);
                Optional<Listing> earlier = listings.find(id, now);
                if (earlier.isPresent()) {
                  return earlier.get(); // an earlier run of this request made it
                }
              }
              boolean free = category.isFree();
              listings.insert(
                  id,
                  caller.userId(),
                  category.id(),
                  title,
                  free ? ListingStatus.ACTIVE.wire() : ListingStatus.PENDING_PAYMENT.wire(),
                  free ? now : null,
                  free ? now.plus(listingTtl) : null,
                  now);
              return listings.find(id, now).orElseThrow();
            });
    return Reply.of(201, created.view(clock.instant()));
  }

  /**
   * The id of the listing created by {@code userId} under {@code idempotencyKey} with this body, in
   * the key's {@code generation} ({@link Idempotency#recordId}): the same for every run of the
   * request, another for another user, key, body or reuse of the key after 24 h.
   */
  static UUID listingId(
      UUID userId, String idempotencyKey, String title, String categorySlug, int generation) {
    String name =
        String.join("\n", "listing", userId.toString(), idempotencyKey, categorySlug, title);
    return UUID.nameUUIDFromBytes(
        (generation == 0 ? name : name + "\n" + generation).getBytes(StandardCharsets.UTF_8));
  }

  /** {@code GET /api/marketplace/listings/{id}}: the owner and super_admins only. */
  public Reply get(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "listing");
    Listing listing =
        jdbi.withHandle(h -> h.attach(ListingDao.class).find(id, clock.instant()))
            .orElseThrow(() -> Listings.notFound(id));
    if (!caller.owns(listing.userId()) && !caller.isAdmin()) {
      throw ProblemException.forbidden("this listing belongs to another user");
    }
    return Reply.ok(listing.view(clock.instant()));
  }
}
