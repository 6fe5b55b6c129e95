#include "gregor/group/consumer_assignor.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <utility>

namespace gregor::group {
namespace {

constexpr int32_t kNoOwner = -1;

// Kafka's UniformHeterogeneousAssignmentBuilder stops balancing after this many laps over the
// topics: overlapping subscriptions may converge slowly, and each lap roughly halves the
// imbalance.
constexpr int kMaxBalanceLaps = 16;

struct Topic {
  const std::string* name = nullptr;
  int32_t partitions = 0;
  std::vector<int32_t> subscribers;  // member indices, ascending
  std::vector<int32_t> owner;        // member index per partition, or kNoOwner
};

// The input re-indexed: members numbered in a fixed order (the order every tie is broken by)
// and the subscribed existing topics by name, each with its subscribers.
struct Problem {
  std::vector<const AssignorMember*> members;
  std::vector<Topic> topics;
  bool homogeneous = true;  // every member subscribes to every topic of `topics`
};

using MemberOrder = bool (*)(const AssignorMember*, const AssignorMember*);

bool ByMemberId(const AssignorMember* a, const AssignorMember* b) {
  return a->member_id < b->member_id;
}

// Kafka's RangeAssignor order: static members first, by instance id, then dynamic members by
// member id, so that a static member that rejoins under a new member id gets its old ranges.
bool StaticFirst(const AssignorMember* a, const AssignorMember* b) {
  if (a->instance_id.has_value() != b->instance_id.has_value()) return a->instance_id.has_value();
  if (a->instance_id && *a->instance_id != *b->instance_id)
    return *a->instance_id < *b->instance_id;
  return a->member_id < b->member_id;
}

Topic* FindTopic(Problem& pr, const std::string& name) {
  auto it = std::lower_bound(pr.topics.begin(), pr.topics.end(), name,
                             [](const Topic& t, const std::string& n) { return *t.name < n; });
  return it != pr.topics.end() && *it->name == name ? &*it : nullptr;
}

Problem MakeProblem(const AssignorInput& in, MemberOrder order) {
  Problem pr;
  pr.members.reserve(in.members.size());
  for (const AssignorMember& m : in.members) pr.members.push_back(&m);
  std::sort(pr.members.begin(), pr.members.end(), order);

  pr.topics.reserve(in.topic_partitions.size());
  for (const auto& [name, count] : in.topic_partitions) {
    Topic t;
    t.name = &name;
    t.partitions = std::max(count, int32_t{0});
    pr.topics.push_back(std::move(t));
  }
  for (size_t m = 0; m < pr.members.size(); ++m) {
    for (const std::string& name : pr.members[m]->subscribed_topics) {
      if (Topic* t = FindTopic(pr, name)) t->subscribers.push_back(static_cast<int32_t>(m));
    }
  }
  std::erase_if(pr.topics, [](const Topic& t) { return t.subscribers.empty(); });
  for (const Topic& t : pr.topics) {
    if (t.subscribers.size() != pr.members.size()) pr.homogeneous = false;
  }
  return pr;
}

// Calls f(topic, partition) for each partition of member m's current assignment that it may
// keep: its topic exists and is subscribed by m, and the partition number is in range. Visits
// topics by name and partitions in ascending order.
template <typename F>
void ForEachValidCurrent(Problem& pr, int32_t m, F&& f) {
  const AssignorMember& member = *pr.members[m];
  for (const auto& [name, partitions] : member.current) {
    if (!member.subscribed_topics.contains(name)) continue;
    Topic* t = FindTopic(pr, name);
    if (t == nullptr) continue;
    for (int32_t p : partitions) {
      if (p >= 0 && p < t->partitions) f(*t, p);
    }
  }
}

// Gives each member the valid current partitions that no member before it claimed, and
// returns how many each member holds.
std::vector<int32_t> ClaimCurrent(Problem& pr) {
  for (Topic& t : pr.topics) t.owner.assign(t.partitions, kNoOwner);
  std::vector<int32_t> load(pr.members.size(), 0);
  for (int32_t m = 0; m < static_cast<int32_t>(pr.members.size()); ++m) {
    ForEachValidCurrent(pr, m, [&](Topic& t, int32_t p) {
      if (t.owner[p] != kNoOwner) return;
      t.owner[p] = m;
      ++load[m];
    });
  }
  return load;
}

TargetAssignment EmptyAssignment(const Problem& pr) {
  TargetAssignment out;
  for (const AssignorMember* m : pr.members) out[m->member_id];
  return out;
}

TargetAssignment FromOwners(const Problem& pr) {
  TargetAssignment out;
  std::vector<TopicPartitions*> by_member(pr.members.size());
  for (size_t m = 0; m < pr.members.size(); ++m) by_member[m] = &out[pr.members[m]->member_id];
  std::vector<std::set<int32_t>*> slot(pr.members.size(), nullptr);
  for (const Topic& t : pr.topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      int32_t m = t.owner[p];
      if (m == kNoOwner) continue;
      if (slot[m] == nullptr) {
        // Topics are visited by name, so each member's map grows at its end.
        TopicPartitions& tp = *by_member[m];
        slot[m] = &tp.emplace_hint(tp.end(), *t.name, std::set<int32_t>{})->second;
      }
      slot[m]->emplace_hint(slot[m]->end(), p);
    }
    for (int32_t m : t.subscribers) slot[m] = nullptr;
  }
  return out;
}

// Uniform, every member subscribed to the same topics (Kafka's
// UniformHomogeneousAssignmentBuilder). Each member's quota is floor(total / members), and
// total % members of them get one more; a member keeps its current partitions up to its quota
// and the rest go, in topic and partition order, to members below their quota. Kafka hands the
// extra partitions to the first members in iteration order; we hand them first to members
// that already hold more than the floor, which keeps the same balance and moves no more
// partitions than necessary.
TargetAssignment AssignUniformHomogeneous(Problem& pr) {
  const int32_t n = static_cast<int32_t>(pr.members.size());
  std::vector<int32_t> held = ClaimCurrent(pr);
  int64_t total = 0;
  for (const Topic& t : pr.topics) total += t.partitions;
  const int32_t floor_quota = static_cast<int32_t>(total / n);
  int32_t extras = static_cast<int32_t>(total % n);

  std::vector<int32_t> quota(n, floor_quota);
  for (int32_t m = 0; m < n && extras > 0; ++m) {
    if (held[m] > floor_quota) ++quota[m], --extras;
  }
  for (int32_t m = 0; m < n && extras > 0; ++m) {
    if (quota[m] == floor_quota) ++quota[m], --extras;
  }

  // Revoke what exceeds the quota, keeping the lowest topic names and partition numbers.
  for (int32_t m = 0; m < n; ++m) {
    if (held[m] <= quota[m]) continue;
    int32_t kept = 0;
    ForEachValidCurrent(pr, m, [&](Topic& t, int32_t p) {
      if (t.owner[p] != m) return;
      if (kept < quota[m]) {
        ++kept;
      } else {
        t.owner[p] = kNoOwner;
      }
    });
    held[m] = kept;
  }

  int32_t next = 0;
  for (Topic& t : pr.topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (t.owner[p] != kNoOwner) continue;
      while (held[next] >= quota[next]) ++next;  // the quotas sum to total: next stays < n
      t.owner[p] = next;
      ++held[next];
    }
  }
  return FromOwners(pr);
}

