# SPDX-License-Identifier: GPL-2.0
#
# make            module, libvcore, selftests, tools
# make module-test  the test build of vcore.ko (test-only commands, loaded
#                 with test=1 by make check, the selftests and the demo)
# make check      every test: user-space tier, then the selftests in a VM
# make demo       boot the VM, load the module, show it working
# make setup      install the Debian packages the project needs
# make install    module, libvcore, headers, pkg-config file, man pages,
#                 udev rule (DESTDIR, PREFIX=/usr/local); make uninstall
# make man-lint   mandoc -T lint on man/
#
# KDIR: the kernel build tree; defaults to the running kernel's, else the
# newest installed Debian amd64 headers (the kernel the VM boots).

KVER ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),\
	$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))
LINUX_SOURCE ?= $(shell ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null)

B := build
# The one version of the tree: the libvcore file name, pkg-config, DKMS.
VERSION := $(shell cat VERSION)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
LIB_SO := $(B)/libvcore.so.$(VERSION)
CC ?= gcc
CXX ?= g++
WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CFLAGS += $(WARN) -std=gnu11 -Iuapi -Ilibvcore -fno-strict-aliasing
LIB_OBJS := $(B)/libvcore/dev.o
LIB_OBJS += $(addprefix $(B)/libvcore/,arena_pages.o arena.o ucq.o ceq.o \
	evbitmap.o mbox.o ev_handler.o event.o alarm.o)
LIB_OBJS += $(addprefix $(B)/libvcore/,vcore_lib.o vcore_entry.o uthread.o \
	uth_sync.o uth_sleep.o numa.o tap.o epoll.o sigevent.o uth_io.o uth_uring.o)
# what libvcore.so links and users of libvcore.a must add
LIB_LDLIBS := -lnuma -luring
LIB_PIC_OBJS := $(LIB_OBJS:.o=.pic.o)
SELFTESTS := vcore_dev_test vcore_event_test vcore_libvcore_test \
	vcore_vcore_test vcore_numa_test vcore_hostile_test vcore_failnth_test \
	vcore_isolation_test vcore_alarm_test vcore_tap_test vcore_fuzz \
	vcore_blocked_test vcore_redis_test vcore_module_test
TOOLS := vcore-info vcore-demo
# the Redis-protocol server's two front ends (tools/examples/redis/)
REDIS_BINS := $(B)/tools/examples/vcore-redis \
	$(B)/tools/examples/vcore-redis-epoll

.PHONY: all module module-test lib selftests tools check demo setup \
	checkpatch clean unit
.DELETE_ON_ERROR:

all: module lib selftests tools

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make setup'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 $(if $(WERROR),KCFLAGS=-Werror) modules

# The test build (kmod/Kbuild, VCORE_TEST=1) in a copy of the sources
# (tools/kmod-tree), so that kmod/vcore.ko stays the default build.
TEST_KO := $(B)/kmod-test/kmod/vcore.ko
module-test:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make setup'" >&2; exit 1; }
	@tools/kmod-tree $(B)/kmod-test >/dev/null
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(B)/kmod-test/kmod W=1 VCORE_TEST=1 \
		$(if $(WERROR),KCFLAGS=-Werror) modules

lib: $(B)/libvcore.a $(B)/libvcore.so

