package io.marketplace.payments.checkout.idempotency;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What makes two requests "the same" for an Idempotency-Key: method, path and body. A JSON body is
 * compared by content (key order and whitespace do not matter), anything else byte for byte: a body
 * that is one JSON value and then more content is not JSON as the routes read it ({@code
 * RequestBody} refuses it), so it is not the same request as that JSON value alone; nor is a body
 * naming a field twice the same as the body of its last value.
 */
public final class Fingerprint {

  private static final ObjectMapper CANONICAL =
      Json.mapper().copy().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** As the routes read a body: one JSON value and nothing after it, each field named once. */
  private static final ObjectReader READER =
      CANONICAL
          .reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

  private Fingerprint() {}

  public static String of(String method, String path, byte[] body) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    sha256.update((method + " " + path + "\n").getBytes(StandardCharsets.UTF_8));
    sha256.update(canonical(body));
    return HexFormat.of().formatHex(sha256.digest());
  }

  static byte[] canonical(byte[] body) {
    if (body.length == 0) {
      return body;
    }
    try {
      JsonNode tree = READER.readTree(body);
      if (tree == null) {
        return body;
      }
      return CANONICAL.writeValueAsBytes(CANONICAL.treeToValue(tree, Object.class));
    } catch (IOException e) {
      return body;
    }
  }
}
