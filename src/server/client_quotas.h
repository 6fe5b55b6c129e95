#pragma once
// ClientQuotas: Kafka's client quotas (KIP-13, KIP-55 user quotas, KIP-124 request quotas,
// KIP-599 controller mutation quotas) as ClientQuotaManager and DefaultQuotaCallback keep them:
// the configured quotas per entity (user, client-id, user + client-id, with <default>s) and a
// sampled rate per throttled party.
//
// Which quota applies to a request of user U and client id C is decided per quota type, most
// specific first: /config/users/U/clients/C, users/U/clients/<default>, users/U,
// users/<default>/clients/C, users/<default>/clients/<default>, users/<default>, clients/C,
// clients/<default>. The entity that matches also says who shares the quota: the rate is
// kept per (U, C) when the match names both parts, per U for user-only entities (all of U's
// clients together), per C for client-only ones.
//
// Rates are Kafka's Rate over a SampledStat: quota.window.num samples of
// quota.window.size.seconds each; a sample older than all of them is reset. A recording that
// takes the rate over the quota returns the throttle time that brings it back within
// (X = (O - T) / T * W, Kafka's QuotaUtils.throttleTime), capped per type as Kafka caps it.
//
// Memory: the sampled rates are created for the parties that send requests while a quota
// applies to them, and dropped once idle for a whole window span (their rate is then zero),
// so a client inventing client ids holds at most what it sent within one window span.
//
// Thread-safety: every method may be called from any thread. The quotas of a type are behind
// one mutex; a type without any configured quota costs one atomic load per request.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gregor/base/sampled_rate.h"

namespace gregor::server {

enum class QuotaType : uint8_t { kProduce, kFetch, kRequest, kControllerMutation };
inline constexpr size_t kQuotaTypeCount = 4;

// Kafka's config key of the type ("producer_byte_rate", "consumer_byte_rate",
// "request_percentage", "controller_mutation_rate").
const char* QuotaKey(QuotaType type);
std::optional<QuotaType> ParseQuotaKey(std::string_view key);

// One configured entity. Names are plain (not sanitized).
struct QuotaEntity {
  enum class Part : uint8_t { kNone, kDefault, kNamed };
  Part user = Part::kNone;
  std::string user_name;
  Part client = Part::kNone;
  std::string client_name;

  // The config-change entity path as Kafka writes it under /config/changes, with names
  // sanitized: "users/alice", "users/<default>/clients/c1", "clients/<default>".
  std::string EntityPath() const;
  // The reverse; nullopt for anything that is not a quota entity path (topics, brokers,
  // malformed names).
  static std::optional<QuotaEntity> FromEntityPath(std::string_view path);
  auto operator<=>(const QuotaEntity&) const = default;
};

// Kafka's TokenBucket (controller mutations, KIP-599): a burst of quota * samples * window
// seconds, refilled at the quota per second; a recording may take it below zero, and the time
// to refill back to zero is the throttle time. Not thread-safe (ClientQuotas locks).
class TokenBucket {
 public:
  explicit TokenBucket(QuotaWindow window) : window_(window) {}
  // Tokens now (negative: owed), for `quota` per second.
  double Tokens(double quota, int64_t now_ms);
  void Record(double value, double quota, int64_t now_ms);
  int64_t last_record_ms() const { return last_ms_; }

 private:
  QuotaWindow window_;
  double tokens_ = 0;
  bool started_ = false;
  int64_t last_ms_ = 0;
};

class ClientQuotas {
 public:
  ClientQuotas(QuotaWindow client_window, QuotaWindow controller_window);

  // Replaces the quotas of an entity (an empty map removes it).
  void Set(const QuotaEntity& entity, const std::map<QuotaType, double>& quotas);
  // Every configured entity and its quotas (DescribeClientQuotas).
  std::map<QuotaEntity, std::map<QuotaType, double>> Entities() const;

  // True when some entity has a quota of this type: callers skip the accounting otherwise.
  bool Enabled(QuotaType type) const {
    return types_[static_cast<size_t>(type)].enabled.load(std::memory_order_relaxed);
  }

  // The quota that applies to (user, client_id), if any (`user` is the principal's name).
  std::optional<double> QuotaFor(QuotaType type, const std::string& user,
                                 const std::string& client_id) const;

  // The most one recording may be without being throttled for sure (Kafka's
  // getMaxValueInQuotaWindow: quota * (samples - 1) * window); infinity without a quota.
  double MaxValueInWindow(QuotaType type, const std::string& user,
                          const std::string& client_id) const;

  // Records `value` against the party's rate and returns how long it must be throttled (0
  // when no quota applies or the rate stays within it).
  int32_t Record(QuotaType type, const std::string& user, const std::string& client_id,
                 double value, int64_t now_ms);
  // Takes back a recording (a throttled fetch returns no data, so its bytes do not count).
  void Unrecord(QuotaType type, const std::string& user, const std::string& client_id, double value,
                int64_t now_ms);
  // The throttle time the party owes now without recording anything (controller mutations
  // are refused up front while it is positive).
  int32_t OwedThrottleMs(QuotaType type, const std::string& user, const std::string& client_id,
                         int64_t now_ms);

  // Rates currently kept (for tests: the idle ones are dropped).
  size_t sensor_count(QuotaType type) const;

 private:
  struct Match {
    double quota = 0;
    std::string key;  // who shares the rate: "user\0client" with unused parts empty
  };
  struct Party {
    explicit Party(QuotaWindow w) : rate(w), bucket(w) {}
    SampledRate rate;    // byte and request quotas
    TokenBucket bucket;  // controller mutations
    int64_t last_ms() const { return std::max(rate.last_record_ms(), bucket.last_record_ms()); }
  };
  struct PerType {
    std::atomic<bool> enabled{false};
    mutable std::mutex mu;
    std::map<QuotaEntity, double> quotas;
    std::unordered_map<std::string, Party> parties;
    size_t prune_at = 1024;
  };

  std::optional<Match> Resolve(const PerType& t, const std::string& user,
                               const std::string& client_id) const;
  Party& PartyFor(QuotaType type, PerType& t, const std::string& key, int64_t now_ms);
  int32_t ThrottleMs(QuotaType type, double observed, double quota, int64_t window_ms) const;
  QuotaWindow WindowOf(QuotaType type) const;

  const QuotaWindow client_window_;
  const QuotaWindow controller_window_;
  std::array<PerType, kQuotaTypeCount> types_;
};

}  // namespace gregor::server