// Kafka's topic order for the heterogeneous builder: most partitions per subscriber first, then
// fewer subscribers, then name. Topics that are hardest to spread go first.
bool AssignFirst(const Topic* a, const Topic* b) {
  const int64_t sa = static_cast<int64_t>(a->subscribers.size());
  const int64_t sb = static_cast<int64_t>(b->subscribers.size());
  const int64_t lhs = a->partitions * sb;
  const int64_t rhs = b->partitions * sa;
  if (lhs != rhs) return lhs > rhs;
  if (sa != sb) return sa < sb;
  return *a->name < *b->name;
}

// Moves node (old_load, m) of a (load, member) set to new_load without allocating.
void Rekey(std::set<std::pair<int32_t, int32_t>>& s, int32_t m, int32_t old_load,
           int32_t new_load) {
  auto node = s.extract({old_load, m});
  node.value().first = new_load;
  s.insert(std::move(node));
}

class HeterogeneousBalancer {
 public:
  explicit HeterogeneousBalancer(std::vector<int32_t>& load)
      : load_(load), begin_(load.size()), end_(load.size()) {}

  // Moves partitions of t from its most loaded subscribers (by total load, that own some of
  // t) to its least loaded subscribers until no move would narrow their gap. The donor gives
  // its highest partition number. Returns the number of partitions moved.
  int64_t BalanceTopic(Topic& t) {
    int32_t lo = load_[t.subscribers[0]];
    int32_t hi = lo;
    for (int32_t m : t.subscribers) lo = std::min(lo, load_[m]), hi = std::max(hi, load_[m]);
    if (hi - lo <= 1) return 0;

    // Group the partitions by owner (a counting sort), ascending within an owner, so a donor's
    // partitions are grouped_[begin_[m], end_[m]).
    for (int32_t m : t.subscribers) end_[m] = 0;
    for (int32_t p = 0; p < t.partitions; ++p) ++end_[t.owner[p]];
    int32_t pos = 0;
    for (int32_t m : t.subscribers) {
      begin_[m] = pos;
      pos += end_[m];
      end_[m] = begin_[m];
    }
    grouped_.resize(t.partitions);
    for (int32_t p = 0; p < t.partitions; ++p) grouped_[end_[t.owner[p]]++] = p;

    donors_.clear();
    receivers_.clear();
    for (int32_t m : t.subscribers) {
      if (end_[m] > begin_[m]) donors_.emplace(load_[m], m);
      receivers_.emplace(load_[m], m);
    }

    // A receiver ends at most one above the lowest load, which never drops, so it never turns
    // donor while the gap is above one: no partition moves twice.
    int64_t moved = 0;
    while (!donors_.empty()) {
      const int32_t d = std::prev(donors_.end())->second;  // ties: the highest member index
      const int32_t r = receivers_.begin()->second;        // ties: the lowest member index
      if (load_[d] - load_[r] <= 1) break;
      const int32_t p = grouped_[--end_[d]];
      t.owner[p] = r;
      if (end_[d] == begin_[d]) {
        donors_.erase({load_[d], d});
      } else {
        Rekey(donors_, d, load_[d], load_[d] - 1);
      }
      if (end_[r] > begin_[r]) Rekey(donors_, r, load_[r], load_[r] + 1);
      Rekey(receivers_, d, load_[d], load_[d] - 1);
      Rekey(receivers_, r, load_[r], load_[r] + 1);
      --load_[d];
      ++load_[r];
      ++moved;
    }
    return moved;
  }

