#pragma once
// Clock: the one source of time, so tests can substitute a fake.
// SystemClock is thread-safe; FakeClock is for tests only.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gregor {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the epoch (Kafka timestamps).
  virtual int64_t NowMs() const = 0;
  // Monotonic milliseconds, for timeouts and intervals.
  virtual int64_t MonotonicMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock* Get() {
    static SystemClock clock;
    return &clock;
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_(now_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  int64_t MonotonicMs() const override { return now_.load(); }
  void AdvanceMs(int64_t ms) { now_ += ms; }
  void SetMs(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace gregor
