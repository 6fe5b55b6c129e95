#include "server/client_quotas.h"

#include <cmath>
#include <limits>

#include "gregor/zk/zk_data.h"

namespace gregor::server {

namespace {

constexpr std::array<const char*, kQuotaTypeCount> kQuotaKeys = {
    "producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"};

int32_t ClampMs(double ms) {
  if (!(ms > 0)) return 0;
  if (ms >= std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(std::llround(ms));
}

// The key a rate is kept under: the parts of (user, client) the matching entity names.
std::string PartyKey(bool by_user, const std::string& user, bool by_client,
                     const std::string& client_id) {
  std::string key = by_user ? user : std::string();
  key.push_back('\0');
  if (by_client) key += client_id;
  return key;
}

// Parses one "<name>" or sanitized name of an entity path.
std::optional<std::pair<QuotaEntity::Part, std::string>> ParsePart(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == zk::paths::kDefaultEntity)
    return std::make_pair(QuotaEntity::Part::kDefault, std::string());
  auto name = zk::paths::DesanitizeEntityName(std::string(text));
  if (!name.ok()) return std::nullopt;
  return std::make_pair(QuotaEntity::Part::kNamed, *name);
}

std::string PartText(QuotaEntity::Part part, const std::string& name) {
  return part == QuotaEntity::Part::kDefault ? std::string(zk::paths::kDefaultEntity)
                                             : zk::paths::SanitizeEntityName(name);
}

}  // namespace

const char* QuotaKey(QuotaType type) { return kQuotaKeys[static_cast<size_t>(type)]; }

std::optional<QuotaType> ParseQuotaKey(std::string_view key) {
  for (size_t i = 0; i < kQuotaTypeCount; ++i) {
    if (key == kQuotaKeys[i]) return static_cast<QuotaType>(i);
  }
  return std::nullopt;
}

std::string QuotaEntity::EntityPath() const {
  std::string out;
  if (user != Part::kNone) out = "users/" + PartText(user, user_name);
  if (client != Part::kNone) {
    if (!out.empty()) out += "/";
    out += "clients/" + PartText(client, client_name);
  }
  return out;
}

std::optional<QuotaEntity> QuotaEntity::FromEntityPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  QuotaEntity e;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "users") {
    auto u = ParsePart(parts[1]);
    if (!u) return std::nullopt;
    e.user = u->first;
    e.user_name = u->second;
    i = 2;
  }
  if (i + 2 == parts.size() && parts[i] == "clients") {
    auto c = ParsePart(parts[i + 1]);
    if (!c) return std::nullopt;
    e.client = c->first;
    e.client_name = c->second;
    i += 2;
  }
  if (i != parts.size() || i == 0) return std::nullopt;
  return e;
}

// --- TokenBucket ---

double TokenBucket::Tokens(double quota, int64_t now_ms) {
  const double burst = quota * window_.samples * (static_cast<double>(window_.window_ms) / 1000);
  if (!started_) {
    started_ = true;
    tokens_ = burst;
    last_ms_ = now_ms;
  }
  const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - last_ms_)) / 1000;
  tokens_ = std::min(burst, tokens_ + quota * elapsed_s);
  last_ms_ = now_ms;
  return tokens_;
}

void TokenBucket::Record(double value, double quota, int64_t now_ms) {
  Tokens(quota, now_ms);
  tokens_ -= value;
}

// --- ClientQuotas ---

ClientQuotas::ClientQuotas(QuotaWindow client_window, QuotaWindow controller_window)
    : client_window_(client_window), controller_window_(controller_window) {}

QuotaWindow ClientQuotas::WindowOf(QuotaType type) const {
  return type == QuotaType::kControllerMutation ? controller_window_ : client_window_;
}

void ClientQuotas::Set(const QuotaEntity& entity, const std::map<QuotaType, double>& quotas) {
  for (size_t i = 0; i < kQuotaTypeCount; ++i) {
    PerType& t = types_[i];
    std::lock_guard<std::mutex> lock(t.mu);
    auto it = quotas.find(static_cast<QuotaType>(i));
    if (it == quotas.end()) {
      t.quotas.erase(entity);
    } else {
      t.quotas[entity] = it->second;
    }
    // A changed quota applies to the parties from their next request; a party whose match
    // moved to another entity starts a new rate under its new key.
    t.enabled.store(!t.quotas.empty(), std::memory_order_relaxed);
  }
}

std::map<QuotaEntity, std::map<QuotaType, double>> ClientQuotas::Entities() const {
  std::map<QuotaEntity, std::map<QuotaType, double>> out;
  for (size_t i = 0; i < kQuotaTypeCount; ++i) {
    const PerType& t = types_[i];
    std::lock_guard<std::mutex> lock(t.mu);
    for (const auto& [entity, quota] : t.quotas) out[entity][static_cast<QuotaType>(i)] = quota;
  }
  return out;
}

std::optional<ClientQuotas::Match> ClientQuotas::Resolve(const PerType& t, const std::string& user,
                                                         const std::string& client_id) const {
  using P = QuotaEntity::Part;
  struct Level {
    P user;
    P client;
  };
  // DefaultQuotaCallback's order, most specific first.
  static constexpr Level kLevels[] = {
      {P::kNamed, P::kNamed},   {P::kNamed, P::kDefault},   {P::kNamed, P::kNone},
      {P::kDefault, P::kNamed}, {P::kDefault, P::kDefault}, {P::kDefault, P::kNone},
      {P::kNone, P::kNamed},    {P::kNone, P::kDefault},
  };
  QuotaEntity probe;
  for (const Level& level : kLevels) {
    probe.user = level.user;
    probe.user_name = level.user == P::kNamed ? user : std::string();
    probe.client = level.client;
    probe.client_name = level.client == P::kNamed ? client_id : std::string();
    auto it = t.quotas.find(probe);
    if (it == t.quotas.end()) continue;
    return Match{it->second,
                 PartyKey(level.user != P::kNone, user, level.client != P::kNone, client_id)};
  }
  return std::nullopt;
}

