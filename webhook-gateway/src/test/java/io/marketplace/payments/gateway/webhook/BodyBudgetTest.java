package io.marketplace.payments.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BodyBudgetTest {

  private static final long MAX_BODY = 1024 * 1024;

  @Test
  void shouldRefuseRoomWhenLargeBodiesFillTheBudgetAndGiveItBackWhenTheyAreDone() {
    // Given a budget of two largest bodies, all of it open to one address
    BodyBudget budget = new BodyBudget(2 * MAX_BODY, 2 * MAX_BODY);

    // When two bodies have grown to 1 MiB each
    BodyBudget.Reservation first = budget.open("10.0.0.1");
    BodyBudget.Reservation second = budget.open("10.0.0.2");
    assertThat(first.growTo(MAX_BODY)).isTrue();
    assertThat(second.growTo(MAX_BODY)).isTrue();

    // Then a third finds no room for its first byte until one of the first two is done
    BodyBudget.Reservation third = budget.open("10.0.0.3");
    assertThat(third.growTo(1)).isFalse();
    first.close();
    assertThat(third.growTo(3_000)).isTrue();
    second.close();
    third.close();
    assertThat(budget.availableKib()).isEqualTo(2 * 1024);
  }

  @Test
  void shouldLendRoomOfTheWholeBudgetOnlyAndTakeItBackWhenTheWorkIsDone() {
    // Given a budget of 16 MiB of which one address (an ingress: every sender) may hold 1 MiB,
    // and a 1 MiB body of it arrived
    BodyBudget budget = new BodyBudget(16 * MAX_BODY, MAX_BODY);
    BodyBudget.Reservation body = budget.open("10.0.0.1");
    assertThat(body.growTo(MAX_BODY)).isTrue();

    // When its signature check borrows 14 MiB, then another 2 MiB is asked for
    java.util.Optional<BodyBudget.Loan> verifying = budget.lend(14 * MAX_BODY);
    assertThat(verifying).isPresent();
    assertThat(budget.lend(2 * MAX_BODY)).isEmpty();

    // Then, once the check is done, the room is the budget's again; the address's share was never
    // charged for it
    verifying.get().close();
    assertThat(budget.availableKib()).isEqualTo(15 * 1024);
    assertThat(budget.lend(2 * MAX_BODY)).isPresent();
    body.close();
  }

  @Test
  void shouldHoldOnlyWhatArrivedWhenBodiesAreSlow() {
    // Given the gateway's budget
    BodyBudget budget =
        new BodyBudget(WebhookController.BODY_BUDGET_BYTES, WebhookController.BODY_BUDGET_BYTES);

    // When 10,000 bodies have each sent their first KiB (whatever length they declared)
    for (int i = 0; i < 10_000; i++) {
      assertThat(budget.open("10.0.0." + (i % 200)).growTo(1_000)).isTrue();
    }

    // Then they hold 10,000 KiB, and a real event still finds room
    assertThat(budget.availableKib()).isEqualTo(64 * 1024 - 10_000);
    assertThat(budget.open("10.9.9.9").growTo(4_000)).isTrue();
  }

  @Test
  void shouldRefuseAnAddressOverItsShareWhileOthersStillFindRoom() {
    // Given a budget of 4 MiB of which one address may hold 1 MiB
    BodyBudget budget = new BodyBudget(4 * MAX_BODY, MAX_BODY);

    // When one address holds its 1 MiB
    BodyBudget.Reservation greedy = budget.open("10.0.0.1");
    assertThat(greedy.growTo(MAX_BODY)).isTrue();

    // Then it gets no more, another address does, and it gets room again once it is done
    assertThat(budget.open("10.0.0.1").growTo(1)).isFalse();
    assertThat(greedy.growTo(MAX_BODY + 1)).isFalse();
    assertThat(budget.open("10.0.0.2").growTo(MAX_BODY)).isTrue();
    greedy.close();
    assertThat(budget.open("10.0.0.1").growTo(1)).isTrue();
  }
}
