// gregorctl topic create|list|describe|delete|alter-config: admin requests
// through librdkafka's Admin API and cluster metadata.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tools/commands.h"
#include "tools/format.h"
#include "tools/kafka_client.h"

namespace gregor::tools {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

// An admin client: a producer handle, the type librdkafka's admin API wants
// (it never produces anything).
Result<KafkaPtr> AdminClient(const GlobalOptions& global) {
  Result<ConfPtr> conf = MakeConf(global, {});
  if (!conf.ok()) return conf.status();
  return NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
}

// Prints per-topic results of CreateTopics/DeleteTopics; returns the exit code.
int ReportTopicResults(const rd_kafka_topic_result_t** results, size_t n, const char* done_verb) {
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* name = rd_kafka_topic_result_name(results[i]);
    if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      std::fprintf(stderr, "Error: topic '%s': %s (%s)\n", name, msg ? msg : "",
                   rd_kafka_err2name(rd_kafka_topic_result_error(results[i])));
      rc = 1;
    } else {
      std::printf("%s topic %s.\n", done_verb, name);
    }
  }
  return rc;
}

// DescribeConfigs for one topic: every entry, in the broker's order.
struct ConfigEntry {
  std::string name;
  std::string value;
  rd_kafka_ConfigSource_t source;
  bool is_default;
  bool is_sensitive;
};

using TopicConfigs = std::map<std::string, Result<std::vector<ConfigEntry>>>;

// DescribeConfigs for `topics`, in one request: per topic its entries, or
// why they could not be read. The whole request failing (e.g. a broker
// without the API) is the outer error.
Result<TopicConfigs> DescribeTopicConfigs(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                          int timeout_ms) {
  Result<AdminOptionsPtr> opts = NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
  if (!opts.ok()) return opts.status();
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& t : topics) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
  }
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), opts->get(), queue.get());
  for (auto* r : resources) rd_kafka_ConfigResource_destroy(r);
  Result<EventPtr> ev = WaitAdminResult(queue.get(), timeout_ms);
  if (!ev.ok()) return ev.status();
  const rd_kafka_DescribeConfigs_result_t* result =
      rd_kafka_event_DescribeConfigs_result(ev->get());
  if (result == nullptr) return Status::Internal("unexpected reply to DescribeConfigs");
  size_t nres = 0;
  const rd_kafka_ConfigResource_t** res = rd_kafka_DescribeConfigs_result_resources(result, &nres);
  TopicConfigs out;
  for (size_t r = 0; r < nres; ++r) {
    std::string name = rd_kafka_ConfigResource_name(res[r]);
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(res[r]);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_ConfigResource_error_string(res[r]);
      out.emplace(name, Status::Unavailable(msg ? msg : rd_kafka_err2str(err)));
      continue;
    }
    size_t nentries = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(res[r], &nentries);
    std::vector<ConfigEntry> list;
    for (size_t i = 0; i < nentries; ++i) {
      const char* value = rd_kafka_ConfigEntry_value(entries[i]);
      list.push_back({rd_kafka_ConfigEntry_name(entries[i]), value ? value : "",
                      rd_kafka_ConfigEntry_source(entries[i]),
                      rd_kafka_ConfigEntry_is_default(entries[i]) != 0,
                      rd_kafka_ConfigEntry_is_sensitive(entries[i]) != 0});
    }
    out.emplace(name, std::move(list));
  }
  return out;
}

// Like kafka-topics --describe: the Configs field shows overrides only.
std::string OverridesField(const TopicConfigs& configs, const Status& request_error,
                           const std::string& topic) {
  if (!request_error.ok()) return "(unavailable: " + request_error.message() + ")";
  auto it = configs.find(topic);
  if (it == configs.end()) return "(unavailable: not in the reply)";
  if (!it->second.ok()) return "(unavailable: " + it->second.status().message() + ")";
  std::string field;
  for (const auto& e : *it->second) {
    if (e.source != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) continue;
    if (!field.empty()) field += ',';
    field += e.name + "=" + (e.is_sensitive ? std::string("(sensitive)") : e.value);
  }
  return field;
}

const rd_kafka_metadata_topic_t* FindTopic(const rd_kafka_metadata_t* md, const std::string& name) {
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (name == md->topics[i].topic) return &md->topics[i];
  }
  return nullptr;
}