 private:
  std::vector<int32_t>& load_;
  std::vector<int32_t> begin_;
  std::vector<int32_t> end_;
  std::vector<int32_t> grouped_;
  std::set<std::pair<int32_t, int32_t>> donors_;
  std::set<std::pair<int32_t, int32_t>> receivers_;
};

// Uniform, members with different subscriptions (Kafka's
// UniformHeterogeneousAssignmentBuilder): keep every valid current partition, give each
// unassigned partition to its least loaded subscriber, then balance topic by topic, lap after
// lap, until a whole lap moves nothing or kMaxBalanceLaps is reached. The result is balanced
// among the subscribers of each topic; with overlapping subscriptions the whole group may stay
// slightly off, as in Kafka.
TargetAssignment AssignUniformHeterogeneous(Problem& pr) {
  std::vector<int32_t> load = ClaimCurrent(pr);

  std::vector<Topic*> order;
  order.reserve(pr.topics.size());
  for (Topic& t : pr.topics) order.push_back(&t);
  std::sort(order.begin(), order.end(), AssignFirst);

  // A min-heap of (load, member) over one topic's subscribers.
  std::vector<std::pair<int32_t, int32_t>> heap;
  const auto heap_order = std::greater<std::pair<int32_t, int32_t>>();
  for (Topic* t : order) {
    heap.clear();
    for (int32_t m : t->subscribers) heap.emplace_back(load[m], m);
    std::make_heap(heap.begin(), heap.end(), heap_order);
    for (int32_t p = 0; p < t->partitions; ++p) {
      if (t->owner[p] != kNoOwner) continue;
      std::pop_heap(heap.begin(), heap.end(), heap_order);
      auto& [l, m] = heap.back();
      t->owner[p] = m;
      ++load[m];
      l = load[m];
      std::push_heap(heap.begin(), heap.end(), heap_order);
    }
  }

  std::erase_if(order, [](const Topic* t) { return t->subscribers.size() < 2; });
  HeterogeneousBalancer balancer(load);
  int last_moved = -1;  // index in `order` of the last topic that moved partitions
  for (int lap = 0; lap < kMaxBalanceLaps; ++lap) {
    for (int i = 0; i < static_cast<int>(order.size()); ++i) {
      if (i == last_moved) return FromOwners(pr);  // a whole lap without a move
      if (balancer.BalanceTopic(*order[i]) > 0 || last_moved == -1) last_moved = i;
    }
  }
  return FromOwners(pr);
}

