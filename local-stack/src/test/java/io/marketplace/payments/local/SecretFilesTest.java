package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local stack's keys (Stripe's secret key, the webhook secret, the JWT key that mints admin
 * tokens) are written under the data directory: only their owner may read them.
 */
class SecretFilesTest {

  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  @TempDir Path dataDir;

  @Test
  void shouldKeepTheGeneratedKeysReadableByTheirOwnerOnlyWhenTheyAreFirstWritten()
      throws Exception {
    // Given no keys yet
    Path file = dataDir.resolve("secrets.properties");

    // When the stack makes them
    Secrets.loadOrCreate(file);

    // Then nobody else on the machine can read them
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(OWNER_ONLY);
  }

  @Test
  void shouldMakeKeysOfAnEarlierRunReadableByTheirOwnerOnlyWhenTheyAreLoaded() throws Exception {
    // Given keys an earlier version left readable by everyone
    Path file = dataDir.resolve("secrets.properties");
    Secrets first = Secrets.loadOrCreate(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    // When the stack loads them
    Secrets again = Secrets.loadOrCreate(file);

    // Then they are the same keys, and only their owner can read them
    assertThat(again).isEqualTo(first);
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(OWNER_ONLY);
  }

  @Test
  void shouldMakeTheDataDirectoryAccessibleToItsOwnerOnlyWhenItIsTaken() throws Exception {
    // Given no data directory yet, and one an earlier version left open to everyone (as a
    // permissive umask makes it), where anyone could read the journals or rename over the keys
    Path fresh = dataDir.resolve("fresh");
    Path open = Files.createDirectory(dataDir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));

    // When a stack takes each
    try (DataDirLock first = DataDirLock.acquire(fresh);
        DataDirLock second = DataDirLock.acquire(open)) {

      // Then nobody else on the machine can read, write or enter either
      Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
      assertThat(Files.getPosixFilePermissions(fresh)).isEqualTo(ownerOnly);
      assertThat(Files.getPosixFilePermissions(open)).isEqualTo(ownerOnly);
    }
  }

  @Test
  void shouldWriteTheEnvFileReadableByItsOwnerOnlyWhenTheStackIsUp() throws Exception {
    // Given the stack running
    try (LocalStack stack = LocalStack.start(dataDir, StackPorts.anyFree(), line -> {})) {
      Path env = dataDir.resolve("env");

      // When it writes its addresses and credentials, as `up` does
      stack.writeEnvFile(env);

      // Then the credentials in it are readable by its owner only
      assertThat(Files.readString(env)).contains("AUTH_JWT_SECRET=");
      assertThat(Files.getPosixFilePermissions(env)).isEqualTo(OWNER_ONLY);
    }
  }
}
