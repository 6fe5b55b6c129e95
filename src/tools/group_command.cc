// gregorctl group list|describe|reset-offsets|delete: consumer groups through
// librdkafka's Admin API (ListConsumerGroups, DescribeConsumerGroups,
// ListConsumerGroupOffsets, AlterConsumerGroupOffsets, DeleteGroups) and the
// offset queries of its client (watermarks, offsetsForTimes).

#include "tools/group_command.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tools/kafka_client.h"

namespace gregor::tools {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

// "message (NAME)": every broker error carries its Kafka error name, which is
// what one searches for.
std::string ErrText(rd_kafka_resp_err_t err, const char* message = nullptr) {
  std::string text = message != nullptr && *message != '\0' ? message : rd_kafka_err2str(err);
  return text + " (" + rd_kafka_err2name(err) + ")";
}

std::string ErrText(const rd_kafka_error_t* error) {
  return ErrText(rd_kafka_error_code(error), rd_kafka_error_string(error));
}

// An admin client handle that may be abandoned. librdkafka 2.0.2 can hang
// for good in rd_kafka_destroy() after a group admin request failed (seen
// with DescribeGroups against a broker that lacks it: the fan-out never
// completes, later requests on the handle are never sent, and destroy waits
// on it). A command that failed is about to exit, so it leaves such a handle
// to the operating system instead of destroying it.
class Client {
 public:
  static Result<Client> Connect(const GlobalOptions& global) {
    Result<ConfPtr> conf = MakeConf(global, {});
    if (!conf.ok()) return conf.status();
    // A producer handle is what the Admin API wants; it never produces.
    Result<KafkaPtr> rk = NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!rk.ok()) return rk.status();
    return Client(std::move(*rk));
  }
  Client(Client&&) = default;
  Client& operator=(Client&&) = default;
  ~Client() {
    if (abandoned_) (void)rk_.release();
  }
  rd_kafka_t* get() const { return rk_.get(); }
  void Abandon() { abandoned_ = true; }

 private:
  explicit Client(KafkaPtr rk) : rk_(std::move(rk)) {}
  KafkaPtr rk_;
  bool abandoned_ = false;
};

// Runs `body` with a fresh client, abandoning the client when it fails.
template <typename Body>
int WithClient(const GlobalOptions& global, Body body) {
  Result<Client> client = Client::Connect(global);
  if (!client.ok()) return Fail(client.status());
  int rc = body(client->get());
  if (rc != 0) client->Abandon();
  return rc;
}

// Waits for an admin reply; a failed request is reported with its error name
// (WaitAdminResult keeps only the message).
Result<EventPtr> WaitResult(rd_kafka_queue_t* queue, int timeout_ms, const char* what) {
  EventPtr ev(rd_kafka_queue_poll(queue, timeout_ms + 5000));
  if (!ev) return Status::Timeout(std::string(what) + ": no reply from the cluster");
  if (rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string(what) + ": " +
                               ErrText(err, rd_kafka_event_error_string(ev.get())));
  }
  return ev;
}

// --- DescribeConsumerGroups ------------------------------------------------

struct GroupDescription {
  std::string state;  // "Stable", "Empty", "Dead", ...
  std::string assignor;
  int32_t coordinator_id = -1;
  std::string coordinator_host;
  uint16_t coordinator_port = 0;
  std::vector<GroupMember> members;
};

