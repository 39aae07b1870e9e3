#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two volumes attached at once on the same six nodes: each device reads back
# its own data, never the other's, and detaching one leaves the other
# working.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 128M --pg-size 32M
qbd_create vol1 --size 128M --pg-size 32M
qbd_attach dev0 vol0
qbd_attach dev1 vol1
[ "$dev0" != "$dev1" ] || qbd_fail "both volumes attached as $dev0"
[ "$(qbd_dev_count)" = 2 ] || qbd_fail "$(qbd_dev_count) devices, want 2"

# the same offsets on both, over all four PGs, different data (small:
# every byte lands twice on each of six nodes in guest RAM)
for off in 0 40 72 120; do
	a[$off]=$(qbd_pattern_write "$dev0" $off 2) || qbd_fail "write $dev0"
	b[$off]=$(qbd_pattern_write "$dev1" $off 2) || qbd_fail "write $dev1"
done
for off in 0 40 72 120; do
	[ "$(qbd_pattern_sum "$dev0" $off 2)" = "${a[$off]}" ] ||
		qbd_fail "$dev0 at ${off}M does not read back its own data"
	[ "$(qbd_pattern_sum "$dev1" $off 2)" = "${b[$off]}" ] ||
		qbd_fail "$dev1 at ${off}M does not read back its own data"
done

qbd_detach "$dev0"
for off in 0 40 72 120; do
	[ "$(qbd_pattern_sum "$dev1" $off 2)" = "${b[$off]}" ] ||
		qbd_fail "$dev1 at ${off}M changed after detaching $dev0"
done
qbd_attach dev0 vol0
for off in 0 40 72 120; do
	[ "$(qbd_pattern_sum "$dev0" $off 2)" = "${a[$off]}" ] ||
		qbd_fail "vol0 at ${off}M lost its data across re-attach"
done
qbd_detach "$dev0"
qbd_detach "$dev1"
qbd_check_dmesg
qbd_pass "two volumes keep their own data"
