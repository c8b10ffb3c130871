package io.marketplace.payments.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A webhook request written and read byte by byte, for tests that hold a socket's timing. */
final class RawWebhook {

  private RawWebhook() {}

  /**
   * The head of a {@code POST /webhooks/stripe} of {@code body}, signed now with {@code secret}.
   */
  static byte[] signedHead(byte[] body, String secret) {
    return ("POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Stripe-Signature: "
            + StripeSignatures.header(body, System.currentTimeMillis() / 1000, secret)
            + "\r\nContent-Length: "
            + body.length
            + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Reads a response's status line and headers. */
  static String readHead(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (head.indexOf("\r\n\r\n") < 0) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after: " + head);
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
