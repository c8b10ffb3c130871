package io.marketplace.payments.stripeemulator.http;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Stripe's list answer: {@code {"object":"list","data":[...],"has_more","url"}}, newest first,
 * filtered by {@code created} ({@code created=T} or {@code created[gt|gte|lt|lte]=T}), paged with
 * {@code limit} (1..100, default 10), {@code starting_after} and {@code ending_before}.
 */
public final class ListPage {
  private ListPage() {}

  public static <T extends Listed> Map<String, Object> of(
      String url, String objectName, List<T> items, Params params) {
    Predicate<Listed> created = createdFilter(params);
    long limit = params.integer("limit").orElse(10L);
    if (limit < 1 || limit > 100) {
      throw StripeError.invalidRequest(
          limit < 1
              ? "This value must be greater than or equal to 1."
              : "This value must be less than or equal to 100.",
          "limit",
          "parameter_invalid_integer");
    }
    List<T> newestFirst =
        items.stream()
            .filter(created)
            .sorted(Comparator.comparingLong(Listed::sequence).reversed())
            .toList();
    Optional<String> startingAfter = params.nonEmptyString("starting_after");
    Optional<String> endingBefore = params.nonEmptyString("ending_before");
    List<T> page;
    boolean hasMore;
    if (endingBefore.isPresent()) {
      int cursor =
          position(newestFirst, items, endingBefore.get(), objectName, "ending_before", false);
      int from = (int) Math.max(0, cursor - limit);
      page = newestFirst.subList(from, Math.max(from, cursor));
      hasMore = from > 0;
    } else {
      int from =
          startingAfter.isPresent()
              ? position(
                  newestFirst, items, startingAfter.get(), objectName, "starting_after", true)
              : 0;
      int to = (int) Math.min(newestFirst.size(), from + limit);
      page = newestFirst.subList(Math.min(from, to), to);
      hasMore = to < newestFirst.size();
    }
    List<Map<String, Object>> data = new ArrayList<>();
    page.forEach(item -> data.add(item.toJson()));
    Map<String, Object> list = new LinkedHashMap<>();
    list.put("object", "list");
    list.put("data", data);
    list.put("has_more", hasMore);
    list.put("url", url);
    return list;
  }

  /**
   * How many listed items are newer than the cursor ({@code inclusive}: or are the cursor). A
   * cursor outside the {@code created} window still pages: its place is where it would sort.
   */
  private static <T extends Listed> int position(
      List<T> newestFirst,
      List<T> all,
      String id,
      String objectName,
      String param,
      boolean inclusive) {
    long cursor =
        all.stream()
            .filter(i -> i.id().equals(id))
            .findFirst()
            .orElseThrow(() -> StripeError.noSuchParam(objectName, id, param))
            .sequence();
    return (int)
        newestFirst.stream()
            .filter(i -> inclusive ? i.sequence() >= cursor : i.sequence() > cursor)
            .count();
  }

  private static Predicate<Listed> createdFilter(Params params) {
    if (!params.has("created")) {
      return item -> true;
    }
    if (!(params.asMap().get("created") instanceof Map)) {
      long exact = params.integer("created").orElseThrow(() -> StripeError.missingParam("created"));
      return item -> item.created() == exact;
    }
    Params range = params.nested("created");
    Predicate<Listed> filter = item -> true;
    for (String op : List.of("gt", "gte", "lt", "lte")) {
      Optional<Long> bound = range.integer(op);
      if (bound.isEmpty()) {
        continue;
      }
      long b = bound.get();
      Predicate<Listed> p =
          switch (op) {
            case "gt" -> item -> item.created() > b;
            case "gte" -> item -> item.created() >= b;
            case "lt" -> item -> item.created() < b;
            default -> item -> item.created() <= b;
          };
      filter = filter.and(p);
    }
    return filter;
  }
}
