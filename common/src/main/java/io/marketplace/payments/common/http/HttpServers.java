package io.marketplace.payments.common.http;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.worker.Failures;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server every service runs: its own routes plus the endpoints SPEC §3 asks of all of them
 * ({@code /health/live}, {@code /health/ready}, {@code /metrics} and {@code /q/metrics}), with
 * every error answered as {@code application/problem+json}.
 */
public final class HttpServers {

  private static final Logger log = LoggerFactory.getLogger(HttpServers.class);

  /** When a client may try again after a dependency failed (seconds). */
  private static final String UNAVAILABLE_RETRY_AFTER = "1";

  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private HttpServers() {}

  /** {@link #create(int, HttpConfig, PrometheusMeterRegistry, List, Consumer)} with defaults. */
  public static Javalin create(
      int port,
      PrometheusMeterRegistry registry,
      List<HealthCheck> readiness,
      Consumer<JavalinConfig> routes) {
    return create(port, HttpConfig.defaults(), registry, readiness, routes);
  }

  /**
   * Creates (does not start) a server on {@code port} (0 picks a free one) that holds at most
   * {@code limits.maxConnections()} connections, lets the kernel queue {@code
   * limits.acceptQueueSize()} more, and closes a connection silent for {@code
   * limits.idleTimeout()}, whose request head has been arriving for longer than {@code
   * limits.headerTimeout()}, or whose request body has been arriving for longer than {@code
   * limits.bodyTimeout()} since it was first read.
   */
  public static Javalin create(
      int port,
      HttpConfig limits,
      PrometheusMeterRegistry registry,
      List<HealthCheck> readiness,
      Consumer<JavalinConfig> routes) {
    return create(port, limits, registry, readiness, true, routes);
  }

  /**
   * A server for an admin port: health and metrics only, with the default limits, on {@code
   * bindAddress} (the one of the service's public server). A server of its own, so its connections
   * and threads are not those of the public port: traffic there can neither read the metrics nor,
   * by holding connections up to its limit, make the kubelet's probes fail.
   */
  public static Javalin createAdmin(
      int port, String bindAddress, PrometheusMeterRegistry registry, List<HealthCheck> readiness) {
    return create(
        port,
        HttpConfig.defaults().withBindAddress(bindAddress),
        registry,
        readiness,
        routes -> {});
  }

  /**
   * A server for a public port: like {@link #create(int, HttpConfig, PrometheusMeterRegistry, List,
   * Consumer)} (its requests are still timed in {@code registry}) but without {@code /metrics} and
   * {@code /q/metrics}, which belong on an admin port that only monitoring reaches.
   */
  public static Javalin createPublic(
      int port,
      HttpConfig limits,
      PrometheusMeterRegistry registry,
      List<HealthCheck> readiness,
      Consumer<JavalinConfig> routes) {
    return create(port, limits, registry, readiness, false, routes);
  }

