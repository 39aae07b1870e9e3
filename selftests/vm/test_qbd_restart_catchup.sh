#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A node that missed writes catches up when it comes back. Node A is killed,
# data is written to every PG (durable on 4 of the other 5), A restarts and
# gets a fresh socket (qbdctl reconnect); its SCL in every PG must reach the
# SCL of its peers (gossip fills the gap). Then two OTHER nodes are killed:
# with four nodes left a write quorum needs A, so new writes complete only
# if A holds the whole log; all the data must read back.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

PG_MB=32
NPG=4

# 1 if node $1 holds, in every PG, as much of the log as its best live peer
caught_up() {
	qbd_ctl node-status --json 2>/dev/null | jq -e --argjson a "$1" '
		[.nodes[] | select(.reachable) | .id as $id
		 | .status.segments[] | {id: $id, pg, scl}] as $s
		| ([$s[] | .pg] | unique) as $pgs
		| ($pgs | length) > 0 and
		  ($pgs | map(. as $pg
			| ([$s[] | select(.pg == $pg and .id == $a) | .scl] | max // -1)
			  >= ([$s[] | select(.pg == $pg and .id != $a) | .scl] | max))
		   | all)' >/dev/null
}

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size $((PG_MB * NPG))M --pg-size ${PG_MB}M
qbd_attach dev vol0

nodes=($(qbd_nodes))
a=${nodes[0]}
qbd_node_kill "$a"

# 4 MiB into every PG while A is down
declare -a sums
for pg in $(seq 0 $((NPG - 1))); do
	sums[$pg]=$(qbd_pattern_write "$dev" $((pg * PG_MB)) 4) ||
		qbd_fail "write to PG $pg with node $a down failed"
done
qbd_log "wrote $NPG PGs with node $a down"

qbd_node_start "$a"
qbd_run timeout 60 "$QBD_CTL" --cluster "$QBD_CDIR" reconnect "$dev" "$a"
qbd_wait_until 120 "caught_up $a" || {
	qbd_ctl node-status --json | jq -c '.nodes[] | {id, seg: [.status.segments[]? | {pg, scl}]}' |
		sed 's/^/#   /'
	qbd_fail "node $a did not catch up with its peers in 120 s"
}
qbd_log "node $a caught up: $(qbd_ctl node-status --json "$a" 2>/dev/null |
	jq -c '[.nodes[0].status.segments[] | {pg, scl}]')"

# two others die (not in A's AZ, so the AZ of A still has a live node): any
# write now needs A's ack, and A acks only once its log has no gap
az=$(qbd_node_az "$a")
others=$(for n in "${nodes[@]}"; do
	[ "$n" != "$a" ] && [ "$(qbd_node_az "$n")" != "$az" ] && echo "$n"; done |
	head -2 | xargs)
qbd_node_kill $others
for pg in $(seq 0 $((NPG - 1))); do
	more[$pg]=$(QBD_IO_TIMEOUT=120 qbd_pattern_write "$dev" $((pg * PG_MB + 16)) 2) ||
		qbd_fail "write to PG $pg needing node $a's ack failed or hung"
done
for pg in $(seq 0 $((NPG - 1))); do
	[ "$(qbd_pattern_sum "$dev" $((pg * PG_MB)) 4)" = "${sums[$pg]}" ] ||
		qbd_fail "PG $pg: data written while node $a was down reads back wrong"
	[ "$(qbd_pattern_sum "$dev" $((pg * PG_MB + 16)) 2)" = "${more[$pg]}" ] ||
		qbd_fail "PG $pg: data written after the catch-up reads back wrong"
done
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "node $a caught up; writes and reads with nodes $others dead"
