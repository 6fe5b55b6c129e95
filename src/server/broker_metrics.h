#pragma once
// gregord's Prometheus metrics (metrics.listeners), named as the Kafka JMX exporter's common
// rules name Kafka's MBeans (kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec ->
// kafka_server_brokertopicmetrics_messagesin_total), so dashboards and alerts written for
// Kafka read them unchanged; consumer lag uses kafka_exporter's names. Counters are added to
// where the work happens (partition_metrics.h, request_metrics.h); Render() reads them and the
// broker's state (partitions, controller, groups, connections, memory pool) at scrape time.
// Render() runs on the metrics server's thread, one scrape at a time.

#include <mutex>
#include <string>
#include <vector>

#include "gregor/base/metrics.h"
#include "gregor/network/connection_quotas.h"
#include "gregor/network/memory_pool.h"
#include "server/request_metrics.h"
#include "server/server_context.h"

namespace gregor::server {

class BrokerMetrics {
 public:
  struct Sources {
    ServerContext* ctx = nullptr;
    const network::ConnectionQuotas* connections = nullptr;
    std::vector<std::string> listeners;
    const network::MemoryPool* memory_pool = nullptr;
  };

  RequestMetrics& requests() { return requests_; }
  void set_sources(Sources sources);
  std::string Render();

 private:
  void RenderTopics(PrometheusText& out);
  void RenderRequests(PrometheusText& out, int64_t now_ms);
  void RenderPurgatoryAndFlushes(PrometheusText& out, int64_t now_ms);
  void RenderReplicas(PrometheusText& out);
  void RenderGroups(PrometheusText& out);

  RequestMetrics requests_;
  std::mutex mu_;  // one render at a time; guards window_ and sources_
  Sources sources_;
  QuantileWindow window_;
};

}  // namespace gregor::server
