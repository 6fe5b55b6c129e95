// gregorctl bench produce|consume: throughput and latency with librdkafka,
// against a broker or (with --mock) against librdkafka's in-process mock
// cluster through exactly the same code, so the two figures compare the
// broker, not the client.
//
// Threads: the main thread calls produce(); a second thread serves delivery
// reports (rd_kafka_poll) and alone touches the latency histogram, so a
// record's latency is taken when librdkafka hands back its acknowledgement,
// not when the producing loop next finds time to poll. Each record's send
// time travels in its msg_opaque pointer: no per-record allocation here.
//
// With --transaction-records N the producer is transactional: begin, N
// produce() calls, commit, repeat. commit_transaction() flushes first, and
// librdkafka's flush with delivery report callbacks polls for them on the
// calling thread, in 10 ms waits that the delivery thread's taking the
// reports does not cut short: every commit would wait ~10 ms for nothing.
// So a transactional run gets its delivery reports as events, which the
// delivery thread takes from the main queue, and the flush waits on the
// count of outstanding records, which wakes it as soon as that is zero.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/commands.h"
#include "tools/format.h"
#include "tools/kafka_client.h"
#include "tools/latency_histogram.h"

namespace gregor::tools {

namespace {

using Clock = std::chrono::steady_clock;

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct ProduceState {
  LatencyHistogram latency_us;  // written only by the delivery thread
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::atomic<rd_kafka_resp_err_t> first_error{RD_KAFKA_RESP_ERR_NO_ERROR};
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* state = static_cast<ProduceState*>(opaque);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_resp_err_t none = RD_KAFKA_RESP_ERR_NO_ERROR;
    state->first_error.compare_exchange_strong(none, msg->err);
    state->failed.fetch_add(1, std::memory_order_release);
    return;
  }
  auto sent_ns = static_cast<int64_t>(reinterpret_cast<uintptr_t>(msg->_private));
  int64_t micros = (NowNs() - sent_ns) / 1000;
  state->latency_us.Record(micros > 0 ? static_cast<uint64_t>(micros) : 0);
  state->acked.fetch_add(1, std::memory_order_release);
}

// message.timeout.ms; for a transactional producer also transaction.timeout.ms
// (librdkafka wants the first <= the second) and the commit's deadline.
constexpr int kMessageTimeoutMs = 120000;

// The transaction API's error (owned, destroyed here) as a Status; a
// transaction that must be aborted is aborted, which also purges its
// outstanding records (they fail with a purge error).
Status TransactionStatus(rd_kafka_t* rk, const char* call, rd_kafka_error_t* error) {
  if (error == nullptr) return Status::Ok();
  Status st = Status::Unavailable(std::string(call) + ": " + rd_kafka_error_string(error));
  const bool abort = rd_kafka_error_txn_requires_abort(error) != 0;
  rd_kafka_error_destroy(error);
  if (abort) {
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk, 10000)) rd_kafka_error_destroy(e);
  }
  return st;
}

struct ProduceOutcome {
  int64_t records = 0;
  double elapsed_s = 0;
  std::unique_ptr<ProduceState> state;
};