// The topic's header line and its partitions that pass the filters (with filters, a topic with
// none is not printed at all, as kafka-topics.sh does).
void PrintTopic(const rd_kafka_metadata_t& md, const rd_kafka_metadata_topic_t& t,
                const std::string& configs, const TopicDescribeOptions& o, int32_t min_isr) {
  std::vector<const rd_kafka_metadata_partition_t*> parts;
  for (int p = 0; p < t.partition_cnt; ++p) {
    const auto& part = t.partitions[p];
    bool live = false;
    for (int b = 0; b < md.broker_cnt; ++b) live = live || md.brokers[b].id == part.leader;
    if (PartitionMatches(o, static_cast<size_t>(part.replica_cnt),
                         static_cast<size_t>(part.isr_cnt), part.leader, live, min_isr)) {
      parts.push_back(&part);
    }
  }
  if (o.filtered() && parts.empty()) return;
  std::sort(parts.begin(), parts.end(), [](auto* a, auto* b) { return a->id < b->id; });
  int rf = parts.empty() ? 0 : parts[0]->replica_cnt;
  std::printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t.topic,
              t.partition_cnt, rf, configs.c_str());
  for (const auto* p : parts) {
    std::vector<int32_t> replicas(p->replicas, p->replicas + p->replica_cnt);
    std::vector<int32_t> isr(p->isrs, p->isrs + p->isr_cnt);
    std::string err = p->err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : rd_kafka_err2name(p->err);
    std::printf("%s\n", FormatPartitionLine(t.topic, p->id, p->leader, replicas, isr, err).c_str());
  }
}

}  // namespace

int RunTopicCreate(const GlobalOptions& global, const TopicCreateOptions& o) {
  Result<KafkaPtr> rk = AdminClient(global);
  if (!rk.ok()) return Fail(rk.status());
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.name.c_str(), o.partitions,
                                                  o.replication_factor, errstr, sizeof errstr);
  if (nt == nullptr) return Fail(Status::InvalidArgument(errstr));
  for (const auto& kv : o.configs) {
    if (rd_kafka_NewTopic_set_config(nt, kv.key.c_str(), kv.value.c_str()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_NewTopic_destroy(nt);
      return Fail(Status::InvalidArgument("bad config " + kv.key));
    }
  }
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, global.request_timeout_ms);
  if (!opts.ok()) {
    rd_kafka_NewTopic_destroy(nt);
    return Fail(opts.status());
  }
  QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_CreateTopics(rk->get(), &nt, 1, opts->get(), queue.get());
  rd_kafka_NewTopic_destroy(nt);
  Result<EventPtr> ev = WaitAdminResult(queue.get(), global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev->get());
  if (res == nullptr) return Fail(Status::Internal("unexpected reply to CreateTopics"));
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  return ReportTopicResults(results, n, "Created");
}

int RunTopicList(const GlobalOptions& global, const TopicListOptions&) {
  Result<KafkaPtr> rk = AdminClient(global);
  if (!rk.ok()) return Fail(rk.status());
  Result<MetadataPtr> md = FetchMetadata(rk->get(), global.request_timeout_ms);
  if (!md.ok()) return Fail(md.status());
  std::vector<std::string> names;
  for (int i = 0; i < (*md)->topic_cnt; ++i) names.emplace_back((*md)->topics[i].topic);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) std::printf("%s\n", n.c_str());
  return 0;
}

int RunTopicDescribe(const GlobalOptions& global, const TopicDescribeOptions& o) {
  Result<KafkaPtr> rk = AdminClient(global);
  if (!rk.ok()) return Fail(rk.status());
  Result<MetadataPtr> md = FetchMetadata(rk->get(), global.request_timeout_ms);
  if (!md.ok()) return Fail(md.status());
  std::vector<const rd_kafka_metadata_topic_t*> topics;
  if (o.name) {
    const rd_kafka_metadata_topic_t* t = FindTopic(md->get(), *o.name);
    if (t == nullptr || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return Fail(Status::NotFound("topic '" + *o.name + "' does not exist"));
    }
    if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Fail(Status::Unavailable("topic '" + *o.name + "': " + rd_kafka_err2str(t->err)));
    }
    topics.push_back(t);
  } else {
    for (int i = 0; i < (*md)->topic_cnt; ++i) topics.push_back(&(*md)->topics[i]);
    std::sort(topics.begin(), topics.end(),
              [](auto* a, auto* b) { return std::string(a->topic) < b->topic; });
  }
  std::vector<std::string> names;
  for (const auto* t : topics) names.emplace_back(t->topic);
  // Configs are extra detail: a shorter wait, and the partitions are shown
  // even when the broker cannot say.
  Result<TopicConfigs> configs =
      names.empty() ? Result<TopicConfigs>(TopicConfigs{})
                    : DescribeTopicConfigs(rk->get(), names, global.request_timeout_ms / 3);
  for (const auto* t : topics) {
    int32_t min_isr = -1;  // the effective min.insync.replicas, from DescribeConfigs
    if (configs.ok()) {
      auto it = configs->find(t->topic);
      if (it != configs->end() && it->second.ok()) {
        for (const auto& e : *it->second) {
          if (e.name == "min.insync.replicas") min_isr = std::atoi(e.value.c_str());
        }
      }
    }
    PrintTopic(**md, *t,
               OverridesField(configs.ok() ? *configs : TopicConfigs{}, configs.status(), t->topic),
               o, min_isr);
  }
  return 0;
}

