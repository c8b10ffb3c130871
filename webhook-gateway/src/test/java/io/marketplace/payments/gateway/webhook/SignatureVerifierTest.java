package io.marketplace.payments.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.gateway.StripeSignatures;
import io.marketplace.payments.gateway.webhook.SignatureVerifier.Failure;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pure tests of the verdicts, on a fixed clock. */
class SignatureVerifierTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final String PAYLOAD = "{\"id\":\"evt_1\",\"object\":\"event\"}";
  private static final String CURRENT = "whsec_current";
  private static final String PREVIOUS = "whsec_previous";

  private final SignatureVerifier verifier =
      new SignatureVerifier(List.of(CURRENT, PREVIOUS), Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void shouldVerifyALargestBodyWithinTheRoomTheGatewayHoldsForIt() {
    // Given largest bodies (1 MiB), still unverified, of one-byte characters and of two-byte ones
    // (decoded as UTF-16, twice the size of Latin-1 text), and a header with a fresh timestamp and
    // a wrong signature (what anyone can send), checked against two secrets (a rotation)
    String header = "t=" + NOW.getEpochSecond() + ",v1=" + "0".repeat(64);
    for (String character : List.of("x", "\u0100")) {
      byte[] unit = character.getBytes(StandardCharsets.UTF_8);
      byte[] body = new byte[RawBody.MAX_BYTES];
      for (int i = 0; i + unit.length <= body.length; i += unit.length) {
        System.arraycopy(unit, 0, body, i, unit.length);
      }
      verifier.verify(RawBody.utf8(body), header); // loads and compiles what it uses

      // When it is decoded and verified
      long before = allocatedByThisThread();
      assertThat(verifier.verify(RawBody.utf8(body), header))
          .contains(Failure.NO_MATCHING_SIGNATURE);
      long allocated = allocatedByThisThread() - before;

      // Then what it allocated fits in the room the gateway takes from its body budget for it
      assertThat(allocated).as(character).isLessThanOrEqualTo(verifier.workingBytes(body.length));
    }
  }

  private static long allocatedByThisThread() {
    return ((com.sun.management.ThreadMXBean)
            java.lang.management.ManagementFactory.getThreadMXBean())
        .getCurrentThreadAllocatedBytes();
  }

  @Test
  void shouldAcceptWhenSignedByAnyConfiguredSecret() {
    // Given payloads signed now by each secret
    long now = NOW.getEpochSecond();

    // When verified, then both pass
    assertThat(verifier.verify(PAYLOAD, sign(now, CURRENT))).isEmpty();
    assertThat(verifier.verify(PAYLOAD, sign(now, PREVIOUS))).isEmpty();
  }

  @Test
  void shouldAcceptAtTheEdgeOfTheToleranceAndRefuseJustPastIt() {
    // Given signatures exactly 300 s and 301 s old
    long now = NOW.getEpochSecond();

    // When verified, then 300 s passes and 301 s is stale
    assertThat(verifier.verify(PAYLOAD, sign(now - 300, CURRENT))).isEmpty();
    assertThat(verifier.verify(PAYLOAD, sign(now - 301, CURRENT)))
        .contains(Failure.STALE_TIMESTAMP);
  }

  @Test
  void shouldReportStaleRatherThanNoMatchWhenOneSecretMatchedAnOldTimestamp() {
    // Given an old signature by the second secret (the first one does not match at all)
    String header = sign(NOW.getEpochSecond() - 3600, PREVIOUS);

    // When verified, then the reason is the timestamp, which is what an operator must fix
    assertThat(verifier.verify(PAYLOAD, header)).contains(Failure.STALE_TIMESTAMP);
  }

  @Test
  void shouldTellMissingMalformedAndUnmatchedHeadersApart() {
    // Given no header, an unreadable one, and one signed by a stranger
    String stranger = sign(NOW.getEpochSecond(), "whsec_stranger");

    // When verified, then each gets its own reason
    assertThat(verifier.verify(PAYLOAD, null)).contains(Failure.MISSING_HEADER);
    assertThat(verifier.verify(PAYLOAD, "t=soon,v1=ab")).contains(Failure.MALFORMED_HEADER);
    assertThat(verifier.verify(PAYLOAD, "t=1772366400")).contains(Failure.MALFORMED_HEADER);
    assertThat(verifier.verify(PAYLOAD, stranger)).contains(Failure.NO_MATCHING_SIGNATURE);
  }

  private static String sign(long timestamp, String secret) {
    return StripeSignatures.header(PAYLOAD.getBytes(StandardCharsets.UTF_8), timestamp, secret);
  }
}