// Produces o.records records of o.record_size bytes to o.topic and waits for
// every acknowledgement. The records all point at one shared payload buffer
// (no copy: librdkafka reads it when building batches). With
// `per_partition` > 0, record i goes to partition i / per_partition;
// otherwise librdkafka's partitioner decides. With o.transaction_records >
// 0, in transactions of that many records (the last may be shorter), under
// a transactional.id of this run's own.
Result<ProduceOutcome> ProduceRecords(const GlobalOptions& global, const BenchProduceOptions& o,
                                      int64_t per_partition = 0) {
  const bool transactional = o.transaction_records > 0;
  auto state = std::make_unique<ProduceState>();
  std::vector<KeyValue> settings = {{"acks", transactional ? "all" : o.acks},
                                    {"linger.ms", std::to_string(o.linger_ms)},
                                    {"batch.size", std::to_string(o.batch_size)},
                                    {"batch.num.messages", "1000000"},
                                    {"queue.buffering.max.messages", "1000000"},
                                    {"queue.buffering.max.kbytes", "1048576"},
                                    {"compression.type", o.compression},
                                    {"message.timeout.ms", std::to_string(kMessageTimeoutMs)}};
  if (transactional) {
    const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    settings.push_back({"transactional.id", "gregorctl-bench-" + std::to_string(getpid()) + "-" +
                                                std::to_string(wall_ns)});
    settings.push_back({"transaction.timeout.ms", std::to_string(kMessageTimeoutMs)});
  }
  Result<ConfPtr> conf = MakeConf(global, settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), state.get());
  if (transactional) {
    rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_DR);  // see the top of the file
  } else {
    rd_kafka_conf_set_dr_msg_cb(conf->get(), OnDelivery);
  }
  Result<KafkaPtr> rk = NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  TopicPtr rkt(rd_kafka_topic_new(rk->get(), o.topic.c_str(), nullptr));
  // Connect and learn the partition leader before the clock starts, so the
  // figures are steady-state and a short run is not mostly connection setup.
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t err =
          rd_kafka_metadata(rk->get(), 0, rkt.get(), &md, global.request_timeout_ms);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("metadata for ") + o.topic + ": " +
                               rd_kafka_err2str(err));
  }
  rd_kafka_metadata_destroy(md);
  // The producer id and the transaction coordinator, also before the clock.
  if (transactional) {
    GREGOR_RETURN_IF_ERROR(
        TransactionStatus(rk->get(), "init_transactions",
                          rd_kafka_init_transactions(rk->get(), global.request_timeout_ms)));
  }

  std::vector<char> payload(static_cast<size_t>(o.record_size), 'x');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);

  // Records handed to librdkafka; the delivery thread stops once this many
  // have been acknowledged or failed, and the producing loop is done.
  std::atomic<int64_t> target{o.records};
  std::atomic<bool> producing{true};
  QueuePtr events(transactional ? rd_kafka_queue_get_main(rk->get()) : nullptr);
  std::thread delivery([&] {
    for (;;) {
      if (!transactional) {
        rd_kafka_poll(rk->get(), 50);
      } else if (EventPtr ev{rd_kafka_queue_poll(events.get(), 50)};
                 ev && rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_DR) {
        // Destroying the event releases its records, which ends a waiting flush.
        while (const rd_kafka_message_t* m = rd_kafka_event_message_next(ev.get())) {
          OnDelivery(rk->get(), m, state.get());
        }
      }
      int64_t done = state->acked.load(std::memory_order_acquire) +
                     state->failed.load(std::memory_order_acquire);
      if (!producing.load(std::memory_order_acquire) && done >= target.load()) break;
    }
  });

  Status produce_error;
  auto start = Clock::now();
  double committed_s = 0;  // transactional: when the last commit returned
  int64_t sent = 0;
  while (sent < o.records) {
    if (transactional && sent % o.transaction_records == 0) {
      produce_error =
          TransactionStatus(rk->get(), "begin_transaction", rd_kafka_begin_transaction(rk->get()));
      if (!produce_error.ok()) break;
    }
    for (;;) {
      void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(NowNs()));
      int32_t partition =
          per_partition > 0 ? static_cast<int32_t>(sent / per_partition) : RD_KAFKA_PARTITION_UA;
      if (rd_kafka_produce(rkt.get(), partition, 0, payload.data(), payload.size(), nullptr, 0,
                           opaque) == 0) {
        break;
      }
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        produce_error = Status::Unavailable(std::string("produce: ") + rd_kafka_err2str(err));
        break;
      }
      // The local queue is full: the broker is the bottleneck. Let the
      // delivery thread drain it.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!produce_error.ok()) break;
    ++sent;
    if (transactional && (sent % o.transaction_records == 0 || sent == o.records)) {
      // Flushes the transaction's records (delivery reports included), then EndTxn.
      produce_error = TransactionStatus(rk->get(), "commit_transaction",
                                        rd_kafka_commit_transaction(rk->get(), kMessageTimeoutMs));
      if (!produce_error.ok()) break;
      committed_s = SecondsSince(start);
    }
  }
  // After a failure, what is still outstanding is left to the flush below.
  target.store(produce_error.ok() ? sent : 0);
  producing.store(false, std::memory_order_release);
  delivery.join();
  // Transactional: every delivery report was in when the last commit returned,
  // while the delivery thread may still sit in its 50 ms poll.
  double elapsed = transactional ? committed_s : SecondsSince(start);
  // A transactional run's commits flushed everything; after a failure, its
  // last delivery events go unread (a flush would wait on them in vain) and
  // go with the client.
  if (!transactional) rd_kafka_flush(rk->get(), 10000);
  if (!produce_error.ok()) return produce_error;
  if (int64_t failed = state->failed.load(); failed > 0) {
    return Status::Unavailable(
        std::to_string(failed) + " of " + std::to_string(sent) +
        " records failed, first error: " + rd_kafka_err2str(state->first_error.load()));
  }
  ProduceOutcome out;
  out.records = sent;
  out.elapsed_s = elapsed;
  out.state = std::move(state);
  return out;
}

