#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Invariant 6: with any 2 segments of a PG lost, writes continue. fio writes
# and verifies the raw device while both nodes of one AZ are SIGKILLed in
# the middle of the run; fio's writes must complete without an error and every
# block it wrote must verify (reads are served by the four survivors).
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 256M --pg-size 64M
qbd_attach dev vol0

# the two nodes of the AZ of node 0
az=$(qbd_node_az 0)
victims=$(for n in $(qbd_nodes); do
	[ "$(qbd_node_az "$n")" = "$az" ] && echo "$n"; done | head -2 | xargs)
[ "$(echo $victims | wc -w)" = 2 ] || qbd_fail "no two nodes in AZ $az: '$victims'"

# each job owns half the device (two PGs); 20 s of random writes
job=(--filename="$dev" --size=128M --offset_increment=128M)
qbd_fio_write kill2 20 "${job[@]}" &
fio_pid=$!
QBD_BG_PIDS+=("$fio_pid")

qbd_wait_writes "$dev" 300 120
qbd_node_kill $victims
qbd_log "nodes $victims (AZ $az) killed while fio runs"

qbd_wait_exit "$fio_pid" 300 ||
	qbd_fail "fio did not finish within 300 s after the kill"
wait "$fio_pid"
rc=$?
QBD_BG_PIDS=()
[ "$rc" = 0 ] || { qbd_fio_summary kill2; qbd_fail "fio writes failed (rc $rc) with two nodes of AZ $az dead"; }
# read back and verify every block fio wrote, before and after the kill
qbd_fio_check kill2 "${job[@]}" ||
	{ qbd_fio_summary kill2; qbd_fail "fio verify failed with two nodes of AZ $az dead"; }
qbd_fio_summary kill2

# the device kept running: degraded, not failed
state=$(qbd_status_q "$dev" .state)
qbd_log "device state after the kill: $state"
case $state in
failed|FAILED|fenced|FENCED) qbd_fail "device state $state with 4 nodes alive" ;;
esac
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "fio verify passed with nodes $victims killed"
