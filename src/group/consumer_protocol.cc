#include "gregor/group/consumer_protocol.h"

#include <algorithm>

#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::group {

namespace {

// [Topic string, Partitions [int32]] as both structs carry it (non-flexible encoding).
bool ReadTopicPartitions(protocol::Reader& r, TopicPartitions* out) {
  const int32_t topics = r.ArrayLength(false);
  if (!r.ok()) return false;
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic = r.String(false);
    const int32_t n = r.ArrayLength(false);
    if (!r.ok()) return false;
    std::set<int32_t>& ps = (*out)[topic];
    for (int32_t j = 0; j < n && r.ok(); ++j) ps.insert(r.Int32());
    if (ps.empty()) out->erase(topic);
  }
  return r.ok();
}

}  // namespace

std::optional<ConsumerProtocolSubscription> DecodeConsumerSubscription(const std::string& bytes) {
  protocol::Reader r(bytes);
  ConsumerProtocolSubscription s;
  s.version = r.Int16();
  if (!r.ok() || s.version < 0) return std::nullopt;
  const int16_t v = std::min(s.version, kConsumerProtocolSubscriptionMaxVersion);
  const int32_t n = r.ArrayLength(false);
  if (!r.ok() || n < 0) return std::nullopt;
  for (int32_t i = 0; i < n && r.ok(); ++i) s.topics.push_back(r.String(false));
  std::optional<std::string_view> user_data = r.NullableBytesView(false);
  if (!r.ok()) return std::nullopt;
  if (user_data) s.user_data = std::string(*user_data);
  if (v >= 1 && !ReadTopicPartitions(r, &s.owned)) return std::nullopt;
  if (v >= 2) s.generation = r.Int32();
  if (v >= 3) s.rack_id = r.NullableString(false);
  if (!r.ok()) return std::nullopt;
  return s;
}

std::optional<TopicPartitions> DecodeConsumerAssignment(const std::string& bytes) {
  TopicPartitions out;
  if (bytes.empty()) return out;
  protocol::Reader r(bytes);
  const int16_t version = r.Int16();
  if (!r.ok() || version < 0) return std::nullopt;
  if (!ReadTopicPartitions(r, &out)) return std::nullopt;
  r.NullableBytesView(false);  // user data: a client-side assignor's, meaningless here
  if (!r.ok()) return std::nullopt;
  return out;
}

std::string EncodeConsumerAssignment(const TopicPartitions& assigned, int16_t version) {
  protocol::Writer w;
  w.Int16(version);
  int32_t topics = 0;
  for (const auto& [topic, ps] : assigned) topics += ps.empty() ? 0 : 1;
  w.ArrayLength(topics, false);
  for (const auto& [topic, ps] : assigned) {
    if (ps.empty()) continue;
    w.String(topic, false);
    w.ArrayLength(static_cast<int32_t>(ps.size()), false);
    for (int32_t p : ps) w.Int32(p);
  }
  w.NullableBytes(std::nullopt, false);
  return w.Flatten();
}

int16_t ConsumerAssignmentVersionFor(const std::string& subscription) {
  protocol::Reader r(subscription);
  const int16_t v = r.Int16();
  if (!r.ok() || v < 0) return 0;
  return std::min(v, kConsumerProtocolAssignmentMaxVersion);
}

}  // namespace gregor::group