// Starts the mock cluster when asked and points `global` at it.
Result<std::unique_ptr<MockCluster>> MaybeMock(bool mock, const std::string& topic, int partitions,
                                               GlobalOptions* global) {
  if (!mock) return std::unique_ptr<MockCluster>();
  Result<std::unique_ptr<MockCluster>> mc = MockCluster::Start(1, {{topic, partitions}});
  if (!mc.ok()) return mc.status();
  global->bootstrap = (*mc)->bootstraps();
  return mc;
}

// The consume clock starts when the first records arrive, not at assign:
// librdkafka 2.0.2 delays the first offset lookup by a fixed 500 ms when
// assign() runs before the partition has joined its leader's broker thread
// (rd_kafka_toppar_offset_request: "no current leader for partition"), a race
// with the metadata reply that either side of the comparison may lose. That
// half second is client start-up, not broker throughput, yet it was a third
// of a 2,000,000-record run. The records of that first poll are not counted
// (they arrived before the clock started); every later assign, as in the
// mock's partition-by-partition walk, stays inside the clock.
struct ConsumeTally {
  int64_t records = 0;
  int64_t bytes = 0;
  bool started = false;
  Clock::time_point first_at;
  int64_t untimed_records = 0;  // delivered by the poll that started the clock
  int64_t untimed_bytes = 0;
};

// Reads `want` records from the consumer queue into `tally`. Fails after
// 30 s without a record.
Status ConsumeRecords(rd_kafka_queue_t* queue, int64_t want, ConsumeTally* tally) {
  // Batches from the consumer queue: per-message polling would measure the
  // poll call more than the broker.
  std::vector<rd_kafka_message_t*> batch(10000);
  int64_t got = 0;
  auto last_progress = Clock::now();
  constexpr auto kIdleLimit = std::chrono::seconds(30);
  while (got < want) {
    // Never take more than asked for, so the figure is for exactly N.
    auto room =
        static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(batch.size()), want - got));
    ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch.data(), room);
    if (n < 0) return Status::Unavailable(rd_kafka_err2str(rd_kafka_last_error()));
    const int64_t got_before = got;
    const int64_t bytes_before = tally->bytes;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++got;
        tally->bytes += static_cast<int64_t>(m->len + m->key_len);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "Warning: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    if (got > got_before && !tally->started) {
      tally->started = true;
      tally->first_at = Clock::now();
      tally->untimed_records = got - got_before;
      tally->untimed_bytes = tally->bytes - bytes_before;
    }
    if (n > 0) {
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > kIdleLimit) {
      return Status::Timeout("no records for 30 s after " + std::to_string(tally->records + got) +
                             " records");
    }
  }
  tally->records += got;
  return Status::Ok();
}

