#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Invariant 5 (fencing): once a second attach of the same volume has taken a
# newer epoch, the old device is a stale writer. Its writes must fail and
# must never reach the nodes: the new device, and a third attach after both
# are gone, read only the data of the current epoch.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 128M --pg-size 32M
qbd_attach old vol0
sum_a=$(qbd_pattern_write "$old" 0 4) || qbd_fail "write through $old"
sum_z=$(qbd_pattern_sum "$old" 64 4)		# never written: zeros
e_old=$(qbd_status_q "$old" .epoch)

qbd_attach new vol0
e_new=$(qbd_status_q "$new" .epoch)
[ "$new" != "$old" ] || qbd_fail "second attach reused $old"
[ "$e_new" -gt "$e_old" ] 2>/dev/null ||
	qbd_fail "second attach did not take a newer epoch ($e_old -> $e_new)"
[ "$(qbd_pattern_sum "$new" 0 4)" = "$sum_a" ] ||
	qbd_fail "$new does not read what $old wrote before"

# the stale writer: over the old data and over fresh space
if timeout 120 dd if=/dev/urandom of="$old" bs=1M count=4 oflag=direct \
	conv=fdatasync,notrunc status=none 2>/dev/null; then
	qbd_fail "write through the fenced $old (epoch $e_old) succeeded"
fi
if timeout 120 dd if=/dev/urandom of="$old" bs=1M seek=64 count=4 oflag=direct \
	conv=fdatasync,notrunc status=none 2>/dev/null; then
	qbd_fail "write to fresh space through the fenced $old succeeded"
fi
qbd_log "writes through $old (epoch $e_old) failed after epoch $e_new took over"
qbd_log "$old state: $(qbd_status_q "$old" .state)"

[ "$(qbd_pattern_sum "$new" 0 4)" = "$sum_a" ] ||
	qbd_fail "a stale write reached the nodes (offset 0)"
[ "$(qbd_pattern_sum "$new" 64 4)" = "$sum_z" ] ||
	qbd_fail "a stale write reached the nodes (offset 64M)"
# the new writer works
sum_b=$(qbd_pattern_write "$new" 8 4) || qbd_fail "write through $new failed"

timeout 60 "$QBD_CTL" --cluster "$QBD_CDIR" detach "$old" --abort >/dev/null ||
	qbd_fail "detach of the fenced $old failed"
qbd_detach "$new"
qbd_attach dev vol0
[ "$(qbd_pattern_sum "$dev" 0 4)" = "$sum_a" ] &&
	[ "$(qbd_pattern_sum "$dev" 64 4)" = "$sum_z" ] &&
	[ "$(qbd_pattern_sum "$dev" 8 4)" = "$sum_b" ] ||
	qbd_fail "after re-attach the volume does not hold exactly the current epoch's data"
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "stale writer (epoch $e_old) fenced by epoch $e_new"
