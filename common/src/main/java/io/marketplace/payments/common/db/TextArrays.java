package io.marketplace.payments.common.db;

import java.sql.Types;
import org.jdbi.v3.core.argument.AbstractArgumentFactory;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.config.ConfigRegistry;

/**
 * Binds a {@code String[]} in PostgreSQL's binary array format instead of as an array literal.
 *
 * <p>Jdbi's default binds an array through {@code Connection.createArrayOf}, which the driver turns
 * into a literal: every element quoted and escaped character by character, and PostgreSQL reads it
 * back with its array-literal parser the same way. The batched writes bind a dozen arrays of 500
 * ids, statuses and timestamps per statement, and that escaping was the largest single item of the
 * processor's JVM profile. Given the array itself ({@code setObject}), the driver sends it as a
 * binary {@code varchar[]}: each element its length and its UTF-8 bytes. The parameter's type is
 * the same {@code varchar[]} as before, so no statement changes; a null element stays NULL.
 */
public final class TextArrays extends AbstractArgumentFactory<String[]> {

  public TextArrays() {
    super(Types.ARRAY);
  }

  @Override
  protected Argument build(String[] value, ConfigRegistry config) {
    return (position, statement, context) -> statement.setObject(position, value);
  }
}