int RunTopicDelete(const GlobalOptions& global, const TopicDeleteOptions& o) {
  Result<KafkaPtr> rk = AdminClient(global);
  if (!rk.ok()) return Fail(rk.status());
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk->get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(o.name.c_str());
  rd_kafka_DeleteTopics(rk->get(), &dt, 1, opts->get(), queue.get());
  rd_kafka_DeleteTopic_destroy(dt);
  Result<EventPtr> ev = WaitAdminResult(queue.get(), global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_DeleteTopics_result_t* res = rd_kafka_event_DeleteTopics_result(ev->get());
  if (res == nullptr) return Fail(Status::Internal("unexpected reply to DeleteTopics"));
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_DeleteTopics_result_topics(res, &n);
  return ReportTopicResults(results, n, "Deleted");
}

int RunTopicAlterConfig(const GlobalOptions& global, const TopicAlterConfigOptions& o) {
  Result<KafkaPtr> rk = AdminClient(global);
  if (!rk.ok()) return Fail(rk.status());
  // AlterConfigs replaces the whole override set: start from the current one.
  Result<TopicConfigs> configs =
      DescribeTopicConfigs(rk->get(), {o.name}, global.request_timeout_ms);
  if (!configs.ok()) return Fail(configs.status());
  auto it = configs->find(o.name);
  if (it == configs->end()) return Fail(Status::Internal("DescribeConfigs skipped " + o.name));
  const Result<std::vector<ConfigEntry>>& entries = it->second;
  if (!entries.ok()) return Fail(entries.status());
  std::vector<KeyValue> current;
  for (const auto& e : *entries) {
    if (e.source != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) continue;
    if (e.is_sensitive) {
      return Fail(Status::InvalidArgument("topic has a sensitive override (" + e.name +
                                          ") that cannot be read back and would be lost"));
    }
    current.push_back({e.name, e.value});
  }
  std::vector<KeyValue> merged = MergeConfigOverrides(current, o.configs, o.delete_configs);

  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk->get(), RD_KAFKA_ADMIN_OP_ALTERCONFIGS, global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, o.name.c_str());
  for (const auto& kv : merged) {
    rd_kafka_ConfigResource_set_config(res, kv.key.c_str(), kv.value.c_str());
  }
  QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_AlterConfigs(rk->get(), &res, 1, opts->get(), queue.get());
  rd_kafka_ConfigResource_destroy(res);
  Result<EventPtr> ev = WaitAdminResult(queue.get(), global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const rd_kafka_AlterConfigs_result_t* result = rd_kafka_event_AlterConfigs_result(ev->get());
  if (result == nullptr) return Fail(Status::Internal("unexpected reply to AlterConfigs"));
  size_t nres = 0;
  const rd_kafka_ConfigResource_t** resources =
      rd_kafka_AlterConfigs_result_resources(result, &nres);
  for (size_t i = 0; i < nres; ++i) {
    if (rd_kafka_ConfigResource_error(resources[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_ConfigResource_error_string(resources[i]);
      return Fail(Status::Unavailable(
          "topic '" + o.name +
          "': " + (msg ? msg : rd_kafka_err2str(rd_kafka_ConfigResource_error(resources[i])))));
    }
  }
  std::printf("Altered configs of topic %s.\n", o.name.c_str());
  return 0;
}

}  // namespace gregor::tools
