# SPDX-License-Identifier: GPL-2.0
#
# qbd_vm_lib.sh - shared helpers of the VM tests (selftests/vm/test_qbd_*.sh).
#
# A VM test runs as root inside the QEMU guest of tools/vm/run (normally
# booted by tools/run-tests vm). Started by hand on the host, it re-executes
# itself in a fresh guest, honouring its "# qbd-vm-opts:" and
# "# qbd-timeout:" lines; QBD_VM_KERNEL picks the kernel (default 6.1).
# Inside the guest it starts the six qbd-stored daemons on the guest's
# loopback (data under /tmp), loads build/$(uname -r)/qbd.ko, and on exit
# tears everything down again (umount, detach, rmmod, cluster down) so that
# the next test of the same boot starts clean.
#
# Usage in a test:
#	. "$(dirname "$0")/qbd_vm_lib.sh"
#	qbd_vm_init "$@"		# re-exec in a VM, checks, traps
#	qbd_cluster_up
#	qbd_module_load
#	qbd_create vol0 --size 256M --pg-size 64M
#	qbd_attach dev vol0		# sets $dev to /dev/qbdN
#	...
#	qbd_pass			# or qbd_fail "why" / qbd_skip "why"
#
# Exit status: 0 pass, 4 skip (KSFT_SKIP), 1 fail.

QBD_ROOT=${QBD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the shared helpers: KSFT_*, log/fail/skip, on_exit, require_*, wait_for,
# dmesg_mark/check_dmesg, cluster (tools/cluster with --dir/--port-base)
# shellcheck source=../common.sh
. "$QBD_ROOT/selftests/common.sh"

QBD_TEST=$QBD_TEST_NAME
QBD_CLUSTER_TOOL=$QBD_CLUSTER

QBD_DIR=			# per-test scratch directory (guest tmpfs)
QBD_CDIR=			# cluster directory (cluster.conf, node data)
QBD_MNTS=()			# mount points to unmount on exit
QBD_BG_PIDS=()			# background jobs to kill on exit

qbd_log() { echo "# $QBD_TEST: $*"; }
qbd_pass() { echo "ok 1 $QBD_TEST # ${*:+$*, }${SECONDS}s"; exit "$KSFT_PASS"; }
qbd_skip() { skip "$@"; }
qbd_fail() {
	echo "not ok 1 $QBD_TEST # $* (after ${SECONDS}s)"
	qbd_dump_diag
	fail "$@"
}

# run a command, fail the test with its output if it fails
qbd_run() {
	local out rc
	out=$("$@" 2>&1) && return 0
	rc=$?
	echo "$out" | tail -30 | sed 's/^/#   /'
	qbd_fail "command failed (rc $rc): $*"
}

# --- re-exec in a guest ---------------------------------------------------
# qbd_vm_init: on the host, boot a guest for this script (with its
# "# qbd-vm-opts:" and "# qbd-timeout:" lines); in the guest, check what the
# test needs and register the cleanup.
qbd_vm_init() {
	local opts tmo f
	if [ -z "${QBD_VM:-}" ]; then
		[ -x "$QBD_ROOT/tools/vm/run" ] ||
			skip "not in a qbd guest and no tools/vm/run"
		opts=$(sed -n 's/^# qbd-vm-opts: *//p' "$0" | head -1)
		tmo=$(sed -n 's/^# qbd-timeout: *\([0-9]\+\).*/\1/p' "$0" | head -1)
		trap - EXIT
		# shellcheck disable=SC2086
		exec "$QBD_ROOT/tools/vm/run" --kernel "${QBD_VM_KERNEL:-6.1}" \
			--timeout $((${tmo:-300} + 60)) $opts \
			-- "$(realpath "$0")" "$@"
	fi
	# QBD_TRACE=1: trace the test (set -x) with timestamps
	if [ -n "${QBD_TRACE:-}" ]; then
		PS4='+ $(date +%T) '
		set -x
	fi
	require_root
	require_cmd fio jq ss timeout mkfs.ext4 "$QBD_CTL" "$QBD_STORED" \
		"$QBD_CLUSTER_TOOL"
	require_module
	QBD_DIR=$(qbd_tmpdir)
	# /run is the guest's tmpfs: tells whether an earlier test of this boot
	# used the library (test_qbd_zz_dmesg.sh)
	QBD_FIRST_IN_BOOT=0
	[ -e /run/qbd-vm-lib.seen ] || QBD_FIRST_IN_BOOT=1
	touch /run/qbd-vm-lib.seen
	dmesg_mark
	on_exit qbd_cleanup
	echo "1..1"
	qbd_log "kernel $(uname -r), $(nproc) cpus, $(free -m | awk '/^Mem/ {print $2}') MiB"
}

# --- cluster and module ---------------------------------------------------
# qbd_cluster_up [DIR]: the six daemons, data under DIR (default: scratch)
qbd_cluster_up() {
	QBD_CDIR=${1:-$QBD_DIR/cluster}
	# exported too: "tools/cluster kill N" looks for the cluster before
	# it reads --dir
	export QBD_CLUSTER_DIR=$QBD_CDIR
	mkdir -p "$QBD_CDIR"
	qbd_run cluster up
	[ -r "$QBD_CDIR/cluster.conf" ] ||
		qbd_fail "no $QBD_CDIR/cluster.conf after tools/cluster up"
	qbd_log "cluster up in $QBD_CDIR (port base $QBD_PORT_BASE)"
}

qbd_cluster_down() {
	[ -n "$QBD_CDIR" ] || return 0
	cluster down >/dev/null 2>&1
}

qbd_node_kill() {	# qbd_node_kill ID...: SIGKILL the daemons
	local n
	for n in "$@"; do
		qbd_run cluster kill "$n"
	done
	qbd_log "killed node(s) $*"
}

qbd_node_start() {	# qbd_node_start ID...: restart killed daemons
	local n
	for n in "$@"; do
		qbd_run cluster start "$n"
	done
	qbd_log "restarted node(s) $*"
}

qbd_nodes() {	# the node ids of cluster.conf ("<id> <az> <host>:<port>")
	awk '$1 ~ /^[0-9]+$/ { print $1 }' "$QBD_CDIR/cluster.conf"
}

qbd_node_az() {	# the AZ number of a node
	awk -v id="$1" '$1 == id {
		az = $2; sub(/^az-/, "", az)
		if (az ~ /^[a-z]$/) az = index("abcdefghijklmnopqrstuvwxyz", az) - 1
		print az }' "$QBD_CDIR/cluster.conf"
}

