// The storage half of the GroupCoordinator: group metadata and offsets in __consumer_offsets
// (Kafka's GroupMetadataManager), partition loading and unloading on leadership changes,
// offset commit/fetch/delete, offsets retention, and the administrative APIs.
#include <glog/logging.h>

#include <cctype>

#include "gregor/group/consumer_group_records.h"
#include "gregor/group/group_coordinator.h"

namespace gregor::group {

ErrorCode GroupCoordinator::StorageError(const Status& s) {
  // Kafka's storeGroup/storeOffsets error conversion: the client retries against the
  // (possibly new) coordinator.
  switch (s.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kNotLeader:
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kStale:
      return ErrorCode::kNotCoordinator;
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kNotFound:
      return ErrorCode::kCoordinatorNotAvailable;
    case Status::Code::kTooLarge:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kAlreadyExists:
    case Status::Code::kOutOfRange:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

GroupMetadataValue GroupCoordinator::GroupValueLocked(
    const GroupMetadata& g, const std::map<std::string, std::string>& assignment) const {
  GroupMetadataValue v;
  v.protocol_type = g.protocol_type().value_or("");
  v.generation = g.generation_id();
  v.protocol = g.protocol_name();
  v.leader = g.leader_id();
  v.current_state_timestamp = g.current_state_timestamp().value_or(-1);
  for (const auto& [id, m] : g.members()) {
    MemberValue mv;
    mv.member_id = id;
    mv.group_instance_id = m.group_instance_id;
    mv.client_id = m.client_id;
    mv.client_host = m.client_host;
    mv.rebalance_timeout_ms = m.rebalance_timeout_ms;
    mv.session_timeout_ms = m.session_timeout_ms;
    mv.subscription = m.Metadata(g.protocol_name().value_or(""));
    auto a = assignment.find(id);
    mv.assignment = a == assignment.end() ? std::string() : a->second;
    v.members.push_back(std::move(mv));
  }
  return v;
}

void GroupCoordinator::AppendBatchLocked(int32_t partition, std::string batch,
                                         std::function<void(Status, int64_t)> done, Deferred* d,
                                         std::optional<log::VerificationGuard> verification) {
  d->push_back(
      [this, partition, batch = std::move(batch), done = std::move(done), verification]() mutable {
        log_->Append(partition, std::move(batch), verification, std::move(done));
      });
}

void GroupCoordinator::AppendLocked(int32_t partition, std::vector<GroupRecord> records,
                                    std::function<void(ErrorCode)> done, Deferred* d) {
  AppendBatchLocked(
      partition, BuildGroupRecordBatch(records, Wall()),
      [done = std::move(done)](Status s, int64_t) { done(StorageError(s)); }, d);
}

void GroupCoordinator::StoreGroupLocked(const GroupMetadata& g,
                                        const std::map<std::string, std::string>& assignment,
                                        std::function<void(ErrorCode)> done, Deferred* d) {
  std::vector<GroupRecord> records;
  records.push_back({EncodeGroupMetadataKey(g.group_id()),
                     EncodeGroupMetadataValue(GroupValueLocked(g, assignment))});
  AppendLocked(PartitionFor(g.group_id()), std::move(records), std::move(done), d);
}

void GroupCoordinator::StoreGroupUnassignedLocked(const GroupMetadata& g, const char* what,
                                                  Deferred* d) {
  StoreGroupLocked(
      g, {},
      [id = g.group_id(), what](ErrorCode err) {
        if (err != ErrorCode::kNone) {
          LOG(WARNING) << "[GroupCoordinator] failed to write " << what << " of group " << id
                       << ": " << protocol::ErrorCodeName(err);
        }
      },
      d);
}

void GroupCoordinator::CleanupGroupMetadataLocked(const GroupPtr& g,
                                                  const std::vector<TopicPartition>& removed,
                                                  Deferred* d) {
  std::vector<GroupRecord> records;
  for (const auto& tp : removed) {
    records.push_back({EncodeOffsetCommitKey(g->group_id(), tp.topic, tp.partition), std::nullopt});
  }
  // A consumer-protocol group is Empty in the classic sense even with members: its own
  // members count (Kafka's ConsumerGroup.isEmpty), so OffsetDelete of its last offsets keeps it.
  const bool consumer_members = g->consumer() && !g->consumer()->IsEmpty();
  if (g->Is(GroupState::kDead) ||
      (g->Is(GroupState::kEmpty) && !consumer_members && !g->HasOffsets())) {
    LOG(INFO) << "[GroupCoordinator] group " << g->group_id() << " is now dead (no members, no "
              << "offsets)";
    g->TransitionTo(GroupState::kDead, Wall());
    auto it = groups_.find(g->group_id());
    if (it != groups_.end() && it->second == g) groups_.erase(it);
    records.push_back({EncodeGroupMetadataKey(g->group_id()), std::nullopt});
    if (g->consumer()) {
      // A consumer group's own records go too; queued after its earlier records.
      std::vector<GroupRecord> tombstones = ConsumerGroupTombstonesLocked(*g);
      if (!tombstones.empty()) {
        records.insert(records.end(), std::make_move_iterator(tombstones.begin()),
                       std::make_move_iterator(tombstones.end()));
        AppendConsumerRecordsLocked(g->group_id(), std::move(records), d);
        return;
      }
    }
  }
  if (records.empty()) return;
  const std::string id = g->group_id();
  AppendLocked(
      PartitionFor(id), std::move(records),
      [id](ErrorCode err) {
        if (err != ErrorCode::kNone) {
          LOG(WARNING) << "[GroupCoordinator] failed to write tombstones for group " << id << ": "
                       << protocol::ErrorCodeName(err);
        }
      },
      d);
}

void GroupCoordinator::ExpireOffsetsLocked(Deferred* d) {
  std::vector<GroupPtr> groups;
  for (const auto& [id, g] : groups_) groups.push_back(g);
  size_t total = 0;
  for (const auto& g : groups) {
    // A consumer-protocol group with members keeps its offsets (its members' positions).
    if (g->consumer() && !g->consumer()->IsEmpty()) continue;
    auto expired = g->RemoveExpiredOffsets(Wall(), config_.offsets_retention_ms);
    total += expired.size();
    CleanupGroupMetadataLocked(g, expired, d);
  }
  if (total > 0) LOG(INFO) << "[GroupCoordinator] removed " << total << " expired offsets";
}

// ---------------------------------------------------------------------------------------------
// Offsets

void GroupCoordinator::CommitOffsets(OffsetCommitParams p, OffsetCommitCallback done) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto fail_all = [&](ErrorCode e) {
      std::map<TopicPartition, ErrorCode> out;
      for (const auto& [tp, o] : p.offsets) out[tp] = e;
      d.push_back([done, out] { done(out); });
    };
    std::optional<ErrorCode> err = ValidateGroupStatusLocked(p.group_id, true);
    GroupPtr g;
    if (!err) {
      g = GetGroupLocked(p.group_id);
      if (!g) {
        // Without group management (generation -1) the group exists for its offsets only.
        if (p.generation_id < 0) {
          g = AddGroupLocked(p.group_id);
        } else {
          err = ErrorCode::kIllegalGeneration;
        }
      }
    }
    if (!err) {
      err = ValidateOffsetCommitLocked(*g, p.generation_id, p.member_id, p.group_instance_id, false,
                                       p.api_version);
    }
    if (!err && g->Is(GroupState::kCompletingRebalance)) err = ErrorCode::kRebalanceInProgress;
    if (err) {
      fail_all(*err);
    } else {
      if ((g->Is(GroupState::kStable) || g->Is(GroupState::kPreparingRebalance)) &&
          g->Has(p.member_id)) {
        MemberMetadata& m = g->Get(p.member_id);
        ScheduleHeartbeat(m, m.session_timeout_ms);
      }
      const int64_t now = Wall();
      auto results = std::make_shared<std::map<TopicPartition, ErrorCode>>();
      std::vector<GroupRecord> records;
      std::vector<std::pair<TopicPartition, OffsetAndMetadata>> accepted;
      for (auto& [tp, o] : p.offsets) {
        if (static_cast<int64_t>(o.metadata.size()) > config_.offset_metadata_max_bytes) {
          (*results)[tp] = ErrorCode::kOffsetMetadataTooLarge;
          continue;
        }
        OffsetAndMetadata v = o;
        if (v.commit_timestamp < 0) v.commit_timestamp = now;
        if (p.retention_time_ms >= 0) v.expire_timestamp = v.commit_timestamp + p.retention_time_ms;
        records.push_back({EncodeOffsetCommitKey(p.group_id, tp.topic, tp.partition),
                           EncodeOffsetCommitValue(v)});
        accepted.emplace_back(tp, v);
        ++g->pending_offset_commits()[tp];
      }
      if (records.empty()) {
        d.push_back([done, results] { done(*results); });
      } else {
        AppendBatchLocked(
            PartitionFor(p.group_id), BuildGroupRecordBatch(records, now),
            [this, g, accepted, results, done](Status s, int64_t base_offset) {
              const ErrorCode err = StorageError(s);
              {
                std::lock_guard<std::mutex> lock(mu_);
                for (const auto& [tp, v] : accepted) {
                  auto it = g->pending_offset_commits().find(tp);
                  if (it != g->pending_offset_commits().end() && --it->second <= 0) {
                    g->pending_offset_commits().erase(it);
                  }
                  // Kafka's onOffsetCommitAppend: a transactional commit of this partition
                  // that completed meanwhile wins if its record is later in the log.
                  if (err == ErrorCode::kNone && !g->Is(GroupState::kDead)) {
                    g->PutOffsetIfNewer(tp, v, base_offset);
                  }
                  (*results)[tp] = err;
                }
              }
              done(*results);
            },
            &d);
      }
    }
  }
  RunDeferred(d);
}

std::optional<ErrorCode> GroupCoordinator::ValidateOffsetCommitLocked(
    const GroupMetadata& g, int32_t generation_id, const std::string& member_id,
    const std::optional<std::string>& instance_id, bool transactional, int16_t api_version) const {
  // Kafka's validateOffsetCommit.
  if (g.Is(GroupState::kDead)) return ErrorCode::kCoordinatorNotAvailable;
  if (g.consumer()) {
    return g.consumer()->ValidateOffsetCommit(member_id, generation_id, transactional,
                                              api_version < 0 ? 9 : api_version);
  }
  // Admin clients and standalone consumers may commit for an empty group.
  if (generation_id < 0 && g.Is(GroupState::kEmpty)) return std::nullopt;
  if (generation_id >= 0 || !member_id.empty() || instance_id) {
    if (auto e = ValidateCurrentMember(g, member_id, instance_id)) return e;
    if (generation_id != g.generation_id()) return ErrorCode::kIllegalGeneration;
    return std::nullopt;
  }
  // Only members commit for an active group; TxnOffsetCommit before v3 carries no member, so
  // a transactional commit without one is accepted.
  if (!transactional && !g.Is(GroupState::kEmpty)) return ErrorCode::kUnknownMemberId;
  return std::nullopt;
}

OffsetFetchResult GroupCoordinator::FetchOffsets(
    const std::string& group_id, const std::optional<std::vector<TopicPartition>>& partitions,
    bool require_stable, const std::optional<std::string>& member_id, int32_t member_epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  OffsetFetchResult out;
  if (auto e = ValidateGroupStatusLocked(group_id, true)) {
    out.error = *e;
    return out;
  }
  // Offsets are returned whatever the group state: groups may use Kafka only for storage.
  GroupPtr g = GetGroupLocked(group_id);
  if (g && g->consumer()) {
    // OffsetFetch v9 from a consumer-protocol member names itself and its epoch.
    if (auto e = g->consumer()->ValidateOffsetFetch(member_id, member_epoch)) {
      out.error = *e;
      return out;
    }
  }
  if (!partitions) {
    if (g) {
      for (const auto& [tp, o] : g->offsets()) {
        if (require_stable && g->HasPendingOffsetCommits(tp)) {
          out.offsets[tp] = {-1, -1, "", ErrorCode::kUnstableOffsetCommit};
        } else {
          out.offsets[tp] = {o.offset, o.leader_epoch, o.metadata, ErrorCode::kNone};
        }
      }
    }
    return out;
  }
  for (const auto& tp : *partitions) {
    FetchedOffset f;
    if (g && !g->Is(GroupState::kDead)) {
      auto it = g->offsets().find(tp);
      if (require_stable && g->HasPendingOffsetCommits(tp)) {
        // KIP-447: the consumer retries until the transaction (or commit) completes, so that
        // it never starts from an offset about to be replaced.
        f.error = ErrorCode::kUnstableOffsetCommit;
      } else if (it != g->offsets().end()) {
        f = {it->second.offset, it->second.leader_epoch, it->second.metadata, ErrorCode::kNone};
      }
    }
    out.offsets[tp] = f;
  }
  return out;
}

OffsetDeleteResult GroupCoordinator::DeleteOffsets(const std::string& group_id,
                                                   const std::vector<TopicPartition>& partitions) {
  OffsetDeleteResult out;
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto e = ValidateGroupStatusLocked(group_id, false)) {
      out.error = *e;
      return out;
    }
    GroupPtr g = GetGroupLocked(group_id);
    if (!g || g->Is(GroupState::kDead)) {
      out.error = ErrorCode::kGroupIdNotFound;
      return out;
    }
    std::vector<TopicPartition> eligible;
    if (g->consumer() && !g->consumer()->IsEmpty()) {
      // A KIP-848 group with members (Empty in the classic sense) keeps the offsets of the
      // topics its members subscribe to, as Kafka's ConsumerGroup.isSubscribedToTopic.
      const std::set<std::string> subscribed = g->consumer()->SubscribedTopics();
      for (const auto& tp : partitions) {
        if (subscribed.count(tp.topic) != 0) {
          out.partitions[tp] = ErrorCode::kGroupSubscribedToTopic;
        } else {
          eligible.push_back(tp);
        }
      }
    } else if (g->Is(GroupState::kEmpty)) {
      eligible = partitions;
    } else if (g->IsConsumerGroup()) {
      // An active consumer group keeps the offsets of topics it consumes.
      for (const auto& tp : partitions) {
        if (g->IsSubscribedToTopic(tp.topic)) {
          out.partitions[tp] = ErrorCode::kGroupSubscribedToTopic;
        } else {
          eligible.push_back(tp);
        }
      }
    } else {
      out.error = ErrorCode::kNonEmptyGroup;
      return out;
    }
    std::vector<TopicPartition> removed;
    for (const auto& tp : eligible) {
      if (g->RemoveOffset(tp)) removed.push_back(tp);
      out.partitions[tp] = ErrorCode::kNone;
    }
    if (!eligible.empty()) {
      LOG(INFO) << "[GroupCoordinator] deleted " << removed.size() << " offsets of group "
                << group_id;
      CleanupGroupMetadataLocked(g, removed, &d);
    }
  }
  RunDeferred(d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Administration

ListGroupsResult GroupCoordinator::ListGroups(const std::vector<std::string>& states_filter,
                                              const std::vector<std::string>& types_filter) {
  std::lock_guard<std::mutex> lock(mu_);
  ListGroupsResult out;
  if (shutdown_) {
    out.error = ErrorCode::kCoordinatorNotAvailable;
    return out;
  }
  // KIP-848: the types filter names group types case-insensitively; unknown names are not an
  // error, they just match no group.
  bool classic_wanted = types_filter.empty();
  bool consumer_wanted = types_filter.empty();
  for (std::string t : types_filter) {
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t == "classic") classic_wanted = true;
    if (t == "consumer") consumer_wanted = true;
  }
  for (const auto& [p, st] : partitions_) {
    if (st.state == PartitionState::kLoading) out.error = ErrorCode::kCoordinatorLoadInProgress;
  }
  for (const auto& [id, g] : groups_) {
    const bool consumer = g->consumer() != nullptr;
    if (consumer ? !consumer_wanted : !classic_wanted) continue;
    std::string state = consumer ? g->consumer()->StateName() : GroupStateName(g->state());
    if (!states_filter.empty() &&
        std::find(states_filter.begin(), states_filter.end(), state) == states_filter.end()) {
      continue;
    }
    if (consumer) {
      out.groups.push_back({id, "consumer", state, "consumer"});
    } else {
      out.groups.push_back({id, g->protocol_type().value_or(""), state});
    }
  }
  return out;
}

