package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.ops.OpsContext;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ./payments demo --card ...} with one of Stripe's test cards: a card that declines is the
 * outcome the developer asked for, told in Stripe's words, not a dump of the PaymentIntent.
 */
class DemoCommandTest {

  @TempDir Path dataDir;

  @Test
  void shouldTellADeclinedCardInTwoLinesNamingStripesDeclineCode() throws Exception {
    // Given a running stack (a decline needs no payment processor)
    try (LocalStack stack =
        LocalStack.start(
            dataDir, StackPorts.anyFree(), Set.of(LocalStack.Worker.PAYMENT_PROCESSOR), l -> {})) {

      // When the developer pays the demo's listing with the card that declines
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cli =
          PaymentsCommand.commandLine(new OpsContext(Env.of(stack.env()), Clock.systemUTC()));
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(err, true));
      int exit = cli.execute("demo", "--card", "pm_card_chargeDeclined");

      // Then the decline is step 4, with Stripe's code and message, and the listing left to pay
      String shown = "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
      assertThat(exit).as(shown).isEqualTo(1);
      assertThat(err.toString()).as(shown).isEmpty();
      assertThat(out.toString().lines())
          .as(shown)
          .hasSize(5)
          .contains(
              "4. paid with pm_card_chargeDeclined at Stripe: declined (card_declined,"
                  + " generic_decline): Your card was declined.");
      assertThat(out.toString()).as(shown).contains("stays pending_payment");
    }
  }
}
