// gregorctl consume: prints records of a topic from explicit offsets.
//
// Consumer groups do not exist in the broker yet, so this consumer is
// assign-based: librdkafka insists on a group.id for rd_kafka_assign(), so it
// gets a throwaway one, but offsets come from the command line and nothing is
// ever committed.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/commands.h"
#include "tools/kafka_client.h"

namespace gregor::tools {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

int64_t StartOffset(const ConsumeOptions& o) {
  if (o.offset) return *o.offset;
  return o.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
}

}  // namespace

int RunConsume(const GlobalOptions& global, const ConsumeOptions& o) {
  Result<ConfPtr> conf =
      MakeConf(global, {{"group.id", "gregorctl-" + std::to_string(getpid())},
                        {"enable.auto.commit", "false"},
                        {"enable.auto.offset.store", "false"},
                        // Where to go when --offset is out of range.
                        {"auto.offset.reset", o.from_beginning ? "earliest" : "latest"}});
  if (!conf.ok()) return Fail(conf.status());
  Result<KafkaPtr> rk = NewClient(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return Fail(rk.status());

  Result<std::vector<int32_t>> ids = TopicPartitions(rk->get(), o.topic, global.request_timeout_ms);
  if (!ids.ok()) return Fail(ids.status());
  std::vector<int32_t> partitions = *ids;
  if (o.partition) {
    if (std::find(partitions.begin(), partitions.end(), *o.partition) == partitions.end()) {
      return Fail(Status::NotFound("topic '" + o.topic + "' has no partition " +
                                   std::to_string(*o.partition)));
    }
    partitions = {*o.partition};
  }
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), p)->offset = StartOffset(o);
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk->get(), list.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Fail(Status::Unavailable(std::string("assign: ") + rd_kafka_err2str(err)));
  }

  using Clock = std::chrono::steady_clock;
  auto last_activity = Clock::now();
  int64_t count = 0;
  int rc = 0;
  while (!o.max_messages || count < *o.max_messages) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk->get(), 100);
    if (msg == nullptr) {
      if (Clock::now() - last_activity >= std::chrono::milliseconds(o.timeout_ms)) break;
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool fatal = msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                   msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                   msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "%s: %s\n", fatal ? "Error" : "Warning", rd_kafka_message_errstr(msg));
      }
      rd_kafka_message_destroy(msg);
      if (fatal) {
        rc = 1;
        break;
      }
      continue;
    }
    last_activity = Clock::now();
    if (o.print_offset)
      std::printf("%d:%lld\t", msg->partition, static_cast<long long>(msg->offset));
    if (o.print_key) {
      if (msg->key != nullptr) std::fwrite(msg->key, 1, msg->key_len, stdout);
      std::fputc('\t', stdout);
    }
    if (msg->payload != nullptr) std::fwrite(msg->payload, 1, msg->len, stdout);
    std::fputc('\n', stdout);
    rd_kafka_message_destroy(msg);
    ++count;
  }
  std::fflush(stdout);
  std::fprintf(stderr, "Processed a total of %lld messages\n", static_cast<long long>(count));
  rd_kafka_consumer_close(rk->get());
  return rc;
}

}  // namespace gregor::tools
