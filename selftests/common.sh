# SPDX-License-Identifier: GPL-2.0
#
# selftests/common.sh - helpers shared by the shell tests (host and VM).
#
# Source it first thing:   . "$(dirname "$0")/../common.sh"
#
# A test is one script testing one behaviour. It exits 0 (pass), 4 (skip,
# KSFT_SKIP) or anything else (fail). Helpers:
#
#   log MSG...               progress line on stderr ("# " prefixed)
#   fail MSG...              print and exit 1
#   skip MSG...              print and exit 4
#   require_cmd CMD...       skip unless every command exists
#   require_root / require_vm / require_module
#   on_exit CMD              run CMD (eval'd) at exit; last registered runs first
#   qbd_tmpdir               a fresh directory under /tmp, removed at exit
#   wait_for TIMEOUT CMD...  poll CMD until it succeeds; fail after TIMEOUT s
#   wait_for_port PORT [TIMEOUT] [HOST]
#   tap_plan N / tap_ok NAME / tap_not_ok NAME / tap_skip NAME WHY / tap_check NAME CMD...
#   tap_finish               exit 1 if a tap_not_ok was seen, else 0
#   dmesg_mark               remember the current end of the kernel log
#   check_dmesg [LABEL]      fail if a WARN/BUG/oops/lockdep splat was logged
#                            since the last dmesg_mark (or since boot)
#   module_load [ARGS]       load qbd.ko's dependencies, insmod
#                            build/$(uname -r)/qbd.ko, unload at exit
#   module_unload            rmmod qbd
#   cluster_up [ARGS]        tools/cluster up --dir $QBD_CLUSTER_DIR
#                            --port-base $QBD_PORT_BASE; down again at exit
#   cluster_down / cluster_status / cluster_kill N / cluster_start N
#
# Paths: QBD_ROOT (the repo), QBD_BUILD (build/ or build-san/ when the runner
# was given --san), QBD_STORED, QBD_CTL, QBD_CONTROLD (the binaries).

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

