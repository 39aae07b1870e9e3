#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qbdctl against a real local cluster (tools/cluster, six qbd-stored on
# loopback), no kernel needed: create records the volume and puts its
# segments on all six nodes; volumes and node-status report them (human and
# JSON); a duplicate create fails; fault reaches a node; with one node down
# node-status names it and create fails naming it without changing the
# catalog.
. "$(dirname "$0")/../common.sh"
require_cmd "$QBD_CTL" "$QBD_STORED" jq

cluster_up
ctl() { "$QBD_CTL" --cluster "$QBD_CLUSTER_DIR" "$@"; }

# ok_out NAME PATTERN CMD...: CMD succeeds and its stdout matches PATTERN
ok_out() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1) || { echo "# $*: failed: $out"; return 1; }
	grep -qE -- "$pat" <<<"$out" || { echo "# $*: no '$pat' in: $out"; return 1; }
}
# fails_with RC PATTERN CMD...: CMD exits RC, stderr matches PATTERN
fails_with() {
	local rc=$1 pat=$2 out got
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	got=$?
	[ "$got" = "$rc" ] && grep -qE -- "$pat" <<<"$out" && return 0
	echo "# $*: rc $got (want $rc): $out"
	return 1
}

tap_plan 17
tap_check "create vol0" ok_out "^created volume vol0: id [0-9]+, 64 MiB, 4 PGs of 16 MiB" \
	ctl create vol0 --size 64M --pg-size 16M
id=$(ctl volumes --json | jq -r '.volumes[] | select(.name == "vol0") | .id')
tap_check "volumes lists vol0" ok_out "^vol0 +$id +64 MiB +16 MiB +0$" ctl volumes
tap_check "volumes --json" bash -c "'$QBD_CTL' --cluster '$QBD_CLUSTER_DIR' volumes --json |
	jq -e '.volumes | length == 1 and .[0].size_bytes == 67108864 and .[0].pg_size == 16777216 and .[0].epoch == 0' >/dev/null"
tap_check "create is not repeated" fails_with 1 "volume 'vol0' already exists" \
	ctl create vol0 --size 64M --pg-size 16M
tap_check "create vol1 (default PG size)" ok_out "1 PGs of 10 GiB" ctl create vol1 --size 8M

# every node holds the 4 segments of vol0 (and the one of vol1)
ns=$(ctl node-status --json)
jqs() { jq -e "$1" <<<"$ns" >/dev/null; }
segments_on_all() {
	local n c
	for n in 0 1 2 3 4 5; do
		c=$(jq --argjson n "$n" --argjson id "$id" '[.nodes[$n].status.segments[] |
			select(.volume == $id)] | length' <<<"$ns")
		[ "$c" = 4 ] || { echo "# node $n holds $c segments of volume $id"; return 1; }
	done
}
tap_check "node-status --json: six reachable nodes" jqs '.nodes | length == 6 and all(.reachable)'
tap_check "node-status --json: node ids 0..5" jqs '[.nodes[].id] == [0,1,2,3,4,5]'
tap_check "every node holds the segments of vol0" segments_on_all
tap_check "node-status human" ok_out "^node 3 \(az-b, 127\.0\.0\.1:[0-9]+\): up" ctl node-status 3
tap_check "node-status of an unknown node" fails_with 1 "no node 9 in the cluster config" \
	ctl node-status 9

# fault injection reaches the node and is validated there
tap_check "fault sets a knob" ok_out "node 2: delay_us=0" ctl fault 2 delay_us=0
tap_check "fault with an unknown knob fails" fails_with 1 "fault on node 2" \
	ctl fault 2 no_such_knob=1

# node 4 down: reported, and create changes nothing
# (QBD_CLUSTER_DIR in the environment: "kill N" looks for the cluster
# before it parses --dir)
QBD_CLUSTER_DIR=$QBD_CLUSTER_DIR cluster_kill 4 >/dev/null ||
	fail "tools/cluster kill 4"
port4=$(awk '$1 == 4 { split($3, a, ":"); print a[2] }' "$QBD_CLUSTER_DIR/cluster.conf")
wait_for 30 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port4) 2>/dev/null"
tap_check "node-status names the dead node" fails_with 1 "nodes unreachable: 4 \(127\.0\.0\.1:$port4\)" \
	ctl node-status
tap_check "node-status --json marks it" bash -c "'$QBD_CTL' --cluster '$QBD_CLUSTER_DIR' node-status --json 2>/dev/null |
	jq -e '[.nodes[] | select(.reachable | not) | .id] == [4]' >/dev/null"
tap_check "create with a node down fails naming it" fails_with 1 \
	"nodes unreachable: 4 .*nothing was created" ctl create vol2 --size 64M --pg-size 16M
tap_check "the failed create left no catalog entry" bash -c \
	"! '$QBD_CTL' --cluster '$QBD_CLUSTER_DIR' volumes | grep -q '^vol2 '"
tap_check "volumes still lists two" bash -c "'$QBD_CTL' --cluster '$QBD_CLUSTER_DIR' volumes --json |
	jq -e '[.volumes[].name] | sort == [\"vol0\", \"vol1\"]' >/dev/null"
tap_finish
