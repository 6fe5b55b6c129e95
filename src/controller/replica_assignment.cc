#include "gregor/controller/replica_assignment.h"

#include <algorithm>
#include <set>

namespace gregor::controller {

namespace {

int ReplicaIndex(int first_replica_index, int second_replica_shift, int replica_index,
                 int n_brokers) {
  int64_t shift =
      1 + (static_cast<int64_t>(second_replica_shift) + replica_index) % (n_brokers - 1);
  return static_cast<int>((first_replica_index + shift) % n_brokers);
}

int RandomIndex(int n) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, n - 1)(rng);
}

// Brokers ordered so that consecutive entries are in different racks: racks sorted by name,
// brokers within a rack by id, then taken round-robin across racks.
std::vector<int32_t> RackAlternatedBrokerList(const std::map<int32_t, std::string>& rack_of) {
  std::map<std::string, std::vector<int32_t>> by_rack;
  for (const auto& [id, rack] : rack_of) by_rack[rack].push_back(id);  // ids already sorted
  std::vector<std::vector<int32_t>*> racks;
  for (auto& [rack, ids] : by_rack) racks.push_back(&ids);
  std::vector<size_t> next(racks.size(), 0);
  std::vector<int32_t> out;
  size_t r = 0;
  while (out.size() < rack_of.size()) {
    if (next[r] < racks[r]->size()) out.push_back((*racks[r])[next[r]++]);
    r = (r + 1) % racks.size();
  }
  return out;
}

}  // namespace

Result<std::map<int32_t, std::vector<int32_t>>> AssignReplicasToBrokers(
    std::vector<BrokerMetadata> brokers, int32_t num_partitions, int32_t replication_factor,
    int32_t fixed_start_index, int32_t start_partition_id) {
  if (num_partitions <= 0) {
    return Status::OutOfRange("Number of partitions must be larger than 0.");
  }
  if (replication_factor <= 0) {
    return Status::InvalidArgument("Replication factor must be larger than 0.");
  }
  if (static_cast<size_t>(replication_factor) > brokers.size()) {
    return Status::InvalidArgument(
        "Replication factor: " + std::to_string(replication_factor) +
        " larger than available brokers: " + std::to_string(brokers.size()) + ".");
  }
  std::sort(brokers.begin(), brokers.end(),
            [](const BrokerMetadata& a, const BrokerMetadata& b) { return a.id < b.id; });
  size_t with_rack = std::count_if(brokers.begin(), brokers.end(),
                                   [](const BrokerMetadata& b) { return b.rack.has_value(); });
  if (with_rack != 0 && with_rack != brokers.size()) {
    return Status::InvalidArgument(
        "Not all brokers have rack information for replica rack aware assignment.");
  }

  std::vector<int32_t> list;
  std::map<int32_t, std::string> rack_of;
  int num_racks = 1;
  bool rack_aware = with_rack != 0;
  if (rack_aware) {
    std::set<std::string> racks;
    for (const auto& b : brokers) {
      rack_of[b.id] = *b.rack;
      racks.insert(*b.rack);
    }
    num_racks = static_cast<int>(racks.size());
    list = RackAlternatedBrokerList(rack_of);
  } else {
    for (const auto& b : brokers) list.push_back(b.id);
  }
  const int n = static_cast<int>(list.size());
  const int start_index = fixed_start_index >= 0 ? fixed_start_index : RandomIndex(n);
  int next_replica_shift = fixed_start_index >= 0 ? fixed_start_index : RandomIndex(n);
  int current = std::max(0, start_partition_id);

  std::map<int32_t, std::vector<int32_t>> out;
  for (int i = 0; i < num_partitions; ++i) {
    if (current > 0 && current % n == 0) ++next_replica_shift;
    int first = (current + start_index) % n;
    std::vector<int32_t> replicas{list[first]};
    if (!rack_aware) {
      for (int j = 0; j < replication_factor - 1; ++j) {
        replicas.push_back(list[ReplicaIndex(first, next_replica_shift, j, n)]);
      }
    } else {
      std::set<std::string> racks_with{rack_of[list[first]]};
      std::set<int32_t> brokers_with{list[first]};
      int k = 0;
      for (int j = 0; j < replication_factor - 1; ++j) {
        while (true) {
          int32_t b = list[ReplicaIndex(first, next_replica_shift * num_racks, k, n)];
          const std::string& rack = rack_of[b];
          ++k;
          // Skip a broker whose rack already has a replica while some rack has none, and a
          // broker that already has one while some broker has none.
          if ((!racks_with.count(rack) || static_cast<int>(racks_with.size()) == num_racks) &&
              (!brokers_with.count(b) || static_cast<int>(brokers_with.size()) == n)) {
            replicas.push_back(b);
            racks_with.insert(rack);
            brokers_with.insert(b);
            break;
          }
        }
      }
    }
    out[current] = std::move(replicas);
    ++current;
  }
  return out;
}

}  // namespace gregor::controller
