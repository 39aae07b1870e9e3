# SPDX-License-Identifier: GPL-2.0
#
# qbd_fs_fio.sh - the body of test_qbd_ext4_fio.sh and test_qbd_xfs_fio.sh:
# make a file system on a fresh qbd volume, run fio with verification on it,
# verify again after a remount, check the file system read-only.

# fio: 2 jobs, one QBD_FIO_MB file each, QBD_FIO_SECS of 4k random writes
QBD_FIO_MB=${QBD_FIO_MB:-32}
QBD_FIO_SECS=${QBD_FIO_SECS:-15}

qbd_fs_fio_test() {
	local fs=$1 dev mnt=$QBD_DIR/mnt job size=256M
	[ "$fs" = xfs ] && size=320M	# mkfs.xfs wants more than 300 MB
	qbd_cluster_up
	qbd_module_load
	qbd_create vol0 --size $size --pg-size 64M
	qbd_attach dev vol0

	case $fs in
	ext4) qbd_run mkfs.ext4 -q -F "$dev" ;;
	xfs) qbd_run mkfs.xfs -q -f "$dev" ;;
	esac
	qbd_mount "$dev" "$mnt"

	job=(--directory="$mnt" --size="${QBD_FIO_MB}M")
	qbd_fio_verify fio1 "$QBD_FIO_SECS" "${job[@]}" ||
		{ qbd_fio_summary fio1; qbd_fail "fio verify on $fs failed"; }
	qbd_fio_summary fio1

	qbd_umount "$mnt"
	qbd_mount "$dev" "$mnt"
	qbd_fio_check fio1 "${job[@]}" ||
		{ qbd_fio_summary fio1; qbd_fail "fio re-verify after remount failed"; }
	qbd_umount "$mnt"

	case $fs in
	ext4) qbd_run e2fsck -n -f "$dev" ;;
	xfs) qbd_run xfs_repair -n "$dev" ;;
	esac
	qbd_detach "$dev"
	qbd_check_dmesg
	qbd_pass "$fs: fio verify, remount, verify, fsck clean"
}
