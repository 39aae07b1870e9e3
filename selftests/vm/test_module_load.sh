#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qbd.ko loads and unloads cleanly, 20 times in a row: each load registers
# the "qbd" generic netlink family and the block major, each unload removes
# them again, nothing is left behind (module list, netlink family, slab
# caches, block major), the module's memory does not grow across cycles, and
# the kernel logs no warning, BUG, oops or lockdep report.
# qbd-smoke
# qbd-timeout: 180
. "$(dirname "$0")/../common.sh"
require_root
require_module

CYCLES=20

genl_has_qbd() {
	# the family list from the kernel's genetlink controller
	if command -v genl >/dev/null 2>&1; then
		genl ctrl list 2>/dev/null | grep -qw 'Name: qbd'
	else
		return 2
	fi
}

blkdev_major() { awk '$2 == "qbd" { print $1 }' /proc/devices; }
slab_names() { awk 'NR > 2 { print $1 }' /proc/slabinfo 2>/dev/null | grep -i qbd | sort; }
mod_size() { awk '$1 == "qbd" { print $2 }' /proc/modules; }

module_loaded && fail "qbd is already loaded"
module_load_deps
slabs_before=$(slab_names)
dmesg_mark

sizes=()
for i in $(seq 1 $CYCLES); do
	insmod "$QBD_KO" || fail "insmod failed in cycle $i"
	module_loaded || fail "qbd not in /proc/modules after insmod (cycle $i)"
	[ "$(awk '$1 == "qbd" { print $5 }' /proc/modules)" = Live ] ||
		fail "qbd not Live after insmod (cycle $i)"
	sizes+=("$(mod_size)")
	if [ "$i" = 1 ]; then
		genl_has_qbd
		case $? in
		0) log "generic netlink family qbd registered" ;;
		1) fail "generic netlink family qbd missing after insmod" ;;
		*) log "no genl tool: netlink family not checked" ;;
		esac
		log "block major: $(blkdev_major) refcount: $(awk '$1 == "qbd" { print $3 }' /proc/modules)"
	fi
	[ "$(awk '$1 == "qbd" { print $3 }' /proc/modules)" = 0 ] ||
		fail "qbd has users right after insmod (cycle $i)"
	rmmod qbd || fail "rmmod failed in cycle $i"
	module_loaded && fail "qbd still in /proc/modules after rmmod (cycle $i)"
	[ -z "$(blkdev_major)" ] || fail "block major 'qbd' left registered after rmmod (cycle $i)"
	[ ! -e /sys/module/qbd ] || fail "/sys/module/qbd left after rmmod (cycle $i)"
	ls /dev/qbd* >/dev/null 2>&1 && fail "/dev/qbd* left after rmmod (cycle $i)"
done

if genl_has_qbd; then
	fail "generic netlink family qbd still registered after the last rmmod"
fi

# the module image has a fixed size: the same on every load
for s in "${sizes[@]}"; do
	[ "$s" = "${sizes[0]}" ] || fail "module size changed across loads: ${sizes[*]}"
done

slabs_after=$(slab_names)
[ "$slabs_before" = "$slabs_after" ] ||
	fail "slab caches differ after $CYCLES cycles: before [$slabs_before] after [$slabs_after]"

# kmemleak, where the kernel has it (Debian's does not by default)
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak || true)
	[ "$leaks" = 0 ] || fail "kmemleak reports $leaks unreferenced objects"
fi

check_dmesg "load/unload x$CYCLES"
log "$CYCLES load/unload cycles clean on $(uname -r)"
