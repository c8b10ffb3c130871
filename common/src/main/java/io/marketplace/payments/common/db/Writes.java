package io.marketplace.payments.common.db;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Update;

/**
 * Data-modifying statements on different tables, sent to PostgreSQL as one statement: all but the
 * last become {@code WITH} clauses of the last. A worker transaction that writes five tables thus
 * costs one round trip instead of five, which is most of its time when PostgreSQL and the worker
 * share busy cores and every round trip waits to be scheduled.
 *
 * <p>PostgreSQL runs the clauses on one snapshot, in no given order: no two of them may touch the
 * same table, and none may need to see another's rows. Constraints and foreign keys are still
 * checked, at the end of the statement.
 */
public final class Writes {

  /** One INSERT, UPDATE or DELETE; its parameter names must differ from the other parts'. */
  public record Part(String sql, Consumer<Update> binds) {}

  private final List<Part> parts = new ArrayList<>();

  public Writes add(Part part) {
    parts.add(part);
    return this;
  }

  public boolean isEmpty() {
    return parts.isEmpty();
  }

  /** Runs every part added, in one statement; nothing when none was. */
  public void execute(Handle tx) {
    if (parts.isEmpty()) {
      return;
    }
    StringBuilder sql = new StringBuilder();
    for (int i = 0; i < parts.size() - 1; i++) {
      sql.append(i == 0 ? "WITH " : ",\n")
          .append("write_")
          .append(i)
          .append(" AS (\n")
          .append(parts.get(i).sql().strip())
          .append("\n)");
    }
    sql.append(parts.size() > 1 ? "\n" : "").append(parts.getLast().sql().strip());
    Update update = tx.createUpdate(sql.toString());
    parts.forEach(part -> part.binds().accept(update));
    update.execute();
  }
}
