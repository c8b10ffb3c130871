package io.marketplace.payments.checkout.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The hand-written OpenAPI document of this service, served at {@code /openapi.json}. A test keeps
 * it and the registered routes in step.
 */
public final class OpenApi {

  public static final String RESOURCE = "/openapi.json";

  private final byte[] document;

  private OpenApi(byte[] document) {
    this.document = document;
  }

  public static OpenApi load() {
    try (InputStream in = OpenApi.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the OpenAPI document " + RESOURCE + " is missing");
      }
      return new OpenApi(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  public void serve(Context ctx) {
    ctx.contentType(Reply.JSON);
    ctx.result(document);
  }
}
