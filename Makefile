# netpool — GNU make build.  `make` builds netpoold and netpool into
# build/bin; `make check` builds the sanitizer test build into build/test and
# runs every unit and integration test; see `make help`.

PKGS := libevent libevent_openssl json-c sqlite3 openssl libnl-3.0 \
        libnl-route-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -I. $(PKG_CFLAGS) -D_GNU_SOURCE
# libxl (libxen-dev), for the xen domain backend, whenever it is present.
XEN_LIBS := $(shell pkg-config --libs xenlight xlutil xentoollog 2>/dev/null)
ifneq ($(XEN_LIBS),)
BASE_CFLAGS += -DHAVE_LIBXL
endif
RELEASE_CFLAGS := $(BASE_CFLAGS) -O2 -g
TEST_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS := $(PKG_LIBS) -lcrypt -lm
LDLIBS += $(XEN_LIBS)
# libnfs and libiscsi, the NFS and iSCSI clients of shared SRs (storage/).
LDLIBS += -lnfs -liscsi
# corosync's client libraries, for the pool (ha/).
LDLIBS += -lcpg -lvotequorum
# net-snmp's agent library, for the SNMP subagent (netpoold and tests).
SNMP_LIBS := -lnetsnmpagent -lnetsnmp

# libopenvswitch, built by `make deps` from Debian's openvswitch-source.
# Its headers are visible to datapath/ and bonding/ only.
OVS_SRC := build/ovs/src
OVS_CFLAGS := -include $(OVS_SRC)/config.h -I$(OVS_SRC) \
              -I$(OVS_SRC)/include -I$(OVS_SRC)/lib -Wno-sign-compare \
              -Wno-missing-field-initializers
OVS_LIB := build/ovs/libopenvswitch-netpool.a
OVS_LIBS := $(OVS_LIB) -lssl -lcrypto -lcap-ng -latomic -lnuma -lxdp -lbpf \
            -lm -lpthread