GroupSummary GroupCoordinator::DescribeGroup(const std::string& group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  GroupSummary out;
  if (auto e = ValidateGroupStatusLocked(group_id, true)) {
    out.error = *e;
    return out;
  }
  GroupPtr g = GetGroupLocked(group_id);
  if (!g) {
    out.state = GroupStateName(GroupState::kDead);
    return out;
  }
  if (g->consumer()) {
    // Kafka 4.0: a consumer-protocol group is described by ConsumerGroupDescribe.
    out.error = ErrorCode::kGroupIdNotFound;
    return out;
  }
  out.state = GroupStateName(g->state());
  out.protocol_type = g->protocol_type().value_or("");
  const bool stable = g->Is(GroupState::kStable);
  // Member metadata and assignments are only meaningful once the generation is stable.
  if (stable) out.protocol = g->protocol_name().value_or("");
  for (const auto& [id, m] : g->members()) {
    MemberSummary s;
    s.member_id = id;
    s.group_instance_id = m.group_instance_id;
    s.client_id = m.client_id;
    s.client_host = m.client_host;
    if (stable) {
      s.metadata = m.Metadata(out.protocol);
      s.assignment = m.assignment;
    }
    out.members.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, ErrorCode> GroupCoordinator::DeleteGroups(
    const std::vector<std::string>& group_ids) {
  std::map<std::string, ErrorCode> out;
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& id : group_ids) {
      if (auto e = ValidateGroupStatusLocked(id, true)) {
        out[id] = *e;
        continue;
      }
      GroupPtr g = GetGroupLocked(id);
      if (!g || g->Is(GroupState::kDead)) {
        out[id] = ErrorCode::kGroupIdNotFound;
        continue;
      }
      if (!g->Is(GroupState::kEmpty) || (g->consumer() && !g->consumer()->IsEmpty())) {
        out[id] = ErrorCode::kNonEmptyGroup;
        continue;
      }
      g->TransitionTo(GroupState::kDead, Wall());
      std::vector<TopicPartition> removed;
      for (const auto& [tp, o] : g->offsets()) removed.push_back(tp);
      for (const auto& tp : removed) g->RemoveOffset(tp);
      g->pending_offset_commits().clear();
      CleanupGroupMetadataLocked(g, removed, &d);
      LOG(INFO) << "[GroupCoordinator] deleted group " << id << " and " << removed.size()
                << " offsets";
      out[id] = ErrorCode::kNone;
    }
  }
  RunDeferred(d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Leadership: loading and unloading partitions

bool GroupCoordinator::IsLoading(int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(partition);
  return it != partitions_.end() && it->second.state == PartitionState::kLoading;
}

bool GroupCoordinator::IsLeaderFor(int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  return partitions_.count(partition) != 0;
}

void GroupCoordinator::OnLeadershipChange(int32_t partition, bool is_leader) {
  Deferred d;
  uint64_t load_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return;
    auto it = partitions_.find(partition);
    if (is_leader) {
      if (it != partitions_.end() && it->second.state != PartitionState::kFailed) return;
      load_id = next_load_id_++;
      partitions_[partition] = {PartitionState::kLoading, load_id};
      LOG(INFO) << "[GroupCoordinator] elected as the group coordinator for partition " << partition
                << ": loading";
    } else {
      if (it == partitions_.end()) return;
      UnloadPartitionLocked(partition, &d);
      partitions_.erase(partition);
      LOG(INFO) << "[GroupCoordinator] resigned as the group coordinator for partition "
                << partition;
    }
  }
  RunDeferred(d);
  if (load_id != 0) Post([this, partition, load_id] { LoadPartition(partition, load_id); });
}

void GroupCoordinator::UnloadPartitionLocked(int32_t partition, Deferred* d) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (PartitionFor(it->first) != partition) {
      ++it;
      continue;
    }
    GroupMetadata& g = *it->second;
    g.TransitionTo(GroupState::kDead, Wall());
    // Whatever the state, anyone still waiting learns to find the new coordinator.
    for (auto& [id, m] : g.members()) {
      g.InvokeJoinCallback(m, JoinGroupResult::Error(id, ErrorCode::kNotCoordinator), d);
      g.InvokeSyncCallback(m, SyncGroupResult::Error(ErrorCode::kNotCoordinator), d);
    }
    it = groups_.erase(it);
  }
  for (auto it = producer_groups_.begin(); it != producer_groups_.end();) {
    std::erase_if(it->second, [&](const std::string& id) { return PartitionFor(id) == partition; });
    it = it->second.empty() ? producer_groups_.erase(it) : std::next(it);
  }
}

