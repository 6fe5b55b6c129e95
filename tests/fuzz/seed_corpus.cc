// Writes the seed inputs of the fuzz targets (make fuzz-seeds): `seed_corpus DIR` fills
// DIR/request/ with one request frame body per API and version (header + body encoded from
// test_fill.h contents, plus Produce requests carrying real batches) and DIR/record_batch/ with
// record sets built by BuildRecordBatch (one mode byte first, see record_batch_fuzzer.cc).
// Golden frames captured from clients (tests/protocol/golden_test.cc) were added by hand as
// request/golden-*. `make fuzz` grows the corpora from these seeds.

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/all.h"
#include "gregor/protocol/messages/test_fill.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::protocol {
namespace {

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::string Frame(int16_t key, int16_t version, const auto& body) {
  RequestHeader h;
  h.api_key = key;
  h.api_version = version;
  h.correlation_id = 7;
  h.client_id = "fuzz";
  Writer w;
  EncodeRequestHeader(w, h);
  body.Encode(w, version);
  return w.Flatten();
}

std::vector<std::string> SampleBatches() {
  std::vector<std::string> out;
  out.push_back(BuildRecordBatch(0, 1700000000000, {{"k1", "hello"}, {"k2", "world"}}));
  out.push_back(BuildRecordBatch(0, 1700000000000, {{std::nullopt, "keyless"}}));
  out.push_back(BuildRecordBatch(0, 1700000000000, {{"gone", std::nullopt}}));
  BatchSpec spec;
  spec.producer_id = 42;
  spec.producer_epoch = 1;
  spec.base_sequence = 0;
  RecordSpec r1;
  r1.key = "h";
  r1.value = "with headers";
  r1.timestamp = 1700000000000;
  r1.headers = {{"trace", "abc"}, {"empty", std::nullopt}};
  RecordSpec r2 = r1;
  r2.timestamp = 1700000000500;
  r2.headers.clear();
  out.push_back(BuildRecordBatch(spec, {r1, r2}));
  spec.attributes = kTransactionalBit;
  out.push_back(BuildRecordBatch(spec, {r1}));
  spec.attributes = kControlBit | kTransactionalBit;
  out.push_back(BuildRecordBatch(spec, {r2}));
  // A compressed batch cannot be built without a codec: flag one and fix its CRC, so the
  // validator's compressed branch (no record walk) is seeded too.
  std::string gz = BuildRecordBatch(0, 1700000000000, {{"z", "compressed?"}});
  gz[22] = static_cast<char>(gz[22] | 1);
  UpdateBatchCrc(reinterpret_cast<uint8_t*>(gz.data()));
  out.push_back(gz);
  return out;
}

int WriteRequestSeeds(const std::string& dir) {
  int n = 0;
  ForEachMessageType([&]<typename T>(const char* name) {
    const std::string type = name;
    if (type.size() < 7 || type.compare(type.size() - 7, 7, "Request") != 0) return;
    for (int16_t v = T::kMinVersion; v <= T::kMaxVersion; ++v) {
      TestRng rng(1000u + static_cast<uint32_t>(v));
      T msg;
      FillForTest(msg, v, rng);
      std::string path = dir + "/seed-" + type + "-v" + std::to_string(v);
      if (WriteFile(path, Frame(T::kApiKey, v, msg))) ++n;
    }
  });
  // Produce with real batches (one and two per partition) at a classic and a flexible version.
  const std::vector<std::string> batches = SampleBatches();
  for (int16_t v : {3, 7, 9}) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.emplace_back();
    req.topic_data[0].name = "orders";
    std::string two = batches[0] + batches[3];
    for (int p = 0; p < 2; ++p) {
      req.topic_data[0].partition_data.emplace_back();
      req.topic_data[0].partition_data.back().index = p;
      req.topic_data[0].partition_data.back().records.bytes = p == 0 ? batches[0] : two;
    }
    if (WriteFile(dir + "/seed-ProduceBatches-v" + std::to_string(v),
                  Frame(ProduceRequest::kApiKey, v, req))) {
      ++n;
    }
  }
  return n;
}

int WriteBatchSeeds(const std::string& dir) {
  const std::vector<std::string> batches = SampleBatches();
  int n = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    // Mode 0: as sent (CRCs already right); the set of everything with mode 1 (CRC fix-up).
    if (WriteFile(dir + "/seed-batch-" + std::to_string(i), std::string(1, '\0') + batches[i])) {
      ++n;
    }
  }
  std::string all;
  for (const auto& b : batches) all += b;
  if (WriteFile(dir + "/seed-set-all", std::string(1, '\1') + all)) ++n;
  if (WriteFile(dir + "/seed-set-two-limited", std::string(1, '\x7e') + batches[0] + batches[3])) {
    ++n;
  }
  return n;
}

}  // namespace
}  // namespace gregor::protocol

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  for (const char* sub : {"", "/request", "/record_batch"}) {
    ::mkdir((root + sub).c_str(), 0755);
  }
  int requests = gregor::protocol::WriteRequestSeeds(root + "/request");
  int sets = gregor::protocol::WriteBatchSeeds(root + "/record_batch");
  std::printf("seed_corpus: %d request frames, %d record sets in %s\n", requests, sets, argv[1]);
  return 0;
}
