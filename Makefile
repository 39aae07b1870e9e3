# SPDX-License-Identifier: GPL-2.0
#
# qbd top-level build.
#   make              userspace (build/) and qbd.ko for the installed KVER
#   make userspace    libqbd, qbd-stored, qbdctl, qbd-controld, host tests
#   make module       qbd.ko against /lib/modules/$(KVER)/build
#   make modules-all  qbd.ko for every Debian kernel under /lib/modules
#   make check        every test (host + VM); ends with "N passed, N failed"
#   make check-host   host tests only       make check-vm   VM tests only
#   make run          the main job (tools/demo)
#   make deps         install the Debian packages the project needs
#   make SAN=1 ...    userspace with AddressSanitizer + UBSan (build-san/)

# make defines CC=cc; use ours unless given on the command line
ifeq ($(origin CC),default)
CC := gcc
endif
SAN ?= 0
ifeq ($(SAN),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
SANFLAGS :=
endif

# the Debian kernel the module builds against by default: the 6.1 one
KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | grep -E '^6\.1\.' | sort -V | tail -1)
KDIR ?= /lib/modules/$(KVER)/build

WFLAGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS_Q := -std=c11 -D_GNU_SOURCE -O2 -g $(WFLAGS) $(SANFLAGS) \
	-Ikernel -Iuserspace/lib $(EXTRA_CFLAGS)
LDFLAGS_Q := $(SANFLAGS)
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
LIBS := -luring -lisal -lsqlite3 -lpthread -lm

LIB_SRC := $(wildcard userspace/lib/*.c) kernel/qbd_quorum.c kernel/qbd_codec.c
LIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))
STORED_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard userspace/stored/*.c))
CTL_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard userspace/ctl/*.c))
CONTROLD_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard userspace/controld/*.c))
TESTLIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard selftests/lib/*.c))
HOST_TESTS := $(patsubst selftests/host/%.c,$(B)/tests/%,$(wildcard selftests/host/test_*.c))
VM_HELPERS := $(patsubst selftests/vm/%.c,$(B)/tests/%,$(wildcard selftests/vm/*.c))

BINS := $(B)/libqbd.a $(B)/qbd-stored $(B)/qbdctl
ifneq ($(CONTROLD_OBJ),)
BINS += $(B)/qbd-controld
endif
# writer-driven tools: each userspace/tools/NAME.c is build/NAME (qbd-bench,
# qbd-admin), linked with libqbd
TOOL_BINS := $(patsubst userspace/tools/%.c,$(B)/%,$(wildcard userspace/tools/*.c))
BINS += $(TOOL_BINS)

.PHONY: all userspace module modules-all check check-host check-vm run deps \
	clean fuzz checkpatch sparse
all: userspace module

userspace: $(BINS) $(HOST_TESTS) $(VM_HELPERS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_Q) $(NL_CFLAGS) -MMD -MP -c $< -o $@

# kselftest_harness.h comes from Debian's linux-source tarball at build time
KSFT := build/ksft
LINUX_SRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz /usr/src/linux-source-*.tar.xz))
$(KSFT)/kselftest_harness.h:
	@test -n "$(LINUX_SRC_TAR)" || { echo "linux-source tarball missing: run 'make deps'"; exit 1; }
	@mkdir -p $(KSFT)
	tar -xJf $(LINUX_SRC_TAR) --strip-components=4 -C $(KSFT) \
		--wildcards '*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h'
	@touch $@

# tests use the kernel's harness, which needs GNU C extensions
$(B)/obj/selftests/%.o: selftests/%.c $(KSFT)/kselftest_harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_Q) -std=gnu11 -I$(KSFT) -Iselftests/lib $(NL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libqbd.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/qbd-stored: $(STORED_OBJ) $(B)/libqbd.a
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(LIBS)

$(B)/qbdctl: $(CTL_OBJ) $(B)/libqbd.a
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(NL_LIBS) $(LIBS)

$(B)/qbd-controld: $(CONTROLD_OBJ) $(B)/libqbd.a
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(LIBS)

$(TOOL_BINS): $(B)/%: $(B)/obj/userspace/tools/%.o $(B)/libqbd.a
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/selftests/host/%.o $(TESTLIB_OBJ) $(B)/libqbd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/selftests/vm/%.o $(B)/libqbd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_Q) -o $@ $^ $(NL_LIBS) $(LIBS)

# libFuzzer targets (clang): build/fuzz/fuzz_*
FUZZ_SRC := $(wildcard selftests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst selftests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
fuzz: $(FUZZ_BIN)
build/fuzz/%: selftests/fuzz/%.c kernel/qbd_codec.c kernel/qbd_quorum.c userspace/lib/crc32c.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Ikernel -Iuserspace/lib -o $@ $< kernel/qbd_codec.c \
		kernel/qbd_quorum.c userspace/lib/crc32c.c -lisal

# the node's message handler is compiled into its fuzz target
build/fuzz/fuzz_stored_msg: $(wildcard userspace/stored/*.c userspace/stored/*.h) userspace/lib/log.c

module:
	@test -d "$(KDIR)" || { echo "no kernel headers at $(KDIR): run 'make deps'"; exit 1; }
	@# objects of another kernel version must not be linked into this one
	@if [ "$$(cat build/.module-kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/kernel clean >/dev/null; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@mkdir -p build/$(KVER) && cp kernel/qbd.ko build/$(KVER)/qbd.ko
	@echo $(KVER) > build/.module-kver

modules-all:
	@for k in $$(ls -1 /lib/modules); do \
		test -d /lib/modules/$$k/build || continue; \
		$(MAKE) -C /lib/modules/$$k/build M=$(CURDIR)/kernel clean >/dev/null; \
		$(MAKE) module KVER=$$k || exit 1; \
	done

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

checkpatch:
	tools/checkpatch kernel

deps:
	tools/deps

check: deps
	tools/run-tests all

check-host: deps
	tools/run-tests host

check-vm: deps
	tools/run-tests vm

run: deps
	tools/demo

clean:
	rm -rf build build-san
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kernel clean 2>/dev/null

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
