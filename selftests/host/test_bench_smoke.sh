#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/bench/stored --quick end to end: the node append benchmark (one
# qbd-stored vs fio with the same fdatasync batching) and the userspace
# writer against a local six-node cluster both produce results, and
# results.json is well formed with every required key holding a positive
# number. No timing thresholds: the figures themselves are not judged.
# qbd-timeout: 240
. "$(dirname "$0")/../common.sh"
require_cmd "$QBD_STORED" "$QBD_BUILD/qbd-bench" fio python3 gcc

out=$(qbd_tmpdir)
cd "$QBD_ROOT" || fail "cd $QBD_ROOT"
log "tools/bench/stored --quick --out $out"
tools/bench/stored --quick --no-doc --port-base "$QBD_PORT_BASE" \
	--out "$out" >"$out/bench.log" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$out/bench.log" >&2; fail "tools/bench/stored exited $rc"; }

tap_plan 5
tap_check "results.json and report.md written" \
	test -s "$out/results.json" -a -s "$out/report.md"
python3 - "$out/results.json" <<'PY'
import json, math, sys

def pos(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and v > 0)

def check(name, ok, why=""):
    global n
    n += 1
    print("%s %d %s%s" % ("ok" if ok else "not ok", n, name,
                          "" if ok else " # " + why))
    if not ok:
        bad.append(name)

n, bad = 1, []
try:
    r = json.load(open(sys.argv[1]))
except ValueError as e:
    r = None
check("results.json parses as a JSON object", isinstance(r, dict), "not JSON")
r = r if isinstance(r, dict) else {}
ap = r.get("append", {})
check("append: ratio, records/s, fio IOPS and batch positive",
      all(pos(x) for x in (r.get("append_ratio_vs_fio"),
                           ap.get("records_per_s"), ap.get("fio_iops"),
                           ap.get("avg_group_commit_batch"),
                           ap.get("fio_fdatasync"))),
      "append=%r ratio=%r" % (ap, r.get("append_ratio_vs_fio")))
if pos(r.get("append_ratio_vs_fio")) and pos(ap.get("records_per_s")) \
        and pos(ap.get("fio_iops")):
    want = ap["records_per_s"] / ap["fio_iops"]
    consistent = abs(want - r["append_ratio_vs_fio"]) <= 0.01 * want + 0.001
else:
    consistent = False
check("append_ratio_vs_fio = records_per_s / fio_iops", consistent,
      "inconsistent ratio")
want = ["randwrite-4k-qd1", "randwrite-4k-qd16",
        "randread-4k-qd1", "randread-4k-qd16"]
ents = {e.get("workload"): e for e in r.get("entries", [])
        if isinstance(e, dict) and e.get("system") == "qbd-user"}
missing = []
for w in want:
    e = ents.get(w)
    keys = ["iops", "p50_us", "p99_us"]
    if w.startswith("randwrite"):
        keys.append("wire_bytes_per_write")
    if not e or not all(pos(e.get(k)) for k in keys):
        missing.append("%s: %r" % (w, e))
check("qbd-user entries for all four workloads with positive iops, "
      "p50_us, p99_us, wire_bytes_per_write", not missing, "; ".join(missing))
sys.exit(1 if bad else 0)
PY
rc=$?
[ $rc = 0 ] || { cat "$out/bench.log" >&2; _tap_failed=1; }
tap_finish
