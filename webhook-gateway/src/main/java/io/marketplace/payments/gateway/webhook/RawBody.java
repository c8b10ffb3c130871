package io.marketplace.payments.gateway.webhook;

import io.marketplace.payments.common.http.BodyTimeoutException;
import io.marketplace.payments.common.http.ProblemException;
import jakarta.servlet.http.HttpServletRequest;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The request body exactly as it came over the wire, read with a hard limit. Stripe signs these
 * bytes and we publish these bytes: nothing here decodes, re-encodes or trims them.
 */
final class RawBody {

  /** SPEC §3: a body over 1 MiB is answered 413. */
  static final int MAX_BYTES = 1024 * 1024;

  private RawBody() {}

  /** How much one read takes at most; the buffer a body holds before its bytes arrive. */
  static final int CHUNK_BYTES = 4 * 1024;

  /**
   * Reads the body, refusing one over {@code MAX_BYTES} by its declared length before reading, and
   * by its actual length while reading (a chunked body declares none). The body grows in {@code
   * room} as its bytes arrive, never ahead of them: a declared length is not trusted for memory.
   */
  static byte[] read(HttpServletRequest request, BodyBudget.Reservation room) {
    long declared = request.getContentLengthLong();
    if (declared > MAX_BYTES) {
      throw tooLarge();
    }
    if (!room.growTo(CHUNK_BYTES)) {
      throw overloaded();
    }
    try (InputStream in = request.getInputStream()) {
      if (declared >= 0 && declared <= CHUNK_BYTES) {
        return declaredSmall(in, (int) declared);
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream(CHUNK_BYTES);
      byte[] chunk = new byte[CHUNK_BYTES];
      for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
        if (body.size() + n > MAX_BYTES) {
          throw tooLarge();
        }
        if (!room.growTo(CHUNK_BYTES + (long) body.size() + n)) {
          throw overloaded();
        }
        body.write(chunk, 0, n);
      }
      return body.toByteArray();
    } catch (IOException e) {
      // the client went away, broke the framing mid-body, or was cut off at the body deadline:
      // nothing was verified, nothing is sent
      if (BodyTimeoutException.isCause(e)) {
        throw new ProblemException(408, "Request Timeout", e.getMessage());
      }
      throw ProblemException.badRequest("the body could not be read");
    }
  }

  /**
   * A body that declared at most one chunk, within the room already held: read straight into an
   * array of its size, the array that is verified and published. A body that ends early fails the
   * read (the server knows the length it was promised); Content-Length framing leaves nothing after
   * it.
   */
  private static byte[] declaredSmall(InputStream in, int length) throws IOException {
    byte[] body = new byte[length];
    int read = in.readNBytes(body, 0, length);
    if (read < length) {
      throw new EOFException("the body ended after " + read + " of " + length + " bytes");
    }
    return body;
  }

  /** SPEC §3's 503 when bodies in flight hold all the room there is. */
  static ProblemException overloaded() {
    return ProblemException.unavailable(
        "too many large requests at once; retry later", WebhookController.RETRY_AFTER_SECONDS);
  }

  /**
   * The body as text for signature verification. Bytes that are not UTF-8 are refused rather than
   * replaced: two different bodies must never verify as the same text.
   */
  static String utf8(byte[] body) {
    String text = new String(body, StandardCharsets.UTF_8);
    if (text.indexOf('\uFFFD') < 0) {
      return text; // nothing was replaced: the common, fast case
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body))
          .toString();
    } catch (CharacterCodingException e) {
      throw ProblemException.badRequest("the body is not UTF-8 text");
    }
  }

  static ProblemException tooLarge() {
    return new ProblemException(
        413, "Content Too Large", "the body is larger than " + MAX_BYTES + " bytes (1 MiB)");
  }
}
