package io.marketplace.payments.processor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * CPU time (user + system) used so far by this JVM and by the PostgreSQL server of a JDBC URL (its
 * postmaster and backends, living and exited), read from Linux's {@code /proc}. On a machine shared
 * with other work, it tells what the system under test cost, apart from how long it waited.
 */
final class CpuTime {

  private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

  private CpuTime() {}

  static double seconds(String jdbcUrl) {
    return jvm() + postgres(jdbcUrl);
  }

  static double jvm() {
    return ticks(Path.of("/proc/self/stat"), false) / TICKS_PER_SECOND;
  }

  static double postgres(String jdbcUrl) {
    return postgresTicks(port(jdbcUrl)) / TICKS_PER_SECOND;
  }

  private static long postgresTicks(String port) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      long postmaster =
          procs
              .filter(p -> p.getFileName().toString().matches("\\d+"))
              .filter(p -> isPostmaster(p, port))
              .mapToLong(p -> Long.parseLong(p.getFileName().toString()))
              .findFirst()
              .orElse(-1);
      if (postmaster < 0) {
        return 0;
      }
      long total = ticks(Path.of("/proc", Long.toString(postmaster), "stat"), true);
      try (Stream<Path> all = Files.list(Path.of("/proc"))) {
        total +=
            all.filter(p -> p.getFileName().toString().matches("\\d+"))
                .filter(p -> parent(p) == postmaster)
                .mapToLong(p -> ticks(p.resolve("stat"), false))
                .sum();
      }
      return total;
    } catch (IOException e) {
      return 0;
    }
  }

  private static boolean isPostmaster(Path proc, String port) {
    try {
      String cmdline = Files.readString(proc.resolve("cmdline")).replace('\0', ' ');
      return cmdline.contains("postgres") && cmdline.contains("-p " + port + " ");
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** utime + stime, plus the children's that were waited for when {@code withChildren}. */
  private static long ticks(Path stat, boolean withChildren) {
    try {
      String text = Files.readString(stat);
      String[] fields = text.substring(text.lastIndexOf(')') + 2).split(" ");
      // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
      long own = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      return withChildren ? own + Long.parseLong(fields[13]) + Long.parseLong(fields[14]) : own;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  private static long parent(Path proc) {
    try {
      String text = Files.readString(proc.resolve("stat"));
      return Long.parseLong(text.substring(text.lastIndexOf(')') + 2).split(" ")[1]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static String port(String jdbcUrl) {
    Matcher m = Pattern.compile("//[^:/]+:(\\d+)/").matcher(jdbcUrl);
    return m.find() ? m.group(1) : "5432";
  }
}
