package io.marketplace.payments.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BodyBudgetTest {

  private static final long MAX_BODY = 1024 * 1024;

  @Test
  void shouldRefuseRoomWhenLargeBodiesFillTheBudgetAndGiveItBackWhenTheyAreDone() {
    // Given a budget of two largest bodies
    BodyBudget budget = new BodyBudget(2 * MAX_BODY);

    // When two bodies of unknown length (chunked) hold room, a third finds none
    BodyBudget.Reservation first = budget.reserve(-1, MAX_BODY, 0);
    BodyBudget.Reservation second = budget.reserve(-1, MAX_BODY, 0);
    BodyBudget.Reservation third = budget.reserve(3_000, MAX_BODY, 0);

    // Then the third is refused until one of the first two is done
    assertThat(first).isNotNull();
    assertThat(second).isNotNull();
    assertThat(third).isNull();
    first.close();
    try (BodyBudget.Reservation afterwards = budget.reserve(3_000, MAX_BODY, 0)) {
      assertThat(afterwards).isNotNull();
    }
    second.close();
  }

  @Test
  void shouldHoldRoomForThousandsOfRealEventsAtOnce() {
    // Given the gateway's budget
    BodyBudget budget = new BodyBudget(WebhookController.BODY_BUDGET_BYTES);

    // When 10,000 events of 4 KB arrive at once, then every one finds room
    for (int i = 0; i < 10_000; i++) {
      assertThat(budget.reserve(4_000, MAX_BODY, 0)).isNotNull();
    }
  }
}
