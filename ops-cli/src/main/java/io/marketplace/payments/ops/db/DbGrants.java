package io.marketplace.payments.ops.db;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What the services' role may do in the schema: read and change rows, and nothing else. It may not
 * create, alter, drop or truncate a table, nor rewrite Flyway's history; the schema's owner applies
 * migrations ({@code ./payments migrate}). Tables the owner creates later are granted the same by
 * default, so a migration needs no grant of its own.
 */
final class DbGrants {

  /** A role name as PostgreSQL spells one unquoted: the statements never quote user input. */
  private static final Pattern ROLE = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /**
   * {@code MAINTAIN}, which lets a role vacuum a table it does not own, came with PostgreSQL 17.
   */
  static final int MAINTAIN_SINCE = 170000;

  private DbGrants() {}

  static boolean isRoleName(String role) {
    return ROLE.matcher(role).matches();
  }

  /**
   * The statements, run by the schema's owner: {@code ALTER DEFAULT PRIVILEGES} applies to the
   * tables the role running it creates.
   */
  static List<String> statements(String role, int serverVersion) {
    if (!isRoleName(role)) {
      throw new IllegalArgumentException("not a role name: " + role);
    }
    List<String> statements = new ArrayList<>();
    statements.add("GRANT USAGE ON SCHEMA public TO " + role);
    statements.add(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role);
    statements.add("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role);
    // Flyway's history is read to check the schema, written only by a migration
    statements.add("REVOKE INSERT, UPDATE, DELETE ON flyway_schema_history FROM " + role);
    if (serverVersion >= MAINTAIN_SINCE) {
      // the outbox relay vacuums the outbox it drains (OutboxRelay); without it the vacuum is
      // skipped with a warning and the relay's scans slow down until autovacuum comes by
      statements.add("GRANT MAINTAIN ON outbox_events TO " + role);
    }
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
            + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "
            + role);
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO " + role);
    return statements;
  }
}
