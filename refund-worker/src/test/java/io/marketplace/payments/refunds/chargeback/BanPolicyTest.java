package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BanPolicyTest {

  @Test
  void shouldBanWhenAUserHasTwoOrMoreChargebacks() {
    assertThat(BanPolicy.shouldBan(0)).isFalse();
    assertThat(BanPolicy.shouldBan(1)).isFalse();
    assertThat(BanPolicy.shouldBan(2)).isTrue();
    assertThat(BanPolicy.shouldBan(3)).isTrue();
  }

  @Test
  void shouldTreatWarningStatusesAsInquiries() {
    assertThat(BanPolicy.isInquiry("warning_needs_response")).isTrue();
    assertThat(BanPolicy.isInquiry("warning_under_review")).isTrue();
    assertThat(BanPolicy.isInquiry("warning_closed")).isTrue();
    assertThat(BanPolicy.isInquiry("needs_response")).isFalse();
    assertThat(BanPolicy.isInquiry("lost")).isFalse();
  }

  @Test
  void shouldTellClosedDisputes() {
    assertThat(BanPolicy.isClosed("won")).isTrue();
    assertThat(BanPolicy.isClosed("lost")).isTrue();
    assertThat(BanPolicy.isClosed("warning_closed")).isTrue();
    assertThat(BanPolicy.isClosed("under_review")).isFalse();
  }
}
