#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qbdctl argument handling without a cluster or the module: every malformed
# command line exits 2 with the command's usage and touches nothing (no
# catalog is created), every command that needs the kernel says
# "qbd kernel module not loaded" and exits 1 when the family is missing, and
# config errors name the file.
. "$(dirname "$0")/../common.sh"
require_cmd "$QBD_CTL"

d=$(qbd_tmpdir)
cat >"$d/cluster.conf" <<EOF
# six nodes nobody listens on
0 az-a 127.0.0.1:1
1 az-a 127.0.0.1:1
2 az-b 127.0.0.1:1
3 az-b 127.0.0.1:1
4 az-c 127.0.0.1:1
5 az-c 127.0.0.1:1
EOF

# expect RC PATTERN ARGS...: qbdctl exits RC and stderr matches PATTERN
expect() {
	local rc=$1 pat=$2 out got
	shift 2
	out=$("$QBD_CTL" --cluster "$d" "$@" 2>&1 >/dev/null)
	got=$?
	if [ "$got" != "$rc" ] || ! grep -qE -- "$pat" <<<"$out"; then
		echo "# qbdctl $*: rc $got (want $rc), stderr:" >&2
		sed 's/^/#   /' <<<"$out" >&2
		return 1
	fi
}


tap_plan 45
tap_check "no command" expect 2 "missing command"
tap_check "unknown command" expect 2 "unknown command 'frobnicate'" frobnicate
tap_check "help exits 0" bash -c "'$QBD_CTL' help >/dev/null"
tap_check "help COMMAND" bash -c "'$QBD_CTL' help attach | grep -q -- --dead-timeout-ms"
tap_check "cluster and config exclusive" expect 2 "exclusive" --config "$d/cluster.conf" volumes

# create
tap_check "create: no volume" expect 2 "missing VOLUME" create --size 1G
tap_check "create: no size" expect 2 "missing --size" create v1
tap_check "create: bad size suffix" expect 2 "bad --size '10X'" create v1 --size 10X
tap_check "create: negative size" expect 2 "bad --size" create v1 --size -5M
tap_check "create: size not 4K multiple" expect 2 "multiple of 4 KiB" create v1 --size 1000
tap_check "create: zero size" expect 2 "usage" create v1 --size 0
tap_check "create: bad pg size" expect 2 "bad --pg-size" create v1 --size 1G --pg-size 1Q
tap_check "create: pg size not 4K multiple" expect 2 "multiple of 4 KiB" create v1 --size 1G --pg-size 5000
tap_check "create: size overflow" expect 2 "bad --size" create v1 --size 99999999999T
tap_check "create: digit name" expect 2 "bad volume name" create 1vol --size 1G
tap_check "create: device-like name" expect 2 "bad volume name" create qbd0 --size 1G
tap_check "create: slash in name" expect 2 "bad volume name" create a/b --size 1G
tap_check "create: extra argument" expect 2 "too many arguments" create v1 v2 --size 1G
tap_check "create: unknown option" expect 2 "unknown option '--sise'" create v1 --sise 1G
tap_check "create: option without value" expect 2 "needs a value" create v1 --size

# attach
tap_check "attach: no volume" expect 2 "missing VOLUME" attach
tap_check "attach: window not power of 2" expect 2 "bad --window '3'" attach v1 --window 3
tap_check "attach: window too big" expect 2 "bad --window" attach v1 --window 131072
tap_check "attach: window too small" expect 2 "bad --window '8'" attach v1 --window 8
tap_check "attach: bad timeout" expect 2 "bad --timeout-ms 'abc'" attach v1 --timeout-ms abc
tap_check "attach: zero dead timeout" expect 2 "bad --dead-timeout-ms '0'" attach v1 --dead-timeout-ms 0
tap_check "attach: extra argument" expect 2 "too many arguments" attach v1 v2

# detach / status / list / reconnect / monitor
tap_check "detach: nothing" expect 2 "missing DEVICE or VOLUME" detach
tap_check "detach: bad device" expect 2 "bad device '/dev/qbdx'" detach /dev/qbdx
tap_check "status: two devices" expect 2 "too many arguments" status qbd0 qbd1
tap_check "status: bad device" expect 2 "bad device" status /dev/sda
tap_check "list: argument" expect 2 "unexpected argument" list qbd0
tap_check "reconnect: one argument" expect 2 "want DEVICE NODE_ID" reconnect qbd0
tap_check "reconnect: bad node id" expect 2 "bad node id 'x'" reconnect qbd0 x
tap_check "monitor: argument" expect 2 "unexpected argument" monitor now

# node-status / fault / volumes
tap_check "node-status: bad id" expect 2 "bad node id 'abc'" node-status abc
tap_check "fault: no knob" expect 2 "want NODE_ID key=value" fault 1
tap_check "fault: knob without value" expect 2 "bad knob 'delay_us'" fault 1 delay_us
tap_check "fault: bad node id" expect 2 "bad node id" fault one delay_us=1
tap_check "volumes: argument" expect 2 "unexpected argument" volumes x

# nothing above may have created the catalog
tap_check "bad arguments created nothing" test ! -e "$d/catalog.db"

# the kernel side: on a host without the module the family is missing
if [ -d /sys/module/qbd ]; then
	tap_skip "module not loaded: status" "qbd module is loaded"
	tap_skip "module not loaded: attach" "qbd module is loaded"
else
	tap_check "module not loaded: status" expect 1 \
		"^qbdctl: qbd kernel module not loaded: modprobe qbd / insmod qbd.ko$" status
	tap_check "module not loaded: attach/detach/list/reconnect/monitor" bash -c "
		for c in 'attach v1' 'detach /dev/qbd0' 'detach v1' list 'reconnect qbd0 1' monitor; do
			out=\$('$QBD_CTL' --cluster '$d' \$c 2>&1); rc=\$?
			[ \$rc = 1 ] && grep -q 'qbd kernel module not loaded' <<<\"\$out\" || { echo \"# \$c: rc \$rc: \$out\"; exit 1; }
		done"
fi

# config errors
echo "0 az-a 127.0.0.1:notaport" >"$d/bad.conf"
tap_check "missing config" expect 1 "no cluster config at $d/nope/cluster.conf" \
	--cluster "$d/nope" node-status
tap_check "malformed config names the file" bash -c \
	"'$QBD_CTL' --config '$d/bad.conf' node-status 2>&1 | grep -q 'bad.conf:1'"
tap_finish
