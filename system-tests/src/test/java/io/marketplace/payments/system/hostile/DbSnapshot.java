package io.marketplace.payments.system.hostile;

import io.marketplace.payments.testsupport.TestDatabase;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The whole content of a database as one comparable value: per table, its row count and a hash of
 * every row. Two snapshots are equal only when no row was added, removed or changed anywhere, which
 * is what "a refused request changes nothing" means.
 */
record DbSnapshot(Map<String, String> tables) {

  /** The tables of a database do not change during a test: looked up once. */
  private static final Map<String, List<String>> TABLES = new ConcurrentHashMap<>();

  /**
   * Takes a snapshot of every table of {@code db} but Flyway's history, in one query (so on one
   * connection and one transaction's view of the data).
   */
  static DbSnapshot of(TestDatabase db) {
    List<String> names = TABLES.computeIfAbsent(db.name(), name -> tables(db));
    String query =
        names.stream()
            .map(
                name ->
                    "SELECT '"
                        + name
                        + "' AS name, count(*) AS n,"
                        + " coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS hash"
                        + " FROM "
                        + name
                        + " t")
            .collect(Collectors.joining(" UNION ALL "));
    Map<String, String> tables = new TreeMap<>();
    for (Map<String, Object> row : db.rows(query)) {
      tables.put((String) row.get("name"), row.get("n") + " rows " + row.get("hash"));
    }
    return new DbSnapshot(tables);
  }

  private static List<String> tables(TestDatabase db) {
    return db
        .rows(
            "SELECT table_name FROM information_schema.tables"
                + " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                + " AND table_name <> 'flyway_schema_history' ORDER BY table_name")
        .stream()
        .map(row -> (String) row.get("table_name"))
        .toList();
  }

  /** The tables whose content differs in {@code other}, with both states. */
  Map<String, String> changesIn(DbSnapshot other) {
    Map<String, String> changed = new LinkedHashMap<>();
    tables.forEach(
        (name, state) -> {
          String now = other.tables.get(name);
          if (!state.equals(now)) {
            changed.put(name, state + " -> " + now);
          }
        });
    return changed;
  }

  /** As {@link #changesIn}, leaving out {@code allowed} tables. */
  Map<String, String> changesIn(DbSnapshot other, Set<String> allowed) {
    Map<String, String> changed = changesIn(other);
    changed.keySet().removeAll(allowed);
    return changed;
  }

  /** The row count of {@code table} in this snapshot. */
  long rows(String table) {
    return Long.parseLong(tables.get(table).split(" ")[0]);
  }
}
