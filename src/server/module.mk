# server: the dispatcher's handler table, generated from src/protocol/specs (served=,
# handler=) by src/server/gen/gen_handler_table.py, so that the APIs advertised and the APIs
# handled are the same list.

SERVER_HANDLER_TABLE := $(GEN)/gregor/server/handler_table.cc
$(SERVER_HANDLER_TABLE): $(PROTOCOL_SPECS) $(PROTOCOL_GEN_PY) src/server/gen/gen_handler_table.py
	@mkdir -p $(dir $@)
	python3 src/server/gen/gen_handler_table.py $@ $(PROTOCOL_SPECS)
$(BUILD)/obj/gen/server/handler_table.o: $(SERVER_HANDLER_TABLE) | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(CPPFLAGS) -c $< -o $@
$(server_LIB): $(BUILD)/obj/gen/server/handler_table.o