Result<GroupDescription> DescribeGroup(rd_kafka_t* rk, const std::string& group, int timeout_ms) {
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_ms);
  if (!opts.ok()) return opts.status();
  QueuePtr queue(rd_kafka_queue_new(rk));
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, opts->get(), queue.get());
  Result<EventPtr> ev = WaitResult(queue.get(), timeout_ms, "DescribeGroups");
  if (!ev.ok()) return ev.status();
  const rd_kafka_DescribeConsumerGroups_result_t* result =
      rd_kafka_event_DescribeConsumerGroups_result(ev->get());
  if (result == nullptr) return Status::Internal("unexpected reply to DescribeGroups");
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** descs =
      rd_kafka_DescribeConsumerGroups_result_groups(result, &n);
  if (n != 1) return Status::Internal("DescribeGroups: expected one group in the reply");
  const rd_kafka_ConsumerGroupDescription_t* d = descs[0];
  if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(d)) {
    return Status::Unavailable("group '" + group + "': " + ErrText(error));
  }
  GroupDescription out;
  out.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
  if (const char* a = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) out.assignor = a;
  if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
    out.coordinator_id = rd_kafka_Node_id(node);
    if (const char* host = rd_kafka_Node_host(node)) out.coordinator_host = host;
    out.coordinator_port = rd_kafka_Node_port(node);
  }
  size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
  for (size_t i = 0; i < members; ++i) {
    const rd_kafka_MemberDescription_t* m = rd_kafka_ConsumerGroupDescription_member(d, i);
    GroupMember gm;
    auto str = [](const char* s) { return std::string(s != nullptr ? s : ""); };
    gm.member_id = str(rd_kafka_MemberDescription_consumer_id(m));
    gm.client_id = str(rd_kafka_MemberDescription_client_id(m));
    gm.host = str(rd_kafka_MemberDescription_host(m));
    if (const rd_kafka_MemberAssignment_t* a = rd_kafka_MemberDescription_assignment(m)) {
      if (const rd_kafka_topic_partition_list_t* l = rd_kafka_MemberAssignment_partitions(a)) {
        for (int p = 0; p < l->cnt; ++p) {
          gm.assignment.push_back({l->elems[p].topic, l->elems[p].partition});
        }
      }
    }
    out.members.push_back(std::move(gm));
  }
  return out;
}

// A group with members cannot have its offsets changed by an outsider: the
// broker refuses the commit (UNKNOWN_MEMBER_ID, as Kafka does).
bool IsInactive(const std::string& state) { return state == "Empty" || state == "Dead"; }

// --- Offsets ---------------------------------------------------------------

// The group's committed offsets: all of them (partitions == nullptr) or for
// the given partitions (those without one are left out).
Result<std::map<TopicPartition, int64_t>> CommittedOffsets(
    rd_kafka_t* rk, const std::string& group, const rd_kafka_topic_partition_list_t* partitions,
    int timeout_ms) {
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms);
  if (!opts.ok()) return opts.status();
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_ListConsumerGroupOffsets_t* request =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), partitions);
  rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, opts->get(), queue.get());
  rd_kafka_ListConsumerGroupOffsets_destroy(request);
  Result<EventPtr> ev = WaitResult(queue.get(), timeout_ms, "OffsetFetch");
  if (!ev.ok()) return ev.status();
  const rd_kafka_ListConsumerGroupOffsets_result_t* result =
      rd_kafka_event_ListConsumerGroupOffsets_result(ev->get());
  if (result == nullptr) return Status::Internal("unexpected reply to OffsetFetch");
  size_t n = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_ListConsumerGroupOffsets_result_groups(result, &n);
  std::map<TopicPartition, int64_t> out;
  for (size_t g = 0; g < n; ++g) {
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[g])) {
      return Status::Unavailable("committed offsets of group '" + group + "': " + ErrText(error));
    }
    const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(groups[g]);
    if (l == nullptr) continue;
    for (int i = 0; i < l->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = l->elems[i];
      TopicPartition tp{p.topic, p.partition};
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("committed offset of " + tp.ToString() + ": " + ErrText(p.err));
      }
      if (p.offset >= 0) out[tp] = p.offset;  // -1: nothing committed
    }
  }
  return out;
}

struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};

Result<Watermarks> QueryWatermarks(rd_kafka_t* rk, const TopicPartition& tp, int timeout_ms) {
  Watermarks w;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, tp.topic.c_str(), tp.partition,
                                                             &w.low, &w.high, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("offsets of " + tp.ToString() + ": " + ErrText(err));
  }
  return w;
}

PartitionListPtr ToList(const std::vector<TopicPartition>& tps) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const auto& tp : tps)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  return list;
}

// offsetsForTimes: per partition the first offset whose record timestamp is
// at or after `timestamp_ms`; partitions with no such record are left out.
Result<std::map<TopicPartition, int64_t>> OffsetsForTime(rd_kafka_t* rk,
                                                         const std::vector<TopicPartition>& tps,
                                                         int64_t timestamp_ms, int timeout_ms) {
  PartitionListPtr list = ToList(tps);
  for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = timestamp_ms;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("offsets for time: " + ErrText(err));
  }
  std::map<TopicPartition, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    TopicPartition tp{p.topic, p.partition};
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("offset for time of " + tp.ToString() + ": " + ErrText(p.err));
    }
    if (p.offset >= 0) out[tp] = p.offset;
  }
  return out;
}

