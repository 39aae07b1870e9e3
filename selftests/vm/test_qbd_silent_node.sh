#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A node that stops answering (SIGSTOP: what a stalled daemon in a loaded
# guest looks like) for longer than the io timeout is declared dead, writes
# go on with the other five, and once it answers again (SIGCONT) the kernel
# brings it back by itself: no RECONFIGURE, device state running again,
# writes and reads keep working and the data written meanwhile reads back.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 64M --pg-size 16M
QBD_ATTACH_OPTS=""
qbd_attach dev vol0 --timeout-ms 2000 --dead-timeout-ms 300000
qbd_pattern_write "$dev" 0 1 >/dev/null || qbd_fail "first write failed"

pid0=$(cat "$QBD_CDIR/node0.pid")
kill -STOP "$pid0"
qbd_log "node 0 (pid $pid0) stopped"
sum1=$(qbd_pattern_write "$dev" 1 1) || qbd_fail "write with node 0 stopped failed"
qbd_wait_until 60 'qbd_dmesg_new | grep -q "node 0 is dead: no reply"' ||
	qbd_fail "node 0 was never declared dead"
kill -CONT "$pid0"
qbd_log "node 0 continued"
qbd_wait_until 120 'qbd_dmesg_new | grep -q "node 0 is back"' ||
	qbd_fail "node 0 never came back"
qbd_wait_until 60 '[ "$(qbd_status_q "$dev" .state)" = running ] ||
	qbd_ctl status | grep -q "state running"' ||
	qbd_fail "device not running again after node 0 came back"
for i in 1 2 3; do
	qbd_pattern_write "$dev" $((2 + i)) 1 >/dev/null ||
		qbd_fail "write after node 0 came back failed"
done
[ "$(qbd_pattern_sum "$dev" 1 1)" = "$sum1" ] ||
	qbd_fail "data written while node 0 was silent reads back wrong"
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "node 0 declared dead for silence and back by itself"
