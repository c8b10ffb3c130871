package io.marketplace.payments.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files that hold the local stack's keys: readable and writable by their owner only ({@code
 * rw-------}) from the moment they exist, and replaced whole (temporary file, fsync, atomic
 * rename), so a crash mid-write leaves the former content, never a truncated key.
 */
final class PrivateFiles {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");

  private PrivateFiles() {}

  static void write(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Set<StandardOpenOption> options =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try (FileChannel channel =
        posix()
            ? FileChannel.open(tmp, options, PosixFilePermissions.asFileAttribute(OWNER_ONLY))
            : FileChannel.open(tmp, options)) {
      ByteBuffer bytes = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      channel.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * Creates {@code directory} if missing, and makes it accessible to its owner only ({@code
   * rwx------}) if an earlier version left it open: whatever the modes of the files within (the
   * broker's logs, the emulator's journal are made under the umask), nobody else can read them, nor
   * rename another file over the keys.
   */
  static void directory(Path directory) throws IOException {
    if (!posix()) {
      Files.createDirectories(directory);
      return;
    }
    if (!Files.isDirectory(directory)) {
      Path parent = directory.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        Files.createDirectory(
            directory, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
      } catch (FileAlreadyExistsException e) {
        // made meanwhile: restricted below
      }
    }
    if (!Files.getPosixFilePermissions(directory).equals(OWNER_ONLY_DIRECTORY)) {
      Files.setPosixFilePermissions(directory, OWNER_ONLY_DIRECTORY);
    }
  }

  /** Takes read access away from others on a file an earlier version wrote. */
  static void restrict(Path file) throws IOException {
    if (posix() && Files.exists(file)) {
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    }
  }

  private static boolean posix() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }
}
