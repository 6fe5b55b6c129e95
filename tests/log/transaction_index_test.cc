#include "log/transaction_index.h"

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "log/file_util.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::FileSize;
using testing::TempDir;

constexpr int64_t kBase = 100;

std::string TxnIndexPath(const std::string& dir, int64_t base = kBase) {
  return SegmentFilePath(dir, base, TransactionIndex::kSuffix);
}

std::unique_ptr<TransactionIndex> OpenIndex(const std::string& path, int64_t base = kBase) {
  auto index = std::make_unique<TransactionIndex>(path, base);
  Status st = index->Open();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return index;
}

void MustAppend(TransactionIndex* index, const AbortedTxn& txn) {
  Status st = index->Append(txn);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::string ReadFile(const std::string& path) {
  auto data = ReadWholeFile(path);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? *data : std::string();
}

void AppendRawBytes(const std::string& path, const std::string& bytes) {
  std::string data = PathExists(path) ? ReadFile(path) : std::string();
  ASSERT_TRUE(WriteFileAtomically(path, data + bytes).ok());
}

size_t OpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Three aborted transactions of a segment based at 100, in marker order. Realistic LSOs: the
// LSO at an abort is at most the marker's offset + 1.
const AbortedTxn kT1{/*producer_id=*/1, /*first_offset=*/100, /*last_offset=*/110,
                     /*last_stable_offset=*/100};
const AbortedTxn kT2{2, 115, 120, 111};
const AbortedTxn kT3{3, 125, 130, 121};

std::unique_ptr<TransactionIndex> ThreeEntryIndex(const std::string& dir) {
  auto index = OpenIndex(TxnIndexPath(dir));
  for (const AbortedTxn& t : {kT1, kT2, kT3}) {
    EXPECT_TRUE(index->Append(t).ok());
  }
  return index;
}

TEST(TransactionIndexTest, GoldenBytesOfOneEntry) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  EXPECT_EQ(path, tmp.path() + "/00000000000000000100.txnindex");
  auto index = OpenIndex(path);
  // producerId 0x0102030405060708 shows the byte order; offsets 100, 105; LSO 106.
  MustAppend(index.get(), AbortedTxn{0x0102030405060708, 100, 105, 106});
  // By hand from Kafka's AbortedTxn layout: int16 version 0, then four big-endian int64s.
  const std::string golden = std::string(
      "\x00\x00"                           // version 0
      "\x01\x02\x03\x04\x05\x06\x07\x08"   // producerId
      "\x00\x00\x00\x00\x00\x00\x00\x64"   // firstOffset 100
      "\x00\x00\x00\x00\x00\x00\x00\x69"   // lastOffset 105
      "\x00\x00\x00\x00\x00\x00\x00\x6a",  // lastStableOffset 106
      34);
  EXPECT_EQ(ReadFile(path), golden);

  AbortedTxn decoded;
  EXPECT_EQ(AbortedTxn::DecodeFrom(golden.data(), &decoded), 0);
  EXPECT_EQ(decoded, (AbortedTxn{0x0102030405060708, 100, 105, 106}));
}

TEST(TransactionIndexTest, DecodesNegativeFieldsAndForeignVersions) {
  std::string bytes(34, '\xff');  // version -1, every field -1
  AbortedTxn txn;
  EXPECT_EQ(AbortedTxn::DecodeFrom(bytes.data(), &txn), -1);
  EXPECT_EQ(txn, (AbortedTxn{-1, -1, -1, -1}));
  bytes[0] = '\x00';
  bytes[1] = '\x01';
  EXPECT_EQ(AbortedTxn::DecodeFrom(bytes.data(), &txn), 1);
  std::string encoded(34, '\0');
  AbortedTxn{-1, -1, -1, -1}.EncodeTo(encoded.data());
  EXPECT_EQ(encoded, std::string("\x00\x00", 2) + std::string(32, '\xff'));
}

