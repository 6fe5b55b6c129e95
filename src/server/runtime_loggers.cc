#include "server/runtime_loggers.h"

#include <glog/logging.h>

#include <algorithm>
#include <array>

#include "gregor/server/logger_modules.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

constexpr char kRoot[] = "root";
constexpr std::array<const char*, 7> kLevels = {"OFF",  "FATAL", "ERROR", "WARN",
                                                "INFO", "DEBUG", "TRACE"};
constexpr char kLevelList[] = "OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE";

bool IsLevel(const std::string& level) {
  return std::find(kLevels.begin(), kLevels.end(), level) != kLevels.end();
}

// glog verbosity of a Kafka level (INFO and above: 0).
int Verbosity(const std::string& level) {
  if (level == "TRACE") return 2;
  if (level == "DEBUG") return 1;
  return 0;
}

// glog severity threshold of a Kafka level on root. OFF cannot be more than FATAL: glog always
// writes and acts on LOG(FATAL).
int MinLogLevel(const std::string& level) {
  if (level == "WARN") return google::GLOG_WARNING;
  if (level == "ERROR") return google::GLOG_ERROR;
  if (level == "FATAL" || level == "OFF") return google::GLOG_FATAL;
  return google::GLOG_INFO;
}

// The generated table, split once: each module's files, and which modules list each basename.
struct Module {
  std::string logger;
  std::vector<std::string> files;
};
struct ModuleTable {
  std::vector<Module> modules;
  std::map<std::string, std::vector<const Module*>> owners;  // basename -> modules
};

const ModuleTable& Table() {
  static const ModuleTable* table = [] {
    auto* t = new ModuleTable;
    for (const auto& m : kLoggerModules) {
      Module& module = t->modules.emplace_back();
      module.logger = m.logger;
      const std::string files = m.files;
      size_t start = 0;
      while (start < files.size()) {
        size_t comma = files.find(',', start);
        if (comma == std::string::npos) comma = files.size();
        if (comma > start) module.files.push_back(files.substr(start, comma - start));
        start = comma + 1;
      }
    }
    for (const auto& m : t->modules) {
      for (const auto& f : m.files) t->owners[f].push_back(&m);
    }
    return t;
  }();
  return *table;
}

const Module* FindModule(const std::string& name) {
  for (const auto& m : Table().modules) {
    if (m.logger == name) return &m;
  }
  return nullptr;
}

bool IsLogger(const std::string& name) { return name == kRoot || FindModule(name) != nullptr; }

}  // namespace

RuntimeLoggers::RuntimeLoggers() {
  if (FLAGS_v >= 2) {
    root_ = "TRACE";
  } else if (FLAGS_v == 1) {
    root_ = "DEBUG";
  } else {
    static constexpr std::array<const char*, 4> kBySeverity = {"INFO", "WARN", "ERROR", "FATAL"};
    root_ = kBySeverity[std::clamp(FLAGS_minloglevel, 0, 3)];
  }
}

std::vector<std::pair<std::string, std::string>> RuntimeLoggers::Describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::string>> modules;
  for (const auto& m : Table().modules) {
    auto it = set_.find(m.logger);
    modules.emplace_back(m.logger, it == set_.end() ? root_ : it->second);
  }
  std::sort(modules.begin(), modules.end());
  std::vector<std::pair<std::string, std::string>> out = {{kRoot, root_}};
  out.insert(out.end(), modules.begin(), modules.end());
  return out;
}

