package io.marketplace.payments.embedded;

/** A fixed port asked of an embedded server is already taken by another process. */
public final class PortInUseException extends IllegalStateException {

  private final int port;

  public PortInUseException(String server, int port) {
    super(server + " cannot listen on port " + port + ": the port is already in use");
    this.port = port;
  }

  public int port() {
    return port;
  }
}
