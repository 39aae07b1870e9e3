#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Writer crash: ext4 on qbd is detached with --abort (no flush, no waiting)
# while fio writes to it. A new attach must recover the volume under a newer
# epoch; the file system mounts (journal replay), e2fsck -n finds it clean,
# and a file written and fsync'd before the abort reads back intact.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

mnt=$QBD_DIR/mnt
qbd_cluster_up
qbd_module_load
qbd_create vol0 --size 256M --pg-size 64M
qbd_attach dev vol0
qbd_run mkfs.ext4 -q -F "$dev"
qbd_mount "$dev" "$mnt"

head -c 8M /dev/urandom >"$QBD_DIR/keep"
want=$(sha256sum <"$QBD_DIR/keep" | cut -d' ' -f1)
qbd_run cp "$QBD_DIR/keep" "$mnt/keep"
qbd_run sync -f "$mnt/keep"
qbd_run sync
epoch1=$(qbd_status_q "$dev" .epoch)

fio --name=abort --directory="$mnt" --rw=randwrite --bs=4k --ioengine=libaio \
	--direct=1 --iodepth=16 --numjobs=2 --size=32M --io_size=512M \
	>"$QBD_DIR/abort.fio" 2>&1 &
fio_pid=$!
QBD_BG_PIDS+=("$fio_pid")
qbd_wait_writes "$dev" 1000 120

timeout 60 "$QBD_CTL" --cluster "$QBD_CDIR" detach "$dev" --abort >/dev/null ||
	qbd_fail "detach --abort hung or failed while fio ran"
qbd_log "aborted $dev (epoch $epoch1) under fio"
qbd_wait_exit "$fio_pid" 60 ||
	qbd_fail "fio still running 60 s after detach --abort"
wait "$fio_pid"
QBD_BG_PIDS=()
timeout 60 umount "$mnt" || timeout 60 umount -l "$mnt" ||
	qbd_fail "cannot unmount the aborted file system"
QBD_MNTS=()
qbd_wait_until 30 "[ ! -e /sys/block/$(basename "$dev") ]" ||
	qbd_fail "$dev still exists after detach --abort and umount"

qbd_attach dev vol0
epoch2=$(qbd_status_q "$dev" .epoch)
qbd_log "re-attached as $dev, epoch $epoch1 -> $epoch2"
[ "$epoch2" -gt "$epoch1" ] 2>/dev/null ||
	qbd_fail "epoch did not increase on re-attach ($epoch1 -> $epoch2)"

qbd_mount "$dev" "$mnt"		# replays the journal
qbd_umount "$mnt"
qbd_run e2fsck -n -f "$dev"
qbd_mount "$dev" "$mnt"
got=$(sha256sum <"$mnt/keep" | cut -d' ' -f1)
[ "$got" = "$want" ] || qbd_fail "fsync'd file changed across the abort"
qbd_umount "$mnt"
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "recovered after abort (epoch $epoch1 -> $epoch2), fsck clean, data intact"