// "name seconds, ..." for each thread of this process, busiest first: utime + stime from
// /proc/self/task/<tid>/stat (the name, field 2, may hold spaces: fields count from its ')').
std::string ThreadCpuSummary() {
  std::vector<std::pair<double, std::string>> threads;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::FILE* f =
          std::fopen(("/proc/self/task/" + std::string(e->d_name) + "/stat").c_str(), "r");
      if (!f) continue;
      char buf[1024];
      const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
      std::fclose(f);
      buf[n] = '\0';
      const char* open = std::strchr(buf, '(');
      const char* close = std::strrchr(buf, ')');
      if (!open || !close || close < open) continue;
      unsigned long utime = 0, stime = 0;
      // After ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
      // stime
      if (std::sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                      &stime) != 2) {
        continue;
      }
      threads.emplace_back(static_cast<double>(utime + stime) / hz,
                           std::string(open + 1, close - open - 1));
    }
    closedir(dir);
  }
  std::sort(threads.rbegin(), threads.rend());
  std::string out;
  for (const auto& [secs, name] : threads) {
    if (secs < 0.01) continue;
    char item[96];
    std::snprintf(item, sizeof(item), "%s%s %.2f s", out.empty() ? "" : ", ", name.c_str(), secs);
    out += item;
  }
  return out.empty() ? "none measurable" : out;
}

}  // namespace

int RunBenchProduce(const GlobalOptions& global_in, const BenchProduceOptions& o) {
  GlobalOptions global = global_in;
  Result<std::unique_ptr<MockCluster>> mock = MaybeMock(o.mock, o.topic, 1, &global);
  if (!mock.ok()) return Fail(mock.status());
  Result<ProduceOutcome> r = ProduceRecords(global, o);
  if (!r.ok()) return Fail(r.status());
  std::printf("%s\n", FormatProduceLine(r->records, o.record_size, o.acks, r->elapsed_s,
                                        r->state->latency_us)
                          .c_str());
  return 0;
}