$(B)/libvcore/%.o: libvcore/%.c libvcore/*.h uapi/linux/vcore.h uapi/vcore_abi_check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libvcore/%.pic.o: libvcore/%.c libvcore/*.h uapi/linux/vcore.h uapi/vcore_abi_check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(B)/libvcore/%.o: libvcore/%.S libvcore/*.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libvcore/%.pic.o: libvcore/%.S libvcore/*.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(B)/libvcore.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

# the real file, its soname link (what programs load) and the dev link
$(LIB_SO): $(LIB_PIC_OBJS) libvcore/libvcore.map VERSION
	$(CC) -shared -Wl,--version-script=libvcore/libvcore.map \
		-Wl,-soname,libvcore.so.$(SOMAJOR) -o $@ $(LIB_PIC_OBJS) \
		$(LIB_LDLIBS)

$(B)/libvcore.so.$(SOMAJOR): $(LIB_SO)
	ln -sf $(notdir $<) $@

$(B)/libvcore.so: $(B)/libvcore.so.$(SOMAJOR)
	ln -sf $(notdir $<) $@

# The portable core in user space (tools/testing/core/, see its README and
# the core-unit target below).  The core is kmod/core/: each file compiles
# unchanged with the harness's env.h force-included ahead of
# kmod/core/env.h (same include guard, so the kernel's one is skipped).
CORE_DIR := tools/testing/core
CORE_SRCS := $(sort $(wildcard kmod/core/*.c))
CORE_NAMES := $(notdir $(basename $(CORE_SRCS)))
CORE_HDRS := $(wildcard kmod/core/*.h) $(CORE_DIR)/env.h \
	$(wildcard $(CORE_DIR)/lib/*.h) uapi/linux/vcore.h
CORE_HLIB := harness alloc hmcp reader
CORE_UNIT := test_harness test_arena test_event test_ucq test_ceq \
	test_evbitmap test_vcores
# VCORE_TEST: the core's test-only helpers (mcp_arrange() and the like).
CORE_CFLAGS := -std=gnu11 -g -Wall -Wextra -Werror -fno-strict-aliasing \
	-pthread -include $(CORE_DIR)/env.h -Iuapi -Ikmod/core -I$(CORE_DIR) \
	-Ilibvcore/tests -DVCORE_TEST
CORE_LDLIBS := -lurcu-memb
CORE_SAN_asan := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
CORE_SAN_cov := -O0 --coverage
CORE_SAN_tsan := -O1 -fsanitize=thread

# Unit tests of libvcore's user-space side (libvcore/tests/): the library
# against the real core as its kernel (tools/testing/core/lib/kernel_side.c:
# the core on a stand-alone MCP, and libvcore's arena page layer over the
# core's page map), no module needed.  Built with ASan+UBSan, and again
# with TSan, both with delay injection points compiled in
# (libvcore/internal.h); the core's objects are the harness's, built with
# the same sanitizer.
UNIT_TESTS := test_arena test_ucq test_ceq test_evbitmap test_event test_alarm
UNIT_OBJS := dev arena ucq ceq evbitmap mbox ev_handler event inject
UNIT_HDRS := libvcore/*.h libvcore/tests/*.h uapi/linux/vcore.h \
	uapi/vcore_abi_check.h $(CORE_DIR)/lib/hooks.h \
	$(CORE_DIR)/lib/kernel_side.h
UNIT_CFLAGS := $(CFLAGS) -Ilibvcore/tests -I$(CORE_DIR) -pthread \
	-DVCORE_INJECT_DELAYS
# unit_kernel FLAVOUR: the kernel the unit tests link
CORE_KLIB := harness alloc hmcp kernel_side
unit_kernel = $(patsubst %,$(B)/core/$(1)/kmod/%.o,$(CORE_NAMES)) \
	$(patsubst %,$(B)/core/$(1)/lib/%.o,$(CORE_KLIB))
UNIT_SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
UNIT_SAN_tsan := -fsanitize=thread
UNIT_BINS := $(addprefix $(B)/unit/asan/,$(UNIT_TESTS)) \
	$(addprefix $(B)/unit/tsan/,$(UNIT_TESTS))

define unit_flavour
$(B)/unit/$(1)/%.o: libvcore/%.c $(UNIT_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_$(1)) -c -o $$@ $$<
$(B)/unit/$(1)/%.o: libvcore/tests/%.c $(UNIT_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_$(1)) -c -o $$@ $$<
$(B)/unit/$(1)/%.o: libvcore/%.S $(UNIT_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(UNIT_CFLAGS) -c -o $$@ $$<
$(B)/unit/$(1)/%.o: libvcore/tests/%.S $(UNIT_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(UNIT_CFLAGS) -c -o $$@ $$<
$(B)/unit/$(1)/test_%: $(B)/unit/$(1)/test_%.o \
		$(addprefix $(B)/unit/$(1)/,$(addsuffix .o,$(UNIT_OBJS))) \
		$(call unit_kernel,$(1))
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_$(1)) -o $$@ $$^ $(CORE_LDLIBS)
endef
$(eval $(call unit_flavour,asan))
$(eval $(call unit_flavour,tsan))
.PRECIOUS: $(B)/unit/asan/%.o $(B)/unit/tsan/%.o

# Vcore context, the pop and uthreads, against a fake kernel that plays
# vcore.ko in user space (libvcore/tests/fake_kernel.c: seccomp traps the
# device's ioctls, signals stand in for notification IPIs).  ASan+UBSan
# only: ThreadSanitizer follows neither user-level stack switches nor a
# signal handler that rewrites the interrupted context.
UNIT_VCORE_TESTS := test_vcore_ctx test_pop_race test_uthread test_preempt \
	test_preempt_one
UNIT_VCORE_OBJS := vcore_lib vcore_entry uthread uth_sync uth_sleep alarm numa \
	fake_kernel regs_torture ymm_hold
# test_preempt with one pcore: one vcore runs at a time, in run-queue order
$(B)/unit/asan/test_preempt_one.o: libvcore/tests/test_preempt.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_asan) -DTEST_PCORES=1 -c -o $@ $<
UNIT_BINS += $(addprefix $(B)/unit/asan/,$(UNIT_VCORE_TESTS))
define unit_vcore_test
$(B)/unit/asan/$(1): $(B)/unit/asan/$(1).o \
		$(addprefix $(B)/unit/asan/,$(addsuffix .o,$(UNIT_OBJS) \
		$(UNIT_VCORE_OBJS))) $(call unit_kernel,asan)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_asan) -o $$@ $$^ $(LIB_LDLIBS) \
		$(CORE_LDLIBS)
endef
$(foreach t,$(UNIT_VCORE_TESTS),$(eval $(call unit_vcore_test,$(t))))
# Negative controls: the pop race test against a pop built without its
# barrier (U2) or without its look at notif_pending (U3) must fail.
UNIT_POP_BROKEN := no_mb no_check
UNIT_BINS += $(addprefix $(B)/unit/asan/test_pop_race_,$(UNIT_POP_BROKEN))
$(B)/unit/asan/vcore_entry_no_mb.o: libvcore/vcore_entry.S $(UNIT_HDRS)
	$(CC) $(UNIT_CFLAGS) -DVCORE_BROKEN_POP_NO_MB -c -o $@ $<
$(B)/unit/asan/vcore_entry_no_check.o: libvcore/vcore_entry.S $(UNIT_HDRS)
	$(CC) $(UNIT_CFLAGS) -DVCORE_BROKEN_POP_NO_CHECK -c -o $@ $<
$(B)/unit/asan/test_pop_race_broken.o: libvcore/tests/test_pop_race.c \
		$(UNIT_HDRS)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_asan) -DBROKEN -c -o $@ $<
$(B)/unit/asan/test_pop_race_no_%: $(B)/unit/asan/test_pop_race_broken.o \
		$(B)/unit/asan/vcore_entry_no_%.o \
		$(addprefix $(B)/unit/asan/,$(addsuffix .o,$(UNIT_OBJS) \
		$(filter-out vcore_entry,$(UNIT_VCORE_OBJS)))) \
		$(call unit_kernel,asan)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_asan) -o $@ $^ $(LIB_LDLIBS) \
		$(CORE_LDLIBS)

# The Redis-protocol server's parser, store and connection (tools/examples/
# redis/), ASan+UBSan.
REDIS_UNIT_SRCS := $(addprefix tools/examples/redis/,test_redis_core.c rbuf.c \
	resp.c store.c commands.c conn.c)
UNIT_BINS += $(B)/unit/redis/test_redis_core
$(B)/unit/redis/test_redis_core: $(REDIS_UNIT_SRCS) tools/examples/redis/*.h
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN_asan) -o $@ $(REDIS_UNIT_SRCS)

# The public headers compile as C11 (-pedantic) and as C++11.
$(B)/unit/headers-c.o: libvcore/tests/headers.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -pedantic $(WARN) -Iuapi -Ilibvcore -c -o $@ $<
$(B)/unit/headers-cxx.o: libvcore/tests/headers.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CXX) -x c++ -std=c++11 $(WARN) -Iuapi -Ilibvcore -c -o $@ $<

unit: $(UNIT_BINS) $(B)/unit/headers-c.o $(B)/unit/headers-cxx.o
	@libvcore/tests/run-unit $(UNIT_BINS)

# The kselftest headers come from Debian's linux-source-6.1 at build time.
KSFT_HDRS := $(B)/kselftest/kselftest_harness.h $(B)/kselftest/kselftest.h
$(KSFT_HDRS):
	@test -n "$(LINUX_SOURCE)" || { echo "no linux-source-6.1: run 'make setup'" >&2; exit 1; }
	@mkdir -p $(B)/kselftest
	tar -xJf $(LINUX_SOURCE) -C $(B)/kselftest --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	@touch $(KSFT_HDRS)

# The harness's macros compare mixed signedness and leave parameters unused.
KSFT_CFLAGS := -I$(B)/kselftest -Wno-sign-compare -Wno-unused-parameter

selftests: $(addprefix $(B)/selftests/,$(SELFTESTS)) $(B)/tests/vm_smoke \
	$(B)/tests/vm_storm $(B)/tests/vm_uio $(B)/tests/vm_preempt

$(B)/selftests/%: selftests/%.c selftests/*.h $(KSFT_HDRS) uapi/linux/vcore.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KSFT_CFLAGS) -pthread -o $@ $<

# The Redis-protocol server's tests (tools/examples/redis-test.sh, TAP),
# run from here like the others, with the servers it tests.
$(B)/selftests/vcore_redis_test: tools/examples/redis-test.sh $(REDIS_BINS)
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s --bindir %s "$$@"\n' \
		$(CURDIR)/tools/examples/redis-test.sh \
		$(CURDIR)/$(B)/tools/examples >$@
	chmod +x $@

# libvcore against the real module
$(B)/selftests/vcore_libvcore_test: selftests/vcore_libvcore_test.c \
		selftests/*.h $(KSFT_HDRS) uapi/linux/*.h $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KSFT_CFLAGS) -pthread -o $@ $< $(B)/libvcore.a \
		$(LIB_LDLIBS)

$(B)/selftests/vcore_numa_test: selftests/vcore_numa_test.c \
		selftests/*.h $(KSFT_HDRS) uapi/linux/*.h $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KSFT_CFLAGS) -pthread -o $@ $< $(B)/libvcore.a \
		$(LIB_LDLIBS)

# libvcore's vcore context and uthreads against the module, in the VM:
# notifications, then preemptions (libvcore/tests/vm_smoke.c).
$(B)/tests/vm_smoke: libvcore/tests/vm_smoke.c libvcore/tests/regs_torture.S \
		$(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LIB_LDLIBS)

# Every event path while vcores yield and are preempted, single and bulk,
# and uthreads come and go (libvcore/tests/vm_storm.c; needs test=1).
$(B)/tests/vm_storm: libvcore/tests/vm_storm.c $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LIB_LDLIBS)

# Uthread I/O on taps and io_uring against the module (libvcore/tests/
# vm_uio.c).
$(B)/tests/vm_uio: libvcore/tests/vm_uio.c $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LIB_LDLIBS)

# Time-sliced uthreads on the module's per-vcore alarms: progress, an
# exact counter and intact ymm registers through ticks and a preemption
# storm, preemption control, sleeps and timed waits
# (libvcore/tests/vm_preempt.c).
$(B)/tests/vm_preempt: libvcore/tests/vm_preempt.c libvcore/tests/ymm_hold.S \
		$(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LIB_LDLIBS)

.PHONY: vm-smoke
vm-smoke: module $(B)/tests/vm_smoke
	tools/vm/run --quiet --timeout 600 --insmod kmod/vcore.ko -- \
		$(B)/tests/vm_smoke 8 1 preempt

tools: $(addprefix $(B)/tools/,$(TOOLS)) $(B)/tools/vcore-bench \
	$(B)/tools/bench/numa_bench $(B)/tools/preempt-bench $(REDIS_BINS)

# the benchmark (tools/bench/, README "Results")
$(B)/tools/vcore-bench: tools/bench/vcore-bench.c libvcore/*.h \
		uapi/linux/*.h $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(B)/libvcore.a $(LIB_LDLIBS)

# time slicing: libvcore's alarm tick against a signal tick (README
# "Preemption: alarms against signals"); reaches libvcore's internals
$(B)/tools/preempt-bench: tools/bench/preempt_bench.c libvcore/*.h \
		uapi/linux/*.h $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(B)/libvcore.a $(LIB_LDLIBS) -lm

# same-node versus cross-node notification latency and UCQ throughput
$(B)/tools/bench/numa_bench: tools/bench/numa_bench.c $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(B)/libvcore.a $(LIB_LDLIBS)

# The Redis-protocol server (tools/examples/redis/): one parser, command
# table and store, two front ends: uthreads on vcores, and epoll threads.
REDIS_DIR := tools/examples/redis
REDIS_COMMON := rbuf resp store commands conn listen
REDIS_OBJS := $(patsubst %,$(B)/$(REDIS_DIR)/%.o,$(REDIS_COMMON))
$(B)/$(REDIS_DIR)/%.o: $(REDIS_DIR)/%.c $(REDIS_DIR)/*.h libvcore/*.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tools/examples/vcore-redis-epoll: $(B)/$(REDIS_DIR)/vcore-redis-epoll.o \
		$(REDIS_OBJS)
	$(CC) $(CFLAGS) -pthread -o $@ $^

$(B)/tools/examples/vcore-redis: $(B)/$(REDIS_DIR)/vcore-redis.o \
		$(REDIS_OBJS) $(B)/libvcore.a
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LIB_LDLIBS)

$(B)/tools/%: tools/%.c $(B)/libvcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libvcore.a $(LIB_LDLIBS)

CHECKPATCH := $(B)/checkpatch/scripts/checkpatch.pl
$(CHECKPATCH):
	@test -n "$(LINUX_SOURCE)" || { echo "no linux-source-6.1: run 'make setup'" >&2; exit 1; }
	@mkdir -p $(B)/checkpatch
	tar -xJf $(LINUX_SOURCE) -C $(B)/checkpatch --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	@touch $@

checkpatch: $(CHECKPATCH)
	$(CHECKPATCH) --no-tree --terse --quiet --show-types -f \
		$(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h kmod/core/*.c \
		kmod/core/*.h)) \
		uapi/linux/vcore.h uapi/linux/vcore_test.h uapi/vcore_abi_check.h

setup:
	@tools/setup.sh

check: setup
	@tools/check.sh

demo: setup
	@tools/demo.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
	rm -rf $(B)

# ---------------------------------------------------------------------------
# Installation.  make install [DESTDIR=...] [PREFIX=/usr/local]: the module
# into /lib/modules/<its kernel>/updates (then depmod, unless DESTDIR is
# set: a package runs it when installed), libvcore (the versioned file,
# its soname and dev links, the archive), the headers in include/vcore/
# with the ABI as <linux/vcore.h>, libvcore.pc, the man pages, the udev
# rule (/dev/vcore: group vcore, 0660; the group is created when DESTDIR
# is empty) and the modprobe.d and modules-load.d examples in the docs.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/vcore
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UDEVRULESDIR ?= /etc/udev/rules.d
MODDIR = /lib/modules/$(MOD_KVER)/updates
# the kernel the built module is for, as its vermagic names it (uninstall
# after make clean: give it)
MOD_KVER ?= $(firstword $(shell modinfo -F vermagic kmod/vcore.ko 2>/dev/null))
INSTALL ?= install
LIB_HDRS := vcore.h arena.h ucq.h ceq.h evbitmap.h event.h vcore_ctx.h \
	uthread.h vcore_numa.h vcore_atomic.h akaros.h vcore_tap.h libvcore.h \
	vcore_alarm.h vcore_uio.h
MAN_PAGES := $(sort $(wildcard man/*.[0-9]))

.PHONY: install install-module install-lib install-man install-data \
	uninstall man-lint

$(B)/libvcore.pc: packaging/libvcore.pc.in VERSION
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' $< >$@

# PREFIX may differ from the last run: always regenerate it.
.PHONY: $(B)/libvcore.pc

install: install-module install-lib install-man install-data

install-module: module
	@test -n "$(MOD_KVER)" || { echo "kmod/vcore.ko has no vermagic" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(MODDIR)
	$(INSTALL) -m 644 kmod/vcore.ko $(DESTDIR)$(MODDIR)/vcore.ko
	$(if $(DESTDIR),,depmod -a $(MOD_KVER))

install-lib: lib $(B)/libvcore.pc
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/vcore $(DESTDIR)$(INCLUDEDIR)/linux
	$(INSTALL) -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libvcore.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libvcore.so.$(SOMAJOR)
	ln -sf libvcore.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libvcore.so
	$(INSTALL) -m 644 $(B)/libvcore.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(addprefix libvcore/,$(LIB_HDRS)) \
		$(DESTDIR)$(INCLUDEDIR)/vcore/
	$(INSTALL) -m 644 uapi/linux/vcore.h $(DESTDIR)$(INCLUDEDIR)/linux/
	$(INSTALL) -m 644 $(B)/libvcore.pc $(DESTDIR)$(PKGCONFIGDIR)/
	$(if $(DESTDIR),,-ldconfig)

install-man:
	$(INSTALL) -d $(sort $(foreach m,$(MAN_PAGES),\
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))))
	$(foreach m,$(MAN_PAGES),$(INSTALL) -m 644 $(m) \
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/ &&) true

install-data:
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 644 packaging/60-vcore.rules $(DESTDIR)$(UDEVRULESDIR)/
	$(INSTALL) -m 644 packaging/modprobe.d/vcore.conf \
		$(DESTDIR)$(DOCDIR)/examples/modprobe.d-vcore.conf
	$(INSTALL) -m 644 packaging/modules-load.d/vcore.conf \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d-vcore.conf
	$(if $(DESTDIR),,getent group vcore >/dev/null || groupadd --system vcore)

uninstall:
	rm -f $(DESTDIR)$(MODDIR)/vcore.ko
	$(if $(DESTDIR),,-depmod -a $(MOD_KVER))
	rm -f $(DESTDIR)$(LIBDIR)/libvcore.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/libvcore.so.$(SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libvcore.so $(DESTDIR)$(LIBDIR)/libvcore.a \
		$(DESTDIR)$(PKGCONFIGDIR)/libvcore.pc \
		$(DESTDIR)$(INCLUDEDIR)/linux/vcore.h \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/vcore/,$(LIB_HDRS)) \
		$(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(DESTDIR)$(UDEVRULESDIR)/60-vcore.rules
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/vcore
	$(if $(DESTDIR),,-ldconfig)

# DKMS: what dkms.conf builds from (the module's sources as tools/kmod-tree
# selects them, the top Kbuild, dkms.conf, VERSION), copied to
# $(DESTDIR)/usr/src/vcore-VERSION; then: dkms install vcore/VERSION
.PHONY: dkms-src
dkms-src:
	tools/kmod-tree $(DESTDIR)/usr/src/vcore-$(VERSION) >/dev/null
	$(INSTALL) -m 644 VERSION dkms.conf Kbuild \
		$(DESTDIR)/usr/src/vcore-$(VERSION)/

# Every function the installed headers declare is exported at VCORE_1, and
# libvcore.so exports nothing they do not declare.
.PHONY: exports-check
exports-check: lib
	tools/check-exports $(B)/libvcore.so $(addprefix libvcore/,$(LIB_HDRS))

# mandoc -T lint, warnings and up, on every page
man-lint:
	mandoc -T lint -W warning $(MAN_PAGES)

# ---------------------------------------------------------------------------
# The portable core in user space (tools/testing/core/, see its README).
#
# make core-unit   unit tests of the core, ASan+UBSan
# make coverage    the same with gcov; lcov branch coverage per core file
# make core-stress kernel producers x libvcore's consumers, TSan, twice
#                  (plain and with delay injection)
# make fuzz        libFuzzer on send_event and the producers (FUZZ_TIME s)
# make fuzz-check  the seed corpus, then a bounded fuzzing run
# make model       spin models of the UCQ, the CEQ ring and the notification
#                  handshake, and their broken variants (must fail)
#
# The variables (CORE_*) are defined above, ahead of libvcore's unit tests,
# which link the core as their kernel.

# core_flavour FLAVOUR: objects of the core and the harness library
define core_flavour
$(B)/core/$(1)/kmod/%.o: kmod/core/%.c $(CORE_HDRS)
	@mkdir -p $$(@D)
	@mkdir -p $$(@D)
	$(CC) $(CORE_CFLAGS) $(CORE_SAN_$(1)) -c -o $$@ $$<
$(B)/core/$(1)/lib/%.o: $(CORE_DIR)/lib/%.c $(CORE_HDRS)
	@mkdir -p $$(@D)
	@mkdir -p $$(@D)
	$(CC) $(CORE_CFLAGS) $(CORE_SAN_$(1)) -c -o $$@ $$<
endef
# core_test FLAVOUR TEST: a unit test #includes the .c it tests, and links
# the rest of the core and the harness
define core_test
$(B)/core/$(1)/$(2): $(CORE_DIR)/unit/$(2).c $(CORE_DIR)/unit/unit.h \
		$(CORE_SRCS) $(CORE_HDRS) \
		$(patsubst %,$(B)/core/$(1)/kmod/%.o,$(filter-out $(2:test_%=%),$(CORE_NAMES))) \
		$(patsubst %,$(B)/core/$(1)/lib/%.o,$(CORE_HLIB))
	$(CC) $(CORE_CFLAGS) $(CORE_SAN_$(1)) -o $$@ $$< \
		$$(filter %.o,$$^) $(CORE_LDLIBS)
endef
$(foreach f,asan cov tsan,$(eval $(call core_flavour,$(f))))
$(foreach f,asan cov,$(foreach t,$(CORE_UNIT),$(eval $(call core_test,$(f),$(t)))))
.PRECIOUS: $(B)/core/%.o

core-unit: $(addprefix $(B)/core/asan/,$(CORE_UNIT))
	@$(CORE_DIR)/run-tap $^

# Branch coverage of the core by the unit tests (gcov + lcov).
COV := $(B)/core/coverage
coverage: $(addprefix $(B)/core/cov/,$(CORE_UNIT))
	@rm -rf $(COV) && mkdir -p $(COV)
	@find $(B)/core/cov -name '*.gcda' -delete
	@$(CORE_DIR)/run-tap $^ >$(COV)/unit.tap || \
		{ cat $(COV)/unit.tap; exit 1; }
	@lcov -q --capture --directory $(B)/core/cov --rc lcov_branch_coverage=1 \
		--output-file $(COV)/all.info 2>$(COV)/lcov.log
	@lcov -q --extract $(COV)/all.info $(addprefix $(CURDIR)/,$(CORE_SRCS)) \
		--rc lcov_branch_coverage=1 --output-file $(COV)/core.info \
		2>>$(COV)/lcov.log
	@genhtml -q --branch-coverage --output-directory $(COV)/html \
		$(COV)/core.info >>$(COV)/lcov.log 2>&1
	@$(CORE_DIR)/coverage-summary $(COV)/core.info
	@echo "report: $(COV)/html/index.html"

# Stress: the core (kernel half, lib/kernel_side.c as for the unit tests)
# with libvcore's real consumers (user half, built as the library is, with
# its delay injection points).
CORE_LIBV := dev arena ucq ceq evbitmap mbox ev_handler event
define core_stress
$(B)/core/$(1)/libvcore/%.o: libvcore/%.c libvcore/*.h uapi/linux/vcore.h \
		uapi/vcore_abi_check.h
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) -pthread -DVCORE_INJECT_DELAYS $(CORE_SAN_$(1)) -c \
		-o $$@ $$<
$(B)/core/$(1)/stress_user.o: $(CORE_DIR)/stress/stress_user.c \
		$(CORE_DIR)/lib/kernel_side.h libvcore/*.h
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) -pthread -DVCORE_INJECT_DELAYS $(CORE_SAN_$(1)) \
		-I$(CORE_DIR) -c -o $$@ $$<
$(B)/core/$(1)/stress: $(B)/core/$(1)/stress_user.o \
		$(patsubst %,$(B)/core/$(1)/kmod/%.o,$(CORE_NAMES)) \
		$(patsubst %,$(B)/core/$(1)/lib/%.o,$(CORE_KLIB)) \
		$(patsubst %,$(B)/core/$(1)/libvcore/%.o,$(CORE_LIBV))
	$(CC) $(CORE_SAN_$(1)) -pthread -o $$@ $$^ $(CORE_LDLIBS)
endef
$(foreach f,asan tsan,$(eval $(call core_stress,$(f))))

# What a consumer costs per message (instructions, callgrind): the core's
# producers and libvcore's consumers at -O2, against liburcu's wfcqueue.
CORE_SAN_opt := -O2
$(eval $(call core_flavour,opt))
$(B)/core/opt/libvcore/%.o: libvcore/%.c libvcore/*.h uapi/linux/vcore.h \
		uapi/vcore_abi_check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -c -o $@ $<
$(B)/core/opt/consumer_cost: tools/bench/consumer_cost.c \
		$(CORE_DIR)/lib/kernel_side.h libvcore/*.h \
		$(patsubst %,$(B)/core/opt/kmod/%.o,$(CORE_NAMES)) \
		$(patsubst %,$(B)/core/opt/lib/%.o,$(CORE_KLIB)) \
		$(patsubst %,$(B)/core/opt/libvcore/%.o,$(CORE_LIBV))
	$(CC) $(CFLAGS) -pthread -I$(CORE_DIR) -o $@ $< \
		$(filter %.o,$^) $(CORE_LDLIBS)

consumer-cost: setup $(B)/core/opt/consumer_cost
	@tools/bench/consumer-cost $(B)/core/opt/consumer_cost

STRESS_TSAN := TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)"
core-stress: $(B)/core/tsan/stress $(B)/core/asan/stress
	$(STRESS_TSAN) $(B)/core/tsan/stress -p 2 -c 2 -n 100000
	$(STRESS_TSAN) $(B)/core/tsan/stress -p 3 -c 2 -n 20000 -i 48
	$(B)/core/asan/stress -p 2 -c 2 -n 200000

# libFuzzer (clang) on send_event and the producers; see fuzz/fuzz_core.c.
# make fuzz runs FUZZ_TIME seconds on a working copy of the seed corpus;
# fuzz-check replays the seeds, then fuzzes FUZZ_CHECK_TIME seconds.
FUZZ_CC := clang
FUZZ_TIME ?= 300
FUZZ_CHECK_TIME ?= 30
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := $(filter-out -Ilibvcore/tests,$(CORE_CFLAGS)) -O1 $(FUZZ_SAN)
FUZZ_OBJS := $(patsubst %,$(B)/core/fuzz/kmod/%.o,$(CORE_NAMES)) \
	$(patsubst %,$(B)/core/fuzz/lib/%.o,$(CORE_HLIB)) \
	$(B)/core/fuzz/fuzz_core.o
FUZZ_OPTS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
$(B)/core/fuzz/kmod/%.o: kmod/core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(B)/core/fuzz/lib/%.o: $(CORE_DIR)/lib/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(B)/core/fuzz/fuzz_core.o: $(CORE_DIR)/fuzz/fuzz_core.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(B)/core/fuzz/fuzz_core: $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ \
		$(CORE_LDLIBS)

fuzz: $(B)/core/fuzz/fuzz_core
	@mkdir -p $(B)/core/fuzz/corpus $(B)/core/fuzz/artifacts
	cp -n $(CORE_DIR)/fuzz/corpus/* $(B)/core/fuzz/corpus/
	$< $(FUZZ_OPTS) -max_total_time=$(FUZZ_TIME) \
		-artifact_prefix=$(B)/core/fuzz/artifacts/ $(B)/core/fuzz/corpus

fuzz-check: $(B)/core/fuzz/fuzz_core
	@rm -rf $(B)/core/fuzz/check && mkdir -p $(B)/core/fuzz/check/corpus
	$< $(FUZZ_OPTS) -runs=0 $(CORE_DIR)/fuzz/corpus
	cp $(CORE_DIR)/fuzz/corpus/* $(B)/core/fuzz/check/corpus/
	$< $(FUZZ_OPTS) -max_total_time=$(FUZZ_CHECK_TIME) -seed=$(or \
		$(FUZZ_SEED),1) -artifact_prefix=$(B)/core/fuzz/check/ \
		$(B)/core/fuzz/check/corpus

# Model checks (spin): exhaustive for small sizes; each broken variant
# must be caught, so that a check that can never fail would show.
model:
	@$(CORE_DIR)/model/run-model $(B)/core/model

core-check: core-unit core-stress fuzz-check model

.PHONY: core-unit coverage core-stress fuzz fuzz-check model core-check \
	consumer-cost

# --- test tiers, separately -------------------------------------------------
# make check-quick   the user-space tier and the stock-kernel VM tier
# make check-debug   the debug-kernel tier only (tools/debug-kernel.sh)
# make compile-6.12  build the module against Linux 6.12 (tools/compile-6.12.sh)
# make test-debug-kernel  check that the debug kernel reports each kind of
#                    bug the debug tier relies on (tools/vm/test-debug-kernel)
# make fuzz-module   a long run of the concurrent ioctl fuzzer in the VM:
#                    FUZZ_SEED, FUZZ_SECONDS (600), FUZZ_PROCS, FUZZ_THREADS,
#                    FUZZ_KERNEL=stock|debug (tools/fuzz-module.sh)
.PHONY: check-quick check-debug compile-6.12 test-debug-kernel fuzz-module

fuzz-module: setup
	@tools/fuzz-module.sh

check-quick: setup
	@tools/check.sh user vm

check-debug: setup
	@tools/check.sh debug

compile-6.12: setup
	@tools/compile-6.12.sh

test-debug-kernel: setup
	@tools/vm/test-debug-kernel
