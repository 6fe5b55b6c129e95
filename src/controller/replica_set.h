#pragma once
// Small helpers over replica lists (vectors of broker ids), shared by the controller's files.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace gregor::controller {

inline bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace gregor::controller
