package io.marketplace.payments.stripeemulator.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.http.Json;
import io.marketplace.payments.stripeemulator.http.Listed;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.PaymentMethod;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.webhook.Event;
import io.marketplace.payments.stripeemulator.webhook.WebhookDelivery;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpoint;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The emulator's state on disk, so that it survives a crash ({@code kill -9}) as Stripe's own does:
 * an append-only file of JSON lines ({@code journal.jsonl}), one {@link Change} each. A change is
 * durable once {@link #sync()} (an {@code fsync}) returns; the API syncs before it answers, so an
 * acknowledged call never loses its objects, its events or their pending deliveries. Concurrent
 * callers share one {@code fsync} (group commit).
 *
 * <p>At start the file is replayed (the last line about an id wins; a torn last line from a crash
 * is skipped) and then rewritten with only what is live, through a temporary file, an {@code fsync}
 * and an atomic rename.
 */
public final class Journal implements ChangeLog, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  static final String FILE = "journal.jsonl";

  /** The single-file state of earlier versions, read once if no journal exists yet. */
  private static final String LEGACY_FILE = "state.json";

  private final Path file;
  private final StateSnapshot replayed;
  private final Object syncLock = new Object();
  // a stream rather than a FileChannel: an interrupted thread (a delivery thread at shutdown) must
  // not close the journal for everyone, as an interruptible channel does
  private FileOutputStream out;
  private long written;
  private volatile long synced;

  private Journal(Path file, StateSnapshot replayed) {
    this.file = file;
    this.replayed = replayed;
  }

  /** Reads the journal in {@code dir} (created if missing); {@link #rewrite} must follow. */
  public static Journal open(Path dir) {
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(FILE);
      Path legacy = dir.resolve(LEGACY_FILE);
      StateSnapshot replayed;
      if (Files.exists(file)) {
        replayed = replay(file);
      } else if (Files.exists(legacy)) {
        replayed = Json.MAPPER.readValue(legacy.toFile(), StateSnapshot.class);
      } else {
        replayed = StateSnapshot.EMPTY;
      }
      return new Journal(file, replayed);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the emulator's journal in " + dir, e);
    }
  }

  /** The state the journal held when opened. */
  public StateSnapshot replayed() {
    return replayed;
  }

  /**
   * Replaces the file with {@code live} (temporary file, fsync, atomic rename, fsync of the
   * directory) and appends to it from now on.
   */
  public synchronized void rewrite(StateSnapshot live) {
    Path tmp = file.resolveSibling(FILE + ".tmp");
    try {
      if (out != null) {
        out.close();
      }
      try (FileOutputStream compacted = new FileOutputStream(tmp.toFile())) {
        for (Change change : changes(live)) {
          compacted.write(line(change));
        }
        compacted.getFD().sync();
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      forceDirectory(file.toAbsolutePath().getParent());
      Files.deleteIfExists(file.resolveSibling(LEGACY_FILE));
      out = new FileOutputStream(file.toFile(), true);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the emulator's journal " + file, e);
    }
  }

  @Override
  public void append(Change change) {
    byte[] bytes = line(change);
    synchronized (this) {
      if (out == null) {
        throw new IllegalStateException("The journal is not open for appending");
      }
      try {
        out.write(bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot append to the emulator's journal " + file, e);
      }
      written++;
    }
  }

  @Override
  public void sync() {
    long target;
    synchronized (this) {
      target = written;
    }
    if (synced >= target) {
      return;
    }
    synchronized (syncLock) {
      if (synced >= target) {
        return;
      }
      long upTo;
      FileOutputStream current;
      synchronized (this) {
        upTo = written;
        current = out;
      }
      if (current == null) {
        throw new IllegalStateException("The journal is closed");
      }
      try {
        current.getFD().sync();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot sync the emulator's journal " + file, e);
      }
      synced = upTo;
    }
  }

  @Override
  public synchronized void close() {
    if (out == null) {
      return;
    }
    try {
      out.getFD().sync();
      out.close();
    } catch (IOException e) {
      LOG.warn("Could not close the emulator's journal {}", file, e);
    }
    out = null;
  }

  private static StateSnapshot replay(Path file) throws IOException {
    Map<String, Object> objects = new LinkedHashMap<>();
    Map<String, IdempotencyStore.Saved> idempotency = new LinkedHashMap<>();
    Map<String, WebhookDelivery> deliveries = new LinkedHashMap<>();
    int lineNumber = 0;
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = reader.readLine()) != null) {
        lineNumber++;
        if (line.isBlank()) {
          continue;
        }
        Change c;
        try {
          c = Json.MAPPER.readValue(line, Change.class);
        } catch (JsonProcessingException e) {
          // a write torn by a crash: it was never synced, so no caller was told it happened
          LOG.warn(
              "Skipping unreadable line {} of {}: {}", lineNumber, file, e.getOriginalMessage());
          continue;
        }
        Stream.of(
                c.paymentIntent(),
                c.charge(),
                c.paymentMethod(),
                c.refund(),
                c.dispute(),
                c.event(),
                c.webhookEndpoint())
            .filter(o -> o != null)
            .forEach(o -> objects.put(((Listed) o).id(), o));
        if (c.deletedWebhookEndpoint() != null) {
          objects.remove(c.deletedWebhookEndpoint());
        }
        if (c.idempotency() != null) {
          idempotency.put(c.idempotency().key(), c.idempotency());
        }
        if (c.delivery() != null) {
          deliveries.put(c.delivery().key(), c.delivery());
        }
      }
    }
    long sequence =
        objects.values().stream().mapToLong(o -> ((Listed) o).sequence()).max().orElse(0);
    return new StateSnapshot(
        sequence,
        only(objects, PaymentIntent.class),
        only(objects, Charge.class),
        only(objects, PaymentMethod.class),
        only(objects, Refund.class),
        only(objects, Dispute.class),
        only(objects, WebhookEndpoint.class),
        only(objects, Event.class),
        List.copyOf(idempotency.values()),
        deliveries.values().stream().filter(WebhookDelivery::pending).toList());
  }

  private static <T> List<T> only(Map<String, Object> objects, Class<T> type) {
    return objects.values().stream().filter(type::isInstance).map(type::cast).toList();
  }

  private static List<Change> changes(StateSnapshot s) {
    List<Change> changes = new ArrayList<>();
    add(changes, s.paymentMethods(), Change::of);
    add(changes, s.paymentIntents(), Change::of);
    add(changes, s.charges(), Change::of);
    add(changes, s.refunds(), Change::of);
    add(changes, s.disputes(), Change::of);
    add(changes, s.webhookEndpoints(), Change::of);
    add(changes, s.events(), Change::of);
    add(changes, s.idempotency(), Change::of);
    add(changes, s.deliveries().stream().filter(WebhookDelivery::pending).toList(), Change::of);
    return changes;
  }

  private static <T> void add(List<Change> changes, List<T> values, Function<T, Change> of) {
    values.forEach(v -> changes.add(of.apply(v)));
  }

  private static byte[] line(Change change) {
    try {
      byte[] json = Json.MAPPER.writeValueAsBytes(change);
      byte[] line = Arrays.copyOf(json, json.length + 1);
      line[json.length] = '\n';
      return line;
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes the rename itself durable (Linux); a no-op where directories cannot be opened. */
  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      LOG.debug("Could not fsync the directory {}", dir, e);
    }
  }
}