AdminResult RuntimeLoggers::Validate(const std::vector<Op>& ops) const {
  // ConfigAdminManager.preprocess checks the whole resource before RuntimeLoggerManager sees it.
  std::set<std::string> names;
  for (const auto& op : ops) {
    if (!names.insert(op.name).second) {
      return AdminResult::Error(ErrorCode::kInvalidRequest, "Error due to duplicate config keys");
    }
  }
  std::string null_names;
  for (const auto& op : ops) {
    if (op.op != Op::kDelete && !op.value) {
      null_names += (null_names.empty() ? "" : ", ") + op.name;
    }
  }
  if (!null_names.empty()) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Null value not supported for : " + null_names);
  }

  for (const auto& op : ops) {
    switch (op.op) {
      case Op::kSet: {
        if (!IsLogger(op.name)) {
          return AdminResult::Error(ErrorCode::kInvalidConfig,
                                    "Logger " + op.name + " does not exist!");
        }
        const std::string& level = *op.value;
        if (!IsLevel(level)) {
          return AdminResult::Error(ErrorCode::kInvalidConfig,
                                    "Cannot set the log level of " + op.name + " to " + level +
                                        " as it is not a supported log level. Valid log levels "
                                        "are " +
                                        kLevelList);
        }
        if (op.name != kRoot && level != "INFO" && Verbosity(level) == 0) {
          return AdminResult::Error(
              ErrorCode::kInvalidConfig,
              "Cannot set the log level of " + op.name + " to " + level +
                  ": a gregor module logger takes only INFO, DEBUG or TRACE, because glog's "
                  "severity threshold is process-wide; set " +
                  level + " on the root logger");
        }
        break;
      }
      case Op::kDelete:
        if (!IsLogger(op.name)) {
          return AdminResult::Error(ErrorCode::kInvalidConfig,
                                    "Logger " + op.name + " does not exist!");
        }
        if (op.name == kRoot) {
          return AdminResult::Error(ErrorCode::kInvalidRequest,
                                    "Removing the log level of the root logger is not allowed");
        }
        break;
      case Op::kAppend:
        return AdminResult::Error(ErrorCode::kInvalidRequest,
                                  "APPEND operation is not allowed for the BROKER_LOGGER resource");
      case Op::kSubtract:
        return AdminResult::Error(
            ErrorCode::kInvalidRequest,
            "SUBTRACT operation is not allowed for the BROKER_LOGGER resource");
      default:
        return AdminResult::Error(ErrorCode::kInvalidRequest,
                                  "Unknown operation type " + std::to_string(op.op) +
                                      " is not allowed for the BROKER_LOGGER resource");
    }
  }
  return AdminResult();
}

void RuntimeLoggers::InstallLocked(const std::vector<std::string>& files) {
  const auto& owners = Table().owners;
  for (const auto& f : files) {
    int verbosity = -1;
    auto it = owners.find(f);
    if (it != owners.end()) {
      for (const Module* m : it->second) {
        auto level = set_.find(m->logger);
        if (level != set_.end()) verbosity = std::max(verbosity, Verbosity(level->second));
      }
    }
    if (verbosity < 0) verbosity = Verbosity(root_);
    google::SetVLOGLevel(f.c_str(), verbosity);
    installed_.insert(f);
  }
}

void RuntimeLoggers::SetRootLocked(const std::string& level) {
  root_ = level;
  FLAGS_minloglevel = MinLogLevel(level);
  FLAGS_v = Verbosity(level);
  // Files that never had a vmodule entry follow FLAGS_v by themselves; those that had one (their
  // module was set at some point) must be told.
  InstallLocked(std::vector<std::string>(installed_.begin(), installed_.end()));
}

void RuntimeLoggers::Apply(const std::vector<Op>& ops) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& op : ops) {
    if (op.op == Op::kSet && op.value && IsLevel(*op.value)) {
      const std::string& level = *op.value;
      if (op.name == kRoot) {
        // Logged on whichever side of the change lets a WARNING through.
        const bool visible_after = MinLogLevel(level) <= google::GLOG_WARNING;
        if (!visible_after) {
          LOG(WARNING) << "[RuntimeLoggers] log level of " << op.name << " set to " << level;
        }
        SetRootLocked(level);
        if (visible_after) {
          LOG(WARNING) << "[RuntimeLoggers] log level of " << op.name << " set to " << level;
        }
        continue;
      }
      const Module* m = FindModule(op.name);
      if (!m || (level != "INFO" && Verbosity(level) == 0)) continue;
      set_[m->logger] = level;
      InstallLocked(m->files);
      LOG(WARNING) << "[RuntimeLoggers] log level of " << op.name << " set to " << level;
    } else if (op.op == Op::kDelete && op.name != kRoot) {
      const Module* m = FindModule(op.name);
      if (!m) continue;
      set_.erase(m->logger);
      InstallLocked(m->files);
      LOG(WARNING) << "[RuntimeLoggers] log level of " << op.name << " set to " << root_
                   << " (unset: follows root)";
    }
  }
}

}  // namespace gregor::server
