#include "gregor/base/status.h"

#include <cerrno>
#include <cstring>

namespace gregor {

Status Status::FromErrno(int err, const std::string& context) {
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(std::move(msg));
  return IOError(std::move(msg));
}

std::string Status::ToString() const {
  static const char* const kNames[] = {
      "OK",       "NotFound",          "Corruption",  "InvalidArgument", "IOError",
      "NoSpace",  "Timeout",           "Unavailable", "AlreadyExists",   "OutOfRange",
      "TooLarge", "NotLeader",         "Stale",       "Internal",        "OutOfOrder",
      "Fenced",   "FailedPrecondition"};
  std::string s = kNames[static_cast<int>(code_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace gregor