class UniformAssignor final : public ConsumerAssignor {
 public:
  const char* name() const override { return "uniform"; }
  TargetAssignment Assign(const AssignorInput& in) const override {
    Problem pr = MakeProblem(in, ByMemberId);
    if (pr.members.empty() || pr.topics.empty()) return EmptyAssignment(pr);
    return pr.homogeneous ? AssignUniformHomogeneous(pr) : AssignUniformHeterogeneous(pr);
  }
};

// Kafka 3.9+ RangeAssignor (KAFKA-16944): per topic, its subscribers in StaticFirst order
// take contiguous ranges, the first partitions % subscribers of them one partition more. It
// ignores current assignments: stickiness comes from the order alone, which is stable for
// static members. With equal subscriptions and partition counts, a member gets the same
// partition numbers of every topic (co-partitioning, for joins).
class RangeAssignor final : public ConsumerAssignor {
 public:
  const char* name() const override { return "range"; }
  TargetAssignment Assign(const AssignorInput& in) const override {
    Problem pr = MakeProblem(in, StaticFirst);
    TargetAssignment out = EmptyAssignment(pr);
    std::vector<TopicPartitions*> by_member(pr.members.size());
    for (size_t m = 0; m < pr.members.size(); ++m) by_member[m] = &out[pr.members[m]->member_id];
    for (const Topic& t : pr.topics) {
      const int32_t k = static_cast<int32_t>(t.subscribers.size());
      const int32_t floor_quota = t.partitions / k;
      const int32_t extras = t.partitions % k;
      int32_t next = 0;
      for (int32_t i = 0; i < k; ++i) {
        const int32_t end = next + floor_quota + (i < extras ? 1 : 0);
        if (end == next) continue;
        TopicPartitions& tp = *by_member[t.subscribers[i]];
        std::set<int32_t>& s = tp.emplace_hint(tp.end(), *t.name, std::set<int32_t>{})->second;
        for (int32_t p = next; p < end; ++p) s.emplace_hint(s.end(), p);
        next = end;
      }
    }
    return out;
  }
};

const UniformAssignor kUniform;
const RangeAssignor kRange;

}  // namespace

const ConsumerAssignor* FindConsumerAssignor(std::string_view name) {
  if (name == kUniform.name()) return &kUniform;
  if (name == kRange.name()) return &kRange;
  return nullptr;
}

const std::vector<std::string_view>& ConsumerAssignorNames() {
  static const std::vector<std::string_view> kNames = {"uniform", "range"};
  return kNames;
}

}  // namespace gregor::group
