package io.marketplace.payments.stripeemulator.state;

import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.http.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the emulator's state in one JSON file across restarts: loaded at start, rewritten after
 * changes (coalesced on one background thread) through a temporary file and an atomic rename, so a
 * crash leaves either the old or the new file, never half of one.
 */
public final class StateFile implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StateFile.class);

  private final Path file;
  private final Store store;
  private final IdempotencyStore idempotency;
  private final AtomicBoolean dirty = new AtomicBoolean();
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "stripe-emulator-state");
            t.setDaemon(true);
            return t;
          });

  public StateFile(Path file, Store store, IdempotencyStore idempotency) {
    this.file = file;
    this.store = store;
    this.idempotency = idempotency;
  }

  public Optional<StateSnapshot> load() {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(Json.MAPPER.readValue(file.toFile(), StateSnapshot.class));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the emulator state file " + file, e);
    }
  }

  /** Schedules a write; writes requested while one is pending fold into it. */
  public void requestSave() {
    if (dirty.compareAndSet(false, true)) {
      try {
        writer.execute(this::saveQuietly);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        dirty.set(false);
      }
    }
  }

  public void save() throws IOException {
    dirty.set(false);
    StateSnapshot snapshot = store.snapshot(idempotency.snapshot());
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
    try {
      Json.MAPPER.writeValue(tmp.toFile(), snapshot);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private void saveQuietly() {
    try {
      save();
    } catch (IOException | RuntimeException e) {
      LOG.warn("Could not write the emulator state file {}", file, e);
    }
  }

  /** Writes the final state and stops the writer. */
  @Override
  public void close() {
    writer.shutdown();
    try {
      writer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    saveQuietly();
  }
}