TEST(TransactionIndexTest, CollectIncludesExactlyTheOverlappingRange) {
  TempDir tmp;
  auto index = ThreeEntryIndex(tmp.path());
  using V = std::vector<AbortedTxn>;

  // lastOffset == fetchOffset overlaps; firstOffset == upperBound does not (it is exclusive).
  auto r = index->CollectAbortedTxns(110, 115);
  EXPECT_EQ(r.aborted_txns, (V{kT1}));
  EXPECT_TRUE(r.is_complete);  // kT3's LSO 121 >= 115

  r = index->CollectAbortedTxns(111, 116);  // one past each boundary
  EXPECT_EQ(r.aborted_txns, (V{kT2}));
  EXPECT_TRUE(r.is_complete);

  r = index->CollectAbortedTxns(100, 126);
  EXPECT_EQ(r.aborted_txns, (V{kT1, kT2, kT3}));
  EXPECT_FALSE(r.is_complete);  // no LSO reached 126: later segments may hold more

  // The search stops at the entry whose LSO equals the bound, having looked at it.
  r = index->CollectAbortedTxns(100, 111);
  EXPECT_EQ(r.aborted_txns, (V{kT1}));
  EXPECT_TRUE(r.is_complete);

  r = index->CollectAbortedTxns(131, 200);  // past every transaction
  EXPECT_TRUE(r.aborted_txns.empty());
  EXPECT_FALSE(r.is_complete);

  r = index->CollectAbortedTxns(50, 100);  // before every transaction
  EXPECT_TRUE(r.aborted_txns.empty());
  EXPECT_TRUE(r.is_complete);  // kT1's LSO 100 >= 100
}

TEST(TransactionIndexTest, SearchStopsAtFirstEntryWhoseLsoReachesTheBound) {
  TempDir tmp;
  auto index = OpenIndex(TxnIndexPath(tmp.path()));
  const AbortedTxn a{1, 100, 110, 150};
  const AbortedTxn b{2, 120, 130, 150};
  MustAppend(index.get(), a);
  MustAppend(index.get(), b);
  // b overlaps [100, 140) too, but a's LSO says the search is over (Kafka returns at once).
  auto r = index->CollectAbortedTxns(100, 140);
  EXPECT_EQ(r.aborted_txns, std::vector<AbortedTxn>{a});
  EXPECT_TRUE(r.is_complete);
}

TEST(TransactionIndexTest, IncompleteSearchContinuesIntoTheNextSegment) {
  TempDir tmp;
  auto first = OpenIndex(TxnIndexPath(tmp.path(), 100), 100);
  auto second = OpenIndex(TxnIndexPath(tmp.path(), 200), 200);
  const AbortedTxn a{1, 150, 190, 150};  // marker in segment 100
  const AbortedTxn b{2, 180, 210, 191};  // started in segment 100, marker in segment 200
  const AbortedTxn c{3, 230, 240, 250};  // LSO past the range
  MustAppend(first.get(), a);
  MustAppend(second.get(), b);
  MustAppend(second.get(), c);
  // A fetch of [185, 235): the caller fills one vector segment by segment until complete.
  std::vector<AbortedTxn> out;
  EXPECT_FALSE(first->CollectAbortedTxns(185, 235, &out));
  EXPECT_TRUE(second->CollectAbortedTxns(185, 235, &out));
  EXPECT_EQ(out, (std::vector<AbortedTxn>{a, b, c}));
}

TEST(TransactionIndexTest, TruncateDropsEntriesFromTheFirstAtOrPastTheOffset) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  auto index = ThreeEntryIndex(tmp.path());
  using V = std::vector<AbortedTxn>;

  ASSERT_TRUE(index->TruncateTo(131).ok());  // nothing at or past 131
  EXPECT_EQ(index->entries(), 3u);
  EXPECT_EQ(FileSize(path), 3 * 34);

  ASSERT_TRUE(index->TruncateTo(130).ok());  // lastOffset == offset goes
  EXPECT_EQ(index->AllAbortedTxns(), (V{kT1, kT2}));
  EXPECT_EQ(FileSize(path), 2 * 34);

  ASSERT_TRUE(index->TruncateTo(111).ok());
  EXPECT_EQ(index->AllAbortedTxns(), (V{kT1}));
  EXPECT_EQ(FileSize(path), 34);
  // The order is checked against what is left.
  const AbortedTxn again{4, 111, 112, 111};
  MustAppend(index.get(), again);
  EXPECT_EQ(index->AllAbortedTxns(), (V{kT1, again}));

  auto reopened = OpenIndex(path);
  EXPECT_EQ(reopened->AllAbortedTxns(), (V{kT1, again}));
  EXPECT_TRUE(reopened->SanityCheck().ok());

  ASSERT_TRUE(reopened->TruncateTo(0).ok());
  EXPECT_TRUE(reopened->empty());
  EXPECT_EQ(FileSize(path), 0);
}

TEST(TransactionIndexTest, ReopenReadsBackAndKeepsTheOrder) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  {
    auto index = ThreeEntryIndex(tmp.path());
    ASSERT_TRUE(index->Flush().ok());
    index->Close();
    ASSERT_TRUE(index->Flush().ok());  // nothing unsynced: no-op
  }
  auto index = OpenIndex(path);
  EXPECT_TRUE(index->SanityCheck().ok());
  EXPECT_EQ(index->AllAbortedTxns(), (std::vector<AbortedTxn>{kT1, kT2, kT3}));
  EXPECT_EQ(index->CollectAbortedTxns(111, 116).aborted_txns, std::vector<AbortedTxn>{kT2});
  // Kafka forgets the last offset on reopen; we do not.
  EXPECT_EQ(index->Append(AbortedTxn{9, 125, 130, 121}).code(), Status::Code::kInvalidArgument);
  MustAppend(index.get(), AbortedTxn{9, 131, 140, 131});
  ASSERT_TRUE(index->Flush().ok());
  EXPECT_EQ(FileSize(path), 4 * 34);
}

