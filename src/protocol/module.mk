# protocol: message codecs generated from src/protocol/specs/*.spec by gen_messages.py.
# Each <Api>.spec becomes build/gen/gregor/protocol/messages/<api>.h/.cc, compiled into
# libgregor_protocol.a. messages/all.h includes every generated header.

PROTOCOL_GEN_PY := src/protocol/gen/gen_messages.py
PROTOCOL_SPECS := $(sort $(wildcard src/protocol/specs/*.spec))
PROTOCOL_SPEC_NAMES := $(notdir $(basename $(PROTOCOL_SPECS)))
PROTOCOL_MSG_DIR := $(GEN)/gregor/protocol/messages
# CamelCase spec names -> snake_case file names (ApiVersions -> api_versions).
protocol_snake = $(shell echo '$(1)' | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' | tr 'A-Z' 'a-z')

define protocol_gen_rule
$(PROTOCOL_MSG_DIR)/$(2).h $(PROTOCOL_MSG_DIR)/$(2).cc &: src/protocol/specs/$(1).spec $(PROTOCOL_GEN_PY)
	@mkdir -p $(PROTOCOL_MSG_DIR)
	python3 $(PROTOCOL_GEN_PY) $$< $(PROTOCOL_MSG_DIR)/$(2).h $(PROTOCOL_MSG_DIR)/$(2).cc gregor/protocol/messages/$(2).h
PROTOCOL_GEN_H += $(PROTOCOL_MSG_DIR)/$(2).h
PROTOCOL_GEN_OBJS += $(BUILD)/obj/gen/protocol/messages/$(2).o
endef
PROTOCOL_GEN_H :=
PROTOCOL_GEN_OBJS :=
$(foreach s,$(PROTOCOL_SPEC_NAMES),$(eval $(call protocol_gen_rule,$(s),$(call protocol_snake,$(s)))))

$(PROTOCOL_MSG_DIR)/all.h: $(PROTOCOL_SPECS) $(PROTOCOL_GEN_PY)
	@mkdir -p $(PROTOCOL_MSG_DIR)
	python3 $(PROTOCOL_GEN_PY) --umbrella $@ gregor/protocol/messages $(PROTOCOL_SPECS)

GEN_HEADERS += $(PROTOCOL_GEN_H) $(PROTOCOL_MSG_DIR)/all.h

# The version table of every API (ApiVersions), from the same specs.
PROTOCOL_API_TABLE := $(GEN)/gregor/protocol/api_table.cc
$(PROTOCOL_API_TABLE): $(PROTOCOL_SPECS) $(PROTOCOL_GEN_PY)
	@mkdir -p $(dir $@)
	python3 $(PROTOCOL_GEN_PY) --api-table $@ $(PROTOCOL_SPECS)
$(BUILD)/obj/gen/protocol/api_table.o: $(PROTOCOL_API_TABLE) | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(CPPFLAGS) -c $< -o $@
PROTOCOL_GEN_OBJS += $(BUILD)/obj/gen/protocol/api_table.o

$(BUILD)/obj/gen/protocol/messages/%.o: $(PROTOCOL_MSG_DIR)/%.cc | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(CPPFLAGS) -c $< -o $@

$(protocol_LIB): $(PROTOCOL_GEN_OBJS)

# Test-only: pseudo-random fill functions for the round-trip tests in tests/protocol.
$(PROTOCOL_MSG_DIR)/test_fill.h: $(PROTOCOL_SPECS) $(PROTOCOL_GEN_PY)
	@mkdir -p $(PROTOCOL_MSG_DIR)
	python3 $(PROTOCOL_GEN_PY) --testfill $@ gregor/protocol/messages $(PROTOCOL_SPECS)

$(BUILD)/obj/tests/protocol/messages_test.o: $(PROTOCOL_MSG_DIR)/test_fill.h
