#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qbdctl's kernel-facing commands against qbd.ko: attach prints only the
# device on stdout and records the epoch in the catalog; status/list (human
# and JSON) report the geometry, epoch, options and six live nodes with the
# config's AZs; unknown devices and nodes are clear errors; monitor prints
# LINK_DEAD for a killed node, status shows it dead, reconnect brings it back
# live; the kernel's extended-ack text reaches the user; a non-root caller is
# told it needs CAP_SYS_ADMIN; detach by volume name works and a second
# detach says the volume is not attached.
# qbd-timeout: 240
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

# expect RC PATTERN CMD...: CMD exits RC and its stderr matches PATTERN
expect() {
	local rc=$1 pat=$2 out got
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	got=$?
	[ "$got" = "$rc" ] && grep -qE -- "$pat" <<<"$out" && return 0
	echo "$out" | sed 's/^/#   /'
	qbd_fail "$*: rc $got (want $rc), stderr does not match '$pat'"
}

qbd_cluster_up
qbd_module_load

[ "$(qbd_ctl status)" = "no qbd devices attached" ] || qbd_fail "status with no device"
[ "$(qbd_ctl list --json)" = '{"devices":[]}' ] || qbd_fail "list --json with no device"

qbd_create vol0 --size 64M --pg-size 16M
out=$(qbd_ctl attach vol0 --window 64 --timeout-ms 15000 --dead-timeout-ms 60000 2>/dev/null) ||
	qbd_fail "attach failed"
[[ $out =~ ^/dev/qbd[0-9]+$ ]] || qbd_fail "attach stdout is not just the device: '$out'"
dev=$out
[ -b "$dev" ] || qbd_fail "$dev is not a block device"

# status --json: what CONNECT carried comes back
st=$(qbd_ctl status "$dev" --json) || qbd_fail "status $dev --json"
jq -e --arg d "$dev" '.devices | length == 1 and .[0].device == $d and
	.[0].volume == "vol0" and .[0].size_bytes == 67108864 and
	.[0].pg_size == 16777216 and .[0].window == 64 and
	.[0].io_timeout_ms == 15000 and .[0].dead_timeout_ms == 60000 and
	.[0].state == "running" and (.[0].nodes | length == 6) and
	([.[0].nodes[].state] | all(. == "live")) and
	([.[0].nodes[].id] == [0,1,2,3,4,5])' <<<"$st" >/dev/null ||
	qbd_fail "status --json does not match the attach: $st"
for n in $(qbd_nodes); do
	az=$(jq --argjson n "$n" '.devices[0].nodes[] | select(.id == $n) | .az' <<<"$st")
	[ "$az" = "$(qbd_node_az "$n")" ] || qbd_fail "node $n: AZ $az, config $(qbd_node_az "$n")"
done
epoch=$(jq '.devices[0].epoch' <<<"$st")
cat_epoch=$(qbd_ctl volumes --json | jq '.volumes[] | select(.name == "vol0") | .epoch')
[ "$epoch" = "$cat_epoch" ] && [ "$epoch" -ge 1 ] ||
	qbd_fail "device epoch $epoch, catalog epoch $cat_epoch"
qbd_ctl list | grep -qE "^$dev volume=vol0 id=[0-9]+ size=64 MiB epoch=$epoch state=running" ||
	qbd_fail "list line: $(qbd_ctl list)"
qbd_ctl status "$dev" | grep -qE "^$dev: volume vol0 \(id [0-9]+\), 64 MiB, PG size 16 MiB, epoch $epoch, state running" ||
	qbd_fail "status line: $(qbd_ctl status "$dev" | head -1)"

# errors
# (the text in parentheses is the kernel's extended ack)
expect 1 "^qbdctl: no such device /dev/qbd9 \(no such qbd device\)" qbd_ctl status /dev/qbd9
expect 1 "^qbdctl: no such device /dev/qbd9" qbd_ctl detach qbd9
expect 1 "^qbdctl: no node 9 in the cluster config" qbd_ctl reconnect "$dev" 9
expect 1 "need CAP_SYS_ADMIN" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$QBD_CTL" --cluster "$QBD_CDIR" status
expect 1 "need CAP_SYS_ADMIN" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$QBD_CTL" --cluster "$QBD_CDIR" detach "$dev"
[ -b "$dev" ] || qbd_fail "the non-root detach removed $dev"

# a dead node: LINK_DEAD event, status, reconnect
qbd_ctl monitor >"$QBD_DIR/monitor.out" 2>"$QBD_DIR/monitor.err" &
QBD_BG_PIDS+=($!)
qbd_wait_until 20 "grep -q listening '$QBD_DIR/monitor.err'" || qbd_fail "monitor did not start"
qbd_node_kill 3
dd if=/dev/urandom of="$dev" bs=4k count=8 oflag=direct conv=fdatasync status=none ||
	qbd_fail "writes with node 3 dead failed"
qbd_wait_until 60 "grep -qE '^LINK_DEAD dev=${dev#/dev/qbd}( epoch=[0-9]+)? node=3\$' '$QBD_DIR/monitor.out'" ||
	qbd_fail "no LINK_DEAD event for node 3: $(cat "$QBD_DIR/monitor.out" "$QBD_DIR/monitor.err")"
node3() { qbd_ctl status "$dev" --json | jq -r '.devices[0].nodes[] | select(.id == 3) | .state'; }
qbd_wait_until 30 '[ "$(node3)" = dead ]' || qbd_fail "node 3 is '$(node3)', not dead"
qbd_ctl status "$dev" | grep -qE "^  3 +1 +dead " || qbd_fail "human status: $(qbd_ctl status "$dev")"
qbd_node_start 3
qbd_run qbd_ctl reconnect "$dev" 3
qbd_wait_until 30 '[ "$(node3)" = live ]' || qbd_fail "node 3 is '$(node3)' after reconnect"

# detach by name, then again
qbd_run qbd_ctl detach vol0
[ ! -e "/sys/block/${dev#/dev/}" ] || qbd_fail "$dev still exists after detach vol0"
expect 1 "^qbdctl: volume 'vol0' is not attached" qbd_ctl detach vol0
[ "$(qbd_ctl list)" = "" ] || qbd_fail "list after detach: $(qbd_ctl list)"
qbd_check_dmesg
qbd_pass
