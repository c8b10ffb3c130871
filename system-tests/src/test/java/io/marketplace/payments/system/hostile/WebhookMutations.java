package io.marketplace.payments.system.hostile;

import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.marketplace.payments.common.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.zip.GZIPOutputStream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns correctly signed webhooks into hostile ones. Every {@link Kind} changes something Stripe's
 * verification looks at (the signed bytes, the signature, the timestamp or how the header is read),
 * or makes the body too large, so each must be refused: 400, or 413 for a body over 1 MiB. What
 * changes nothing that is verified (the order of the header's elements, an extra {@code v0}, the
 * header name's case) is not here: {@link #benign} builds those, and they must be accepted.
 *
 * <p>Deterministic for a given {@link Random}: a failing seed replays the same requests.
 */
final class WebhookMutations {

  static final int ONE_MIB = 1024 * 1024;
  static final long TOLERANCE_SECONDS = 300;
  static final String HEADER = "Stripe-Signature";
  static final String JSON = "application/json; charset=utf-8";

  /** What is done to a signed webhook; all but the oversize kinds must get a 400. */
  enum Kind {
    BODY_BIT_FLIPS(12),
    BODY_BYTE_REPLACED(6),
    BODY_TRUNCATED(8),
    BODY_APPENDED(5),
    BODY_PREPENDED(4),
    BODY_WHITESPACE_INSERTED(5),
    BODY_COMPACTED(3),
    BODY_REFORMATTED(3),
    BODY_KEYS_REORDERED(3),
    BODY_CRLF(3),
    BODY_UNICODE_ESCAPED(3),
    BODY_NFD(2),
    BODY_NFKC(2),
    BODY_NFKD(2),
    BODY_UTF16(3),
    BODY_LATIN1(2),
    BODY_GZIPPED(2),
    BODY_BASE64(2),
    BODY_FORM_ENCODED(2),
    BODY_DOUBLED(2),
    BODY_EMPTIED(2),
    BODY_AMOUNT_TAMPERED(4),
    BODY_TYPE_TAMPERED(3),
    BODY_OF_ANOTHER_EVENT(4),
    HEADER_MISSING(2),
    HEADER_EMPTY(2),
    HEADER_RENAMED(3),
    HEADER_DUPLICATED_FORGED_FIRST(3),
    SIGNATURE_HEX_CHANGED(8),
    SIGNATURE_UPPER_CASE(3),
    SIGNATURE_TRUNCATED(4),
    SIGNATURE_EXTENDED(3),
    SIGNATURE_EMPTY(2),
    SIGNATURE_WRONG_SCHEME(5),
    SIGNATURE_BASE64(2),
    SIGNATURE_OTHER_SECRET(8),
    SIGNATURE_WRONG_ALGORITHM(4),
    SIGNATURE_WRONG_SIGNED_PAYLOAD(5),
    TIMESTAMP_SHIFTED(8),
    TIMESTAMP_STALE_RESIGNED(6),
    TIMESTAMP_UNPARSEABLE(5),
    TIMESTAMP_MISSING(2),
    TIMESTAMP_DUPLICATED_WRONG_FIRST(4),
    HEADER_KEYS_MIXED_CASE(3),
    HEADER_WHITESPACE_INSIDE(4),
    HEADER_SEPARATOR_CHANGED(3),
    OVERSIZE(1),
    OVERSIZE_CHUNKED(1),
    STACKED(8);

    private final int weight;

    Kind(int weight) {
      this.weight = weight;
    }

    int expectedStatus() {
      return this == OVERSIZE || this == OVERSIZE_CHUNKED ? 413 : 400;
    }
  }

  /** The request being built: a signed webhook, then changed step by step. */
  private static final class Draft {
    byte[] body;
    long timestamp;
    String secret;
    String headerName = HEADER;
    String signature; // the whole Stripe-Signature value; null = no header
    final List<Map.Entry<String, String>> extraHeaders = new ArrayList<>();
    String contentType = JSON;
    boolean chunked;
    boolean expectContinue;
    final List<String> details = new ArrayList<>();
  }

  private final List<String> secrets;
  private final List<String> otherSecrets;
  private final LongSupplier nowSeconds;
  private final List<Kind> weighted = new ArrayList<>();

  /**
   * @param secrets the secrets the gateway accepts (a webhook is signed with one of them)
   * @param otherSecrets secrets of other endpoints, which it must not accept
   */
  WebhookMutations(List<String> secrets, List<String> otherSecrets, LongSupplier nowSeconds) {
    this.secrets = List.copyOf(secrets);
    this.otherSecrets = List.copyOf(otherSecrets);
    this.nowSeconds = nowSeconds;
    for (Kind kind : Kind.values()) {
      for (int i = 0; i < kind.weight; i++) {
        weighted.add(kind);
      }
    }
  }

  /** A hostile request of a random kind. */
  WebhookRequest next(Random random) {
    return of(weighted.get(random.nextInt(weighted.size())), random);
  }

  /** A hostile request of {@code kind}. */
  WebhookRequest of(Kind kind, Random random) {
    Draft draft = signed(random);
    byte[] signedBody = draft.body;
    String signedHeader = draft.signature;
    apply(kind, draft, random);
    if (Arrays.equals(signedBody, draft.body)
        && HEADER.equals(draft.headerName)
        && signedHeader.equals(draft.signature)
        && draft.extraHeaders.isEmpty()) {
      throw new IllegalStateException(
          kind + " left the signed request unchanged: " + draft.details);
    }
    return build(kind.name(), draft, kind.expectedStatus());
  }

  /**
   * Requests that differ from what Stripe sends only where Stripe's verification does not look, so
   * each must be accepted: 200 and published once. Signed with {@code secret} (or as stated).
   */
  List<WebhookRequest> benign(Random random) {
    List<WebhookRequest> requests = new ArrayList<>();
    String first = secrets.getFirst();
    String last = secrets.getLast();

    Draft reordered = signed(random, first);
    reordered.signature =
        "v1=" + signature(reordered.body, reordered.timestamp, first) + ",t=" + reordered.timestamp;
    requests.add(build("ELEMENTS_REORDERED", reordered, 200));

    Draft withV0 = signed(random, first);
    withV0.signature += ",v0=" + HexFormat.of().formatHex(randomBytes(random, 32));
    requests.add(build("EXTRA_V0_ELEMENT (Stripe adds one in test mode)", withV0, 200));

    Draft withUnknown = signed(random, first);
    withUnknown.signature += ",foo=bar";
    requests.add(build("UNKNOWN_ELEMENT", withUnknown, 200));

    Draft wrongThenRight = signed(random, first);
    wrongThenRight.signature =
        "t="
            + wrongThenRight.timestamp
            + ",v1="
            + HexFormat.of().formatHex(randomBytes(random, 32))
            + ",v1="
            + signature(wrongThenRight.body, wrongThenRight.timestamp, first);
    requests.add(build("A_WRONG_V1_BESIDE_THE_RIGHT_ONE", wrongThenRight, 200));

    Draft lowerCaseName = signed(random, first);
    lowerCaseName.headerName = "stripe-signature";
    requests.add(
        build("HEADER_NAME_LOWER_CASE (HTTP names are case-insensitive)", lowerCaseName, 200));

    Draft rotation = signed(random, first);
    rotation.signature =
        StripeWebhooks.signatureHeader(rotation.body, rotation.timestamp, first, last);
    requests.add(build("SIGNED_WITH_BOTH_SECRETS (rotation)", rotation, 200));

    Draft oldSecret = signed(random, last);
    requests.add(build("SIGNED_WITH_THE_OTHER_ACCEPTED_SECRET", oldSecret, 200));

    Draft leadingZero = signed(random, first);
    leadingZero.signature = leadingZero.signature.replace("t=", "t=0");
    requests.add(
        build(
            "TIMESTAMP_LEADING_ZERO (read as the same number, which is what is signed)",
            leadingZero,
            200));

    Draft plus = signed(random, first);
    plus.signature = plus.signature.replace("t=", "t=+");
    requests.add(build("TIMESTAMP_PLUS_SIGN (read as the same number)", plus, 200));

    Draft rightThenWrong = signed(random, first);
    rightThenWrong.signature =
        rightThenWrong.signature.replace(
            ",v1=", ",t=" + (rightThenWrong.timestamp - 1000) + ",v1=");
    requests.add(
        build("TIMESTAMP_DUPLICATED_RIGHT_FIRST (the first t= is read)", rightThenWrong, 200));

    Draft padded = signed(random, first);
    padded.signature = "  " + padded.signature + " \t";
    requests.add(build("HEADER_VALUE_PADDED (HTTP strips it)", padded, 200));

    Draft textPlain = signed(random, first);
    textPlain.contentType = "text/plain";
    requests.add(
        build("CONTENT_TYPE_TEXT_PLAIN (the raw bytes are what is signed)", textPlain, 200));

    Draft chunked = signed(random, first);
    chunked.chunked = true;
    requests.add(build("CHUNKED", chunked, 200));

    Draft atTolerance = signed(random, first);
    atTolerance.timestamp = nowSeconds.getAsLong() - TOLERANCE_SECONDS + 60;
    atTolerance.signature =
        StripeWebhooks.signatureHeader(atTolerance.body, atTolerance.timestamp, first);
    requests.add(build("TIMESTAMP_FOUR_MINUTES_OLD", atTolerance, 200));
    return requests;
  }

  // ---- building

  private Draft signed(Random random) {
    return signed(random, secrets.get(random.nextInt(secrets.size())));
  }

  private Draft signed(Random random, String secret) {
    Draft draft = new Draft();
    long now = nowSeconds.getAsLong();
    draft.body = StripeWebhooks.paymentIntentSucceeded(random, now - random.nextInt(60));
    draft.timestamp = now - random.nextInt(30);
    draft.secret = secret;
    draft.signature = StripeWebhooks.signatureHeader(draft.body, draft.timestamp, secret);
    return draft;
  }

  private static WebhookRequest build(String kind, Draft draft, int expectedStatus) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    if (draft.contentType != null) {
      headers.add(Map.entry("Content-Type", draft.contentType));
    }
    headers.add(Map.entry("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"));
    headers.addAll(draft.extraHeaders);
    if (draft.signature != null) {
      headers.add(Map.entry(draft.headerName, draft.signature));
    }
    return new WebhookRequest(
        kind,
        String.join("; ", draft.details),
        draft.body,
        headers,
        draft.chunked,
        draft.expectContinue,
        expectedStatus);
  }

  // ---- the mutations

  private void apply(Kind kind, Draft d, Random random) {
    switch (kind) {
      case BODY_BIT_FLIPS -> {
        int flips = 1 + random.nextInt(8);
        Set<Long> done = new HashSet<>();
        byte[] body = d.body.clone();
        while (done.size() < flips) {
          int position = random.nextInt(body.length);
          int bit = random.nextInt(8);
          if (done.add((long) position * 8 + bit)) {
            body[position] ^= (byte) (1 << bit);
          }
        }
        d.body = body;
        d.details.add(flips + " bit(s) flipped");
      }
      case BODY_BYTE_REPLACED -> {
        byte[] body = d.body.clone();
        int position = random.nextInt(body.length);
        byte replacement;
        do {
          replacement = (byte) random.nextInt(256);
        } while (replacement == body[position]);
        body[position] = replacement;
        d.body = body;
        d.details.add("byte " + position + " replaced");
      }
      case BODY_TRUNCATED -> {
        int length = random.nextInt(d.body.length);
        d.body = Arrays.copyOf(d.body, length);
        d.details.add("cut to " + length + " bytes");
      }
      case BODY_APPENDED -> {
        byte[] tail =
            pick(
                random,
                List.of(
                    " ".getBytes(StandardCharsets.UTF_8),
                    "\n".getBytes(StandardCharsets.UTF_8),
                    "\r\n".getBytes(StandardCharsets.UTF_8),
                    new byte[] {0},
                    "}".getBytes(StandardCharsets.UTF_8),
                    "{}".getBytes(StandardCharsets.UTF_8),
                    randomBytes(random, 1 + random.nextInt(16))));
        d.body = concat(d.body, tail);
        d.details.add(tail.length + " byte(s) appended");
      }
      case BODY_PREPENDED -> {
        byte[] head =
            pick(
                random,
                List.of(
                    new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                    " ".getBytes(StandardCharsets.UTF_8),
                    "\n".getBytes(StandardCharsets.UTF_8),
                    new byte[] {0}));
        d.body = concat(head, d.body);
        d.details.add(head.length + " byte(s) prepended (BOM, space, newline or NUL)");
      }
      case BODY_WHITESPACE_INSERTED -> {
        int position = random.nextInt(d.body.length + 1);
        byte[] space =
            pick(random, List.of(new byte[] {' '}, new byte[] {'\t'}, new byte[] {'\n'}));
        d.body =
            concat(
                concat(Arrays.copyOf(d.body, position), space),
                Arrays.copyOfRange(d.body, position, d.body.length));
        d.details.add("whitespace at " + position);
      }
      case BODY_COMPACTED -> {
        d.body = write(tree(d.body), false);
        d.details.add("re-serialized without whitespace");
      }
      case BODY_REFORMATTED -> {
        d.body = write(tree(d.body), true);
        d.details.add("re-serialized by another pretty printer");
      }
      case BODY_KEYS_REORDERED -> {
        ObjectNode original = (ObjectNode) tree(d.body);
        ObjectNode reordered = Json.mapper().createObjectNode();
        List<String> names = new ArrayList<>();
        original.fieldNames().forEachRemaining(names::add);
        for (String name : names.reversed()) {
          reordered.set(name, original.get(name));
        }
        d.body = write(reordered, true);
        d.details.add("top-level keys in reverse order");
      }
      case BODY_CRLF -> {
        d.body = replace(d.body, "\n", "\r\n");
        d.details.add("LF line ends turned into CRLF");
      }
      case BODY_UNICODE_ESCAPED -> {
        boolean accent = random.nextBoolean();
        d.body =
            accent
                ? replace(d.body, "é", "\\u00e9")
                : replace(d.body, "\"object\": \"event\"", "\"object\": \"\\u0065vent\"");
        d.details.add(accent ? "é written as \\u00e9" : "\"event\" written as \"\\u0065vent\"");
      }
      case BODY_NFD -> normalize(d, Normalizer.Form.NFD);
      case BODY_NFKC -> normalize(d, Normalizer.Form.NFKC);
      case BODY_NFKD -> normalize(d, Normalizer.Form.NFKD);
      case BODY_UTF16 -> {
        Charset charset =
            pick(
                random,
                List.of(
                    StandardCharsets.UTF_16, StandardCharsets.UTF_16BE, StandardCharsets.UTF_16LE));
        d.body = StripeWebhooks.text(d.body).getBytes(charset);
        d.details.add("re-encoded as " + charset);
      }
      case BODY_LATIN1 -> {
        d.body = StripeWebhooks.text(d.body).getBytes(StandardCharsets.ISO_8859_1);
        d.details.add("re-encoded as ISO-8859-1");
      }
      case BODY_GZIPPED -> {
        d.body = gzip(d.body);
        d.extraHeaders.add(Map.entry("Content-Encoding", "gzip"));
        d.details.add("gzipped, with Content-Encoding: gzip");
      }
      case BODY_BASE64 -> {
        d.body = Base64.getEncoder().encode(d.body);
        d.contentType = "text/plain";
        d.details.add("base64");
      }
      case BODY_FORM_ENCODED -> {
        d.body =
            ("payload=" + URLEncoder.encode(StripeWebhooks.text(d.body), StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8);
        d.contentType = "application/x-www-form-urlencoded";
        d.details.add("sent as a form");
      }
      case BODY_DOUBLED -> {
        d.body = concat(d.body, d.body);
        d.details.add("body sent twice");
      }
      case BODY_EMPTIED -> {
        d.body = new byte[0];
        d.details.add("no body");
      }
      case BODY_AMOUNT_TAMPERED -> {
        String amount = Integer.toString(1 + random.nextInt(499));
        d.body = replace(d.body, "\"amount\": 500", "\"amount\": " + amount);
        d.details.add("amount changed to " + amount);
      }
      case BODY_TYPE_TAMPERED -> {
        String type =
            pick(
                random,
                List.of("charge.refunded", "charge.dispute.created", "payment_intent.canceled"));
        d.body = replace(d.body, "\"payment_intent.succeeded\"", "\"" + type + "\"");
        d.details.add("type changed to " + type);
      }
      case BODY_OF_ANOTHER_EVENT -> {
        d.body = StripeWebhooks.paymentIntentSucceeded(random, d.timestamp);
        d.details.add("the signature of one event on the body of another");
      }
      case HEADER_MISSING -> {
        d.signature = null;
        d.details.add("no Stripe-Signature");
      }
      case HEADER_EMPTY -> {
        d.signature = "";
        d.details.add("empty Stripe-Signature");
      }
      case HEADER_RENAMED -> {
        d.headerName =
            pick(
                random,
                List.of(
                    "Stripe-Signatures",
                    "X-Stripe-Signature",
                    "Stripe_Signature",
                    "StripeSignature",
                    "Signature"));
        d.details.add("header named " + d.headerName);
      }
      case HEADER_DUPLICATED_FORGED_FIRST -> {
        String valid = d.signature;
        d.extraHeaders.add(Map.entry(HEADER, forgedSignature(d, random)));
        d.signature = valid;
        d.details.add("a forged Stripe-Signature line before the valid one");
      }
      case SIGNATURE_HEX_CHANGED -> {
        String v1 = v1(d);
        int position = random.nextInt(v1.length());
        char replacement;
        do {
          replacement = "0123456789abcdef".charAt(random.nextInt(16));
        } while (replacement == v1.charAt(position));
        setV1(d, v1.substring(0, position) + replacement + v1.substring(position + 1));
        d.details.add("hex digit " + position + " changed");
      }
      case SIGNATURE_UPPER_CASE -> {
        String v1 = v1(d);
        String upper = v1.toUpperCase(Locale.ROOT);
        if (upper.equals(v1)) { // no a-f at all: astronomically rare, but make it a change
          upper = "A" + v1.substring(1);
        }
        setV1(d, upper);
        d.details.add("hex in upper case");
      }
      case SIGNATURE_TRUNCATED -> {
        String v1 = v1(d);
        int cut = 1 + random.nextInt(v1.length() - 1);
        setV1(d, random.nextBoolean() ? v1.substring(cut) : v1.substring(0, v1.length() - cut));
        d.details.add(cut + " hex digits cut");
      }
      case SIGNATURE_EXTENDED -> {
        String extra = HexFormat.of().formatHex(randomBytes(random, 1 + random.nextInt(4)));
        setV1(d, v1(d) + extra);
        d.details.add(extra.length() + " hex digits appended");
      }
      case SIGNATURE_EMPTY -> {
        setV1(d, "");
        d.details.add("v1=");
      }
      case SIGNATURE_WRONG_SCHEME -> {
        String scheme =
            pick(
                random,
                List.of("v0=", "v2=", "V1=", "v=", "v1 =", " v1=", "v01=", "s1=", "sha256="));
        d.signature = d.signature.replace(",v1=", "," + scheme);
        d.details.add("scheme " + scheme.strip());
      }
      case SIGNATURE_BASE64 -> {
        setV1(d, Base64.getEncoder().encodeToString(HexFormat.of().parseHex(v1(d))));
        d.details.add("the digest in base64");
      }
      case SIGNATURE_OTHER_SECRET -> {
        String secret = otherSecret(d.secret, random);
        d.signature = StripeWebhooks.signatureHeader(d.body, d.timestamp, secret);
        d.details.add("signed with another secret");
      }
      case SIGNATURE_WRONG_ALGORITHM -> {
        String algorithm = pick(random, List.of("HmacSHA1", "HmacSHA512", "HmacMD5", "SHA-256"));
        String payload = d.timestamp + "." + StripeWebhooks.text(d.body);
        setV1(d, digest(algorithm, d.secret, payload));
        d.details.add("digest " + algorithm);
      }
      case SIGNATURE_WRONG_SIGNED_PAYLOAD -> {
        String text = StripeWebhooks.text(d.body);
        int choice = random.nextInt(5);
        String payload =
            switch (choice) {
              case 0 -> text;
              case 1 -> d.timestamp + ":" + text;
              case 2 -> d.timestamp + text;
              case 3 -> text + "." + d.timestamp;
              default -> (d.timestamp * 1000) + "." + text;
            };
        setV1(d, digest("HmacSHA256", d.secret, payload));
        d.details.add("HMAC of another payload shape (" + choice + ")");
      }
      case TIMESTAMP_SHIFTED -> {
        long shift = (1 + random.nextInt(1_000_000)) * (random.nextBoolean() ? 1L : -1L);
        d.signature = d.signature.replace("t=" + d.timestamp, "t=" + (d.timestamp + shift));
        d.details.add("t shifted by " + shift + " s, signature kept");
      }
      case TIMESTAMP_STALE_RESIGNED -> {
        long age = TOLERANCE_SECONDS + 1 + random.nextInt(30 * 86_400);
        d.timestamp = nowSeconds.getAsLong() - age;
        d.signature = StripeWebhooks.signatureHeader(d.body, d.timestamp, d.secret);
        d.details.add("correctly signed " + age + " s ago");
      }
      case TIMESTAMP_UNPARSEABLE -> {
        String t = Long.toString(d.timestamp);
        String value =
            pick(
                random,
                List.of(
                    "",
                    "abc",
                    "0",
                    "-1",
                    "-" + t,
                    "1e9",
                    "0x" + Long.toHexString(d.timestamp),
                    " " + t,
                    t + " ",
                    t + ".0",
                    "99999999999999999999",
                    t + t));
        d.signature = d.signature.replace("t=" + t, "t=" + value);
        d.details.add("t=" + value);
      }
      case TIMESTAMP_MISSING -> {
        d.signature = d.signature.replace("t=" + d.timestamp + ",", "");
        d.details.add("no t=");
      }
      case TIMESTAMP_DUPLICATED_WRONG_FIRST -> {
        long wrong = d.timestamp + 1 + random.nextInt(600);
        d.signature = "t=" + wrong + "," + d.signature;
        d.details.add("t=" + wrong + " before the signed t=");
      }
      case HEADER_KEYS_MIXED_CASE -> {
        int choice = random.nextInt(3);
        d.signature =
            switch (choice) {
              case 0 -> d.signature.replace("t=", "T=");
              case 1 -> d.signature.replace("v1=", "V1=");
              default -> d.signature.replace("t=", "T=").replace("v1=", "V1=");
            };
        d.details.add("keys in another case (" + choice + ")");
      }
      case HEADER_WHITESPACE_INSIDE -> {
        String t = Long.toString(d.timestamp);
        String v1 = v1(d);
        String value =
            pick(
                random,
                List.of(
                    "t=" + t + ", v1=" + v1,
                    "t =" + t + ",v1=" + v1,
                    "t= " + t + ",v1=" + v1,
                    "t=" + t + ",v1= " + v1,
                    "t=" + t + ",v1 =" + v1,
                    "t=" + t + "\t,v1=" + v1,
                    "t=" + t + ",\tv1=" + v1,
                    "t=" + t + " ,v1=" + v1));
        d.signature = value;
        d.details.add("whitespace inside the value");
      }
      case HEADER_SEPARATOR_CHANGED -> {
        String separator = pick(random, List.of(";", "&", " ", "|", ", "));
        d.signature = d.signature.replace(",", separator);
        d.details.add("elements separated by '" + separator + "'");
      }
      case OVERSIZE, OVERSIZE_CHUNKED -> {
        int size = ONE_MIB + 1 + random.nextInt(64 * 1024);
        d.body = ofSize(d.body, size);
        d.signature = StripeWebhooks.signatureHeader(d.body, d.timestamp, d.secret);
        d.chunked = kind == Kind.OVERSIZE_CHUNKED;
        // A 413 sent from the declared length, before the body is read, races the body still
        // being sent: the server's close can reset the connection before the client reads the
        // answer. Expect: 100-continue lets the answer arrive first, so the status is checked.
        d.expectContinue = kind == Kind.OVERSIZE;
        d.details.add("correctly signed, " + size + " bytes");
      }
      case STACKED -> {
        int wanted = 2 + random.nextInt(2);
        List<Kind> stackable =
            Arrays.stream(Kind.values())
                .filter(k -> k != Kind.STACKED && k.expectedStatus() == 400)
                .toList();
        int applied = 0;
        for (int attempt = 0; applied < wanted && attempt < 50; attempt++) {
          Kind next = stackable.get(random.nextInt(stackable.size()));
          if (!applicable(next, d)) {
            continue; // an earlier step left nothing for it to change
          }
          d.details.add(next.name());
          apply(next, d, random);
          applied++;
        }
      }
    }
  }

  /** Whether {@code kind} can still change {@code d} (for stacking on earlier mutations). */
  private static boolean applicable(Kind kind, Draft d) {
    String text = StripeWebhooks.text(d.body);
    return switch (kind) {
      case BODY_COMPACTED, BODY_REFORMATTED, BODY_KEYS_REORDERED -> isJsonObject(d.body);
      case BODY_CRLF -> text.contains("\n");
      case BODY_UNICODE_ESCAPED -> text.contains("é") && text.contains("\"object\": \"event\"");
      case BODY_AMOUNT_TAMPERED -> text.contains("\"amount\": 500");
      case BODY_TYPE_TAMPERED -> text.contains("\"payment_intent.succeeded\"");
      case BODY_BIT_FLIPS, BODY_BYTE_REPLACED, BODY_TRUNCATED -> d.body.length > 0;
      case BODY_NFD, BODY_NFKC, BODY_NFKD, BODY_LATIN1 -> text.contains("é");
      case HEADER_MISSING, HEADER_EMPTY, HEADER_RENAMED, HEADER_SEPARATOR_CHANGED ->
          d.signature != null && !d.signature.isEmpty() && d.extraHeaders.isEmpty();
      case TIMESTAMP_SHIFTED,
          TIMESTAMP_UNPARSEABLE,
          TIMESTAMP_MISSING,
          TIMESTAMP_DUPLICATED_WRONG_FIRST,
          TIMESTAMP_STALE_RESIGNED,
          SIGNATURE_OTHER_SECRET,
          SIGNATURE_WRONG_SCHEME,
          HEADER_KEYS_MIXED_CASE ->
          d.signature != null && d.signature.startsWith("t=" + d.timestamp + ",v1=");
      default ->
          kind.name().startsWith("BODY_")
              || hasV1(d) && d.signature.startsWith("t=" + d.timestamp + ",v1=");
    };
  }

  private static boolean hasV1(Draft d) {
    return d.signature != null
        && d.signature.contains(",v1=")
        && d.signature.substring(d.signature.indexOf(",v1=") + 4).matches("[0-9a-f]{64}");
  }

  private static boolean isJsonObject(byte[] body) {
    try {
      return Json.mapper().readTree(body) instanceof ObjectNode;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private String forgedSignature(Draft d, Random random) {
    return "t="
        + d.timestamp
        + ",v1="
        + digest(
            "HmacSHA256",
            otherSecret(d.secret, random),
            d.timestamp + "." + StripeWebhooks.text(d.body));
  }

  /** A secret the gateway does not hold: another endpoint's, or a near miss of its own. */
  private String otherSecret(String secret, Random random) {
    List<String> candidates = new ArrayList<>(otherSecrets);
    candidates.add(secret.toUpperCase(Locale.ROOT));
    candidates.add(secret.substring("whsec_".length()));
    candidates.add(secret + "\n");
    candidates.add(secret + " ");
    candidates.add(secret.substring(0, secret.length() - 1));
    candidates.add(secret + "0");
    return pick(random, candidates);
  }

  private static String v1(Draft d) {
    int at = d.signature.indexOf(",v1=");
    if (at < 0) {
      throw new IllegalStateException("no v1 in " + d.signature);
    }
    return d.signature.substring(at + 4);
  }

  private static void setV1(Draft d, String v1) {
    d.signature = d.signature.substring(0, d.signature.indexOf(",v1=") + 4) + v1;
  }

  private static void normalize(Draft d, Normalizer.Form form) {
    d.body =
        Normalizer.normalize(StripeWebhooks.text(d.body), form).getBytes(StandardCharsets.UTF_8);
    d.details.add("Unicode " + form);
  }

  /** The event with its description padded so the body is exactly {@code size} bytes. */
  static byte[] ofSize(byte[] body, int size) {
    String marker = "\"description\": \"";
    String text = StripeWebhooks.text(body);
    int at = text.indexOf(marker) + marker.length();
    int padding = size - body.length;
    String padded = text.substring(0, at) + "x".repeat(padding) + text.substring(at);
    byte[] bytes = padded.getBytes(StandardCharsets.UTF_8);
    if (bytes.length != size) {
      throw new IllegalStateException("padded to " + bytes.length + ", not " + size);
    }
    return bytes;
  }

  private static String digest(String algorithm, String secret, String payload) {
    try {
      byte[] data = payload.getBytes(StandardCharsets.UTF_8);
      if (algorithm.startsWith("Hmac")) {
        Mac mac = Mac.getInstance(algorithm);
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), algorithm));
        return HexFormat.of().formatHex(mac.doFinal(data));
      }
      return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String signature(byte[] body, long timestamp, String secret) {
    return StripeWebhooks.signature(body, timestamp, secret);
  }

  private static JsonNode tree(byte[] body) {
    try {
      return Json.mapper().readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] write(JsonNode node, boolean pretty) {
    try {
      return pretty
          ? Json.mapper().writer(new DefaultPrettyPrinter()).writeValueAsBytes(node)
          : Json.mapper().writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] gzip(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
      gzip.write(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static byte[] replace(byte[] body, String target, String replacement) {
    String text = StripeWebhooks.text(body);
    if (!text.contains(target)) {
      throw new IllegalStateException("no '" + target + "' in the body");
    }
    return text.replace(target, replacement).getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] joined = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, joined, a.length, b.length);
    return joined;
  }

  private static byte[] randomBytes(Random random, int count) {
    byte[] bytes = new byte[count];
    random.nextBytes(bytes);
    return bytes;
  }

  private static <T> T pick(Random random, List<T> choices) {
    return choices.get(random.nextInt(choices.size()));
  }
}
