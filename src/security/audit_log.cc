#include "gregor/security/audit_log.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace gregor::security {

namespace {

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->push_back(',');
  AppendJsonString(out, name);
  out->push_back(':');
  AppendJsonString(out, value);
}

// {"time":"2026-12-03T11:12:13.456Z","event":"<event>"
std::string Begin(std::string_view event) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(256);
  line.append("{\"time\":\"").append(buf).append("\"");
  AppendField(&line, "event", event);
  return line;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  log->fd_ = ::open(log->options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log->fd_ < 0) {
    return Status::IOError("audit.log.file " + log->options_.path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (fstat(log->fd_, &st) == 0) log->size_ = st.st_size;
  log->writer_ = std::thread([l = log.get()] { l->Run(); });
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Authentication(std::string_view principal, std::string_view mechanism,
                              std::string_view listener, std::string_view client, bool success,
                              std::string_view error) {
  std::string line = Begin("authentication");
  AppendField(&line, "principal", principal);
  AppendField(&line, "mechanism", mechanism);
  AppendField(&line, "listener", listener);
  AppendField(&line, "client", client);
  AppendField(&line, "result", success ? "success" : "failure");
  if (!success) AppendField(&line, "error", error);
  line.append("}\n");
  Enqueue(std::move(line));
}

void AuditLog::Authorization(std::string_view principal, std::string_view host,
                             std::string_view operation, std::string_view resource_type,
                             std::string_view resource, std::string_view api, bool allowed) {
  std::string line = Begin("authorization");
  AppendField(&line, "principal", principal);
  AppendField(&line, "host", host);
  AppendField(&line, "operation", operation);
  AppendField(&line, "resource_type", resource_type);
  AppendField(&line, "resource", resource);
  AppendField(&line, "api", api);
  AppendField(&line, "result", allowed ? "allowed" : "denied");
  line.append("}\n");
  Enqueue(std::move(line));
}

uint64_t AuditLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_;
  flushed_.wait(lock, [&] { return written_ >= target; });
}

void AuditLog::Enqueue(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= options_.max_queued_lines) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
    ++queued_;
  }
  cv_.notify_one();
}

void AuditLog::Run() {
  std::deque<std::string> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      batch.swap(queue_);
    }
    const size_t n = batch.size();
    WriteBatch(&batch);
    batch.clear();
    uint64_t newly_dropped = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_ += n;
      newly_dropped = dropped_ - dropped_reported_;
      dropped_reported_ = dropped_;
    }
    flushed_.notify_all();
    if (newly_dropped > 0) {
      LOG(WARNING) << "[AuditLog " << options_.path << "] " << newly_dropped
                   << " lines dropped: the audit log could not keep up";
    }
  }
}

void AuditLog::WriteBatch(std::deque<std::string>* batch) {
  std::string buf;
  auto write_out = [&] {
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t w = ::write(fd_, buf.data() + off, buf.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        int64_t now = NowMs();
        if (now - last_error_log_ms_ >= 60000) {
          last_error_log_ms_ = now;
          LOG(ERROR) << "[AuditLog " << options_.path << "] write failed: " << std::strerror(errno)
                     << "; audit lines lost";
        }
        break;
      }
      off += static_cast<size_t>(w);
      size_ += w;
    }
    buf.clear();
  };
  for (const std::string& line : *batch) {
    if (size_ + static_cast<int64_t>(buf.size() + line.size()) > options_.max_bytes &&
        size_ + static_cast<int64_t>(buf.size()) > 0) {
      write_out();
      Rotate();
    }
    buf.append(line);
  }
  write_out();
}

void AuditLog::Rotate() {
  ::close(fd_);
  const std::string& p = options_.path;
  if (options_.max_files <= 0) {
    ::unlink(p.c_str());
  } else {
    for (int i = options_.max_files - 1; i >= 1; --i) {
      ::rename((p + "." + std::to_string(i)).c_str(), (p + "." + std::to_string(i + 1)).c_str());
    }
    ::rename(p.c_str(), (p + ".1").c_str());
  }
  fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  size_ = 0;
  if (fd_ < 0) {
    LOG(ERROR) << "[AuditLog " << p << "] cannot reopen after rotation: " << std::strerror(errno);
  }
}

}  // namespace gregor::security
