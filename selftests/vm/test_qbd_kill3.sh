#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Three of six nodes lost (an AZ plus one): no PG can make a write quorum,
# so writes must fail with I/O errors once the dead timeout passes - they
# must not hang - and no acknowledged write may be lost. A known pattern is
# written (and fdatasync'd) into every PG first; fio then writes elsewhere
# while three nodes are SIGKILLed. fio must exit with an error, the kernel
# log must show qbd I/O errors, the device must detach; after the nodes
# restart, a new attach (recovery) must read every pattern back intact.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

DEAD_MS=3000
PG_MB=64
NPG=4

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size $((PG_MB * NPG))M --pg-size ${PG_MB}M
qbd_attach dev vol0 --dead-timeout-ms $DEAD_MS --timeout-ms 2000
base_devs=$(($(qbd_dev_count) - 1))

# 4 MiB of known data at the start of every PG (every byte written is
# stored twice, log and base image, on each of six nodes in guest RAM)
declare -a sums
for pg in $(seq 0 $((NPG - 1))); do
	sums[$pg]=$(qbd_pattern_write "$dev" $((pg * PG_MB)) 4) ||
		qbd_fail "pattern write to PG $pg failed"
done
qbd_log "patterns written to $NPG PGs"

# both nodes of node 0's AZ and one node of another AZ
az=$(qbd_node_az 0)
nodes=$(qbd_nodes)
same=$(for n in $nodes; do [ "$(qbd_node_az "$n")" = "$az" ] && echo "$n"; done | head -2)
other=$(for n in $nodes; do [ "$(qbd_node_az "$n")" != "$az" ] && echo "$n"; done | head -1)
victims=$(echo $same $other)
[ "$(echo $victims | wc -w)" = 3 ] || qbd_fail "cannot pick 3 victims: '$victims'"

# fio in the second half of PGs 0 and 2, away from the patterns
fio --name=kill3 --filename="$dev" --rw=randwrite --bs=4k --ioengine=libaio \
	--direct=1 --iodepth=16 --numjobs=2 --offset=32M --offset_increment=128M \
	--size=32M --io_size=256M --group_reporting >"$QBD_DIR/kill3.fio" 2>&1 &
fio_pid=$!
QBD_BG_PIDS+=("$fio_pid")
qbd_wait_writes "$dev" 500 120

qbd_node_kill $victims
# bounded: the dead timeout plus generous slack for the emulated guest
if ! qbd_wait_exit "$fio_pid" 120; then
	qbd_fail "fio still running 120 s after 3 nodes died (dead timeout ${DEAD_MS} ms): hang"
fi
wait "$fio_pid"
rc=$?
QBD_BG_PIDS=()
qbd_fio_summary kill3
[ "$rc" != 0 ] || qbd_fail "fio succeeded with 3 of 6 nodes dead"
grep -qE 'Input/output error|error=|err= *[1-9]' "$QBD_DIR/kill3.fio" ||
	qbd_fail "fio failed (rc $rc) but not with an I/O error"
qbd_dmesg_new | grep -qE 'error, dev qbd[0-9]+|qbd.*(I/O error|dead|failed)' ||
	qbd_fail "no qbd I/O error in the kernel log"
qbd_log "fio failed with I/O errors (rc $rc), as it must"

timeout 60 "$QBD_CTL" --cluster "$QBD_CDIR" detach "$dev" --abort >/dev/null ||
	qbd_fail "detach --abort of the failed device failed or hung"
[ "$(qbd_dev_count)" = "$base_devs" ] || qbd_fail "device left after detach"

# recovery: bring the nodes back and attach again
qbd_node_start $victims
qbd_attach dev vol0
for pg in $(seq 0 $((NPG - 1))); do
	got=$(qbd_pattern_sum "$dev" $((pg * PG_MB)) 4)
	[ "$got" = "${sums[$pg]}" ] ||
		qbd_fail "PG $pg: pattern lost after recovery ($got != ${sums[$pg]})"
done
# and the recovered device takes writes again
sum=$(qbd_pattern_write "$dev" 40 4) || qbd_fail "write after recovery failed"
[ "$(qbd_pattern_sum "$dev" 40 4)" = "$sum" ] || qbd_fail "read after recovery differs"
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "I/O errors with 3 nodes dead, all patterns intact after recovery"
