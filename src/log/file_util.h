#pragma once
// Small POSIX file helpers for the log module: atomic replace (write tmp, fsync, rename, fsync
// dir), whole-file reads, recursive removal, directory listing. Error contract: Status values,
// never exceptions. Thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::log {

// Replaces `path` with `contents` so a crash leaves either the old or the new file.
Status WriteFileAtomically(const std::string& path, const std::string& contents);
// kNotFound when the file does not exist.
Result<std::string> ReadWholeFile(const std::string& path);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Creates `path` and its parents.
Status MakeDirs(const std::string& path);
// Removes a file or a directory tree; a missing path is not an error.
Status RemoveAll(const std::string& path);
Status RenamePath(const std::string& from, const std::string& to);
Status SyncDir(const std::string& dir);
// Names of the entries of `dir` (not "." or "..").
Result<std::vector<std::string>> ListDir(const std::string& dir);
bool EndsWith(const std::string& s, const std::string& suffix);

// 32 random hex digits: the uuid of `<topic>-<p>.<uuid>-delete` and `-future` dir names.
std::string RandomHex32();

// "<dir>/<20-digit base offset><suffix>", Kafka's segment file naming.
std::string SegmentFilePath(const std::string& dir, int64_t base_offset, const char* suffix);

// Writes all of [data, data+n) at `offset`, retrying short writes and EINTR.
Status PwriteAll(int fd, const void* data, size_t n, uint64_t offset, const std::string& what);
// Reads exactly n bytes at `offset`; kCorruption if the file is shorter.
Status PreadAll(int fd, void* data, size_t n, uint64_t offset, const std::string& what);

}  // namespace gregor::log
