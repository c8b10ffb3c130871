package io.marketplace.payments.checkout.listing;

import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

@RegisterConstructorMapper(Category.class)
public interface CategoryDao {

  @SqlQuery("SELECT id, slug, name, posting_fee_cents FROM categories ORDER BY id")
  List<Category> list();

  @SqlQuery("SELECT id, slug, name, posting_fee_cents FROM categories WHERE slug = :slug")
  Optional<Category> findBySlug(@Bind("slug") String slug);

  @SqlQuery("SELECT id, slug, name, posting_fee_cents FROM categories WHERE id = :id")
  Optional<Category> findById(@Bind("id") long id);
}
