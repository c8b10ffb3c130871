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
  void shouldGiveBackTheRoomOfAVerificationOnceItIsDone() {
    // Given a budget of 16 MiB, and a 1 MiB body that took room for its verification's copies
    BodyBudget budget = new BodyBudget(16 * MAX_BODY, 16 * MAX_BODY);
    BodyBudget.Reservation verifying = budget.open("10.0.0.1");
    assertThat(verifying.growTo(15 * MAX_BODY)).isTrue();
    assertThat(budget.open("10.0.0.2").growTo(2 * MAX_BODY)).isFalse();

    // When the verification is done and the body waits for the broker
    verifying.shrinkTo(MAX_BODY);

    // Then it holds its body only, and others find the rest
    assertThat(budget.availableKib()).isEqualTo(15 * 1024);
    assertThat(budget.open("10.0.0.2").growTo(2 * MAX_BODY)).isTrue();
    verifying.close();
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