  private static Javalin create(
      int port,
      HttpConfig limits,
      PrometheusMeterRegistry registry,
      List<HealthCheck> readiness,
      boolean serveMetrics,
      Consumer<JavalinConfig> routes) {
    return Javalin.create(
        config -> {
          connector(config, port, limits, registry);
          config.startup.showJavalinBanner = false;
          config.startup.showOldJavalinVersionWarning = false;
          config.jsonMapper(new JavalinJackson(Json.mapper(), false));
          config.http.prefer405over404 = true;
          RequestTimers timers = new RequestTimers(registry);
          config.requestLogger.http(timers::record);
          config.routes.get("/health/live", ctx -> live(ctx, readiness));
          Readiness ready = new Readiness(readiness);
          config.routes.get("/health/ready", ctx -> ready(ctx, ready));
          if (serveMetrics) {
            config.routes.get("/metrics", ctx -> metrics(ctx, registry));
            config.routes.get("/q/metrics", ctx -> metrics(ctx, registry));
          }
          config.routes.exception(ProblemException.class, HttpServers::problem);
          config.routes.exception(
              HttpResponseException.class,
              (e, ctx) ->
                  respond(
                      ctx,
                      Problem.of(e.getStatus(), reason(e.getStatus()), e.getMessage()),
                      Map.of()));
          config.routes.exception(
              Exception.class,
              (e, ctx) -> {
                if (BodyTimeoutException.isCause(e)) {
                  // cut off at HTTP_BODY_TIMEOUT: the connection is closed, nobody reads this
                  // answer; the client's doing, counted in http.server.body.timeouts
                  log.debug("{} {}: {}", ctx.method(), ctx.path(), e.toString());
                  respond(ctx, Problem.of(408, "Request Timeout", e.getMessage()), Map.of());
                  return;
                }
                if (endedEarly(e)) {
                  // the client went away mid-body: its doing, not a fault of ours to page on (a
                  // 5xx counts against the service) nor a stack trace any caller could make us log
                  log.debug(
                      "{} {}: the body ended early: {}", ctx.method(), ctx.path(), e.toString());
                  respond(
                      ctx,
                      Problem.of(400, "Bad Request", "the body ended before its declared length"),
                      Map.of());
                  return;
                }
                if (databaseUnavailable(e)) {
                  // PostgreSQL down, restarting or failing over, a deadlock: nothing the request
                  // did wrong, and every route is safe to run again, so the client is told to
                  // come back rather than given a 500 it cannot tell from a bug
                  log.warn("{} {}: a dependency failed", ctx.method(), ctx.path(), e);
                  respond(
                      ctx,
                      Problem.of(
                          503,
                          "Service Unavailable",
                          "the database could not complete the request now; retry shortly"),
                      Map.of("Retry-After", UNAVAILABLE_RETRY_AFTER));
                  return;
                }
                log.error("unhandled error on {} {}", ctx.method(), ctx.path(), e);
                respond(
                    ctx,
                    Problem.of(500, "Internal Server Error", "the request could not be completed"),
                    Map.of());
              });
          config.routes.error(
              404,
              ctx -> {
                if (!Problem.CONTENT_TYPE.equals(ctx.res().getContentType())) {
                  respond(
                      ctx,
                      Problem.of(404, "Not Found", "no such resource: " + ctx.path()),
                      Map.of());
                }
              });
          config.routes.error(
              405,
              ctx ->
                  respond(
                      ctx,
                      Problem.of(405, "Method Not Allowed", ctx.method() + " is not allowed here"),
                      Map.of()));
          routes.accept(config);
        });
  }

  /**
   * The URL that reaches a started server from this machine: {@code http://localhost:<port>} when
   * it listens on every interface, else its one address ({@code http://127.0.0.1:<port>}).
   */
  public static String localUrl(Javalin server) {
    String host = "localhost";
    for (var connector : server.jettyServer().server().getConnectors()) {
      if (connector instanceof ServerConnector network) {
        host = HttpConfig.urlHost(network.getHost());
        break;
      }
    }
    return "http://" + host + ":" + server.port();
  }

