# Fuzzing (included by the top-level Makefile). Each tests/fuzz/<name>_fuzzer.cc defines
# LLVMFuzzerTestOneInput over the protocol code; its corpus is tests/fuzz/corpus/<name>/ and
# tests/fuzz/<name>.dict, when present, is its libFuzzer dictionary.
#
#   make fuzz [FUZZ_SECONDS=60]  libFuzzer + ASan + UBSan builds (clang++, build/fuzz), each target
#                                run FUZZ_SECONDS over its corpus (work copy in build/fuzz/corpus);
#                                inputs that reach new edges are then merged into
#                                tests/fuzz/corpus/<name>/ (edges only, not hit counts, to keep it
#                                small: ~700 files for the request decoder's API/version
#                                branches); a crash stops the run and
#                                leaves build/fuzz/<name>-crash-* (fix it, then add it to the corpus)
#   make fuzz-replay             the same target sources built with $(CXX) and replay_main.cc, for
#                                make check (no clang needed): every corpus file replayed once
#   make fuzz-seeds              rewrites the seed-* inputs of the corpora (seed_corpus.cc)

FUZZ_NAMES := $(patsubst tests/fuzz/%_fuzzer.cc,%,$(wildcard tests/fuzz/*_fuzzer.cc))
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_REPLAY_DIR := $(BUILD)/fuzz-replay
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
  -fno-sanitize-recover=all -Wall -Wextra -MMD -MP
# What the targets exercise: the protocol module (with its generated messages) and CRC-32C.
FUZZ_LIB_SRCS := src/base/crc32c.cc $(protocol_SRCS)
# Generated sources: $(BUILD)/obj/gen/X.o is compiled from $(GEN)/gregor/X.cc (src/protocol/module.mk).
FUZZ_LIB_OBJS := $(patsubst src/%.cc,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS)) \
  $(patsubst $(BUILD)/obj/gen/%,$(FUZZ_DIR)/obj/gen/%,$(PROTOCOL_GEN_OBJS))

$(FUZZ_DIR)/obj/gen/%.o: $(GEN)/gregor/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/%.o: src/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(CPPFLAGS) -c $< -o $@

# The request target takes its list of message types from test_fill.h (generated on demand).
$(FUZZ_DIR)/obj/tests/fuzz/request_fuzzer.o $(BUILD)/obj/tests/fuzz/request_fuzzer.o: \
  $(PROTOCOL_MSG_DIR)/test_fill.h

$(FUZZ_DIR)/%_fuzzer: $(FUZZ_DIR)/obj/tests/fuzz/%_fuzzer.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined -o $@ $^ $(COMPRESSION_LIBS)

fuzz: $(foreach n,$(FUZZ_NAMES),$(FUZZ_DIR)/$(n)_fuzzer)
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n; \
	  echo "== fuzz: $$n for $(FUZZ_SECONDS) s (log $(FUZZ_DIR)/$$n.log)"; \
	  dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
	  if ! $(FUZZ_DIR)/$${n}_fuzzer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
	      -artifact_prefix=$(FUZZ_DIR)/$$n- $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n \
	      >$(FUZZ_DIR)/$$n.log 2>&1; then \
	    tail -40 $(FUZZ_DIR)/$$n.log; echo "fuzz: $$n failed; the input is $(FUZZ_DIR)/$$n-*"; exit 1; \
	  fi; \
	  grep -E '^#[0-9]+ +DONE|^stat::(number_of_executed_units|peak_rss_mb)' $(FUZZ_DIR)/$$n.log; \
	  $(FUZZ_DIR)/$${n}_fuzzer -merge=1 -use_counters=0 tests/fuzz/corpus/$$n $(FUZZ_DIR)/corpus/$$n \
	    >$(FUZZ_DIR)/$$n-merge.log 2>&1 || { tail -20 $(FUZZ_DIR)/$$n-merge.log; exit 1; }; \
	  grep -E 'MERGE-OUTER: [0-9]+ new files' $(FUZZ_DIR)/$$n-merge.log; \
	done

# The replay build: $(CXX) with the project's flags, linked against the module libraries.
$(FUZZ_REPLAY_DIR)/%_fuzzer: $(BUILD)/obj/tests/fuzz/%_fuzzer.o $(BUILD)/obj/tests/fuzz/replay_main.o \
    $(protocol_LIB) $(base_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ $(COMPRESSION_LIBS)

fuzz-replay: $(foreach n,$(FUZZ_NAMES),$(FUZZ_REPLAY_DIR)/$(n)_fuzzer)

$(BUILD)/obj/tests/fuzz/seed_corpus.o: $(PROTOCOL_MSG_DIR)/test_fill.h
$(FUZZ_REPLAY_DIR)/seed_corpus: $(BUILD)/obj/tests/fuzz/seed_corpus.o $(protocol_LIB) $(base_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ $(COMPRESSION_LIBS)

fuzz-seeds: $(FUZZ_REPLAY_DIR)/seed_corpus
	$(FUZZ_REPLAY_DIR)/seed_corpus tests/fuzz/corpus

# Objects reached only through the pattern rules above are kept (not deleted as intermediates).
.SECONDARY: $(FUZZ_LIB_OBJS) $(patsubst tests/fuzz/%.cc,$(BUILD)/obj/tests/fuzz/%.o,$(wildcard tests/fuzz/*.cc)) \
  $(patsubst tests/fuzz/%.cc,$(FUZZ_DIR)/obj/tests/fuzz/%.o,$(wildcard tests/fuzz/*_fuzzer.cc))

.PHONY: fuzz fuzz-replay fuzz-seeds
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
