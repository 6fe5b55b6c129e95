// gregorctl produce: one record per stdin line, waiting for every delivery.

#include <cstdio>
#include <iostream>
#include <string>

#include "tools/commands.h"
#include "tools/format.h"
#include "tools/kafka_client.h"

namespace gregor::tools {

namespace {

// Delivery reports are served by rd_kafka_poll/flush on the main thread, so
// this state needs no locking.
struct DeliveryState {
  int64_t delivered = 0;
  int64_t failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* state = static_cast<DeliveryState*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++state->delivered;
    return;
  }
  // Print each failure (capped) so the user learns why, not just that.
  if (state->failed < 10) {
    std::fprintf(stderr, "Error: delivery to %s [%d] failed: %s\n", rd_kafka_topic_name(msg->rkt),
                 msg->partition, rd_kafka_err2str(msg->err));
  }
  ++state->failed;
}

}  // namespace

int RunProduce(const GlobalOptions& global, const ProduceOptions& o) {
  DeliveryState state;
  Result<ConfPtr> conf = MakeConf(global, {{"acks", o.acks},
                                           // Fail within a minute if the cluster is unreachable.
                                           {"message.timeout.ms", "60000"}});
  if (!conf.ok()) {
    std::fprintf(stderr, "Error: %s\n", conf.status().message().c_str());
    return 1;
  }
  rd_kafka_conf_set_opaque(conf->get(), &state);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), OnDelivery);
  Result<KafkaPtr> rk = NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) {
    std::fprintf(stderr, "Error: %s\n", rk.status().message().c_str());
    return 1;
  }
  TopicPtr rkt(rd_kafka_topic_new(rk->get(), o.topic.c_str(), nullptr));
  int32_t partition = o.partition >= 0 ? o.partition : RD_KAFKA_PARTITION_UA;

  int64_t sent = 0;
  int rc = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    SplitLine kv =
        o.key_separator ? SplitKeyValue(line, *o.key_separator) : SplitLine{false, {}, line};
    for (;;) {
      int r = rd_kafka_produce(rkt.get(), partition, RD_KAFKA_MSG_F_COPY,
                               const_cast<char*>(kv.value.data()), kv.value.size(),
                               kv.has_key ? kv.key.data() : nullptr, kv.has_key ? kv.key.size() : 0,
                               nullptr);
      if (r == 0) break;
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk->get(), 100);  // serve deliveries to make room
        continue;
      }
      std::fprintf(stderr, "Error: cannot produce to %s: %s\n", o.topic.c_str(),
                   rd_kafka_err2str(err));
      rc = 1;
      break;
    }
    if (rc != 0) break;
    ++sent;
    rd_kafka_poll(rk->get(), 0);
  }
  // Wait for every outstanding delivery; message.timeout.ms bounds this.
  while (rd_kafka_outq_len(rk->get()) > 0) rd_kafka_flush(rk->get(), 1000);
  if (state.failed > 0) {
    std::fprintf(stderr, "Error: %lld of %lld records failed\n",
                 static_cast<long long>(state.failed), static_cast<long long>(sent));
    rc = 1;
  }
  return rc;
}

}  // namespace gregor::tools
