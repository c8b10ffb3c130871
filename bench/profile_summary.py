"""Summaries for bench/processor-profile.sh.

  profile_summary.py threads PID          CPU ticks of each thread of a process, one per line
  profile_summary.py thread-diff A B      CPU seconds of each thread name between two such lists
  profile_summary.py postgres PERF_TXT    what PostgreSQL spent its samples on (perf script output)
"""

import collections
import os
import re
import sys

TICKS = os.sysconf("SC_CLK_TCK")

# What PostgreSQL does for the processor, each named by a function that is on the stack while it
# is done. A sample counts in every row whose function its stack holds, so the rows overlap (an
# index insert under an UPDATE counts in both).
POSTGRES = [
    ("statements that write (INSERT/UPDATE, the write CTE)", "ExecModifyTable"),
    ("  run at the statement's end (data-modifying CTEs, triggers)", "standard_ExecutorFinish"),
    ("  rows inserted (audit, dedupe, outbox, promotions)", "ExecInsert"),
    ("  rows updated (payments, listings)", "ExecUpdate"),
    ("    audit payload parsed into jsonb", "jsonb_from_cstring"),
    ("    index entries inserted", "ExecInsertIndexTuples"),
    ("      of them B-tree bottom-up deletion before a split", "_bt_bottomupdel_pass"),
    ("    ON CONFLICT: the unique index probed before inserting", "check_exclusion_or_unique_constraint"),
    ("    CHECK constraints", "ExecConstraints"),
    ("    values stored out of line (outbox batches)", "heap_toast_insert_or_update"),
    ("statements that read (SELECT ... FOR UPDATE and lookups)", "PortalRunSelect"),
    ("  rows locked", "ExecLockRows"),
    ("index scans, every statement", "btgettuple"),
    ("B-tree key comparisons", "_bt_compare"),
    ("  of text keys (collation-aware)", "varstr_cmp"),
    ("write-ahead log records", "XLogInsert"),
    ("commits: flushing the write-ahead log", "XLogFlush"),
    ("dirty buffers written out to make room", "FlushBuffer"),
    ("blocks read back from the operating system", "mdreadv"),
    ("new blocks of growing tables and indexes, zero-filled", "mdzeroextend"),
    ("results sent to the client", "printtup"),
    ("parameters received (binary arrays)", "ReceiveFunctionCall"),
    ("system calls", "do_syscall_64"),
]


def threads(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        print(f"{tid}|{name}|{int(fields[11]) + int(fields[12])}")


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            tid, name, ticks = line.rstrip("\n").rsplit("|", 2)
            rows[tid] = (name, int(ticks))
    return rows


def thread_diff(before_path, after_path):
    before, after = load(before_path), load(after_path)
    by_name = collections.Counter()
    for tid, (name, ticks) in after.items():
        # thread names are cut at 15 characters; numbered ones (GC Thread#0) are summed
        by_name[name.rstrip("0123456789#-")] += ticks - before.get(tid, (name, 0))[1]
    total = sum(by_name.values())
    print(f"  {'all threads':<34} {total / TICKS:7.1f} s")
    for name, ticks in by_name.most_common(12):
        print(f"  {name:<34} {ticks / TICKS:7.1f} s {100 * ticks / total:5.1f} %")


def stacks(path):
    stack = []
    with open(path) as f:
        for line in f:
            if line.startswith(("\t", " ")) and line.strip():
                parts = line.split(None, 1)
                name = parts[1].strip() if len(parts) > 1 else parts[0]
                # gcc's clones of a function (FlushBuffer.isra.15) count as the function
                stack.append(re.sub(r"(\.(isra|constprop|part|cold)(\.\d+)?)+$", "", name))
            elif stack:
                yield stack
                stack = []
    if stack:
        yield stack


def postgres(path):
    counts = collections.Counter()
    total = 0
    for stack in stacks(path):
        total += 1
        frames = set(stack)
        for _, function in POSTGRES:
            if function in frames:
                counts[function] += 1
    if total == 0:
        print("  no samples")
        return
    print(f"  {total} samples")
    for label, function in POSTGRES:
        print(f"  {label:<62} {100 * counts[function] / total:5.1f} %")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "threads":
        threads(sys.argv[2])
    elif command == "thread-diff":
        thread_diff(sys.argv[2], sys.argv[3])
    elif command == "postgres":
        postgres(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
