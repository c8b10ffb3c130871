package io.marketplace.payments.ops.db;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What the services' role may do in the schema: read and change rows, and nothing else. It may not
 * create, alter, drop or truncate a table, nor rewrite Flyway's history; the schema's owner applies
 * migrations ({@code ./payments migrate}). Tables the owner creates later are granted the same by
 * default, so a migration needs no grant of its own. What the role was granted beyond that, here or
 * by default (a {@code GRANT ALL} from before), is taken back, so the role ends with this set
 * whatever it held.
 */
final class DbGrants {

  /**
   * A role name as PostgreSQL spells one unquoted, so that quoting it (as the statements do) names
   * the same role and no input can close the quotes.
   */
  private static final Pattern ROLE = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /**
   * {@code MAINTAIN}, which lets a role vacuum a table it does not own, came with PostgreSQL 17.
   */
  static final int MAINTAIN_SINCE = 170000;

  private DbGrants() {}

  /**
   * A name a role of ours may have: not one of PostgreSQL's predefined roles ({@code pg_monitor},
   * {@code pg_database_owner}...), whose members, monitoring and backups among them, would all
   * change rows.
   */
  static boolean isRoleName(String role) {
    return ROLE.matcher(role).matches() && !role.startsWith("pg_");
  }

  /**
   * The statements, run by the schema's owner: {@code ALTER DEFAULT PRIVILEGES} applies to the
   * tables the role running it creates.
   */
  static List<String> statements(String role, int serverVersion) {
    if (!isRoleName(role)) {
      throw new IllegalArgumentException("not a role name: " + role);
    }
    // quoted: unquoted, a role named current_user or session_user would be the SQL keyword, the
    // owner running these statements, which they would strip of its own rights
    String grantee = '"' + role + '"';
    boolean maintain = serverVersion >= MAINTAIN_SINCE;
    // what a table's privileges hold beyond reading and changing rows: TRUNCATE empties it,
    // TRIGGER hangs code on it, REFERENCES lets a table of the role's pin its rows
    String beyondRows = "TRUNCATE, REFERENCES, TRIGGER" + (maintain ? ", MAINTAIN" : "");
    List<String> statements = new ArrayList<>();
    statements.add("REVOKE CREATE ON SCHEMA public FROM " + grantee);
    statements.add("REVOKE " + beyondRows + " ON ALL TABLES IN SCHEMA public FROM " + grantee);
    // UPDATE on a sequence is setval: resetting it makes the next insert collide
    statements.add("REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM " + grantee);
    statements.add("GRANT USAGE ON SCHEMA public TO " + grantee);
    statements.add(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + grantee);
    statements.add("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + grantee);
    // Flyway's history is read to check the schema, written only by a migration
    statements.add("REVOKE INSERT, UPDATE, DELETE ON flyway_schema_history FROM " + grantee);
    if (maintain) {
      // the outbox relay vacuums the outbox it drains (OutboxRelay); without it the vacuum is
      // skipped with a warning and the relay's scans slow down until autovacuum comes by
      statements.add("GRANT MAINTAIN ON outbox_events TO " + grantee);
    }
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE "
            + beyondRows
            + " ON TABLES FROM "
            + grantee);
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE UPDATE ON SEQUENCES FROM " + grantee);
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
            + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "
            + grantee);
    statements.add(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO " + grantee);
    return statements;
  }
}