qbd_ctl() { "$QBD_CTL" --cluster "$QBD_CDIR" "$@"; }

qbd_module_load() {
	if module_loaded; then
		rmmod qbd 2>/dev/null || qbd_fail "qbd already loaded and busy"
	fi
	# qbd.ko is not installed under /lib/modules: load what it needs first
	local dep
	for dep in $(modinfo -F depends "$QBD_KO" | tr ',' ' '); do
		qbd_run modprobe "$dep"
	done
	qbd_run insmod "$QBD_KO"
}

qbd_module_unload() {
	module_loaded || return 0
	rmmod qbd
}

# --- volumes and devices --------------------------------------------------
qbd_create() {	# qbd_create VOL --size S [--pg-size P]
	qbd_run qbd_ctl create "$@"
}

# Options every attach gets first (a test's own options come after and
# win). The guest is emulated (TCG) on a shared host: a daemon can stall for
# seconds, so the kernel's default 5 s io-timeout would declare live nodes
# dead; tests of node death kill the process, which closes its sockets.
QBD_ATTACH_OPTS=${QBD_ATTACH_OPTS:---timeout-ms 30000}

# qbd_attach_try VOL [opts]: prints the device; for dev=$(...) (a subshell),
# so it reports errors on stderr and returns 1
qbd_attach_try() {
	local out dev vol=$1
	shift
	# shellcheck disable=SC2086
	out=$(qbd_ctl attach "$vol" $QBD_ATTACH_OPTS "$@" 2>&1) || {
		echo "$out" | sed 's/^/#   /' >&2
		return 1
	}
	dev=$(echo "$out" | grep -o '/dev/qbd[0-9]\+' | tail -1)
	[ -b "$dev" ] || {
		echo "# attach $*: no block device in: $out" >&2
		return 1
	}
	echo "$dev"
}

