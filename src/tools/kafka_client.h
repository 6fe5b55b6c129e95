#pragma once
// Thin RAII helpers over librdkafka's C API for gregorctl: building a client
// configuration from the global options, owning handles, running one admin
// request to completion, and the in-process mock cluster used by --mock.
//
// Used only by the gregorctl process, on its main thread (librdkafka runs
// its own threads behind these handles). Failures are Status values whose
// message is what the tool prints; nothing throws.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"

namespace gregor::tools {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, KafkaDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, KafkaDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, KafkaDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;

// A configuration with bootstrap.servers from `global`, then `defaults` (the
// command's own settings), then the user's -X settings, which win.
Result<ConfPtr> MakeConf(const GlobalOptions& global, const std::vector<KeyValue>& defaults);

// Creates a client, taking ownership of `conf` (also on failure).
Result<KafkaPtr> NewClient(rd_kafka_type_t type, ConfPtr conf);

// Cluster metadata for every topic (asking for one topic by name could make
// a broker with auto.create.topics.enable create it).
Result<MetadataPtr> FetchMetadata(rd_kafka_t* rk, int timeout_ms);

// Partition ids of `topic`, sorted; NotFound if the cluster has no such topic.
Result<std::vector<int32_t>> TopicPartitions(rd_kafka_t* rk, const std::string& topic,
                                             int timeout_ms);

// Admin options for `api` with request timeout `timeout_ms` (and, for
// create/delete, a broker-side operation timeout of half that, so the reply
// comes once the change is visible).
Result<AdminOptionsPtr> NewAdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t api, int timeout_ms);

// Waits on `queue` for the result event of an admin request sent with
// request timeout `timeout_ms`.
Result<EventPtr> WaitAdminResult(rd_kafka_queue_t* queue, int timeout_ms);

// librdkafka's in-process mock cluster and the topics created in it (each
// with replication factor 1). Owns the rd_kafka_t the cluster is attached
// to; clients reach it through bootstraps() exactly as they would reach a
// real broker. Destroying it stops the cluster.
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> Start(
      int brokers, const std::vector<std::pair<std::string, int32_t>>& topics);
  const std::string& bootstraps() const { return bootstraps_; }

 private:
  MockCluster() = default;
  KafkaPtr holder_;
  std::string bootstraps_;
};

}  // namespace gregor::tools
