package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.ops.OpsContext;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ./payments demo} against a running stack, told as steps the developer reads: a card that
 * declines is the outcome asked for, in Stripe's words; a free category has nothing to pay. Neither
 * needs the payment processor, so the stack runs without it.
 */
class DemoCommandTest {

  @TempDir static Path dataDir;

  private static LocalStack stack;

  @BeforeAll
  static void startStack() throws Exception {
    stack =
        LocalStack.start(
            dataDir, StackPorts.anyFree(), Set.of(LocalStack.Worker.PAYMENT_PROCESSOR), l -> {});
  }

  @AfterAll
  static void stopStack() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void shouldTellADeclinedCardInTwoLinesNamingStripesDeclineCode() {
    // When the developer pays the demo's listing with the card that declines
    Run run = demo("--card", "pm_card_chargeDeclined");

    // Then the decline is step 4, with Stripe's code and message, and the listing left to pay
    assertThat(run.exit).as(run.shown()).isEqualTo(1);
    assertThat(run.err).as(run.shown()).isEmpty();
    assertThat(run.out.lines())
        .as(run.shown())
        .hasSize(5)
        .contains(
            "4. paid with pm_card_chargeDeclined at Stripe: declined (card_declined,"
                + " generic_decline): Your card was declined.");
    assertThat(run.out).as(run.shown()).contains("stays pending_payment");
  }

  @Test
  void shouldSayAListingOfAFreeCategoryIsActiveAtOnceWithNothingToPay() {
    // When the developer runs the demo in a category that charges no posting fee
    Run run = demo("--category", "for-sale");

    // Then the listing is active from its creation, and the demo ends there, successfully, rather
    // than dumping the API's refusal of a checkout there is no reason for
    assertThat(run.exit).as(run.shown()).isZero();
    assertThat(run.err).as(run.shown()).isEmpty();
    assertThat(run.out.lines().toList())
        .as(run.shown())
        .hasSize(3)
        .anySatisfy(line -> assertThat(line).contains("created in for-sale: active"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains("for-sale charges no posting fee")
                    .contains("nothing to pay"));
  }

  private static Run demo(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        PaymentsCommand.commandLine(new OpsContext(Env.of(stack.env()), Clock.systemUTC()));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] command = new String[args.length + 1];
    command[0] = "demo";
    System.arraycopy(args, 0, command, 1, args.length);
    int exit = cli.execute(command);
    return new Run(exit, out.toString(), err.toString());
  }

  private record Run(int exit, String out, String err) {
    String shown() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }
}