// --- list --------------------------------------------------------------------

int RunList(rd_kafka_t* rk, const GlobalOptions& global) {
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_ListConsumerGroups(rk, opts->get(), queue.get());
  Result<EventPtr> ev = WaitResult(queue.get(), global.request_timeout_ms, "ListGroups");
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_ListConsumerGroups_result_t* result =
      rd_kafka_event_ListConsumerGroups_result(ev->get());
  if (result == nullptr) return Fail(Status::Internal("unexpected reply to ListGroups"));
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** valid =
      rd_kafka_ListConsumerGroups_result_valid(result, &n);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_ConsumerGroupListing_t* g = valid[i];
    // librdkafka lists consumer groups only: protocol type "consumer", or
    // empty for groups that only store offsets (assign() and commit).
    rows.push_back(
        {rd_kafka_ConsumerGroupListing_group_id(g),
         rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(g)),
         rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g) ? "(simple)" : "consumer"});
  }
  std::sort(rows.begin(), rows.end());
  // Groups live on their coordinators: a broker that did not answer means the
  // list may be incomplete, which the exit code must say.
  size_t nerr = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &nerr);
  if (!rows.empty() || nerr == 0) {
    std::fputs(FormatTable({"GROUP", "STATE", "PROTOCOL-TYPE"}, rows).c_str(), stdout);
  }
  for (size_t i = 0; i < nerr; ++i) {
    std::fprintf(stderr, "Error: ListGroups: %s\n", ErrText(errors[i]).c_str());
  }
  return nerr == 0 ? 0 : 1;
}

// --- describe ----------------------------------------------------------------

int DescribeOne(rd_kafka_t* rk, const GlobalOptions& global, const std::string& group) {
  const int timeout = global.request_timeout_ms;
  Result<GroupDescription> desc = DescribeGroup(rk, group, timeout);
  if (!desc.ok()) return Fail(desc.status());
  Result<std::map<TopicPartition, int64_t>> committed =
      CommittedOffsets(rk, group, nullptr, timeout);
  if (!committed.ok()) return Fail(committed.status());
  if (desc->state == "Dead" && committed->empty()) {
    return Fail(Status::NotFound("consumer group '" + group + "' does not exist"));
  }

  std::string coordinator = "-";
  if (desc->coordinator_id >= 0) {
    coordinator = std::to_string(desc->coordinator_id) + " (" + desc->coordinator_host + ":" +
                  std::to_string(desc->coordinator_port) + ")";
  }
  std::printf("Group: %s\tState: %s\tCoordinator: %s\tAssignor: %s\tMembers: %zu\n", group.c_str(),
              desc->state.c_str(), coordinator.c_str(),
              desc->assignor.empty() ? "-" : desc->assignor.c_str(), desc->members.size());
  if (!desc->members.empty()) {
    std::printf("\n%s", FormatMembersTable(desc->members).c_str());
  }

  std::set<TopicPartition> partitions;
  for (const auto& m : desc->members) partitions.insert(m.assignment.begin(), m.assignment.end());
  for (const auto& [tp, off] : *committed) partitions.insert(tp);
  std::map<TopicPartition, int64_t> log_end;
  int rc = 0;
  for (const auto& tp : partitions) {
    Result<Watermarks> w = QueryWatermarks(rk, tp, timeout);
    if (!w.ok()) {
      // Still print the table: the other partitions are worth seeing.
      std::fprintf(stderr, "Warning: %s\n", w.status().message().c_str());
      rc = 1;
      continue;
    }
    log_end[tp] = w->high;
  }
  if (partitions.empty()) {
    std::printf("\nConsumer group '%s' has no assigned partitions and no committed offsets.\n",
                group.c_str());
  } else {
    std::printf("\n%s", FormatOffsetsTable(group, desc->members, *committed, log_end).c_str());
  }
  return rc;
}

int RunDescribe(const GlobalOptions& global, const GroupDescribeOptions& o) {
  int rc = 0;
  for (size_t i = 0; i < o.groups.size(); ++i) {
    if (i > 0) std::printf("\n");
    // A client per group: a failed one may be unusable (see Client).
    rc = std::max(rc, WithClient(global, [&](rd_kafka_t* rk) {
                    return DescribeOne(rk, global, o.groups[i]);
                  }));
  }
  return rc;
}