# qbd_attach VAR VOL [opts]: attach, store the device in VAR, fail on error
qbd_attach() {
	local __var=$1 __dev
	shift
	__dev=$(qbd_attach_try "$@") || qbd_fail "attach $* failed"
	printf -v "$__var" '%s' "$__dev"
	qbd_log "attached $1 as $__dev"
}

qbd_detach() {	# qbd_detach DEV [--abort]
	qbd_run timeout 120 "$QBD_CTL" --cluster "$QBD_CDIR" detach "$@"
}

qbd_dev_count() {	# the number of qbd block devices that exist
	local n=0 d
	for d in /sys/block/qbd*; do
		[ -e "$d" ] && n=$((n + 1))
	done
	echo "$n"
}

# jq over the "qbdctl status --json" entry of one device: qbd_status_q DEV FILTER
qbd_status_q() {
	qbd_ctl status --json | jq -r --arg d "$1" \
		"(if type == \"array\" then . else (.devices // [.]) end)
		 | map(select(.device == \$d)) | .[0] | $2"
}

qbd_dev_writes() {	# completed writes of a device (/sys/block/X/stat)
	awk '{ print $5 }' "/sys/block/$(basename "$1")/stat"
}

# qbd_wait_writes DEV N TIMEOUT: wait until DEV completed N more writes
qbd_wait_writes() {
	local dev=$1 n=$2 t=$3 start
	start=$(qbd_dev_writes "$dev")
	qbd_wait_until "$t" "[ \$(qbd_dev_writes $dev) -ge $((start + n)) ]" ||
		qbd_fail "$dev did not complete $n writes in ${t}s"
}

