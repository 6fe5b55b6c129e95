#pragma once
// BlockingChannel: one plaintext TCP connection to another broker, used by a
// replica fetcher thread to exchange size-prefixed Kafka frames (Kafka's
// BlockingChannel / NetworkClient in blocking mode).
//
// Owner: one ReplicaFetcherThread; all calls but Interrupt() come from that
// thread. Every blocking call (connect, send, receive) takes a timeout
// (replica.socket.timeout.ms) and also returns promptly once Interrupt() was
// called from any thread: an eventfd is polled next to the socket, so a peer
// that accepts and never answers cannot hold a shutdown hostage, and there is
// no race with a closing fd (the socket itself is never touched by another
// thread). Interrupt is permanent: the channel is then unusable.
// Errors: kUnavailable (resolve/connect/reset/interrupted), kTimeout,
// kCorruption (a frame size outside [4, max]). After any error the caller
// should Close() and reconnect.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::replication {

class BlockingChannel {
 public:
  BlockingChannel();
  ~BlockingChannel();
  BlockingChannel(const BlockingChannel&) = delete;
  BlockingChannel& operator=(const BlockingChannel&) = delete;

  Status Connect(const std::string& host, int32_t port, int32_t timeout_ms);
  bool connected() const { return fd_ >= 0; }
  void Close();

  // Writes all of `frame` (already size-prefixed).
  Status Send(std::string_view frame, int32_t timeout_ms);
  // Reads one frame's size prefix and body; the body lands in an internal
  // buffer that is reused across calls (valid until the next Receive) and is
  // writable, so record sets can be handed to the log without a copy.
  Status Receive(size_t max_frame_bytes, int32_t timeout_ms, uint8_t** body, size_t* size);

  // Any thread: wakes the current and every later blocking call.
  void Interrupt();
  bool interrupted() const;

 private:
  // Waits until the socket is ready for `events` or the deadline passes or an
  // interrupt arrives.
  Status WaitFor(short events, int64_t deadline_ms, const char* what);
  Status ReadFully(uint8_t* p, size_t n, int64_t deadline_ms);

  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd, readable once interrupted
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_ = 0;
};

}  // namespace gregor::replication
