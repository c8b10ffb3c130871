package io.marketplace.payments.checkout.listing;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.http.Reply;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** {@code GET /api/marketplace/categories}: open to anyone, so the frontend can show prices. */
public final class CategoryController {

  /** One category as the API shows it. */
  public record CategoryView(String slug, String name, int postingFeeCents) {}

  private final Jdbi jdbi;

  public CategoryController(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public void list(Context ctx) {
    List<CategoryView> categories =
        jdbi.onDemand(CategoryDao.class).list().stream()
            .map(c -> new CategoryView(c.slug(), c.name(), c.postingFeeCents()))
            .toList();
    Reply.ok(categories).writeTo(ctx);
  }
}
