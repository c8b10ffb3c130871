package io.marketplace.payments.risk;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The distinct members of one signal of one user in one window. {@code crossed} is true only on the
 * update that brought the count to the threshold, so a signal is emitted once per window however
 * many more members arrive. A window already past the threshold when it is lowered (the service
 * restarted with a lower one) crosses at its next new member.
 *
 * <p>A super_admin's clear of the user ({@link Observation#clear()}) restarts the count from the
 * clear: only members dated after it count from then on, and reaching the threshold again emits one
 * more signal for the window, whose id names the clear ({@link RiskSignal#idFor(String, Signal,
 * Instant, Instant)}). A member dated at or before the latest clear counts toward nothing (the
 * admin's review covered it), in whatever order the clear and the members arrive; the same clear
 * again (a replay), or an earlier one arriving late, changes nothing.
 *
 * @param members the members seen, at most as many as the threshold: until the signal is raised
 *     every member (enough to tell a repeat from a new one), then the latest by time (enough to
 *     count again from a clear made before them)
 * @param count the distinct members counted since the latest clear (since the window began when
 *     there is none)
 * @param crossedAt when the count reached the threshold: the latest time among the members counted
 *     then, whatever order they arrived in (a late event arriving last does not date the crossing
 *     back, before an admin's clear that the others followed)
 * @param latestAt the latest time among the members counted so far (null in a tally stored before
 *     it was kept: then the times of the members added since)
 * @param times the latest time of each of {@code members}, in the same order (null in a tally
 *     stored before they were kept: those members are taken to be from before any clear)
 * @param clearedAt the latest clear of the user that reached the window, null when none
 */
public record Tally(
    List<String> members,
    long count,
    boolean crossed,
    Instant crossedAt,
    Instant latestAt,
    List<Instant> times,
    Instant clearedAt) {

  public static Tally empty() {
    return new Tally(List.of(), 0, false, null, null, List.of(), null);
  }

  public Tally add(Observation observation, int threshold) {
    if (observation.clear()) {
      return clear(observation.occurredAt(), threshold);
    }
    Instant at = observation.occurredAt();
    if (clearedAt != null && !at.isAfter(clearedAt)) {
      return unchanged(); // before the clear: reviewed by the admin, it counts toward nothing
    }
    int seen = members.indexOf(observation.member());
    if (seen >= 0) {
      // counted once; but dated by its latest occurrence (a card tried again), so that a clear
      // made between the two, arriving after the second, still counts it from then
      List<Instant> keptTimes = memberTimes();
      Instant known = keptTimes.get(seen);
      if (known != null && !at.isAfter(known)) {
        return unchanged();
      }
      keptTimes.set(seen, at);
      return new Tally(
          members,
          count,
          false,
          crossedAt,
          latestAt,
          Collections.unmodifiableList(keptTimes),
          clearedAt);
    }
    List<String> kept = new ArrayList<>(members);
    List<Instant> keptTimes = memberTimes();
    if (kept.size() < threshold) {
      kept.add(observation.member());
      keptTimes.add(at);
    } else {
      // past the threshold: keep the latest members, which a clear made before them counts again
      int earliest = earliest(keptTimes);
      if (keptTimes.get(earliest) == null || keptTimes.get(earliest).isBefore(at)) {
        kept.set(earliest, observation.member());
        keptTimes.set(earliest, at);
      }
    }
    long next = count + 1;
    Instant latest = latestAt == null || at.isAfter(latestAt) ? at : latestAt;
    // at or past the threshold, once: a window counted under a higher threshold before a restart
    // that lowered it crosses at its next member, not never
    boolean crossedNow = crossedAt == null && next >= threshold;
    return new Tally(
        List.copyOf(kept),
        next,
        crossedNow,
        crossedNow ? latest : crossedAt,
        latest,
        Collections.unmodifiableList(keptTimes),
        clearedAt);
  }

  /**
   * The count restarted from a clear made at {@code at}: the members kept that are dated after it
   * are counted anew, and cross at once when they are as many as the threshold (they arrived before
   * the clear did).
   */
  private Tally clear(Instant at, int threshold) {
    if (clearedAt != null && !at.isAfter(clearedAt)) {
      return unchanged();
    }
    List<String> kept = new ArrayList<>();
    List<Instant> keptTimes = new ArrayList<>();
    List<Instant> known = memberTimes();
    Instant latest = null;
    for (int i = 0; i < members.size(); i++) {
      Instant time = known.get(i);
      if (time != null && time.isAfter(at)) {
        kept.add(members.get(i));
        keptTimes.add(time);
        latest = latest == null || time.isAfter(latest) ? time : latest;
      }
    }
    boolean crossedNow = kept.size() >= threshold;
    return new Tally(
        List.copyOf(kept),
        kept.size(),
        crossedNow,
        crossedNow ? latest : null,
        latest,
        Collections.unmodifiableList(keptTimes),
        at);
  }

  private Tally unchanged() {
    return new Tally(members, count, false, crossedAt, latestAt, times, clearedAt);
  }

  /** The times of {@link #members}, one each (null where a tally stored before them has none). */
  private List<Instant> memberTimes() {
    List<Instant> known = new ArrayList<>(members.size());
    for (int i = 0; i < members.size(); i++) {
      known.add(times != null && i < times.size() ? times.get(i) : null);
    }
    return known;
  }

  private static int earliest(List<Instant> times) {
    int earliest = 0;
    for (int i = 1; i < times.size(); i++) {
      Instant time = times.get(i);
      Instant best = times.get(earliest);
      if (best != null && (time == null || time.isBefore(best))) {
        earliest = i;
      }
    }
    return earliest;
  }
}
