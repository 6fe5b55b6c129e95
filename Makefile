# gregor top-level build. `make` configures itself on a fresh clone.
# Targets: all (default), check, run, bench, install, clean, format, deps.

MODULES := base config protocol log zk network security cluster replication group txn controller server
# Link order: most dependent first.
LINK_MODULES := server controller group txn replication cluster security network zk log protocol config base

BUILD ?= build
BIN ?= bin
GEN := $(BUILD)/gen
prefix ?= /usr/local
DESTDIR ?=

ifeq ($(filter deps clean distclean,$(MAKECMDGOALS)),)
include config.mk
endif

config.mk: configure.ac config.mk.in
	@sh mk/deps.sh
	autoconf -o configure configure.ac
	./configure --prefix=$(prefix) CXX="$${CXX:-g++}"

# Line tables and function names only (-g1): backtraces and perf need no more, and it cuts the
# build by about a quarter on 2 cores; `make DEBUG_INFO=-g` for gdb sessions.
DEBUG_INFO ?= -g1
CXXFLAGS_BASE := -std=c++20 -O2 $(DEBUG_INFO) -Wall -Wextra -Werror -Wno-mismatched-new-delete \
  -Wno-missing-field-initializers -pthread -MMD -MP
ifeq ($(SANITIZE),yes)
CXXFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-maybe-uninitialized
LDFLAGS += -fsanitize=address,undefined
endif
CPPFLAGS := -Iinclude -Isrc -I$(GEN) -DBOOST_ASIO_NO_DEPRECATED
# The record-batch codecs of the protocol module (gzip, snappy, lz4, zstd), from Debian's libraries.
COMPRESSION_LIBS := -lz -lsnappy -llz4 -lzstd
LIBS := -lboost_program_options -lzookeeper_mt -lssl -lcrypto -lglog $(COMPRESSION_LIBS) -lre2 -lpthread
# sd_notify (Type=notify readiness, the watchdog) from Debian's libsystemd, gregord only.
GREGORD_LIBS := -lsystemd

all: programs

