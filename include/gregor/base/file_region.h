#pragma once
// FileHandle and FileRegion: a byte range of an open file, shared between
// the log (which owns segment files) and the network layer (which sends
// them with sendfile). A FileRegion keeps its FileHandle alive, so a
// segment deleted by retention while a fetch response is in flight is
// still readable until the response is written. Immutable; thread-safe.

#include <unistd.h>

#include <cstdint>
#include <memory>

namespace gregor {

class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct FileRegion {
  std::shared_ptr<const FileHandle> file;
  uint64_t position = 0;  // byte offset in the file
  uint32_t length = 0;    // bytes
};

}  // namespace gregor