# Goals that build with the Debian packages but never install them (check,
# soak, bench and sandbox run `make deps` first).  Without the packages they
# stop at once with one line instead of a compiler error per file.
BUILD_GOALS := all test-build unit integration valgrind
ifneq ($(filter $(BUILD_GOALS) build/%,$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(shell scripts/deps.sh --missing)
ifneq ($(MISSING_PKGS),)
$(error $(words $(MISSING_PKGS)) Debian package(s) missing \
  ($(MISSING_PKGS)): run 'make deps' (as root) first)
endif
endif

# Every .c file of a module folder belongs to libnetpool, except the files
# holding main().
MODULES := lib mgmt cli datapath bonding vlan vm ha storage
MAINS := mgmt/netpoold-main.c cli/netpool-main.c
SRC := $(filter-out $(MAINS), $(wildcard $(addsuffix /*.c,$(MODULES))))
UNIT_SRC := $(wildcard tests/unit/test-*.c)
# netpool-perf (a DPDK tool, below) is not a benchmark program of its own.
PERF_SRC := $(filter-out perf/netpool-perf%.c,$(wildcard perf/*.c))

.PHONY: all test-build deps check unit integration soak bench format-check \
        format sandbox sandbox-stop clean help valgrind
all: build/bin/netpoold build/bin/netpool

# One rule makes the archive and its headers (config.h first), so every
# object that includes them waits for it (order-only: a rebuilt archive
# does not recompile them; their .d files track the headers).
$(OVS_LIB):
	scripts/build-ovs.sh

define build_variant
# $(1) = output folder, $(2) = CFLAGS
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -MMD -MP -c $$< -o $$@
$(1)/obj/datapath/%.o: datapath/%.c | $(OVS_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(OVS_CFLAGS) -MMD -MP -c $$< -o $$@
$(1)/obj/bonding/%.o: bonding/%.c | $(OVS_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(OVS_CFLAGS) -MMD -MP -c $$< -o $$@
$(1)/libnetpool.a: $(patsubst %.c,$(1)/obj/%.o,$(SRC))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$(1)/bin/netpoold: $(1)/obj/mgmt/netpoold-main.o $(1)/libnetpool.a $(OVS_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$(filter %.o %/libnetpool.a,$$^) $$(LDLIBS) \
	    $$(OVS_LIBS) $$(SNMP_LIBS)
$(1)/bin/netpool: $(1)/obj/cli/netpool-main.o $(1)/libnetpool.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(LDLIBS)
$(1)/unit/%: $(1)/obj/tests/unit/%.o $(1)/libnetpool.a $(OVS_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$(filter %.o %/libnetpool.a,$$^) $$(LDLIBS) \
	    $$(OVS_LIBS) $$(SNMP_LIBS) -lcmocka
$(1)/perf/%: $(1)/obj/perf/%.o $(1)/libnetpool.a $(OVS_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$(filter %.o %/libnetpool.a,$$^) $$(LDLIBS) \
	    $$(OVS_LIBS) $$(SNMP_LIBS)
-include $(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call build_variant,build,$(RELEASE_CFLAGS)))
$(eval $(call build_variant,build/test,$(TEST_CFLAGS)))

UNIT_BINS := $(patsubst tests/unit/%.c,build/test/unit/%,$(UNIT_SRC))

# netpool-perf, the DPDK traffic tool of the data-plane benchmarks
# (perf/netpool-perf.c), built when pkg-config finds libdpdk.  Its pure
# part (perf/netpool-perf-frame.c) has unit tests.
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS := $(shell pkg-config --libs libdpdk 2>/dev/null)
define netpool_perf
$(1)/obj/perf/netpool-perf.o: perf/netpool-perf.c
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(DPDK_CFLAGS) -MMD -MP -c $$< -o $$@
$(1)/bin/netpool-perf: $(1)/obj/perf/netpool-perf.o \
                       $(1)/obj/perf/netpool-perf-frame.o
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $$^ $$(DPDK_LIBS)
endef
$(eval $(call netpool_perf,build,$(RELEASE_CFLAGS)))
$(eval $(call netpool_perf,build/test,$(TEST_CFLAGS)))
build/test/unit/test-netpool-perf: build/test/obj/perf/netpool-perf-frame.o
ifneq ($(DPDK_LIBS),)
all: build/bin/netpool-perf
test-build: build/test/bin/netpool-perf
endif
PERF_BINS := $(patsubst perf/%.c,build/perf/%,$(PERF_SRC))

test-build: build/test/bin/netpoold build/test/bin/netpool $(UNIT_BINS)

deps:
	scripts/deps.sh

# The test command: installs what is missing, builds the sanitizer build,
# runs unit then integration tests and prints "N passed, N failed".
check: deps
	$(MAKE) -j$$(nproc) test-build
	tests/run-all.sh

unit: test-build
	tests/run-all.sh --unit-only

integration: test-build
	tests/run-all.sh --integration-only

# Long fault loops (tests/soak/), whose short versions are in `make check`;
# SOAK_ITERATIONS=n faults per loop (default 50).
soak: deps
	$(MAKE) test-build
	tests/run-all.sh --soak

bench: deps
	$(MAKE) all $(PERF_BINS)
	perf/run-all.sh

# netpoold (release build) under valgrind memcheck with real traffic.
valgrind: all
	tests/valgrind.sh

format-check:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

HOSTS ?= 1
POOL ?= 0
sandbox: deps
	$(MAKE) all
	DATAPATH=$(DATAPATH) POOL=$(POOL) scripts/sandbox.sh up $(HOSTS)

sandbox-stop:
	scripts/sandbox.sh down

clean:
	rm -rf build/bin build/obj build/libnetpool.a build/test build/perf

help:
	@echo "make              build netpoold and netpool into build/bin"
	@echo "make deps         install Debian packages, build libopenvswitch"
	@echo "make check        unit + integration tests (ASan/UBSan build)"
	@echo "make unit         unit tests only; make integration: integration only"
	@echo "make soak [SOAK_ITERATIONS=n]  long fault loops (tests/soak/, default 50)"
	@echo "make bench        benchmarks in perf/"
	@echo "make sandbox [HOSTS=n] [POOL=1] [DATAPATH=dpdk]  start a private sandbox"
	@echo "make sandbox-stop remove everything the sandbox made"
	@echo "make valgrind     netpoold under valgrind memcheck"
	@echo "make format-check clang-format in check mode"
