#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test guest itself works: loopback is up, a module loads from
# /lib/modules (brd), ext4 on the RAM disk mounts and holds data, and fio
# writes and verifies (crc32c) through it. Every other VM test relies on this.
# qbd-smoke
. "$(dirname "$0")/../common.sh"
require_vm
require_cmd fio mkfs.ext4 ip

dmesg_mark
ip -o link show lo | grep -q 'state UNKNOWN\|UP' || fail "loopback is not up"
ping_ok=0
(exec 3<>/dev/tcp/127.0.0.1/9) 2>&1 | grep -q 'refused' && ping_ok=1
[ $ping_ok = 1 ] || fail "loopback does not answer (expected 'connection refused' on port 9)"

grep -q '^brd ' /proc/modules && fail "brd already loaded"
modprobe brd rd_nr=1 rd_size=65536 || fail "modprobe brd"
on_exit "rmmod brd 2>/dev/null"
[ -b /dev/ram0 ] || fail "no /dev/ram0"

mnt=$(qbd_tmpdir)
mkfs.ext4 -q -F /dev/ram0 || fail "mkfs.ext4"
mount /dev/ram0 "$mnt" || fail "mount ext4"
on_exit "umount '$mnt' 2>/dev/null"

fio --name=sanity --directory="$mnt" --size=16M --bs=4k --rw=randwrite \
	--ioengine=psync --direct=1 --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --verify_state_save=0 --output="$mnt/fio.out" >/dev/null ||
	{ cat "$mnt/fio.out" >&2; fail "fio verify on ext4/brd"; }
grep -q 'err= 0' "$mnt/fio.out" || { cat "$mnt/fio.out" >&2; fail "fio reported errors"; }

echo hello >"$mnt/f" && sync
umount "$mnt" || fail "umount"
mount -o ro /dev/ram0 "$mnt" || fail "remount"
[ "$(cat "$mnt/f")" = hello ] || fail "data lost across remount"
umount "$mnt" || fail "umount"
rmmod brd || fail "rmmod brd"
check_dmesg
log "guest sanity ok on $(uname -r)"
