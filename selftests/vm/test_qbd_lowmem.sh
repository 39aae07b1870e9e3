#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Writeback under memory pressure must not deadlock on the sockets: in a
# guest booted with 512 MiB, buffered writes of 768 MiB (QBD_LOWMEM_MB) go
# through ext4 on qbd (dd ... conv=fsync) and complete; the data reads back.
# The six daemons run in the guest too and take about 300 MiB (about 50 MiB
# RSS each; with 384 MiB the OOM killer takes one), so the page cache has
# less than 200 MiB: the writes are four times that. The daemons keep their
# data on the host share ($QBD_VM_OUT), not in the guest's RAM. Skipped in a
# guest with more than 1 GiB (tools/run-tests honours the line below; run
# directly, the script boots such a guest itself).
# qbd-vm-opts: --mem 512
# qbd-timeout: 900
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

MB=${QBD_LOWMEM_MB:-768}
mem_mb=$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
[ "$mem_mb" -le 1024 ] ||
	qbd_skip "guest has $mem_mb MiB; needs <= 1 GiB (run with --mem 512)"
[ -n "${QBD_VM_OUT:-}" ] && [ -w "$QBD_VM_OUT" ] ||
	qbd_skip "no writable host share for the node data"

mnt=$QBD_DIR/mnt
qbd_cluster_up "$QBD_VM_OUT/lowmem-cluster"
qbd_module_load
qbd_create vol0 --size $((MB + 256))M --pg-size 256M
qbd_attach dev vol0
qbd_run mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$dev"
qbd_mount "$dev" "$mnt"

qbd_log "writing $MB MiB buffered into a $mem_mb MiB guest ($(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo) MiB available)"
start=$SECONDS
timeout 1200 dd if=/dev/zero of="$mnt/big" bs=1M count="$MB" conv=fsync \
	status=none || qbd_fail "dd of $MB MiB failed or hung (rc $?)"
qbd_log "dd done in $((SECONDS - start)) s"
grep -E '^(MemFree|Dirty|Writeback):' /proc/meminfo | sed 's/^/#   /'

qbd_umount "$mnt"
qbd_mount "$dev" "$mnt"
[ "$(stat -c %s "$mnt/big")" = $((MB << 20)) ] || qbd_fail "file size wrong"
timeout 1200 cmp -n $((MB << 20)) "$mnt/big" /dev/zero ||
	qbd_fail "data read back differs"
qbd_umount "$mnt"
qbd_detach "$dev"
qbd_cluster_down
rm -rf "$QBD_VM_OUT/lowmem-cluster"
qbd_check_dmesg
qbd_pass "$MB MiB through ext4 on qbd in $mem_mb MiB"