QBD_ROOT=${QBD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
QBD_BUILD=${QBD_BUILD:-$QBD_ROOT/build}
case $QBD_BUILD in /*) ;; *) QBD_BUILD=$QBD_ROOT/$QBD_BUILD ;; esac
QBD_STORED=${QBD_STORED:-$QBD_BUILD/qbd-stored}
QBD_CTL=${QBD_CTL:-$QBD_BUILD/qbdctl}
QBD_CONTROLD=${QBD_CONTROLD:-$QBD_BUILD/qbd-controld}
QBD_CLUSTER=${QBD_CLUSTER:-$QBD_ROOT/tools/cluster}
QBD_TEST_NAME=${QBD_TEST_NAME:-$(basename "$0" .sh)}
export QBD_ROOT QBD_BUILD QBD_STORED QBD_CTL QBD_CONTROLD

log() { echo "# $*" >&2; }
fail() { echo "FAIL: $QBD_TEST_NAME: $*" >&2; exit $KSFT_FAIL; }
skip() { echo "SKIP: $QBD_TEST_NAME: $*" >&2; exit $KSFT_SKIP; }

# --- cleanup stack -----------------------------------------------------------
_qbd_exit_cmds=()
_qbd_run_exit() {
	local rc=$? i
	set +e
	for ((i = ${#_qbd_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_qbd_exit_cmds[i]}"
	done
	_qbd_exit_cmds=()
	rm -rf "/tmp/qbd-$QBD_TEST_NAME.$$".* 2>/dev/null
	exit $rc
}
trap _qbd_run_exit EXIT
trap 'exit 130' INT TERM
on_exit() { _qbd_exit_cmds+=("$*"); }

# usable as d=$(qbd_tmpdir): the exit handler removes every directory made
# here by this test ($$ is the test's pid in subshells too)
qbd_tmpdir() {
	mktemp -d "/tmp/qbd-$QBD_TEST_NAME.$$.XXXXXX" || fail "mktemp"
}

# --- requirements ---------------------------------------------------------------
require_cmd() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "missing $c"
	done
}
require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
require_vm() { [ -n "${QBD_VM:-}" ] || skip "runs only inside the test VM (tools/vm/run)"; }

# --- polling --------------------------------------------------------------------
# wait_for TIMEOUT CMD... : a bound for a condition that must come true, not a
# performance threshold.
wait_for() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	until "$@"; do
		[ $SECONDS -lt $end ] || fail "timed out after ${t}s waiting for: $*"
		sleep 0.1
	done
}

_port_open() { (exec 3<>"/dev/tcp/$2/$1") 2>/dev/null; }
wait_for_port() {
	wait_for "${2:-30}" _port_open "$1" "${3:-127.0.0.1}"
}

# --- TAP (for scripts that check several things) ------------------------------
_tap_n=0
_tap_failed=0
tap_plan() { echo "1..$1"; }
tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $*"; }
tap_not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=1; echo "not ok $_tap_n $*"; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1 # SKIP ${*:2}"; }
tap_check() {
	local name=$1
	shift
	if "$@"; then tap_ok "$name"; else tap_not_ok "$name"; fi
}
tap_finish() { [ $_tap_failed = 0 ] && exit $KSFT_PASS || exit $KSFT_FAIL; }

# --- kernel log -----------------------------------------------------------------
QBD_DMESG_BAD='WARNING:|BUG:|Oops|general protection fault|kernel BUG|Call Trace:|possible recursive locking|possible circular locking|inconsistent lock state|lockdep|KASAN:|UBSAN:|refcount_t:|list_add corruption|list_del corruption|blocked for more than|soft lockup|hard LOCKUP|RCU stall|rcu_sched detected stalls|kmemleak:.*new suspected'
_qbd_dmesg_mark=

dmesg_mark() {
	_qbd_dmesg_mark="qbd-mark-$$-$RANDOM-$SECONDS"
	echo "$_qbd_dmesg_mark" >/dev/kmsg 2>/dev/null || _qbd_dmesg_mark=
}

# prints the kernel log since the last mark
dmesg_since_mark() {
	if [ -n "$_qbd_dmesg_mark" ]; then
		dmesg | awk -v m="$_qbd_dmesg_mark" 'f; index($0, m) { f = 1 }'
	else
		dmesg
	fi
}

check_dmesg() {
	local bad
	bad=$(dmesg_since_mark | grep -E "$QBD_DMESG_BAD" || true)
	if [ -n "$bad" ]; then
		echo "kernel log splat${1:+ ($1)}:" >&2
		dmesg_since_mark | tail -60 >&2
		fail "kernel warning/bug in dmesg${1:+ ($1)}"
	fi
}

# --- the module -------------------------------------------------------------------
QBD_KO=${QBD_KO:-$QBD_ROOT/build/$(uname -r)/qbd.ko}

require_module() {
	require_vm
	[ -f "$QBD_KO" ] || skip "no $QBD_KO (make module KVER=$(uname -r))"
}

module_loaded() { grep -q '^qbd ' /proc/modules; }

# qbd.ko is not installed under /lib/modules, so modprobe cannot resolve
# what it needs: load its "depends" (modinfo) first, then insmod it
module_load_deps() {
	local dep
	for dep in $(modinfo -F depends "$QBD_KO" 2>/dev/null | tr ',' ' '); do
		modprobe "$dep" || fail "modprobe $dep (needed by qbd.ko) failed"
	done
}

module_load() {
	require_module
	module_load_deps
	insmod "$QBD_KO" "$@" || fail "insmod $QBD_KO failed"
	on_exit "module_loaded && rmmod qbd"
}

module_unload() { rmmod qbd || fail "rmmod qbd failed"; }

# --- the local cluster (tools/cluster) --------------------------------------
QBD_PORT_BASE=${QBD_PORT_BASE:-$((20000 + ($$ % 200) * 50))}
QBD_CLUSTER_DIR=${QBD_CLUSTER_DIR:-}

cluster() {
	[ -x "$QBD_CLUSTER" ] || skip "no $QBD_CLUSTER"
	[ -n "$QBD_CLUSTER_DIR" ] || QBD_CLUSTER_DIR=$(qbd_tmpdir)
	"$QBD_CLUSTER" "$@" --dir "$QBD_CLUSTER_DIR" --port-base "$QBD_PORT_BASE"
}

cluster_up() {
	[ -n "$QBD_CLUSTER_DIR" ] || QBD_CLUSTER_DIR=$(qbd_tmpdir)
	on_exit "cluster down >/dev/null 2>&1"
	cluster up "$@" || fail "tools/cluster up failed"
}
cluster_down() { cluster down "$@"; }
cluster_status() { cluster status "$@"; }
cluster_kill() { cluster kill "$@"; }
cluster_start() { cluster start "$@"; }