# Per-module sources; a module may add rules in src/<m>/module.mk
# (the protocol module generates message code there).
define module_rules
$(1)_SRCS := $$(filter-out src/$(1)/main/%,$$(wildcard src/$(1)/*.cc src/$(1)/*/*.cc))
$(1)_OBJS := $$(patsubst src/%.cc,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(1)_LIB := $$(if $$($(1)_SRCS),$(BUILD)/lib/libgregor_$(1).a)
$$($(1)_LIB): $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))
-include $(wildcard src/*/module.mk)
# Fuzz targets (make fuzz) and their corpus replay for make check: tests/fuzz/fuzz.mk.
-include tests/fuzz/fuzz.mk

ALL_LIBS := $(foreach m,$(LINK_MODULES),$($(m)_LIB))
GEN_HEADERS ?=

$(BUILD)/obj/%.o: src/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/tools/%.o: src/tools/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(CPPFLAGS) -c $< -o $@

# Programs.
GREGORD_MAIN := src/server/main/gregord_main.cc
TOOLS_SRCS := $(wildcard src/tools/*.cc)
TOOLS_OBJS := $(patsubst src/%.cc,$(BUILD)/obj/%.o,$(TOOLS_SRCS))
TOOLS_LIBS := $(foreach m,security protocol config base,$($(m)_LIB))

programs: $(BIN)/gregord $(BIN)/gregorctl

$(BIN)/gregord: $(BUILD)/obj/server/main/gregord_main.o $(ALL_LIBS)
	@mkdir -p $(BIN)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ $(LIBS) $(GREGORD_LIBS)

$(BIN)/gregorctl: $(TOOLS_OBJS) $(TOOLS_LIBS)
	@mkdir -p $(BIN)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ -lrdkafka $(LIBS)

# What each module's test binary links (the module and what it depends on).
base_DEPS := base
config_DEPS := config base
protocol_DEPS := protocol base
log_DEPS := log protocol base
zk_DEPS := zk base
network_DEPS := network protocol base
security_DEPS := security zk protocol config base
cluster_DEPS := cluster log zk protocol config base
controller_DEPS := controller network zk protocol config base
replication_DEPS := replication cluster network log zk protocol config base
group_DEPS := group cluster log zk protocol config base
txn_DEPS := txn cluster network log zk protocol config base
server_DEPS := $(LINK_MODULES)
tools_DEPS := security protocol config base

# Unit tests: tests/<module>/*_test.cc -> build/tests/<module>_test.
TEST_MODULES := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/*_test.cc))))
TEST_MODULES := $(sort $(TEST_MODULES))
define test_rules
$(BUILD)/tests/$(1)_test: $$(patsubst tests/%.cc,$(BUILD)/obj/tests/%.o,$$(wildcard tests/$(1)/*.cc)) $$(foreach d,$$($(1)_DEPS),$$($$(d)_LIB))
	@mkdir -p $$(dir $$@)
	$(CXX) $(LDFLAGS) -pthread -o $$@ $$^ -lgtest_main -lgtest $(LIBS)
endef
$(foreach t,$(TEST_MODULES),$(eval $(call test_rules,$(t))))
TEST_BINS := $(foreach t,$(TEST_MODULES),$(BUILD)/tests/$(t)_test)

# Test code is built without optimisation (the code under test keeps -O2): a third less compile
# time for the 90-odd test files, which dominate a clean `make check` on 2 cores.
TEST_OPT ?= -O0
$(BUILD)/obj/tests/%.o: tests/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(TEST_OPT) $(CPPFLAGS) -Itests -c $< -o $@

unit-tests: $(TEST_BINS)

check: programs unit-tests fuzz-replay
	@sh mk/deps.sh
	@GREGOR_FUZZ_REPLAY_DIR=$(FUZZ_REPLAY_DIR) sh mk/check.sh $(TEST_BINS)

# The unit tests under AddressSanitizer and UBSan, in build/asan (a second
# configuration of the same tree); the integration suite can use that broker
# with GREGOR_IT_GREGORD=build/asan/bin/gregord integration/run.
check-sanitize:
	@$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/bin SANITIZE=yes sanitize-run

sanitize-run: unit-tests $(BIN)/gregord fuzz-replay
	@GREGOR_UNIT_ONLY=1 GREGOR_FUZZ_REPLAY_DIR=$(FUZZ_REPLAY_DIR) sh mk/check.sh $(TEST_BINS)

run: programs
	@sh mk/deps.sh
	@sh zk/run-local.sh

bench: programs
	@sh mk/bench.sh
	@if [ -n "$(KAFKA_HOME)" ]; then KAFKA_HOME="$(KAFKA_HOME)" sh mk/bench-reference.sh; fi

# gregord against an Apache Kafka broker from KAFKA_HOME (also the end of `make bench
# KAFKA_HOME=DIR`): mk/bench-reference.sh.
bench-reference: programs
	@KAFKA_HOME="$(KAFKA_HOME)" sh mk/bench-reference.sh

# The cost of SASL and TLS on the produce path, PLAINTEXT vs SASL_PLAINTEXT vs SASL_SSL.
bench-security: programs
	@sh mk/bench-security.sh

# The CPU incremental fetch sessions (KIP-227) save, 1,000 idle replicated partitions.
bench-fetch-sessions: programs
	@sh mk/bench-fetch-sessions.sh

# Produce throughput with lz4 and zstd producers and with broker-side recompression
# (BENCH_REFERENCE=host:port adds another broker's figures): mk/bench-compression.sh.
bench-compression: programs
	@sh mk/bench-compression.sh

# Rebalance time, classic (eager, cooperative) vs KIP-848, 3 and 50 members (BENCH_LIBRDKAFKA=dir
# of a librdkafka >= 2.4 for the consumer protocol): mk/bench-groups.py.
bench-groups: programs
	@/usr/bin/python3 mk/bench-groups.py

# The long fault runs (compound failures, network partitions), ROUNDS times in a row.
torture: programs
	@sh mk/deps.sh
	@sh mk/torture.sh

FORMAT_FILES = $(shell find src include tests -name '*.cc' -o -name '*.h' | grep -v '/gen/')
format:
	clang-format -i $(FORMAT_FILES)

# Where `make install` puts the systemd unit (systemd also looks in /usr/local/lib/systemd).
SYSTEMD_UNIT_DIR ?= $(prefix)/lib/systemd/system

deb: programs
	@sh mk/deb.sh

# The package installed, used, reloaded, stopped and purged in a Debian 12 root booted with
# systemd (debootstrap, systemd-nspawn; as root; not part of make check): mk/check-package.sh.
check-package: deb
	@sh mk/check-package.sh
.PHONY: check-package

install: programs
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/sbin \
	  $(DESTDIR)$(prefix)/share/man/man1 $(DESTDIR)$(prefix)/share/man/man5 \
	  $(DESTDIR)$(prefix)/share/man/man8 $(DESTDIR)$(prefix)/share/gregor/conf
	install -m 755 bin/gregord $(DESTDIR)$(prefix)/sbin/gregord
	install -m 755 bin/gregorctl $(DESTDIR)$(prefix)/bin/gregorctl
	install -m 644 man/gregorctl.1 $(DESTDIR)$(prefix)/share/man/man1/
	install -m 644 man/gregor.properties.5 $(DESTDIR)$(prefix)/share/man/man5/
	install -m 644 man/gregord.8 $(DESTDIR)$(prefix)/share/man/man8/
	install -m 644 conf/server.properties conf/gregord.service conf/grafana-dashboard.json \
	  $(DESTDIR)$(prefix)/share/gregor/conf/
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|/usr/sbin/gregord|$(prefix)/sbin/gregord|' conf/gregord.service \
	  >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/gregord.service

clean:
	rm -rf $(BUILD) bin

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache

.PHONY: deb all programs check unit-tests run bench bench-reference bench-security bench-fetch-sessions bench-compression bench-groups torture format install clean distclean deps check-sanitize sanitize-run
deps:
	@sh mk/deps.sh

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
