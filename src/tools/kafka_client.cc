#include "tools/kafka_client.h"

#include <algorithm>

namespace gregor::tools {

namespace {

Status SetConf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument("client property " + key + "=" + value + ": " + errstr);
  }
  return Status::Ok();
}

}  // namespace

Result<ConfPtr> MakeConf(const GlobalOptions& global, const std::vector<KeyValue>& defaults) {
  ConfPtr conf(rd_kafka_conf_new());
  GREGOR_RETURN_IF_ERROR(SetConf(conf.get(), "bootstrap.servers", global.bootstrap));
  // A CLI should fail in seconds when nothing listens, not retry for minutes.
  GREGOR_RETURN_IF_ERROR(SetConf(conf.get(), "socket.timeout.ms", "30000"));
  for (const auto& kv : defaults) GREGOR_RETURN_IF_ERROR(SetConf(conf.get(), kv.key, kv.value));
  for (const auto& kv : global.client_config) {
    GREGOR_RETURN_IF_ERROR(SetConf(conf.get(), kv.key, kv.value));
  }
  return conf;
}

Result<KafkaPtr> NewClient(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  // rd_kafka_new takes ownership of the conf only when it succeeds.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return Status::InvalidArgument(std::string("creating client: ") + errstr);
  conf.release();
  return KafkaPtr(rk);
}

Result<MetadataPtr> FetchMetadata(rd_kafka_t* rk, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("metadata request failed: ") + rd_kafka_err2str(err));
  }
  return MetadataPtr(md);
}

Result<std::vector<int32_t>> TopicPartitions(rd_kafka_t* rk, const std::string& topic,
                                             int timeout_ms) {
  Result<MetadataPtr> md = FetchMetadata(rk, timeout_ms);
  if (!md.ok()) return md.status();
  for (int i = 0; i < (*md)->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = (*md)->topics[i];
    if (topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("topic '" + topic + "': " + rd_kafka_err2str(t.err));
    }
    std::vector<int32_t> ids;
    for (int p = 0; p < t.partition_cnt; ++p) ids.push_back(t.partitions[p].id);
    std::sort(ids.begin(), ids.end());
    if (ids.empty()) return Status::Unavailable("topic '" + topic + "' has no partitions");
    return ids;
  }
  return Status::NotFound("topic '" + topic + "' does not exist");
}

Result<AdminOptionsPtr> NewAdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t api, int timeout_ms) {
  AdminOptionsPtr opts(rd_kafka_AdminOptions_new(rk, api));
  char errstr[512];
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, errstr, sizeof errstr) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal(errstr);
  }
  if (api == RD_KAFKA_ADMIN_OP_CREATETOPICS || api == RD_KAFKA_ADMIN_OP_DELETETOPICS) {
    if (rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms / 2, errstr,
                                                    sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Internal(errstr);
    }
  }
  return opts;
}

Result<EventPtr> WaitAdminResult(rd_kafka_queue_t* queue, int timeout_ms) {
  // A little beyond the request timeout: librdkafka itself reports a timed
  // out request as an error event, which is the better message.
  EventPtr ev(rd_kafka_queue_poll(queue, timeout_ms + 5000));
  if (!ev) return Status::Timeout("no reply from the cluster");
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

Result<std::unique_ptr<MockCluster>> MockCluster::Start(
    int brokers, const std::vector<std::pair<std::string, int32_t>>& topics) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  if (rd_kafka_conf_set(conf.get(), "test.mock.num.brokers", std::to_string(brokers).c_str(),
                        errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    return Status::Unavailable(std::string("mock cluster: ") + errstr);
  }
  // Skip the notice that the holder's bootstrap.servers were replaced.
  rd_kafka_conf_set(conf.get(), "log_level", "4", errstr, sizeof errstr);
  // The holder only anchors the cluster; it never connects anywhere itself.
  Result<KafkaPtr> holder = NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  if (!holder.ok()) return holder.status();
  rd_kafka_mock_cluster_t* mcluster = rd_kafka_handle_mock_cluster(holder->get());
  if (mcluster == nullptr) return Status::Unavailable("mock cluster was not created");
  for (const auto& [topic, partitions] : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("mock cluster: creating topic " + topic + ": " +
                                 rd_kafka_err2str(err));
    }
  }
  std::unique_ptr<MockCluster> mc(new MockCluster());
  mc->bootstraps_ = rd_kafka_mock_cluster_bootstraps(mcluster);
  mc->holder_ = std::move(*holder);
  return mc;
}

}  // namespace gregor::tools
