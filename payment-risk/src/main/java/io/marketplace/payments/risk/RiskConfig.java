package io.marketplace.payments.risk;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What the risk service needs (names in the README's configuration table).
 *
 * @param adminPort health and metrics ({@code ADMIN_PORT}, default 8086; 0 picks a free port)
 * @param stateDir where the local state stores live ({@code RISK_STATE_DIR}); a persistent volume
 *     spares a restore from the changelogs after a restart
 * @param standbyReplicas warm copies of each store on other instances ({@code
 *     RISK_STANDBY_REPLICAS}, default 0), so a failover does not wait for a restore
 * @param rules the thresholds and windows of the signals
 * @param db where flags are recorded
 * @param coolDown how long a signal flags its user ({@code RISK_COOLDOWN}, default 1h)
 * @param replicationFactor replicas of the changelog and repartition topics Kafka Streams creates
 *     ({@code RISK_REPLICATION_FACTOR}, default 3, as {@code create-topics.sh} creates ours), with
 *     {@link #minInsyncReplicas()} in sync; set here, never left to the broker's defaults (1 and 1)
 * @param http the admin server's limits and bind address ({@code HTTP_*})
 * @param storeMemoryMib the native memory all RocksDB stores share, block cache and memtables
 *     ({@code RISK_STORE_MEMORY_MB}, default 64): outside the Java heap, so within what the pod's
 *     limit leaves beside it ({@link BoundedStoreMemory})
 */
public record RiskConfig(
    KafkaConfig kafka,
    int adminPort,
    Path stateDir,
    int standbyReplicas,
    RiskRules rules,
    DbConfig db,
    Duration coolDown,
    int replicationFactor,
    HttpConfig http,
    int storeMemoryMib) {

  public static final int DEFAULT_ADMIN_PORT = 8086;

  public static final int DEFAULT_REPLICATION_FACTOR = 3;

  public static final int DEFAULT_STORE_MEMORY_MIB = 64;

  /** Below this the stores' memtables flush all the time. */
  public static final int MIN_STORE_MEMORY_MIB = 16;

  /** One broker (tests): the internal topics with a single replica. */
  public RiskConfig(
      KafkaConfig kafka,
      int adminPort,
      Path stateDir,
      int standbyReplicas,
      RiskRules rules,
      DbConfig db,
      Duration coolDown) {
    this(
        kafka,
        adminPort,
        stateDir,
        standbyReplicas,
        rules,
        db,
        coolDown,
        1,
        HttpConfig.defaults(),
        DEFAULT_STORE_MEMORY_MIB);
  }

  public RiskConfig {
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(rules, "rules");
    Objects.requireNonNull(db, "db");
    Objects.requireNonNull(coolDown, "coolDown");
    Objects.requireNonNull(http, "http");
    if (replicationFactor < 1) {
      throw new InvalidConfigException("RISK_REPLICATION_FACTOR", "must be 1 or more");
    }
    if (storeMemoryMib < MIN_STORE_MEMORY_MIB) {
      throw new InvalidConfigException(
          "RISK_STORE_MEMORY_MB", "must be at least " + MIN_STORE_MEMORY_MIB + " (MiB)");
    }
  }

  /** {@link #storeMemoryMib()} in bytes. */
  public long storeMemoryBytes() {
    return storeMemoryMib * 1024L * 1024L;
  }

  /** In-sync replicas an internal topic's write needs: all but one, at least one. */
  public int minInsyncReplicas() {
    return Math.max(1, Math.min(2, replicationFactor - 1));
  }

  public static RiskConfig fromEnv(Env env) {
    int adminPort = env.integer("ADMIN_PORT", DEFAULT_ADMIN_PORT);
    if (adminPort < 0 || adminPort > 65_535) {
      throw new InvalidConfigException("ADMIN_PORT", "must be a TCP port (0 to 65535)");
    }
    int standbys = env.integer("RISK_STANDBY_REPLICAS", 0);
    if (standbys < 0) {
      throw new InvalidConfigException("RISK_STANDBY_REPLICAS", "must be 0 or more");
    }
    return new RiskConfig(
        KafkaConfig.fromEnv(env),
        adminPort,
        Path.of(
            env.optional(
                "RISK_STATE_DIR",
                Path.of(System.getProperty("java.io.tmpdir"), "payment-risk").toString())),
        standbys,
        RiskRules.fromEnv(env),
        DbConfig.fromEnv(env),
        coolDown(env),
        env.integer("RISK_REPLICATION_FACTOR", DEFAULT_REPLICATION_FACTOR),
        HttpConfig.fromEnv(env),
        env.integer("RISK_STORE_MEMORY_MB", DEFAULT_STORE_MEMORY_MIB));
  }

  private static Duration coolDown(Env env) {
    Duration value = env.duration("RISK_COOLDOWN", Duration.ofHours(1));
    if (value.isNegative() || value.isZero()) {
      throw new InvalidConfigException("RISK_COOLDOWN", "must be a positive duration");
    }
    return value;
  }

  public RiskConfig withStateDir(Path value) {
    return new RiskConfig(
        kafka,
        adminPort,
        value,
        standbyReplicas,
        rules,
        db,
        coolDown,
        replicationFactor,
        http,
        storeMemoryMib);
  }

  public RiskConfig withAdminPort(int value) {
    return new RiskConfig(
        kafka,
        value,
        stateDir,
        standbyReplicas,
        rules,
        db,
        coolDown,
        replicationFactor,
        http,
        storeMemoryMib);
  }

  /** One signal's rule: {@code threshold} distinct occurrences within a {@code window}. */
  public record Rule(int threshold, Duration window) {
    public Rule {
      Objects.requireNonNull(window, "window");
      if (threshold < 1) {
        throw new IllegalArgumentException("threshold must be positive");
      }
      if (window.isNegative() || window.isZero()) {
        throw new IllegalArgumentException("window must be positive");
      }
    }

    static Rule fromEnv(Env env, String prefix, int threshold, Duration window) {
      int t = env.integer(prefix + "_THRESHOLD", threshold);
      if (t < 1) {
        throw new InvalidConfigException(prefix + "_THRESHOLD", "must be 1 or more");
      }
      Duration w = env.duration(prefix + "_WINDOW", window);
      if (w.isNegative() || w.isZero()) {
        throw new InvalidConfigException(prefix + "_WINDOW", "must be a positive duration");
      }
      return new Rule(t, w);
    }
  }

  /**
   * The rules of all signals.
   *
   * @param declines card testing by declined payments ({@code RISK_DECLINES_THRESHOLD} 5 per {@code
   *     RISK_DECLINES_WINDOW} 10m)
   * @param fingerprints card testing by distinct card fingerprints ({@code
   *     RISK_FINGERPRINTS_THRESHOLD} 4 per {@code RISK_FINGERPRINTS_WINDOW} 10m)
   * @param disputes chargeback spike ({@code RISK_DISPUTES_THRESHOLD} 2 per {@code
   *     RISK_DISPUTES_WINDOW} 24h)
   * @param categoryDisputes chargeback spike of a marketplace category ({@code
   *     RISK_CATEGORY_DISPUTES_THRESHOLD} 10 per {@code RISK_CATEGORY_DISPUTES_WINDOW} 24h)
   * @param grace how late an event may arrive, after its window ends, and still count ({@code
   *     RISK_GRACE}, default 5m); later ones are dropped
   * @param dedupeRetention how long an event id is remembered to count a re-delivery once ({@code
   *     RISK_DEDUPE_RETENTION}, default 7d: Stripe retries for 3 days)
   * @param paymentIntentRetention how long a PaymentIntent's user and category are remembered after
   *     its last event, for its disputes ({@code RISK_PAYMENT_INTENT_RETENTION}, default 180d, at
   *     least {@link #DISPUTE_WINDOW})
   */
  public record RiskRules(
      Rule declines,
      Rule fingerprints,
      Rule disputes,
      Rule categoryDisputes,
      Duration grace,
      Duration dedupeRetention,
      Duration paymentIntentRetention) {

    /**
     * How long after a charge Stripe accepts a dispute of it (some card networks allow longer): a
     * PaymentIntent forgotten sooner would leave a dispute of it without its user.
     */
    public static final Duration DISPUTE_WINDOW = Duration.ofDays(120);

    public static final Duration DEFAULT_PAYMENT_INTENT_RETENTION = Duration.ofDays(180);

    public RiskRules {
      Objects.requireNonNull(declines, "declines");
      Objects.requireNonNull(fingerprints, "fingerprints");
      Objects.requireNonNull(disputes, "disputes");
      Objects.requireNonNull(categoryDisputes, "categoryDisputes");
      Objects.requireNonNull(grace, "grace");
      Objects.requireNonNull(dedupeRetention, "dedupeRetention");
      Objects.requireNonNull(paymentIntentRetention, "paymentIntentRetention");
    }

    public static RiskRules defaults() {
      return fromEnv(Env.of(Map.of()));
    }

    public static RiskRules fromEnv(Env env) {
      Duration grace = env.duration("RISK_GRACE", Duration.ofMinutes(5));
      if (grace.isNegative()) {
        throw new InvalidConfigException("RISK_GRACE", "must not be negative");
      }
      Duration retention = env.duration("RISK_DEDUPE_RETENTION", Duration.ofDays(7));
      if (retention.isNegative() || retention.isZero()) {
        throw new InvalidConfigException("RISK_DEDUPE_RETENTION", "must be a positive duration");
      }
      Map<String, Rule> rules = new LinkedHashMap<>();
      rules.put("RISK_DECLINES", Rule.fromEnv(env, "RISK_DECLINES", 5, Duration.ofMinutes(10)));
      rules.put(
          "RISK_FINGERPRINTS", Rule.fromEnv(env, "RISK_FINGERPRINTS", 4, Duration.ofMinutes(10)));
      rules.put("RISK_DISPUTES", Rule.fromEnv(env, "RISK_DISPUTES", 2, Duration.ofHours(24)));
      rules.put(
          "RISK_CATEGORY_DISPUTES",
          Rule.fromEnv(env, "RISK_CATEGORY_DISPUTES", 10, Duration.ofHours(24)));
      requireRetentionCoversWindows(retention, grace, rules);
      Duration paymentIntents =
          env.duration("RISK_PAYMENT_INTENT_RETENTION", DEFAULT_PAYMENT_INTENT_RETENTION);
      if (paymentIntents.compareTo(DISPUTE_WINDOW) < 0) {
        throw new InvalidConfigException(
            "RISK_PAYMENT_INTENT_RETENTION",
            "must be at least "
                + DISPUTE_WINDOW.toDays()
                + "d, as long as Stripe accepts a dispute after the charge, or a late dispute's"
                + " user is forgotten and the dispute not counted");
      }
      return new RiskRules(
          rules.get("RISK_DECLINES"),
          rules.get("RISK_FINGERPRINTS"),
          rules.get("RISK_DISPUTES"),
          rules.get("RISK_CATEGORY_DISPUTES"),
          grace,
          retention,
          paymentIntents);
    }

    /**
     * What is counted once (a dispute, a declined attempt, a payment of the category rates) is
     * remembered for the dedupe retention: shorter than a window and its grace, a second event of
     * the same fact, while that window is still open, would count it again.
     */
    private static void requireRetentionCoversWindows(
        Duration retention, Duration grace, Map<String, Rule> rules) {
      String longest = "the category rates' hour";
      Duration window = RiskTopology.RATES_WINDOW;
      for (Map.Entry<String, Rule> rule : rules.entrySet()) {
        if (rule.getValue().window().compareTo(window) > 0) {
          longest = rule.getKey() + "_WINDOW";
          window = rule.getValue().window();
        }
      }
      Duration needed = window.plus(grace);
      if (retention.compareTo(needed) < 0) {
        throw new InvalidConfigException(
            "RISK_DEDUPE_RETENTION",
            "must be at least the longest window ("
                + longest
                + ") plus RISK_GRACE, "
                + needed.toString().substring(2).toLowerCase()
                + ", or a fact reported twice counts twice");
      }
    }
  }
}
