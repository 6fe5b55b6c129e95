#include "gregor/group/consumer_assignor.h"

#include <algorithm>
#include <set>
#include <utility>

namespace gregor::group {

namespace {

struct Part {
  int32_t topic = 0;  // index into the sorted topic names
  int32_t partition = 0;
  bool operator<(const Part& o) const {
    return topic != o.topic ? topic < o.topic : partition < o.partition;
  }
};

// Kafka's uniform assignor (UniformHomogeneousAssignmentBuilder and its heterogeneous
// counterpart) in one pass: members keep the valid partitions of their current target (sticky),
// the unassigned partitions go to the least loaded eligible member, then partitions move from
// the most to the least loaded eligible members until no member has two more than another it
// could give one to. With identical subscriptions that ends with every member at floor or ceil
// of partitions/members; with different ones, as balanced as the subscriptions allow.
class UniformAssignor : public ConsumerAssignor {
 public:
  const char* name() const override { return "uniform"; }

  TargetAssignment Assign(const AssignorInput& in) const override {
    std::vector<std::string> topics;
    for (const auto& [t, n] : in.topic_partitions) {
      if (n > 0) topics.push_back(t);
    }
    auto topic_index = [&](const std::string& t) -> int32_t {
      auto it = std::lower_bound(topics.begin(), topics.end(), t);
      return it != topics.end() && *it == t ? static_cast<int32_t>(it - topics.begin()) : -1;
    };
    const size_t n = in.members.size();
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return in.members[a].member_id < in.members[b].member_id;
    });
    // eligible[t]: members (positions in `order`) subscribed to topic t.
    std::vector<std::vector<int32_t>> eligible(topics.size());
    std::vector<std::vector<bool>> subscribed(n, std::vector<bool>(topics.size(), false));
    for (size_t pos = 0; pos < n; ++pos) {
      for (const std::string& t : in.members[order[pos]].subscribed_topics) {
        int32_t ti = topic_index(t);
        if (ti < 0) continue;
        subscribed[pos][ti] = true;
        eligible[ti].push_back(static_cast<int32_t>(pos));
      }
    }

    // 1. Sticky: valid current partitions stay (the first member claiming one keeps it).
    std::vector<std::set<Part>> owned(n);
    std::map<Part, int32_t> owner;
    for (size_t pos = 0; pos < n; ++pos) {
      for (const auto& [t, ps] : in.members[order[pos]].current) {
        int32_t ti = topic_index(t);
        if (ti < 0 || !subscribed[pos][ti]) continue;
        const int32_t count = in.topic_partitions.at(t);
        for (int32_t p : ps) {
          if (p < 0 || p >= count) continue;
          Part part{ti, p};
          if (owner.emplace(part, static_cast<int32_t>(pos)).second) owned[pos].insert(part);
        }
      }
    }

    // 2. Unassigned partitions to the least loaded eligible member; the most constrained topics
    // (fewest eligible members) first.
    std::vector<int32_t> topic_order;
    for (size_t ti = 0; ti < topics.size(); ++ti) {
      if (!eligible[ti].empty()) topic_order.push_back(static_cast<int32_t>(ti));
    }
    std::stable_sort(topic_order.begin(), topic_order.end(),
                     [&](int32_t a, int32_t b) { return eligible[a].size() < eligible[b].size(); });
    for (int32_t ti : topic_order) {
      const int32_t count = in.topic_partitions.at(topics[ti]);
      std::set<std::pair<size_t, int32_t>> by_load;  // (load, pos) of eligible members
      for (int32_t pos : eligible[ti]) by_load.emplace(owned[pos].size(), pos);
      for (int32_t p = 0; p < count; ++p) {
        Part part{ti, p};
        if (owner.count(part)) continue;
        auto least = *by_load.begin();
        by_load.erase(by_load.begin());
        owned[least.second].insert(part);
        owner[part] = least.second;
        by_load.emplace(least.first + 1, least.second);
      }
    }

    // 3. Balance: move from the most loaded member to an eligible one with two fewer.
    if (n > 1) {
      std::set<std::pair<size_t, int32_t>> by_load;
      for (size_t pos = 0; pos < n; ++pos) by_load.emplace(owned[pos].size(), pos);
      std::set<int32_t> stuck;  // members that can give nothing away any more
      while (by_load.size() > stuck.size() &&
             by_load.rbegin()->first > by_load.begin()->first + 1) {
        // The most loaded member not stuck.
        auto it = by_load.end();
        do {
          --it;
        } while (stuck.count(it->second) && it != by_load.begin());
        if (stuck.count(it->second)) break;
        const auto [load, from] = *it;
        // Its partition that can go to the least loaded eligible member (load <= load - 2).
        bool moved = false;
        for (auto pit = owned[from].rbegin(); pit != owned[from].rend(); ++pit) {
          const Part part = *pit;
          int32_t best = -1;
          for (int32_t pos : eligible[part.topic]) {
            if (pos == from || owned[pos].size() + 2 > load) continue;
            if (best < 0 || owned[pos].size() < owned[best].size()) best = pos;
          }
          if (best < 0) continue;
          by_load.erase({owned[from].size(), from});
          by_load.erase({owned[best].size(), best});
          owned[from].erase(part);
          owned[best].insert(part);
          owner[part] = best;
          by_load.emplace(owned[from].size(), from);
          by_load.emplace(owned[best].size(), best);
          stuck.clear();
          moved = true;
          break;
        }
        if (!moved) stuck.insert(from);
      }
    }

    TargetAssignment out;
    for (size_t pos = 0; pos < n; ++pos) {
      TopicPartitions& tp = out[in.members[order[pos]].member_id];
      for (const Part& part : owned[pos]) tp[topics[part.topic]].insert(part.partition);
    }
    return out;
  }
};

// Kafka's range assignor: for each topic, its subscribers in member-id order take contiguous
// ranges (the first count % members one partition more), so members subscribed to the same
// co-partitioned topics get the same partition numbers of each.
class RangeAssignor : public ConsumerAssignor {
 public:
  const char* name() const override { return "range"; }

  TargetAssignment Assign(const AssignorInput& in) const override {
    TargetAssignment out;
    std::vector<const AssignorMember*> members;
    for (const AssignorMember& m : in.members) {
      members.push_back(&m);
      out[m.member_id];
    }
    std::sort(members.begin(), members.end(), [](const AssignorMember* a, const AssignorMember* b) {
      return a->member_id < b->member_id;
    });
    for (const auto& [topic, count] : in.topic_partitions) {
      std::vector<const AssignorMember*> subs;
      for (const AssignorMember* m : members) {
        if (m->subscribed_topics.count(topic)) subs.push_back(m);
      }
      if (subs.empty() || count <= 0) continue;
      const int32_t per = count / static_cast<int32_t>(subs.size());
      const int32_t extra = count % static_cast<int32_t>(subs.size());
      int32_t next = 0;
      for (size_t i = 0; i < subs.size(); ++i) {
        const int32_t take = per + (static_cast<int32_t>(i) < extra ? 1 : 0);
        for (int32_t p = next; p < next + take; ++p) out[subs[i]->member_id][topic].insert(p);
        next += take;
      }
    }
    return out;
  }
};

}  // namespace

const ConsumerAssignor* FindConsumerAssignor(std::string_view name) {
  static const UniformAssignor kUniform;
  static const RangeAssignor kRange;
  if (name == kUniform.name()) return &kUniform;
  if (name == kRange.name()) return &kRange;
  return nullptr;
}

}  // namespace gregor::group
