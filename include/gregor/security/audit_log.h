#pragma once
// The audit log of security decisions (gregor's own; Kafka has none): one JSON object per line
// for every SASL or certificate authentication (success or failure) and every authorization
// denial (every decision when `log_allowed`), in a file rotated by size:
//
//   {"time":"2026-12-03T11:12:13.456Z","event":"authentication","principal":"User:alice",
//    "mechanism":"SCRAM-SHA-256","listener":"CLIENT","client":"10.0.0.7:53122",
//    "result":"success"}
//   {"time":"...","event":"authorization","principal":"User:bob","host":"10.0.0.8",
//    "operation":"Write","resource_type":"Topic","resource":"orders","api":"Produce",
//    "result":"denied"}
//
// Failed authentications add "error":"<why>" (wrong password, unknown user, ...).
//
// Rotation: before a line would take the file past `max_bytes`, <path> becomes <path>.1,
// <path>.1 becomes <path>.2 and so on; at most `max_files` rotated files are kept.
//
// Threads: the request path only formats a line and queues it under a mutex (no I/O, never
// blocks on the disk); one writer thread appends queued lines in batches. The queue is bounded
// (`max_queued_lines`): when the disk cannot keep up, further lines are dropped and counted
// (dropped()), and the writer logs how many once it catches up. Write errors are logged (at
// most once a minute) and the lines lost; the broker keeps serving. Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "gregor/base/status.h"

namespace gregor::security {

struct AuditLogOptions {
  std::string path;                       // audit.log.file
  int64_t max_bytes = 100 * 1024 * 1024;  // audit.log.max.bytes, per file
  int32_t max_files = 10;                 // audit.log.max.files, rotated files kept
  bool log_allowed = false;               // audit.log.authorization.allowed
  size_t max_queued_lines = 65536;
};

class AuditLog {
 public:
  // Opens (creates or appends to) the file; kIOError when it cannot be opened.
  static Result<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);
  // Writes what is queued, then stops the writer.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // `error` empty on success.
  void Authentication(std::string_view principal, std::string_view mechanism,
                      std::string_view listener, std::string_view client, bool success,
                      std::string_view error);
  // Call for denials always and for allowed decisions only when log_allowed().
  void Authorization(std::string_view principal, std::string_view host, std::string_view operation,
                     std::string_view resource_type, std::string_view resource,
                     std::string_view api, bool allowed);

  bool log_allowed() const { return options_.log_allowed; }
  uint64_t dropped() const;
  // Blocks until every line queued so far is written (tests, shutdown).
  void Flush();

 private:
  explicit AuditLog(AuditLogOptions options) : options_(std::move(options)) {}
  void Enqueue(std::string line);
  void Run();
  void WriteBatch(std::deque<std::string>* batch);
  void Rotate();

  const AuditLogOptions options_;
  int fd_ = -1;       // writer thread only (and Open)
  int64_t size_ = 0;  // writer thread only
  int64_t last_error_log_ms_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // lines queued, or stopping
  std::condition_variable flushed_;  // the writer finished a batch
  std::deque<std::string> queue_;    // guarded by mu_
  uint64_t queued_ = 0;              // lines ever queued, guarded by mu_
  uint64_t written_ = 0;             // lines ever taken by the writer, guarded by mu_
  uint64_t dropped_ = 0;             // guarded by mu_
  uint64_t dropped_reported_ = 0;    // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::thread writer_;
};

}  // namespace gregor::security
