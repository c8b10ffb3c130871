package io.marketplace.payments.risk;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The distinct members of one signal of one user in one window. {@code crossed} is true only on the
 * update that brought the count to the threshold, so a signal is emitted once per window however
 * many more members arrive. A window already past the threshold when it is lowered (the service
 * restarted with a lower one) crosses at its next new member.
 *
 * @param members the members seen, kept up to the threshold (enough to tell a repeat from a new one
 *     until the signal is raised; after it nothing more is emitted for the window)
 * @param crossedAt when the count reached the threshold: the latest time among the members counted
 *     then, whatever order they arrived in (a late event arriving last does not date the crossing
 *     back, before an admin's clear that the others followed)
 * @param latestAt the latest time among the members counted so far (null in a tally stored before
 *     it was kept: then the times of the members added since)
 */
public record Tally(
    List<String> members, long count, boolean crossed, Instant crossedAt, Instant latestAt) {

  public static Tally empty() {
    return new Tally(List.of(), 0, false, null, null);
  }

  public Tally add(Observation observation, int threshold) {
    if (members.contains(observation.member())) {
      return new Tally(members, count, false, crossedAt, latestAt);
    }
    List<String> kept = new ArrayList<>(members);
    if (kept.size() < threshold) {
      kept.add(observation.member());
    }
    long next = count + 1;
    Instant latest =
        latestAt == null || observation.occurredAt().isAfter(latestAt)
            ? observation.occurredAt()
            : latestAt;
    // at or past the threshold, once: a window counted under a higher threshold before a restart
    // that lowered it crosses at its next member, not never
    boolean crossedNow = crossedAt == null && next >= threshold;
    return new Tally(List.copyOf(kept), next, crossedNow, crossedNow ? latest : crossedAt, latest);
  }
}
