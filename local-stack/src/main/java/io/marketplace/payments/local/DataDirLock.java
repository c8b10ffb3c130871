package io.marketplace.payments.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One {@code ./payments up} per data directory: its broker and PostgreSQL keep their files there,
 * and a second stack on them (other ports) would fail deep inside the broker's log recovery, or
 * worse. An operating-system lock on {@code up.lock}, released when the process ends however it
 * ends ({@code kill -9} included), so a killed stack never blocks the next one. The file names the
 * holder's pid.
 */
final class DataDirLock implements AutoCloseable {

  static final String FILE = "up.lock";

  /**
   * The data directories this process holds. A lock held by this process cannot be tried through a
   * second channel: the try fails, and closing that channel would release the process's lock on the
   * file (POSIX locks belong to the process), letting a third stack take a running one's data.
   */
  private static final java.util.Set<Path> HELD =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final Path dataDir;

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(Path dataDir, FileChannel channel, FileLock lock) {
    this.dataDir = dataDir;
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the data directory, or throws {@link InUseException} naming who holds it. */
  static DataDirLock acquire(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    Path key = dataDir.toAbsolutePath().normalize();
    if (!HELD.add(key)) {
      throw new InUseException(dataDir, Long.toString(ProcessHandle.current().pid()));
    }
    try {
      // the keys and every record of the stack live there: nobody else on the machine may enter
      PrivateFiles.directory(dataDir);
    } catch (IOException e) {
      HELD.remove(key);
      throw new UncheckedIOException(
          "cannot make the data directory " + dataDir + " accessible to its owner only", e);
    }
    FileChannel channel = null;
    try {
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held by this process through a path HELD did not know as the same
      }
      if (lock == null) {
        String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
        channel.close();
        HELD.remove(key);
        throw new InUseException(dataDir, holder);
      }
      channel.truncate(0);
      channel.write(
          ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
      channel.force(true);
      return new DataDirLock(key, channel, lock);
    } catch (IOException e) {
      HELD.remove(key);
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw new UncheckedIOException("cannot lock " + file, e);
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      HELD.remove(dataDir);
    }
  }

  /** Another running stack holds the data directory. */
  static final class InUseException extends RuntimeException {
    InUseException(Path dataDir, String holder) {
      super(
          "data directory "
              + dataDir
              + " is in use by a running ./payments up"
              + (holder.isEmpty() ? "" : " (pid " + holder + ")")
              + ": stop it first, or choose another with --data-dir");
    }
  }
}