void GroupCoordinator::LoadPartition(int32_t partition, uint64_t load_id) {
  const int64_t started = Mono();
  // An offset record and the log position of its batch (Kafka's CommitRecordMetadataAndOffset).
  struct Positioned {
    OffsetAndMetadata offset;
    int64_t batch_offset = -1;
  };
  using GroupOffsets = std::map<std::string, std::map<TopicPartition, Positioned>>;
  // Last record wins; nullopt marks a tombstone.
  std::map<std::string, std::optional<GroupMetadataValue>> group_values;
  // The log offset of each group's last GroupMetadata record: when a group has both a live
  // classic record and live consumer group records, the later wins (a conversion writes the
  // other kind's tombstones, so this only matters for logs written otherwise).
  std::map<std::string, int64_t> group_value_offsets;
  ConsumerGroupReplay consumer_groups;
  std::map<std::string, std::map<TopicPartition, std::optional<Positioned>>> offsets;
  // Kafka's doLoadGroupsAndOffsets: offsets of transactional batches wait, by producer id, for
  // that producer's marker: COMMIT applies them (unless a later record of the log committed
  // the partition), ABORT drops them; without a marker yet they stay pending after the load.
  std::map<int64_t, GroupOffsets> pending;
  size_t skipped = 0;
  Status s =
      log_->Load(partition, [&](const protocol::RecordBatchHeader& h, const protocol::Record& r) {
        if (h.is_control()) {
          ControlRecordType type;
          if (!r.key || !DecodeControlRecordKey(*r.key, &type)) {
            ++skipped;
            return;
          }
          auto p = pending.find(h.producer_id);
          if (p == pending.end()) return;
          if (type == ControlRecordType::kCommit) {
            for (auto& [group, tps] : p->second) {
              for (auto& [tp, o] : tps) {
                auto& slot = offsets[group][tp];
                if (!slot || slot->batch_offset < o.batch_offset) slot = std::move(o);
              }
            }
          }
          pending.erase(p);
          return;
        }
        GroupRecordKey key;
        if (!r.key || !DecodeGroupRecordKey(*r.key, &key)) {
          ++skipped;
          return;
        }
        if (key.type == GroupRecordKey::Type::kOffsetCommit) {
          const TopicPartition tp{key.topic, key.partition};
          OffsetAndMetadata v;
          if (r.value && !DecodeOffsetCommitValue(*r.value, &v)) {
            ++skipped;
          } else if (h.is_transactional()) {
            auto& tps = pending[h.producer_id][key.group];
            if (r.value) {
              tps[tp] = {v, h.base_offset};
            } else {
              tps.erase(tp);
            }
          } else if (r.value) {
            offsets[key.group][tp] = Positioned{v, h.base_offset};
          } else {
            offsets[key.group][tp].reset();
          }
        } else if (key.type != GroupRecordKey::Type::kGroupMetadata) {
          // KIP-848 records (key versions 3-8): read whatever inter.broker.protocol.version.
          std::optional<std::string_view> value;
          if (r.value) value = *r.value;
          if (!consumer_groups.Apply(key, value, r.offset)) ++skipped;
        } else {
          group_value_offsets[key.group] = r.offset;
          auto& slot = group_values[key.group];
          GroupMetadataValue v;
          if (!r.value) {
            slot.reset();
          } else if (DecodeGroupMetadataValue(*r.value, &v)) {
            slot = std::move(v);
          } else {
            ++skipped;
          }
        }
      });
  // Pending offsets by group, then producer.
  std::map<std::string, std::map<int64_t, std::map<TopicPartition, Positioned>>> pending_by_group;
  for (auto& [pid, groups] : pending) {
    for (auto& [group, tps] : groups) {
      if (!tps.empty()) pending_by_group[group][pid] = std::move(tps);
    }
  }

  // Consumer group records name topics by id: the cluster's topics now name them back.
  class NoTopics : public TopicView {
   public:
    std::optional<int32_t> PartitionCount(const std::string&) const override {
      return std::nullopt;
    }
    std::vector<std::string> TopicNames() const override { return {}; }
    std::optional<TopicUuid> TopicIdOf(const std::string&) const override { return std::nullopt; }
    std::optional<std::string> TopicNameOf(const TopicUuid&) const override { return std::nullopt; }
  };
  std::shared_ptr<const TopicView> topics;
  if (topics_ && !consumer_groups.GroupIds().empty()) topics = topics_();
  if (!topics) topics = std::make_shared<NoTopics>();

  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(partition);
    if (it == partitions_.end() || it->second.load_id != load_id ||
        it->second.state != PartitionState::kLoading) {
      return;  // leadership moved on while we read
    }
    if (!s.ok()) {
      LOG(ERROR) << "[GroupCoordinator] loading " << kOffsetsTopic << "-" << partition
                 << " failed: " << s.ToString();
      it->second.state = PartitionState::kFailed;
      return;
    }
    std::set<std::string> ids;
    for (const auto& [id, v] : group_values) ids.insert(id);
    for (const auto& [id, o] : offsets) ids.insert(id);
    for (const auto& [id, o] : pending_by_group) ids.insert(id);
    for (const auto& id : consumer_groups.GroupIds()) ids.insert(id);
    size_t loaded = 0;
    size_t consumer_loaded = 0;
    size_t pending_txn = 0;
    for (const auto& id : ids) {
      auto gv = group_values.find(id);
      const GroupMetadataValue* value =
          gv != group_values.end() && gv->second ? &*gv->second : nullptr;
      const int64_t consumer_offset = consumer_groups.MetadataOffset(id);
      bool consumer = consumer_offset >= 0;
      if (consumer && value) {
        const bool classic_later = group_value_offsets[id] > consumer_offset;
        LOG(WARNING) << "[GroupCoordinator] group " << id << " has both classic and consumer "
                     << "group records; the later ones ("
                     << (classic_later ? "classic" : "consumer") << ") win";
        if (classic_later) {
          consumer = false;
        } else {
          value = nullptr;
        }
      }
      std::map<TopicPartition, Positioned> live;
      auto oit = offsets.find(id);
      if (oit != offsets.end()) {
        for (const auto& [tp, o] : oit->second) {
          if (o) live[tp] = *o;
        }
      }
      auto pit = pending_by_group.find(id);
      // Offsets-only groups (and groups with pending transactional offsets only) load Empty.
      if (!value && !consumer && live.empty() && pit == pending_by_group.end()) continue;
      auto g = std::make_shared<GroupMetadata>(id, GroupState::kEmpty, Wall());
      if (value) {
        std::vector<MemberMetadata> members;
        for (const auto& mv : value->members) {
          MemberMetadata m;
          m.member_id = mv.member_id;
          m.group_instance_id = mv.group_instance_id;
          m.client_id = mv.client_id;
          m.client_host = mv.client_host;
          m.rebalance_timeout_ms =
              mv.rebalance_timeout_ms >= 0 ? mv.rebalance_timeout_ms : mv.session_timeout_ms;
          m.session_timeout_ms = mv.session_timeout_ms;
          m.protocol_type = value->protocol_type;
          m.protocols = {{value->protocol.value_or(""), mv.subscription}};
          m.assignment = mv.assignment;
          members.push_back(std::move(m));
        }
        g->LoadState(value->generation,
                     value->protocol_type.empty()
                         ? std::nullopt
                         : std::optional<std::string>(value->protocol_type),
                     value->protocol, value->leader,
                     value->current_state_timestamp >= 0
                         ? std::optional<int64_t>(value->current_state_timestamp)
                         : std::nullopt,
                     std::move(members));
      }
      for (const auto& [tp, o] : live) g->PutOffsetIfNewer(tp, o.offset, o.batch_offset);
      if (pit != pending_by_group.end()) {
        for (const auto& [pid, tps] : pit->second) {
          for (const auto& [tp, o] : tps) {
            g->LoadPendingTxnOffset(pid, tp, o.offset, o.batch_offset);
            ++pending_txn;
          }
          producer_groups_[pid].insert(id);
        }
      }
      for (auto& [mid, m] : g->members()) ScheduleHeartbeat(m, m.session_timeout_ms);
      if (consumer) {
        // A KIP-848 group with its members, epochs and assignments: its members carry on
        // with their epochs, no hold (ConsumerGroupHeartbeatLocked).
        if (std::optional<ConsumerGroupSnapshot> snap = consumer_groups.Snapshot(id, *topics)) {
          g->MakeConsumerGroup();
          g->consumer()->Restore(std::move(*snap), *topics, config_.consumer, Mono());
          ++consumer_loaded;
        }
      }
      groups_[id] = g;
      ++loaded;
      if (static_cast<int64_t>(g->size()) > config_.group_max_size) {
        PrepareRebalanceLocked(g, "freshly-loaded group is over capacity", &d);
      }
    }
    it->second.state = PartitionState::kLoaded;
    it->second.loaded_at_ms = Mono();
    // Markers that landed while we read: their completions were queued (HandleTxnCompletion).
    auto completions = std::move(it->second.txn_completions);
    it->second.txn_completions.clear();
    for (const auto& [pid, commit] : completions) CompleteTxnLocked(pid, partition, commit);
    LOG(INFO) << "[GroupCoordinator] finished loading " << kOffsetsTopic << "-" << partition << ": "
              << loaded << " groups (" << consumer_loaded << " consumer groups) in "
              << (Mono() - started) << " ms"
              << (pending_txn ? ", " + std::to_string(pending_txn) +
                                    " transactional offsets awaiting their markers"
                              : "")
              << (skipped ? " (" + std::to_string(skipped) + " unreadable records skipped)" : "");
  }
  RunDeferred(d);
}

