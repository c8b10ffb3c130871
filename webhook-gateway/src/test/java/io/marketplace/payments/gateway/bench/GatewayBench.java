package io.marketplace.payments.gateway.bench;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.StripeEvents;
import io.marketplace.payments.gateway.StripeSignatures;
import io.marketplace.payments.gateway.WebhookGateway;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/**
 * The gateway's benchmark (run by {@code bench/gateway.sh}; not a test: surefire skips it by name).
 *
 * <ul>
 *   <li>{@code server}: a real broker (embedded KRaft, on disk) and the gateway in one JVM; prints
 *       {@code READY <webhook url> <bootstrap servers>} and runs until its standard input closes.
 *   <li>{@code load}: run in a separate JVM, sends signed events shaped as Stripe's (2 to 4 KB)
 *       over loopback, at fixed rates (open loop: latency counts from when a request was due, so a
 *       slow gateway cannot hide its queueing) and then as fast as it can; prints throughput and
 *       p50, p99, p99.9 and max latency per phase, and checks the topic holds every acknowledged
 *       event. Between the fixed rates and the last, unbounded phase come phases at fixed
 *       concurrency ({@code --concurrency 32}): closed loop, N connections each sending its next
 *       request as soon as the previous answer arrived, as a sender with N connections does.
 * </ul>
 *
 * <p>The load generator speaks HTTP/1.1 over keep-alive connections driven by one thread and a
 * selector, with requests signed before each phase, so that on a small machine most of the CPU goes
 * to the gateway and the broker rather than to the client.
 */
public final class GatewayBench {

  static final String SECRET = "whsec_benchmark_4c1f9a7e2b6d3058";
  private static final String[] EVENT_TYPES = {
    "payment_intent.succeeded", "charge.succeeded", "charge.refunded", "charge.dispute.created"
  };

  /** The server JVM, whose CPU time each phase reports (Linux only); -1 when unknown. */
  private static long serverPid = -1;