// --- reset-offsets -----------------------------------------------------------

// The partitions named by --topic, checked against the cluster's metadata
// (--all-topics is resolved from the committed offsets instead).
Result<std::vector<TopicPartition>> ResolvePartitions(rd_kafka_t* rk,
                                                      const GroupResetOffsetsOptions& o,
                                                      int timeout_ms) {
  std::set<TopicPartition> out;
  for (const auto& sel : o.topics) {
    Result<std::vector<int32_t>> existing = TopicPartitions(rk, sel.topic, timeout_ms);
    if (!existing.ok()) return existing.status();
    if (sel.partitions.empty()) {
      for (int32_t p : *existing) out.insert({sel.topic, p});
      continue;
    }
    for (int32_t p : sel.partitions) {
      if (!std::binary_search(existing->begin(), existing->end(), p)) {
        return Status::NotFound("topic '" + sel.topic + "' has no partition " + std::to_string(p));
      }
      out.insert({sel.topic, p});
    }
  }
  return std::vector<TopicPartition>(out.begin(), out.end());
}

int RunResetOffsets(rd_kafka_t* rk, const GlobalOptions& global,
                    const GroupResetOffsetsOptions& o) {
  const int timeout = global.request_timeout_ms;

  // Offsets can only be changed from outside while no consumer owns them.
  // The broker enforces it; asking first gives the clearer message (as
  // kafka-consumer-groups does). A broker without DescribeGroups is left to
  // refuse the commit itself. The question goes through a client of its own,
  // since a failed DescribeGroups can leave a client unusable (see Client).
  Result<GroupDescription> desc = Status::Unavailable("no client");
  WithClient(global, [&](rd_kafka_t* checker) {
    desc = DescribeGroup(checker, o.group, timeout);
    return desc.ok() ? 0 : 1;
  });
  if (desc.ok() && !IsInactive(desc->state)) {
    Status s = Status::Unavailable("offsets can only be reset while group '" + o.group +
                                   "' is inactive, but its state is " + desc->state + " with " +
                                   std::to_string(desc->members.size()) +
                                   " member(s); stop its consumers first");
    if (o.execute) return Fail(s);
    std::fprintf(stderr, "Warning: %s\n", s.message().c_str());
  } else if (!desc.ok()) {
    std::fprintf(stderr, "Warning: could not check the group's state: %s\n",
                 desc.status().message().c_str());
  }

  // Committed offsets are asked for the partitions concerned when they are
  // known: "every partition" (OffsetFetch with null topics) is only for
  // --all-topics, and not every broker answers it.
  Result<std::map<TopicPartition, int64_t>> committed = std::map<TopicPartition, int64_t>();
  Result<std::vector<TopicPartition>> tps = std::vector<TopicPartition>();
  if (o.all_topics) {
    committed = CommittedOffsets(rk, o.group, nullptr, timeout);
    if (!committed.ok()) return Fail(committed.status());
    if (committed->empty()) {
      return Fail(
          Status::NotFound("group '" + o.group + "' has no committed offsets (--all-topics)"));
    }
    for (const auto& [tp, off] : *committed) tps->push_back(tp);
  } else {
    tps = ResolvePartitions(rk, o, timeout);
    if (!tps.ok()) return Fail(tps.status());
    committed = CommittedOffsets(rk, o.group, ToList(*tps).get(), timeout);
    if (!committed.ok()) return Fail(committed.status());
  }

  std::map<TopicPartition, int64_t> for_time;
  if (o.spec.kind == ResetKind::kToDatetime) {
    Result<std::map<TopicPartition, int64_t>> r = OffsetsForTime(rk, *tps, o.spec.value, timeout);
    if (!r.ok()) return Fail(r.status());
    for_time = std::move(*r);
  }

  std::map<TopicPartition, int64_t> new_offsets;
  for (const auto& tp : *tps) {
    Result<Watermarks> w = QueryWatermarks(rk, tp, timeout);
    if (!w.ok()) return Fail(w.status());
    PartitionOffsets p;
    p.earliest = w->low;
    p.latest = w->high;
    if (auto it = committed->find(tp); it != committed->end()) p.committed = it->second;
    if (auto it = for_time.find(tp); it != for_time.end()) p.offset_for_time = it->second;
    Result<int64_t> n = ComputeNewOffset(o.spec, p, tp);
    if (!n.ok()) return Fail(n.status());
    new_offsets[tp] = *n;
  }
  std::fputs(FormatResetTable(o.group, new_offsets).c_str(), stdout);
  if (!o.execute) {
    std::fprintf(stderr,
                 "Dry run: nothing was committed; add --execute to commit these offsets.\n");
    return 0;
  }

  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(new_offsets.size())));
  for (const auto& [tp, off] : new_offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = off;
  }
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout);
  if (!opts.ok()) return Fail(opts.status());
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_AlterConsumerGroupOffsets_t* request =
      rd_kafka_AlterConsumerGroupOffsets_new(o.group.c_str(), list.get());
  rd_kafka_AlterConsumerGroupOffsets(rk, &request, 1, opts->get(), queue.get());
  rd_kafka_AlterConsumerGroupOffsets_destroy(request);
  Result<EventPtr> ev = WaitResult(queue.get(), timeout, "OffsetCommit");
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_AlterConsumerGroupOffsets_result_t* result =
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev->get());
  if (result == nullptr) return Fail(Status::Internal("unexpected reply to OffsetCommit"));
  size_t n = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &n);
  int rc = 0;
  size_t committed_count = 0;
  for (size_t g = 0; g < n; ++g) {
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[g])) {
      std::fprintf(stderr, "Error: committing offsets of group '%s': %s\n", o.group.c_str(),
                   ErrText(error).c_str());
      rc = 1;
    }
    const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(groups[g]);
    if (l == nullptr) continue;
    for (int i = 0; i < l->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = l->elems[i];
      if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++committed_count;
        continue;
      }
      std::string hint;
      // What the broker answers a commit from outside an active group.
      if (p.err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
          p.err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
          p.err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
        hint = " - the group has active members; stop its consumers first";
      }
      std::fprintf(stderr, "Error: committing %s-%d: %s%s\n", p.topic, p.partition,
                   ErrText(p.err).c_str(), hint.c_str());
      rc = 1;
    }
  }
  if (rc == 0) {
    std::printf("Committed %zu offset(s) for group %s.\n", committed_count, o.group.c_str());
  }
  return rc;
}