// ---------------------------------------------------------------------------------------------
// Background thread

void GroupCoordinator::Start() {
  std::lock_guard<std::mutex> lock(bg_mu_);
  if (bg_running_) return;
  bg_running_ = true;
  bg_stop_ = false;
  bg_thread_ = std::thread([this] { RunBackground(); });
}

void GroupCoordinator::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    if (bg_running_) {
      bg_tasks_.push_back(std::move(task));
      bg_cv_.notify_one();
      return;
    }
  }
  task();
}

void GroupCoordinator::RunBackground() {
  // Timers use the coordinator's clock; the thread only needs to wake often enough.
  auto next_tick = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!bg_stop_) {
    if (!bg_tasks_.empty()) {
      auto task = std::move(bg_tasks_.front());
      bg_tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      lock.unlock();
      Tick();
      lock.lock();
      next_tick = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::max<int64_t>(config_.tick_interval_ms, 1));
      continue;
    }
    bg_cv_.wait_until(lock, next_tick);
  }
}

void GroupCoordinator::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
    bg_cv_.notify_all();
  }
  if (bg_thread_.joinable()) bg_thread_.join();
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_running_ = false;
    bg_tasks_.clear();
  }
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    std::vector<int32_t> owned;
    for (const auto& [p, st] : partitions_) owned.push_back(p);
    for (int32_t p : owned) UnloadPartitionLocked(p, &d);
    partitions_.clear();
  }
  RunDeferred(d);
}

}  // namespace gregor::group
