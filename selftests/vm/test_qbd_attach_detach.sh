#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Attach and detach one volume 20 times: every attach gives a working block
# device, every detach removes it, and nothing leaks: no qbd block device,
# no kernel-held TCP socket, no module reference is left, and the kernel log
# shows no bug report.
# qbd-smoke
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

ROUNDS=20

# established TCP sockets no process owns: the ones qbd.ko holds
kernel_socks() {
	ss -Htnp state established | grep -vc 'users:'
}

qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 64M --pg-size 16M
base_devs=$(qbd_dev_count)
base_socks=$(kernel_socks)

for i in $(seq 1 $ROUNDS); do
	qbd_attach dev vol0 >/dev/null
	[ "$(qbd_dev_count)" = $((base_devs + 1)) ] ||
		qbd_fail "round $i: $(qbd_dev_count) qbd devices after attach"
	# the device works: a write and a read-back round trip
	echo "round $i" | dd of="$dev" bs=4k conv=sync,fdatasync oflag=direct \
		status=none || qbd_fail "round $i: write to $dev failed"
	got=$(dd if="$dev" bs=4k count=1 iflag=direct status=none | tr -d '\0')
	[ "$got" = "round $i" ] || qbd_fail "round $i: read back '$got'"
	qbd_detach "$dev"
	[ "$(qbd_dev_count)" = "$base_devs" ] ||
		qbd_fail "round $i: $(qbd_dev_count) qbd devices after detach"
	[ ! -b "$dev" ] || [ ! -e "/sys/block/$(basename "$dev")" ] ||
		qbd_fail "round $i: $dev still exists after detach"
done
qbd_log "$ROUNDS attach/detach rounds done"

# sockets close asynchronously after detach: wait for them to go
qbd_wait_until 20 '[ "$(kernel_socks)" -le "$base_socks" ]' || {
	ss -tnp state established | sed 's/^/#   /'
	qbd_fail "$(kernel_socks) kernel-held sockets remain (baseline $base_socks)"
}
[ "$(cat /sys/module/qbd/refcnt)" = 0 ] ||
	qbd_fail "qbd module refcnt $(cat /sys/module/qbd/refcnt) after detach"
qbd_module_unload || qbd_fail "rmmod qbd failed after $ROUNDS rounds"
qbd_check_dmesg
qbd_pass "$ROUNDS rounds"