  private GatewayBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      throw new IllegalArgumentException("usage: GatewayBench server|load [--key value ...]");
    }
    Map<String, String> options = options(Arrays.copyOfRange(args, 1, args.length));
    switch (args[0]) {
      case "server" -> server(options);
      case "load" -> load(options);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  // ---- server

  private static void server(Map<String, String> options) throws Exception {
    Path dir = Files.createTempDirectory("gateway-bench-kafka-");
    Topics topics = Topics.standard();
    try (EmbeddedKafka broker = EmbeddedKafka.start(dir, 0)) {
      Map<String, Integer> partitions = new HashMap<>();
      for (Topic topic : topics.all()) {
        partitions.put(topic.name(), topic.partitions());
      }
      KafkaTopics.createTopics(broker.bootstrapServers(), partitions, Topics.configs());
      int port = Integer.parseInt(options.getOrDefault("port", "0"));
      try (WebhookGateway gateway =
          WebhookGateway.start(
              new GatewayConfig(
                  port, List.of(SECRET), new KafkaConfig(broker.bootstrapServers(), topics)))) {
        System.out.println("READY " + gateway.webhookUrl() + " " + broker.bootstrapServers());
        System.out.flush();
        // runs until the script closes our standard input
        while (System.in.read() != -1) {
          // ignore
        }
      }
    } finally {
      deleteQuietly(dir);
    }
  }

  // ---- load

  private static void load(Map<String, String> options) throws Exception {
    URI url = URI.create(options.get("url"));
    String bootstrap = options.get("bootstrap");
    int connections = Integer.parseInt(options.getOrDefault("connections", "256"));
    Duration duration = Duration.ofSeconds(Long.parseLong(options.getOrDefault("seconds", "20")));
    Duration warmup = Duration.ofSeconds(Long.parseLong(options.getOrDefault("warmup", "90")));
    List<Integer> rates =
        Arrays.stream(options.getOrDefault("rates", "2000,5000,8000,10000,12000,14000").split(","))
            .map(String::trim)
            .map(Integer::parseInt)
            .toList();
    int maxConnections = Integer.parseInt(options.getOrDefault("max-connections", "128"));
    List<Integer> concurrencies =
        Arrays.stream(options.getOrDefault("concurrency", "32").split(","))
            .map(String::trim)
            .filter(c -> !c.isEmpty())
            .map(Integer::parseInt)
            .toList();
    serverPid = Long.parseLong(options.getOrDefault("server-pid", "-1"));

    long topicBefore = topicSize(bootstrap);
    List<Result> results = new ArrayList<>();
    int warmupRate = Integer.parseInt(options.getOrDefault("warmup-rate", "2000"));
    System.out.printf(
        Locale.ROOT,
        "warming up for %d s at %d/s (the JIT compiles the gateway and the broker)...%n",
        warmup.toSeconds(),
        warmupRate);
    System.out.println(run(url, "warm-up", warmupRate, connections, warmup));
    long acknowledged = 0;
    for (int rate : rates) {
      Result result = run(url, "fixed " + rate + "/s", rate, connections, duration);
      results.add(result);
      acknowledged += result.ok;
      System.out.println(result);
    }
    for (int concurrency : concurrencies) {
      // closed loop: each connection sends its next request when the previous answer arrived, so
      // throughput is the concurrency divided by the latency, as for a sender with N connections
      Result result = run(url, "concurrency " + concurrency, 0, concurrency, duration);
      results.add(result);
      acknowledged += result.ok;
      System.out.println(result);
    }
    Result max = run(url, "max (" + maxConnections + " conns)", 0, maxConnections, duration);
    results.add(max);
    acknowledged += max.ok;
    System.out.println(max);

    long topicAfter = topicSize(bootstrap);
    System.out.println();
    System.out.println(Result.HEADER);
    results.forEach(r -> System.out.println(r.row()));
    System.out.printf(
        Locale.ROOT,
        "%nacknowledged (200) in measured phases: %d; records added to stripe.events.v1 (warm-up"
            + " included): %d%n",
        acknowledged,
        topicAfter - topicBefore);
  }

  /**
   * One phase: at {@code rate} requests per second (0: as fast as {@code connections} allow) for
   * {@code duration}. One thread drives every connection through a selector: it sends each request
   * when it is due on an idle connection, and a request that finds none waits, its latency still
   * counted from when it was due.
   */
  private static Result run(URI url, String name, int rate, int connections, Duration duration)
      throws IOException {
    Payloads payloads = Payloads.signedNow(url, 8192);
    long total = rate > 0 ? rate * duration.toSeconds() : Long.MAX_VALUE;
    long periodNanos = rate > 0 ? 1_000_000_000L / rate : 0;
    long[] latencies = new long[(int) Math.min(total, 8_000_000)];
    // the worst latency of the requests due in each 100 ms of the phase, to find stalls
    long[] worstBySlot = new long[(int) (duration.toMillis() / 100) + 2];
    int recorded = 0;
    long failures = 0;
    long cpuBefore;
    long serverCpuBefore;
    long start;
    try (Selector selector = Selector.open()) {
      // connect before the clock starts: a burst of connects can overflow the listen backlog, and
      // a dropped SYN is retried only after a second, which would be counted as gateway latency
      ArrayDeque<Link> idle = new ArrayDeque<>();
      for (int c = 0; c < connections; c++) {
        idle.add(Link.open(url, selector));
      }
      cpuBefore = processCpuNanos();
      serverCpuBefore = serverCpuNanos();
      start = System.nanoTime();
      long end = start + duration.toNanos();
      int busy = 0;
      long sent = 0;
      while (true) {
        long now = System.nanoTime();
        // send every request that is due, as long as a connection is free
        while (!idle.isEmpty()) {
          long due = rate > 0 ? start + sent * periodNanos : now;
          if (sent >= total || due > now || (rate == 0 && now >= end)) {
            break;
          }
          Link link = idle.poll();
          link.send(payloads.get(sent), due);
          sent++;
          busy++;
        }
        boolean finished = rate > 0 ? sent >= total : now >= end;
        if (finished && busy == 0) {
          break;
        }
        long nextDue = rate > 0 && sent < total ? start + sent * periodNanos : Long.MAX_VALUE;
        long waitNanos = idle.isEmpty() || finished ? 100_000_000L : nextDue - System.nanoTime();
        if (waitNanos <= 0) {
          selector.selectNow();
        } else {
          selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos)));
        }
        Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
        while (keys.hasNext()) {
          SelectionKey key = keys.next();
          keys.remove();
          Link link = (Link) key.attachment();
          int status = link.onReady(key);
          if (status == 0) {
            continue; // the response is not complete yet
          }
          long latency = System.nanoTime() - link.due;
          int slot =
              (int)
                  Math.min(worstBySlot.length - 1, Math.max(0, (link.due - start) / 100_000_000L));
          worstBySlot[slot] = Math.max(worstBySlot[slot], latency);
          busy--;
          if (status == 200) {
            if (recorded < latencies.length) {
              latencies[recorded++] = latency;
            }
          } else {
            failures++;
          }
          if (status > 0 && !link.closeAfter) {
            idle.add(link);
          } else {
            link.close();
            idle.add(Link.open(url, selector));
          }
        }
      }
      idle.forEach(Link::close);
    }
    long elapsed = System.nanoTime() - start;
    long cpu = processCpuNanos() - cpuBefore;
    long serverCpu = serverCpuNanos() - serverCpuBefore;
    long[] sorted = Arrays.copyOf(latencies, recorded);
    Arrays.sort(sorted);
    printStalls(name, worstBySlot);
    return new Result(name, rate, recorded, failures, elapsed, sorted, cpu, serverCpu);
  }

  /**
   * A keep-alive HTTP/1.1 connection, non-blocking: one request at a time; {@link #onReady} says
   * when its response is complete.
   */
  private static final class Link {
    private final SocketChannel channel;
    private final SelectionKey key;
    private final ByteBuffer in = ByteBuffer.allocate(16 * 1024);
    private ByteBuffer out;
    long due;
    boolean closeAfter;

    private Link(SocketChannel channel, SelectionKey key) {
      this.channel = channel;
      this.key = key;
      key.attach(this);
    }

    static Link open(URI url, Selector selector) throws IOException {
      SocketChannel channel =
          SocketChannel.open(new InetSocketAddress(url.getHost(), url.getPort()));
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      channel.configureBlocking(false);
      return new Link(channel, channel.register(selector, 0));
    }

    void send(byte[] request, long dueNanos) throws IOException {
      due = dueNanos;
      out = ByteBuffer.wrap(request);
      channel.write(out);
      key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    /** The status once the whole response is read; 0 while it is not; -1 if the link broke. */
    int onReady(SelectionKey ready) {
      try {
        if (ready.isWritable()) {
          channel.write(out);
          if (!out.hasRemaining()) {
            key.interestOps(SelectionKey.OP_READ);
          }
          return 0;
        }
        if (channel.read(in) < 0) {
          return -1;
        }
        int status = parse();
        if (status > 0) {
          key.interestOps(0);
        }
        return status;
      } catch (IOException e) {
        return -1;
      }
    }

    /**
     * Parses a complete response (status line, headers, Content-Length body) from {@code in}, byte
     * by byte: the client must cost little next to the gateway it measures.
     */
    private int parse() {
      byte[] bytes = in.array();
      int length = in.position();
      int headersEnd = -1;
      for (int i = 3; i < length; i++) {
        if (bytes[i] == '\n'
            && bytes[i - 1] == '\r'
            && bytes[i - 2] == '\n'
            && bytes[i - 3] == '\r') {
          headersEnd = i + 1;
          break;
        }
      }
      if (headersEnd < 0) {
        return 0;
      }
      int contentLength = 0;
      closeAfter = false;
      int lineStart = 0;
      for (int i = 1; i < headersEnd; i++) {
        if (bytes[i] == '\n' && bytes[i - 1] == '\r') {
          if (startsWithIgnoringCase(bytes, lineStart, i, CONTENT_LENGTH)) {
            contentLength = digits(bytes, lineStart + CONTENT_LENGTH.length, i - 1);
          } else if (startsWithIgnoringCase(bytes, lineStart, i, CONNECTION_CLOSE)) {
            closeAfter = true;
          }
          lineStart = i + 1;
        }
      }
      if (length < headersEnd + contentLength) {
        return 0;
      }
      int status = (bytes[9] - '0') * 100 + (bytes[10] - '0') * 10 + (bytes[11] - '0');
      // keep what follows (nothing, with one request at a time)
      in.flip();
      in.position(headersEnd + contentLength);
      in.compact();
      return status;
    }

    private static final byte[] CONTENT_LENGTH =
        "content-length:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION_CLOSE =
        "connection: close".getBytes(StandardCharsets.US_ASCII);

    private static boolean startsWithIgnoringCase(byte[] bytes, int from, int to, byte[] prefix) {
      if (to - from < prefix.length) {
        return false;
      }
      for (int i = 0; i < prefix.length; i++) {
        if (Character.toLowerCase(bytes[from + i]) != prefix[i]) {
          return false;
        }
      }
      return true;
    }

    private static int digits(byte[] bytes, int from, int to) {
      int value = 0;
      for (int i = from; i < to; i++) {
        if (bytes[i] >= '0' && bytes[i] <= '9') {
          value = value * 10 + (bytes[i] - '0');
        }
      }
      return value;
    }

    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        // closing a broken connection
      }
    }
  }

  /** Pre-signed requests, so the phase measures the gateway, not the signing of its input. */
  private record Payloads(byte[][] requests) {

    static Payloads signedNow(URI url, int count) {
      long timestamp = Instant.now().getEpochSecond();
      byte[][] requests = new byte[count][];
      String hostHeader = url.getHost() + ":" + url.getPort();
      for (int i = 0; i < count; i++) {
        byte[] body = StripeEvents.of(EVENT_TYPES[i % EVENT_TYPES.length]).body();
        String head =
            "POST "
                + url.getPath()
                + " HTTP/1.1\r\nHost: "
                + hostHeader
                + "\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)"
                + "\r\nContent-Type: application/json; charset=utf-8"
                + "\r\nStripe-Signature: "
                + StripeSignatures.header(body, timestamp, SECRET)
                + "\r\nContent-Length: "
                + body.length
                + "\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
        System.arraycopy(body, 0, request, headBytes.length, body.length);
        requests[i] = request;
      }
      return new Payloads(requests);
    }

    byte[] get(long i) {
      return requests[(int) (i % requests.length)];
    }
  }

  /** What one phase measured; latencies in nanoseconds, sorted. */
  private record Result(
      String name,
      int rate,
      int ok,
      long failures,
      long elapsedNanos,
      long[] latencies,
      long cpu,
      long serverCpu) {

    static final String HEADER =
        "| phase | target/s | achieved/s | 200s | other | p50 ms | p99 ms | p99.9 ms | max ms |"
            + " server CPU | server µs/event | client CPU |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    double throughput() {
      return ok / (elapsedNanos / 1e9);
    }

    double percentileMillis(double p) {
      if (latencies.length == 0) {
        return Double.NaN;
      }
      int index = (int) Math.min(latencies.length - 1, Math.ceil(p / 100 * latencies.length) - 1);
      return latencies[Math.max(0, index)] / 1e6;
    }

    String row() {
      return String.format(
          Locale.ROOT,
          "| %s | %s | %.0f | %d | %d | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.0f | %.0f%% |",
          name,
          rate > 0 ? Integer.toString(rate) : "-",
          throughput(),
          ok,
          failures,
          percentileMillis(50),
          percentileMillis(99),
          percentileMillis(99.9),
          percentileMillis(100),
          serverCpu < 0 ? Double.NaN : 100.0 * serverCpu / elapsedNanos,
          serverCpu < 0 || ok == 0 ? Double.NaN : serverCpu / 1e3 / ok,
          100.0 * cpu / elapsedNanos);
    }

    @Override
    public String toString() {
      return row();
    }
  }

  // ---- helpers

  private static long topicSize(String bootstrap) throws Exception {
    if (bootstrap == null) {
      return -1;
    }
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      String topic = Topics.standard().stripeEvents().name();
      int partitions = Topics.standard().stripeEvents().partitions();
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      for (int p = 0; p < partitions; p++) {
        request.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      return admin.listOffsets(request).all().get(30, TimeUnit.SECONDS).values().stream()
          .mapToLong(info -> info.offset())
          .sum();
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** Prints the stretches of a phase where requests waited over 250 ms, if any. */
  private static void printStalls(String phase, long[] worstBySlot) {
    long threshold = 250_000_000L;
    for (int i = 0; i < worstBySlot.length; i++) {
      if (worstBySlot[i] <= threshold) {
        continue;
      }
      int from = i;
      long worst = 0;
      while (i < worstBySlot.length && worstBySlot[i] > threshold) {
        worst = Math.max(worst, worstBySlot[i]);
        i++;
      }
      System.out.printf(
          Locale.ROOT,
          "  %s: requests due from %.1f s to %.1f s waited up to %.0f ms%n",
          phase,
          from / 10.0,
          i / 10.0,
          worst / 1e6);
    }
  }

  /** utime + stime of the server JVM from /proc, in nanoseconds (assumes 100 clock ticks/s). */
  private static long serverCpuNanos() {
    if (serverPid < 0) {
      return -1;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + serverPid + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      return ticks * 10_000_000L;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --option, got " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }

  private static void deleteQuietly(Path root) {
    try (var paths = Files.walk(root)) {
      paths.sorted((a, b) -> b.compareTo(a)).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // a temporary directory left behind
    }
  }
}
