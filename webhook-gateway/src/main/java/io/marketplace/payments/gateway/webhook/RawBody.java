package io.marketplace.payments.gateway.webhook;

import io.marketplace.payments.common.http.ProblemException;
import jakarta.servlet.http.HttpServletRequest;
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

  /**
   * Reads the body, refusing one over {@code MAX_BYTES} by its declared length before reading, and
   * by its actual length while reading (a chunked body declares none).
   */
  static byte[] read(HttpServletRequest request) {
    long declared = request.getContentLengthLong();
    if (declared > MAX_BYTES) {
      throw tooLarge();
    }
    try (InputStream in = request.getInputStream()) {
      byte[] body = in.readNBytes(MAX_BYTES + 1);
      if (body.length > MAX_BYTES) {
        throw tooLarge();
      }
      return body;
    } catch (IOException e) {
      // the client went away or broke the framing mid-body: nothing was verified, nothing is sent
      throw ProblemException.badRequest("the body could not be read");
    }
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