std::optional<double> ClientQuotas::QuotaFor(QuotaType type, const std::string& user,
                                             const std::string& client_id) const {
  const PerType& t = types_[static_cast<size_t>(type)];
  if (!t.enabled.load(std::memory_order_relaxed)) return std::nullopt;
  std::lock_guard<std::mutex> lock(t.mu);
  auto m = Resolve(t, user, client_id);
  if (!m) return std::nullopt;
  return m->quota;
}

double ClientQuotas::MaxValueInWindow(QuotaType type, const std::string& user,
                                      const std::string& client_id) const {
  auto quota = QuotaFor(type, user, client_id);
  if (!quota) return std::numeric_limits<double>::infinity();
  const QuotaWindow w = WindowOf(type);
  return *quota * (w.samples - 1) * (static_cast<double>(w.window_ms) / 1000);
}

ClientQuotas::Party& ClientQuotas::PartyFor(QuotaType type, PerType& t, const std::string& key,
                                            int64_t now_ms) {
  auto it = t.parties.find(key);
  if (it != t.parties.end()) return it->second;
  if (t.parties.size() >= t.prune_at) {
    // Idle for a whole window span: the rate is zero, nothing is lost by forgetting it.
    const QuotaWindow w = WindowOf(type);
    const int64_t span = w.samples * w.window_ms;
    for (auto p = t.parties.begin(); p != t.parties.end();) {
      p = now_ms - p->second.last_ms() >= span ? t.parties.erase(p) : std::next(p);
    }
    t.prune_at = std::max<size_t>(1024, t.parties.size() * 2);
  }
  return t.parties.emplace(key, Party(WindowOf(type))).first->second;
}

int32_t ClientQuotas::ThrottleMs(QuotaType type, double observed, double quota,
                                 int64_t window_ms) const {
  if (quota <= 0) return ClampMs(static_cast<double>(window_ms));
  const double ms = (observed - quota) / quota * static_cast<double>(window_ms);
  // ClientRequestQuotaManager caps request throttling at one sample window.
  if (type == QuotaType::kRequest) {
    return ClampMs(std::min(ms, static_cast<double>(client_window_.window_ms)));
  }
  return ClampMs(ms);
}

int32_t ClientQuotas::Record(QuotaType type, const std::string& user, const std::string& client_id,
                             double value, int64_t now_ms) {
  PerType& t = types_[static_cast<size_t>(type)];
  if (!t.enabled.load(std::memory_order_relaxed)) return 0;
  std::lock_guard<std::mutex> lock(t.mu);
  auto m = Resolve(t, user, client_id);
  if (!m) return 0;
  Party& p = PartyFor(type, t, m->key, now_ms);
  if (type == QuotaType::kControllerMutation) {
    p.bucket.Record(value, m->quota, now_ms);
    const double tokens = p.bucket.Tokens(m->quota, now_ms);
    return tokens < 0 && m->quota > 0 ? ClampMs(-tokens / m->quota * 1000) : 0;
  }
  p.rate.Record(value, now_ms);
  const double observed = p.rate.Measure(now_ms);
  if (observed <= m->quota) return 0;
  return ThrottleMs(type, observed, m->quota, p.rate.WindowSizeMs(now_ms));
}

void ClientQuotas::Unrecord(QuotaType type, const std::string& user, const std::string& client_id,
                            double value, int64_t now_ms) {
  PerType& t = types_[static_cast<size_t>(type)];
  if (!t.enabled.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(t.mu);
  auto m = Resolve(t, user, client_id);
  if (!m) return;
  Party& p = PartyFor(type, t, m->key, now_ms);
  if (type == QuotaType::kControllerMutation) {
    p.bucket.Record(-value, m->quota, now_ms);
  } else {
    p.rate.Record(-value, now_ms);
  }
}

int32_t ClientQuotas::OwedThrottleMs(QuotaType type, const std::string& user,
                                     const std::string& client_id, int64_t now_ms) {
  PerType& t = types_[static_cast<size_t>(type)];
  if (!t.enabled.load(std::memory_order_relaxed)) return 0;
  std::lock_guard<std::mutex> lock(t.mu);
  auto m = Resolve(t, user, client_id);
  if (!m) return 0;
  Party& p = PartyFor(type, t, m->key, now_ms);
  if (type == QuotaType::kControllerMutation) {
    const double tokens = p.bucket.Tokens(m->quota, now_ms);
    return tokens < 0 && m->quota > 0 ? ClampMs(-tokens / m->quota * 1000) : 0;
  }
  const double observed = p.rate.Measure(now_ms);
  if (observed <= m->quota) return 0;
  return ThrottleMs(type, observed, m->quota, p.rate.WindowSizeMs(now_ms));
}

size_t ClientQuotas::sensor_count(QuotaType type) const {
  const PerType& t = types_[static_cast<size_t>(type)];
  std::lock_guard<std::mutex> lock(t.mu);
  return t.parties.size();
}

}  // namespace gregor::server