# qbd_wait_until SECONDS 'shell condition': poll; 1 if it never came true.
# A bound on something that must happen, not a performance threshold.
qbd_wait_until() {
	local end=$((SECONDS + $1))
	while ! eval "$2"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

qbd_wait_exit() {	# qbd_wait_exit PID SECONDS: 1 if still running then
	qbd_wait_until "$2" "! kill -0 $1 2>/dev/null"
}

# --- file systems and data --------------------------------------------------
qbd_mount() {	# qbd_mount DEV DIR [opts]
	mkdir -p "$2"
	qbd_run mount ${3:+-o "$3"} "$1" "$2"
	QBD_MNTS+=("$2")
}

qbd_umount() {
	local i
	qbd_run timeout 120 umount "$1"
	for i in "${!QBD_MNTS[@]}"; do
		[ "${QBD_MNTS[$i]}" = "$1" ] && unset "QBD_MNTS[$i]"
	done
}

# fio 4k random writes by 2 jobs at QD16, every block carrying a crc32c
# verify header. The write phase is bounded by time (the guest is slow and
# its speed varies), so it saves fio's verify state (NAME-*.state in
# $QBD_DIR); the check phase reads back and verifies exactly the blocks the
# write phase completed. Both take the job's own options (file, size, ...)
# and leave fio's output in $QBD_DIR/NAME.{write,check}.
QBD_FIO_COMMON=(--rw=randwrite --bs=4k --ioengine=libaio --direct=1
	--iodepth=16 --numjobs=2 --verify=crc32c --verify_fatal=1
	--group_reporting)

qbd_fio_write() {	# qbd_fio_write NAME SECONDS ARGS...
	local name=$1 secs=$2
	shift 2
	(cd "$QBD_DIR" && fio --name="$name" "${QBD_FIO_COMMON[@]}" \
		--do_verify=1 --runtime="$secs" --verify_state_save=1 "$@" \
		>"$QBD_DIR/$name.write" 2>&1)
}

qbd_fio_check() {	# qbd_fio_check NAME ARGS...: 0 if every block verifies
	local name=$1
	shift
	(cd "$QBD_DIR" && fio --name="$name" "${QBD_FIO_COMMON[@]}" \
		--verify_only=1 --verify_state_load=1 --verify_state_save=0 "$@" \
		>"$QBD_DIR/$name.check" 2>&1) || return 1
	# a check that read nothing verified nothing
	grep -q 'READ:.*io=[0-9.]*[KMG]i\?B' "$QBD_DIR/$name.check"
}

# qbd_fio_verify NAME SECONDS ARGS...: write phase, then check phase
qbd_fio_verify() {
	local name=$1 secs=$2
	shift 2
	qbd_fio_write "$name" "$secs" "$@" || return 1
	qbd_fio_check "$name" "$@"
}

qbd_fio_summary() {	# the interesting lines of fio's outputs for NAME
	local f
	for f in "$QBD_DIR/$1".write "$QBD_DIR/$1".check "$QBD_DIR/$1".fio; do
		[ -f "$f" ] || continue
		echo "# ${f##*/}:"
		grep -E 'err=|READ:|WRITE:|verify|error' "$f" | head -12 |
			sed 's/^ */#   /'
	done
}

# qbd_pattern_write DEV OFFSET_MB SIZE_MB: random data, written direct and
# fdatasync'd; prints its sha256. The I/O of these helpers fails after
# QBD_IO_TIMEOUT seconds (a hang bound, default 300).
qbd_pattern_write() {
	local f
	f=$(mktemp "$QBD_DIR/pattern.XXXXXX")
	head -c "$(($3 << 20))" /dev/urandom >"$f"
	timeout -k 5 "${QBD_IO_TIMEOUT:-300}" dd if="$f" of="$1" bs=1M \
		seek="$2" oflag=direct conv=fdatasync,notrunc status=none ||
		{ rm -f "$f"; return 1; }
	sha256sum <"$f" | cut -d' ' -f1
	rm -f "$f"
}

qbd_pattern_sum() {	# DEV OFFSET_MB SIZE_MB: sha256 of what is there
	timeout -k 5 "${QBD_IO_TIMEOUT:-300}" \
		dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none |
		sha256sum | cut -d' ' -f1
}

# --- kernel log -------------------------------------------------------------
qbd_dmesg_new() { dmesg_since_mark; }

qbd_check_dmesg() {
	local bad
	bad=$(dmesg_since_mark | grep -E "$QBD_DMESG_BAD")
	[ -z "$bad" ] && return 0
	dmesg_since_mark | grep -E -B2 -A20 "$QBD_DMESG_BAD" | head -60 |
		sed 's/^/#   /'
	qbd_fail "kernel log shows a bug report: $(echo "$bad" | head -1)"
}

# --- diagnostics and cleanup -----------------------------------------------
qbd_dump_diag() {
	local f
	[ -n "${QBD_DIAG_DONE:-}" ] && return
	QBD_DIAG_DONE=1
	if [ -n "$QBD_CDIR" ] && module_loaded; then
		echo "# --- qbdctl status ---"
		timeout 10 "$QBD_CTL" --cluster "$QBD_CDIR" status 2>&1 | head -40 |
			sed 's/^/#   /'
	fi
	echo "# --- memory and /tmp ---"
	{ grep -E '^(MemTotal|MemFree|Shmem):' /proc/meminfo; df -h /tmp | tail -1; } |
		sed 's/^/#   /'
	echo "# --- kernel log since the test started (tail) ---"
	dmesg_since_mark | tail -40 | sed 's/^/#   /'
	[ -n "$QBD_CDIR" ] || return 0
	for f in $(find "$QBD_CDIR" -maxdepth 2 -name '*.log' 2>/dev/null); do
		echo "# --- tail $f ---"
		tail -5 "$f" | sed 's/^/#   /'
	done
}

qbd_cleanup() {
	local p m d
	for p in "${QBD_BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${QBD_BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for m in "${QBD_MNTS[@]}"; do
		timeout 60 umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	if module_loaded; then
		for d in /sys/block/qbd*; do
			[ -e "$d" ] || continue
			timeout 30 "$QBD_CTL" --cluster "$QBD_CDIR" detach \
				"/dev/$(basename "$d")" --abort >/dev/null 2>&1
		done
		qbd_module_unload 2>/dev/null ||
			echo "# $QBD_TEST: cleanup: rmmod qbd failed"
	fi
	qbd_cluster_down
}
