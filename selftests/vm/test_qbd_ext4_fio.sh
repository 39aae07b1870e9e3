#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ext4 on qbd under fio: random 4k direct writes from two jobs at queue
# depth 16 with crc32c verification of every block written; then the file
# system is unmounted, mounted again (the files verify once more) and
# e2fsck -n finds it clean.
# qbd-smoke
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"
. "$(dirname "$0")/qbd_fs_fio.sh"

qbd_fs_fio_test ext4
