package io.marketplace.payments.system.deploy;

import io.marketplace.payments.common.config.Env;
import java.util.AbstractMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An environment given to a service's {@code fromEnv}, that remembers every variable the service
 * asked for. A variable a manifest sets but the service never reads is a typo or a leftover, and
 * hides that the real one falls back to its default.
 */
final class RecordingEnv {

  private final Map<String, String> provided;
  private final Set<String> read = new TreeSet<>();

  RecordingEnv(Map<String, String> provided) {
    this.provided = Map.copyOf(provided);
  }

  Env env() {
    return Env.of(
        new AbstractMap<>() {
          @Override
          public String get(Object key) {
            read.add((String) key);
            return provided.get(key);
          }

          @Override
          public Set<Entry<String, String>> entrySet() {
            return provided.entrySet();
          }
        });
  }

  /** What was provided and never asked for. */
  Set<String> unread() {
    Set<String> unread = new TreeSet<>(provided.keySet());
    unread.removeAll(read);
    return unread;
  }
}
