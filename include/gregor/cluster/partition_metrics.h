#pragma once
// What the produce, fetch and replication paths count per topic and per broker, for the
// Prometheus endpoint (Kafka's BrokerTopicMetrics and ReplicaManager meters). A Partition
// holds its topic's TopicCounters, so the hot path adds to them without a lookup or a lock;
// ReplicaManager keeps one TopicCounters per topic for as long as a partition uses it.

#include "gregor/base/metrics.h"

namespace gregor::cluster {

struct TopicCounters {
  Counter messages_in;            // MessagesInPerSec: records appended by clients
  Counter bytes_in;               // BytesInPerSec: record bytes appended by clients
  Counter bytes_out;              // BytesOutPerSec: record bytes sent to consumers
  Counter replication_bytes_in;   // ReplicationBytesInPerSec: appended as a follower
  Counter replication_bytes_out;  // ReplicationBytesOutPerSec: sent to followers
  Counter produce_requests;       // TotalProduceRequestsPerSec (per partition in a request)
  Counter fetch_requests;         // TotalFetchRequestsPerSec (per partition in a request)
  Counter failed_produce_requests;
  Counter failed_fetch_requests;
};

struct ReplicaCounters {
  Counter isr_shrinks;  // IsrShrinksPerSec
  Counter isr_expands;  // IsrExpandsPerSec
};

}  // namespace gregor::cluster
