package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.marketplace.payments.stripeemulator.http.Params;
import io.marketplace.payments.stripeemulator.http.StripeError;
import org.junit.jupiter.api.Test;

class ParamsTest {

  @Test
  void shouldNestHashesWhenKeysUseBrackets() {
    // When
    Params params =
        Params.parse(
            "amount=500&metadata%5Blisting_id%5D=L-1&metadata[user_id]=u%2B1"
                + "&automatic_payment_methods[enabled]=true");

    // Then
    assertThat(params.integer("amount")).contains(500L);
    assertThat(params.stringMap("metadata"))
        .containsEntry("listing_id", "L-1")
        .containsEntry("user_id", "u+1");
    assertThat(params.nested("automatic_payment_methods").bool("enabled")).contains(true);
  }

  @Test
  void shouldReadArraysWhenIndexedOrAppended() {
    // When
    Params indexed = Params.parse("expand[1]=b&expand[0]=a");
    Params appended = Params.parse("expand[]=a&expand[]=b");
    Params created = Params.parse("created[gte]=10&created[lte]=20");

    // Then
    assertThat(indexed.stringList("expand")).containsExactly("a", "b");
    assertThat(appended.stringList("expand")).containsExactly("a", "b");
    assertThat(created.nested("created").integer("gte")).contains(10L);
  }

  @Test
  void shouldGiveSameFingerprintWhenOnlyOrderDiffers() {
    // Then
    assertThat(Params.parse("a=1&metadata[x]=2&metadata[y]=3").fingerprint())
        .isEqualTo(Params.parse("metadata[y]=3&a=1&metadata[x]=2").fingerprint());
    assertThat(Params.parse("a=1").fingerprint()).isNotEqualTo(Params.parse("a=2").fingerprint());
  }

  @Test
  void shouldRejectWhenIntegerIsNotANumber() {
    // When
    StripeError error =
        catchThrowableOfType(StripeError.class, () -> Params.parse("amount=abc").integer("amount"));

    // Then
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.code()).isEqualTo("parameter_invalid_integer");
    assertThat(error.param()).isEqualTo("amount");
  }
}
