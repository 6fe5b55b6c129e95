#pragma once
// The table of broker keys: for each, its type, documentation, how to parse it
// into BrokerConfig and how to print the effective value back. Internal to the
// config module; built once, immutable, safe to read from any thread.

#include <functional>
#include <string>
#include <vector>

#include "gregor/config/broker_config.h"

namespace gregor::config::internal {

struct BrokerKeyDef {
  std::string name;
  std::string type_name;  // INT, LONG, SHORT, BOOLEAN, STRING, LIST, DOUBLE, PASSWORD
  bool sensitive = false;
  std::string documentation;
  // Parses and stores a value, throwing ConfigError naming the key. Empty for
  // keys whose meaning depends on other keys (listeners, log.retention.*, ...):
  // ParseBrokerConfig resolves those after the simple ones.
  std::function<void(BrokerConfig&, const std::string&)> set;
  // The effective value as a string; "null" when unset and without default.
  std::function<std::string(const BrokerConfig&)> get;
};

const std::vector<BrokerKeyDef>& BrokerKeyDefs();  // sorted by name
const BrokerKeyDef* FindBrokerKey(const std::string& name);

// Formats a listener list back to "NAME://host:port,...".
std::string FormatListeners(const std::vector<ListenerConfig>& listeners);

}  // namespace gregor::config::internal
