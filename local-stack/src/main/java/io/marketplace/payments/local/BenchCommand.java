package io.marketplace.payments.local;

import io.marketplace.payments.ops.UsageError;
import picocli.CommandLine.Command;

/**
 * {@code ./payments bench}, named here so that {@code ./payments --help} lists it. The launcher
 * runs {@code bench/run.sh} itself, before Java starts: the benchmarks build and start their own
 * processes from the repository, which this command line cannot do from its jar.
 */
@Command(
    name = "bench",
    description = {
      "Runs every benchmark (19 min) and rewrites docs/benchmarks.md.",
      "The launcher runs bench/run.sh for it; ./payments bench --help lists its options."
    })
final class BenchCommand implements Runnable {

  @Override
  public void run() {
    throw new UsageError("run it as ./payments bench from the repository (bench/run.sh)");
  }
}
