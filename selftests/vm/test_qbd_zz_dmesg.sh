#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs last (the name sorts last): the kernel log of the whole boot shows no
# WARNING, BUG, Oops, lockdep, KASAN or UBSAN report, and no hung task. When
# the guest has not seen qbd yet (the test runs alone), it first runs a small
# workload itself: attach, mkfs, write and read, detach, rmmod.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

if [ "$QBD_FIRST_IN_BOOT" = 1 ]; then
	qbd_log "fresh guest: running a small workload first"
	qbd_cluster_up
	qbd_module_load
	qbd_create vol0 --size 64M --pg-size 16M
	qbd_attach dev vol0
	qbd_run mkfs.ext4 -q -F "$dev"
	qbd_mount "$dev" "$QBD_DIR/mnt"
	qbd_run dd if=/dev/urandom of="$QBD_DIR/mnt/f" bs=1M count=8 conv=fsync status=none
	qbd_umount "$QBD_DIR/mnt"
	qbd_detach "$dev"
	qbd_module_unload || qbd_fail "rmmod qbd failed"
	qbd_cluster_down
fi
_qbd_dmesg_mark=	# common.sh: check the whole boot
qbd_check_dmesg
qbd_pass "kernel log of the boot is clean"
