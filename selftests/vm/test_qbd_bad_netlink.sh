#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Malformed netlink requests never create a device: qbd_nl_bad sends
# CONNECTs that each break one thing (missing attributes, wrong attribute
# sizes, 5 or 7 nodes, duplicate ids, bad fds, unaligned sizes, a window
# that is not a power of two, ...) and checks each is rejected with an errno
# and an extended-ack message. Afterwards no device exists, the kernel holds
# none of the sockets it was offered, and a real attach still works.
. "$(dirname "$0")/qbd_vm_lib.sh"
qbd_vm_init "$@"

helper=$QBD_BUILD/tests/qbd_nl_bad
[ -x "$helper" ] || qbd_skip "no $helper (make userspace)"

kernel_socks() { ss -Htn state established | wc -l; }

qbd_module_load
base_devs=$(qbd_dev_count)
"$helper" | tee "$QBD_DIR/nl_bad.tap" | sed 's/^/#   /'
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || qbd_fail "qbd_nl_bad: $(grep -c '^not ok' "$QBD_DIR/nl_bad.tap") case(s) not rejected properly (rc $rc)"
[ "$(qbd_dev_count)" = "$base_devs" ] ||
	qbd_fail "device count changed: $base_devs -> $(qbd_dev_count)"
# the helper exited: every socket it offered must be closed, none kept by qbd
qbd_wait_until 20 '[ "$(kernel_socks)" = 0 ]' || {
	ss -tn | sed 's/^/#   /'
	qbd_fail "$(kernel_socks) TCP connections survive the helper: qbd kept a socket of a rejected CONNECT"
}

# the module still works
qbd_cluster_up
qbd_create vol0 --size 64M --pg-size 16M
qbd_attach dev vol0
sum=$(qbd_pattern_write "$dev" 0 4) || qbd_fail "write after the bad requests failed"
[ "$(qbd_pattern_sum "$dev" 0 4)" = "$sum" ] || qbd_fail "read back differs"
qbd_detach "$dev"
qbd_check_dmesg
qbd_pass "$(grep -c '^ok' "$QBD_DIR/nl_bad.tap") malformed requests rejected"