TEST(TransactionIndexTest, AppendRejectsANonIncreasingLastOffset) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  auto index = OpenIndex(path);
  EXPECT_EQ(index->Append(AbortedTxn{1, 90, 99, 90}).code(), Status::Code::kInvalidArgument)
      << "below the base offset";
  EXPECT_FALSE(PathExists(path));
  MustAppend(index.get(), AbortedTxn{1, 100, 110, 100});
  Status st = index->Append(AbortedTxn{2, 105, 110, 100});
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("must increase sequentially"), std::string::npos) << st.ToString();
  EXPECT_EQ(index->Append(AbortedTxn{2, 105, 109, 100}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(index->entries(), 1u);
  EXPECT_EQ(FileSize(path), 34);
  MustAppend(index.get(), AbortedTxn{2, 105, 111, 100});
  EXPECT_EQ(FileSize(path), 2 * 34);
}

TEST(TransactionIndexTest, TornLastEntryIsReportedAndResetRebuilds) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  {
    auto index = ThreeEntryIndex(tmp.path());
    ASSERT_TRUE(index->TruncateTo(130).ok());
  }
  // A crash in the middle of the third entry's pwrite: 20 of its 34 bytes reached the disk.
  std::string third(34, '\0');
  kT3.EncodeTo(third.data());
  AppendRawBytes(path, third.substr(0, 20));
  ASSERT_EQ(FileSize(path), 2 * 34 + 20);

  auto index = OpenIndex(path);  // Open copes: the whole entries are read
  EXPECT_EQ(index->AllAbortedTxns(), (std::vector<AbortedTxn>{kT1, kT2}));
  Status st = index->SanityCheck();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("torn"), std::string::npos) << st.ToString();
  // Nothing may be written after a torn entry: it would be misaligned.
  EXPECT_EQ(index->Append(kT3).code(), Status::Code::kCorruption);
  EXPECT_EQ(index->TruncateTo(0).code(), Status::Code::kCorruption);
  EXPECT_EQ(FileSize(path), 2 * 34 + 20);

  // Recovery: reset, then re-append what the segment's markers say.
  ASSERT_TRUE(index->Reset().ok());
  EXPECT_TRUE(index->SanityCheck().ok());
  EXPECT_EQ(FileSize(path), 0);
  for (const AbortedTxn& t : {kT1, kT2, kT3}) MustAppend(index.get(), t);
  auto reopened = OpenIndex(path);
  EXPECT_TRUE(reopened->SanityCheck().ok());
  EXPECT_EQ(reopened->AllAbortedTxns(), (std::vector<AbortedTxn>{kT1, kT2, kT3}));
}

TEST(TransactionIndexTest, SanityCheckRejectsForeignVersionsAndBadOffsets) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  std::string entry(34, '\0');
  kT1.EncodeTo(entry.data());

  struct Case {
    const char* name;
    std::string second;  // appended after a valid first entry
  };
  std::string version1 = std::string(34, '\0');
  kT2.EncodeTo(version1.data());
  version1[1] = '\x01';  // int16 version 1
  std::string version256 = version1;
  version256[0] = '\x01';  // int16 0x0100: Kafka reads only this byte
  version256[1] = '\x00';
  std::string not_increasing(34, '\0');
  AbortedTxn{2, 100, 110, 100}.EncodeTo(not_increasing.data());
  for (const Case& c : {Case{"version 1", version1}, Case{"version 256", version256},
                        Case{"not increasing", not_increasing}}) {
    ASSERT_TRUE(WriteFileAtomically(path, entry + c.second).ok());
    auto index = OpenIndex(path);
    EXPECT_EQ(index->SanityCheck().code(), Status::Code::kCorruption) << c.name;
    EXPECT_EQ(index->AllAbortedTxns(), std::vector<AbortedTxn>{kT1}) << c.name;
  }

  // Kafka's own check: a last offset below the segment's base offset.
  ASSERT_TRUE(WriteFileAtomically(path, entry).ok());
  auto index = OpenIndex(path, /*base=*/111);
  EXPECT_EQ(index->SanityCheck().code(), Status::Code::kCorruption);
  EXPECT_TRUE(OpenIndex(path, /*base=*/110)->SanityCheck().ok());
}

