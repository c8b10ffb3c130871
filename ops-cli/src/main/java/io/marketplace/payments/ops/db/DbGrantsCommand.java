package io.marketplace.payments.ops.db;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.UsageError;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments db-grants}: gives the services' database role what they need and nothing more
 * ({@link DbGrants}), run as the schema's owner. Shows the statements; {@code --apply} runs them in
 * one transaction. Running it again changes nothing.
 */
@Command(
    name = "db-grants",
    mixinStandardHelpOptions = true,
    description = {
      "Shows, and with --apply grants, what the services' database role may do.",
      "It may read and change rows, never change the schema nor Flyway's history.",
      "Runs as the role in DATABASE_USER, which must own the schema (the one that",
      "migrates); tables it creates later are granted the same by default. The",
      "services' role must exist (CREATE ROLE ... LOGIN PASSWORD ...): this command",
      "sets no password."
    })
public final class DbGrantsCommand implements Callable<Integer> {

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(
      names = "--role",
      required = true,
      paramLabel = "ROLE",
      description = "the services' role (DATABASE_USER of the services), such as payments_app")
  String role;

  @Option(names = "--apply", description = "run the statements")
  boolean apply;

  public DbGrantsCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    if (!DbGrants.isRoleName(role)) {
      throw new UsageError(
          "--role must be a role name as PostgreSQL spells one unquoted (lower-case letters,"
              + " digits, _; at most 63), not a predefined pg_ role: "
              + role);
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Database database = context.openDatabase()) {
      Jdbi jdbi = database.jdbi();
      List<String> statements =
          jdbi.withHandle(
              h -> {
                refuseUnlessOwnerGrantsTo(h);
                return DbGrants.statements(role, serverVersion(h));
              });
      if (apply) {
        jdbi.useTransaction(h -> statements.forEach(h::execute));
      }
      for (String statement : statements) {
        out.println((apply ? "applied:    " : "would run:  ") + statement + ";");
      }
      if (!apply) {
        out.println("nothing changed: run again with --apply");
        return 0;
      }
      boolean mayCreate =
          jdbi.withHandle(
              h ->
                  h.createQuery("SELECT has_schema_privilege(:role, 'public', 'CREATE')")
                      .bind("role", role)
                      .mapTo(Boolean.class)
                      .one());
      if (mayCreate) {
        throw new OperatorError(
            "granted, but "
                + role
                + " may still create tables in schema public, through PUBLIC or a role it is a"
                + " member of: REVOKE CREATE ON SCHEMA public FROM PUBLIC (and from those roles)");
      }
      out.println(role + " may read and change rows, and not change the schema");
      return 0;
    }
  }

  private void refuseUnlessOwnerGrantsTo(Handle h) {
    String me = h.createQuery("SELECT current_user").mapTo(String.class).one();
    if (me.equals(role)) {
      throw new UsageError(
          "--role is the role this command runs as ("
              + me
              + "), the schema's owner: the services need a role of their own");
    }
    Optional<Boolean> superuser =
        h.createQuery("SELECT rolsuper FROM pg_roles WHERE rolname = :role")
            .bind("role", role)
            .mapTo(Boolean.class)
            .findOne();
    if (superuser.isEmpty()) {
      throw new OperatorError(
          "role "
              + role
              + " does not exist: create it with a password of its own (CREATE ROLE "
              + role
              + " LOGIN PASSWORD '...'), then run this again");
    }
    if (superuser.get()) {
      throw new OperatorError(
          role + " is a superuser: no grant limits it; the services need a role that is not");
    }
    refuseMemberOfAPowerfulRole(h);
    boolean migrated =
        h.createQuery("SELECT to_regclass('public.flyway_schema_history') IS NOT NULL")
            .mapTo(Boolean.class)
            .one();
    if (!migrated) {
      // the grants name Flyway's history and the outbox; and with no table yet, nothing shows
      // whether this role is the one that will own them
      throw new OperatorError(
          "the schema is not migrated yet: run ./payments migrate as the schema's owner, then"
              + " run this again as that role");
    }
    List<String> notMine =
        h.createQuery(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    + " AND tableowner <> current_user ORDER BY tablename")
            .mapTo(String.class)
            .list();
    if (!notMine.isEmpty()) {
      throw new OperatorError(
          "run this as the role that owns the schema (the one that migrates): "
              + me
              + " does not own "
              + String.join(", ", notMine.subList(0, Math.min(5, notMine.size())))
              + (notMine.size() > 5 ? " and " + (notMine.size() - 5) + " more" : ""));
    }
  }

  /**
   * A member of a role, even one granted without inheritance, may {@code SET ROLE} to it: a member
   * of the owner, a superuser or the database's owner holds no grant of its own, yet drops tables.
   */
  private void refuseMemberOfAPowerfulRole(Handle h) {
    List<String> powerful =
        h.createQuery(
                """
                SELECT r.rolname FROM pg_roles r
                 WHERE r.rolname <> :role
                   AND pg_has_role(:role, r.oid, 'MEMBER')
                   AND (r.rolsuper
                        OR r.oid IN (SELECT c.relowner FROM pg_class c
                                       JOIN pg_namespace n ON n.oid = c.relnamespace
                                      WHERE n.nspname = 'public')
                        OR r.oid = (SELECT nspowner FROM pg_namespace WHERE nspname = 'public')
                        OR r.oid = (SELECT datdba FROM pg_database
                                     WHERE datname = current_database()))
                 ORDER BY r.rolname""")
            .bind("role", role)
            .mapTo(String.class)
            .list();
    if (!powerful.isEmpty()) {
      String first = powerful.get(0);
      throw new OperatorError(
          role
              + " is a member of "
              + String.join(", ", powerful)
              + ", which owns the schema or is a superuser: SET ROLE would make it that role."
              + " Take the membership back (REVOKE "
              + first
              + " FROM "
              + role
              + "), then run this again");
    }
  }

  private static int serverVersion(Handle h) {
    return Integer.parseInt(
        h.createQuery("SHOW server_version_num").mapTo(String.class).one().strip());
  }
}