// --- delete ------------------------------------------------------------------

int RunDelete(rd_kafka_t* rk, const GlobalOptions& global, const GroupDeleteOptions& o) {
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS, global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  std::vector<rd_kafka_DeleteGroup_t*> requests;
  for (const auto& g : o.groups) requests.push_back(rd_kafka_DeleteGroup_new(g.c_str()));
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DeleteGroups(rk, requests.data(), requests.size(), opts->get(), queue.get());
  rd_kafka_DeleteGroup_destroy_array(requests.data(), requests.size());
  Result<EventPtr> ev = WaitResult(queue.get(), global.request_timeout_ms, "DeleteGroups");
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_DeleteGroups_result_t* result = rd_kafka_event_DeleteGroups_result(ev->get());
  if (result == nullptr) return Fail(Status::Internal("unexpected reply to DeleteGroups"));
  size_t n = 0;
  const rd_kafka_group_result_t** groups = rd_kafka_DeleteGroups_result_groups(result, &n);
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* name = rd_kafka_group_result_name(groups[i]);
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[i])) {
      std::fprintf(stderr, "Error: group '%s': %s\n", name, ErrText(error).c_str());
      rc = 1;
    } else {
      std::printf("Deleted consumer group %s.\n", name);
    }
  }
  return rc;
}

}  // namespace

int RunGroupCommand(const GlobalOptions& global, const GroupCommandOptions& options) {
  struct Visitor {
    const GlobalOptions& g;
    int operator()(const GroupListOptions&) {
      return WithClient(g, [&](rd_kafka_t* rk) { return RunList(rk, g); });
    }
    int operator()(const GroupDescribeOptions& o) { return RunDescribe(g, o); }
    int operator()(const GroupResetOffsetsOptions& o) {
      return WithClient(g, [&](rd_kafka_t* rk) { return RunResetOffsets(rk, g, o); });
    }
    int operator()(const GroupDeleteOptions& o) {
      return WithClient(g, [&](rd_kafka_t* rk) { return RunDelete(rk, g, o); });
    }
  };
  return std::visit(Visitor{global}, options);
}

}  // namespace gregor::tools