TEST(TransactionIndexTest, MissingOrEmptyFileCostsNothing) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  const size_t fds_before = OpenFds();
  std::vector<std::unique_ptr<TransactionIndex>> indexes;
  for (int64_t base = 0; base < 1000; base += 10) {
    indexes.push_back(OpenIndex(TxnIndexPath(tmp.path(), base), base));
  }
  EXPECT_EQ(OpenFds(), fds_before) << "an index holds no fd until it is written";

  auto& index = indexes[10];  // base 100
  ASSERT_EQ(index->path(), path);
  EXPECT_TRUE(index->empty());
  EXPECT_TRUE(index->SanityCheck().ok());
  auto r = index->CollectAbortedTxns(0, INT64_MAX);
  EXPECT_TRUE(r.aborted_txns.empty());
  EXPECT_EQ(r.aborted_txns.capacity(), 0u) << "no allocation";
  EXPECT_FALSE(r.is_complete);
  EXPECT_TRUE(index->TruncateTo(0).ok());
  EXPECT_TRUE(index->Reset().ok());
  EXPECT_TRUE(index->Flush().ok());
  EXPECT_TRUE(index->RenameTo(path + ".deleted").ok());
  index->Close();
  EXPECT_FALSE(PathExists(path)) << "only an append creates the file";
  EXPECT_FALSE(PathExists(path + ".deleted"));
  auto deleted = index->DeleteIfExists();
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  EXPECT_EQ(OpenFds(), fds_before);

  // Collect reads memory, never the file: bytes that appear behind the index's back are not
  // seen (so a read_committed fetch pays no syscall per segment).
  std::string entry(34, '\0');
  kT1.EncodeTo(entry.data());
  auto& other = indexes[11];  // base 110
  ASSERT_TRUE(WriteFileAtomically(other->path(), entry).ok());
  EXPECT_TRUE(other->CollectAbortedTxns(0, INT64_MAX).aborted_txns.empty());

  // An existing empty file (a reset index) loads as empty, with no fd kept.
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  auto empty = OpenIndex(path);
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(empty->SanityCheck().ok());
  EXPECT_FALSE(empty->CollectAbortedTxns(0, INT64_MAX).is_complete);
  EXPECT_EQ(OpenFds(), fds_before);
}

TEST(TransactionIndexTest, WritingHoldsOneFdUntilClose) {
  TempDir tmp;
  const size_t fds_before = OpenFds();
  auto index = ThreeEntryIndex(tmp.path());
  EXPECT_EQ(OpenFds(), fds_before + 1);
  index->Close();
  EXPECT_EQ(OpenFds(), fds_before);
  EXPECT_EQ(index->entries(), 3u) << "entries stay readable after Close";
  MustAppend(index.get(), AbortedTxn{4, 131, 140, 131});  // reopens
  EXPECT_EQ(OpenFds(), fds_before + 1);
  index.reset();
  EXPECT_EQ(OpenFds(), fds_before);
}

TEST(TransactionIndexTest, RenameAndDelete) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  auto index = ThreeEntryIndex(tmp.path());
  const std::string renamed = path + ".deleted";
  ASSERT_TRUE(index->RenameTo(renamed).ok());
  EXPECT_EQ(index->path(), renamed);
  EXPECT_FALSE(PathExists(path));
  MustAppend(index.get(), AbortedTxn{4, 131, 140, 131});  // the open fd follows the rename
  ASSERT_TRUE(index->Flush().ok());
  EXPECT_EQ(FileSize(renamed), 4 * 34);
  EXPECT_EQ(OpenIndex(renamed)->entries(), 4u);

  // A failed rename changes nothing.
  EXPECT_FALSE(index->RenameTo(tmp.path() + "/no/such/dir/x.txnindex").ok());
  EXPECT_EQ(index->path(), renamed);

  auto deleted = index->DeleteIfExists();
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(PathExists(renamed));
  EXPECT_TRUE(index->empty());
  deleted = index->DeleteIfExists();
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
}

TEST(TransactionIndexTest, FailedAppendIsCutBack) {
  TempDir tmp;
  const std::string path = TxnIndexPath(tmp.path());
  auto index = OpenIndex(path);
  MustAppend(index.get(), kT1);

  // A disk that fills up 10 bytes into the second entry.
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 34 + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status st = index->Append(kT2);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_EQ(FileSize(path), 34);
  EXPECT_EQ(index->entries(), 1u);
  EXPECT_TRUE(index->SanityCheck().ok());
  MustAppend(index.get(), kT2);
  EXPECT_EQ(OpenIndex(path)->AllAbortedTxns(), (std::vector<AbortedTxn>{kT1, kT2}));
}

}  // namespace
}  // namespace gregor::log