  /**
   * Whether the database failed in a way that passes (unreachable, restarting, read-only during a
   * failover, a deadlock or serialization conflict), as the workers wait such failures out.
   */
  private static boolean databaseUnavailable(Throwable error) {
    if (!Failures.isTransient(error)) {
      return false;
    }
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether reading the request failed because its body ended early: the client went away. Jetty's
   * own end of stream only: a database connection's {@code EOFException} is a fault of ours.
   */
  private static boolean endedEarly(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof EofException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Our own connector in place of Javalin's default one, which has neither an accept queue size nor
   * a connection limit. At the limit, Jetty stops accepting: connections over it wait in the
   * kernel's accept queue, not in our memory, and are taken in as others close. A connection whose
   * request head trickles in is closed at {@code limits.headerTimeout()}, one whose request body
   * trickles in at {@code limits.bodyTimeout()} ({@link RequestDeadlines}): the idle timeout never
   * cuts them, and at the limit enough of them would keep every other client out. Each one closed
   * so is counted in {@code http.server.head.timeouts} or {@code http.server.body.timeouts}.
   */
  private static void connector(
      JavalinConfig config, int port, HttpConfig limits, MeterRegistry registry) {
    Counter headTimeouts =
        Counter.builder("http.server.head.timeouts")
            .description(
                "connections closed because a request's head did not arrive within"
                    + " HTTP_HEADER_TIMEOUT")
            .register(registry);
    Counter bodyTimeouts =
        Counter.builder("http.server.body.timeouts")
            .description(
                "connections closed because a request's body did not arrive within"
                    + " HTTP_BODY_TIMEOUT")
            .register(registry);
    config.jetty.addConnector(
        (server, httpConfiguration) -> {
          ServerConnector connector =
              new ServerConnector(server, new HttpConnectionFactory(httpConfiguration));
          connector.setPort(port);
          connector.setHost(limits.bindAddress());
          connector.setAcceptQueueSize(limits.acceptQueueSize());
          connector.setIdleTimeout(limits.idleTimeout().toMillis());
          RequestDeadlines deadlines =
              new RequestDeadlines(
                  limits.headerTimeout(),
                  limits.bodyTimeout(),
                  connector.getScheduler(),
                  headTimeouts::increment,
                  bodyTimeouts::increment);
          // told of each connection opened and closed, started and stopped with the connector
          connector.addBean(deadlines, true);
          // told of each request whose head is complete, before any handler sees it
          httpConfiguration.addCustomizer(deadlines);
          return connector;
        });
    config.jetty.modifyServer(
        server -> {
          server.addBean(new NetworkConnectionLimit(limits.maxConnections(), server));
          server.setErrorHandler(new ProblemErrorHandler());
        });
  }

  /**
   * {@code http.server.requests} by method, route template ({@code
   * /api/marketplace/listings/{id}/checkout}, so the series stay few) and status: what the latency
   * alerts read. Each series' timer is looked up in the registry once, not built per request.
   *
   * <p>The method is the client's text: Jetty takes any token as a method, up to the header limit,
   * and answers it 405. Only the methods HTTP defines are a tag of their own; any other is {@code
   * other}, or each made-up method would be a histogram series of its own, and anyone who reaches a
   * port could grow the registry and its scrape without bound.
   */
  private static final class RequestTimers {
    private record Series(String method, String route, int status) {}

    private static final Set<String> METHODS =
        Set.of(
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
            "QUERY");

    private static final String OTHER_METHOD = "other";

    private final MeterRegistry registry;
    private final Map<Series, Timer> timers = new ConcurrentHashMap<>();

    RequestTimers(MeterRegistry registry) {
      this.registry = registry;
    }

    void record(Context ctx, float millis) {
      String route;
      try {
        route = ctx.endpoint().path;
      } catch (RuntimeException e) {
        route = "unmatched";
      }
      timers
          .computeIfAbsent(new Series(method(ctx), route, ctx.statusCode()), this::timer)
          .record((long) (millis * 1_000_000L), TimeUnit.NANOSECONDS);
    }

    private static String method(Context ctx) {
      String method = ctx.method().name();
      return METHODS.contains(method) ? method : OTHER_METHOD;
    }

    private Timer timer(Series series) {
      return Timer.builder("http.server.requests")
          .description("HTTP requests served, by route and status")
          .tag("method", series.method())
          .tag("route", series.route())
          .tag("status", Integer.toString(series.status()))
          .publishPercentileHistogram()
          .register(registry);
    }
  }

  public static void problem(ProblemException e, Context ctx) {
    respond(ctx, e.problem(), e.headers());
  }

  public static void respond(Context ctx, Problem problem, Map<String, String> headers) {
    headers.forEach(ctx::header);
    ctx.status(problem.status());
    ctx.contentType(Problem.CONTENT_TYPE);
    ctx.result(Json.write(problem));
  }

  /**
   * Up unless a part of the process stopped for good (a worker ended on a fatal error): then a
   * restart is what brings it back, and the liveness probe asks for one.
   */
  private static void live(Context ctx, List<HealthCheck> checks) {
    Map<String, String> down = new java.util.LinkedHashMap<>();
    for (HealthCheck check : checks) {
      if (!check.live()) {
        down.put(check.name(), "DOWN");
      }
    }
    Map<String, Object> body = new java.util.LinkedHashMap<>();
    body.put("status", down.isEmpty() ? "UP" : "DOWN");
    if (!down.isEmpty()) {
      body.put("checks", down);
    }
    ctx.status(down.isEmpty() ? 200 : 503);
    ctx.json(body);
  }

  private static void ready(Context ctx, Readiness readiness) {
    Readiness.Result result = readiness.result();
    ctx.status(result.up() ? 200 : 503);
    ctx.json(Map.of("status", result.up() ? "UP" : "DOWN", "checks", result.checks()));
  }

  private static void metrics(Context ctx, PrometheusMeterRegistry registry) {
    ctx.contentType(PROMETHEUS_TEXT);
    ctx.result(registry.scrape());
  }

  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 409 -> "Conflict";
      case 413 -> "Content Too Large";
      case 415 -> "Unsupported Media Type";
      default -> status >= 500 ? "Internal Server Error" : "Error";
    };
  }
}