int RunBenchConsume(const GlobalOptions& global_in, const BenchConsumeOptions& o) {
  // The mock partition keeps only its last 5 MiB (older batches are
  // dropped), so N records do not fit in one. The mock topic instead gets as
  // many partitions as needed to hold ~4 MiB each, filled up front, and the
  // consumer reads them one after the other, as if they were one partition's
  // consecutive segments; the clock runs across all of them, so the extra
  // assign per partition counts against the mock.
  const int64_t per_partition = o.mock ? std::max<int64_t>(1, (4 << 20) / (o.record_size + 16)) : 0;
  const int mock_partitions =
      o.mock ? static_cast<int>((o.records + per_partition - 1) / per_partition) : 0;
  GlobalOptions global = global_in;
  Result<std::unique_ptr<MockCluster>> mock = MaybeMock(o.mock, o.topic, mock_partitions, &global);
  if (!mock.ok()) return Fail(mock.status());
  if (o.mock) {
    BenchProduceOptions fill;
    fill.topic = o.topic;
    fill.records = o.records;
    fill.record_size = o.record_size;
    fill.acks = "1";
    Result<ProduceOutcome> filled = ProduceRecords(global, fill, per_partition);
    if (!filled.ok()) return Fail(filled.status());
  }

  // fetch.wait.max.ms only matters at the end of a partition's data, where
  // a held fetch would delay the switch to the mock's next partition (one
  // fetch in flight per broker); both runs use the same value.
  // queued.min.messages and queued.max.messages.kbytes bound librdkafka's
  // pre-fetch queue, and once it is over either, librdkafka 2.0.2 backs off
  // fetching for a whole second (no wake-up when the application drains the
  // queue): a broker that answers fetches faster than this loop drains them
  // hits the default 100000 records within a few fetches, and a 2,000,000
  // record run then spends most of its time in those pauses, a client
  // artifact that varied from run to run by a factor of ten. The limits are
  // raised as the producer's queue is above (1 GiB).
  Result<ConfPtr> conf = MakeConf(global, {{"group.id", "gregorctl-bench"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.auto.offset.store", "false"},
                                           {"auto.offset.reset", "earliest"},
                                           {"fetch.wait.max.ms", "10"},
                                           {"queued.min.messages", "10000000"},
                                           {"queued.max.messages.kbytes", "1048576"},
                                           {"isolation.level", o.isolation_level}});
  if (!conf.ok()) return Fail(conf.status());
  Result<KafkaPtr> rk = NewClient(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return Fail(rk.status());
  Result<std::vector<int32_t>> partitions =
      TopicPartitions(rk->get(), o.topic, global.request_timeout_ms);
  if (!partitions.ok()) return Fail(partitions.status());
  QueuePtr queue(rd_kafka_queue_get_consumer(rk->get()));
  if (!queue) return Fail(Status::Internal("no consumer queue"));

  // One step for a broker: every partition from the beginning, N records.
  // One step per partition for the mock: its share, from offset 0.
  struct Step {
    std::vector<int32_t> partitions;
    int64_t offset;
    int64_t records;
  };
  std::vector<Step> steps;
  if (!o.mock) {
    steps.push_back({*partitions, RD_KAFKA_OFFSET_BEGINNING, o.records});
  } else {
    for (int p = 0; p < mock_partitions; ++p) {
      steps.push_back({{p}, 0, std::min(per_partition, o.records - p * per_partition)});
    }
  }

  ConsumeTally tally;
  Status st;
  const auto assigned_at = Clock::now();
  for (const Step& step : steps) {
    PartitionListPtr list(
        rd_kafka_topic_partition_list_new(static_cast<int>(step.partitions.size())));
    for (int32_t p : step.partitions) {
      rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), p)->offset = step.offset;
    }
    if (rd_kafka_resp_err_t err = rd_kafka_assign(rk->get(), list.get());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      st = Status::Unavailable(std::string("assign: ") + rd_kafka_err2str(err));
      break;
    }
    st = ConsumeRecords(queue.get(), step.records, &tally);
    if (!st.ok()) break;
  }
  const double timed_s = tally.started ? SecondsSince(tally.first_at) : 0;
  const double since_assign_s = SecondsSince(assigned_at);
  // Which of the client's threads bounds the rate (read before librdkafka's threads end).
  if (st.ok()) std::fprintf(stderr, "client CPU by thread: %s\n", ThreadCpuSummary().c_str());
  queue.reset();
  rd_kafka_consumer_close(rk->get());
  if (!st.ok()) return Fail(st);
  // The rate is that of the records after the first poll; the line still
  // names all N, with the elapsed time those N take at that rate.
  const int64_t timed_records = tally.records - tally.untimed_records;
  const int64_t timed_bytes = tally.bytes - tally.untimed_bytes;
  // Too few records for more than one poll: fall back to timing from assign.
  double elapsed = since_assign_s;
  int64_t bytes = tally.bytes;
  if (timed_records > 0 && timed_s > 0) {
    elapsed = timed_s * static_cast<double>(tally.records) / static_cast<double>(timed_records);
    bytes =
        static_cast<int64_t>(static_cast<double>(timed_bytes) * static_cast<double>(tally.records) /
                             static_cast<double>(timed_records));
  }
  // The default read_committed is not named, so the line keeps its old shape.
  const std::string isolation =
      o.isolation_level == "read_committed" ? std::string() : o.isolation_level;
  std::printf("%s\n", FormatConsumeLine(tally.records, bytes, elapsed, isolation).c_str());
  return 0;
}

}  // namespace gregor::tools
