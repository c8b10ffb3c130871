package io.marketplace.payments.stripeemulator.http;

/** An endpoint: parses its parameters, delegates, and returns the object to answer. */
@FunctionalInterface
public interface ApiHandler {
  ApiResponse handle(ApiRequest request);
}
