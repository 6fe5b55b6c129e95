#include "gregor/base/sampled_rate.h"

#include <algorithm>

namespace gregor {

void SampledRate::PurgeObsolete(int64_t now_ms) {
  const int64_t expire = window_.samples * window_.window_ms;
  for (auto& s : samples_) {
    if (now_ms - s.start_ms >= expire) s = Sample{now_ms, 0, false};
  }
}

void SampledRate::Record(double value, int64_t now_ms) {
  last_record_ms_ = now_ms;
  if (samples_.empty()) samples_.push_back(Sample{now_ms, 0, true});
  Sample* s = &samples_[current_];
  if (now_ms - s->start_ms >= window_.window_ms) {
    current_ = (current_ + 1) % static_cast<size_t>(window_.samples);
    if (current_ >= samples_.size()) {
      samples_.push_back(Sample{now_ms, 0, true});
    } else {
      samples_[current_] = Sample{now_ms, 0, true};
    }
    s = &samples_[current_];
  }
  s->value += value;
  s->used = true;
}

int64_t SampledRate::WindowSizeMs(int64_t now_ms) {
  PurgeObsolete(now_ms);
  int64_t oldest = now_ms;
  for (const auto& s : samples_) oldest = std::min(oldest, s.start_ms);
  int64_t elapsed = now_ms - oldest;
  const int64_t full = elapsed / window_.window_ms;
  const int64_t min_full = window_.samples - 1;
  if (full < min_full) elapsed += (min_full - full) * window_.window_ms;
  return std::max<int64_t>(elapsed, 1);
}

double SampledRate::Measure(int64_t now_ms) {
  const int64_t window = WindowSizeMs(now_ms);  // purges first
  double sum = 0;
  for (const auto& s : samples_) sum += s.value;
  return sum / (static_cast<double>(window) / 1000.0);
}

}  // namespace gregor
