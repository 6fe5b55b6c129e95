// A stand-in for libFuzzer's main, for builds without clang (make fuzz-replay, run by make
// check): `<name>_fuzzer [-flag]... FILE_OR_DIR...` feeds every file (every regular file of a
// directory, in name order) to LLVMFuzzerTestOneInput once. Flags (libFuzzer's -x=y) are
// ignored so the same command lines work with both builds. A target that finds a problem aborts;
// the input being replayed is then named on stderr. Exit 0 when every input ran.

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// The input being replayed, for the crash handler (async-signal-safe: write(2) only).
char g_current[4096];

void OnCrash(int sig) {
  const char prefix[] = "replay: crashed on input ";
  ssize_t ignored = ::write(2, prefix, sizeof(prefix) - 1);
  ignored = ::write(2, g_current, std::strlen(g_current));
  ignored = ::write(2, "\n", 1);
  (void)ignored;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Regular files directly in `dir`, sorted.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (e->d_name[0] != '.' && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      out.push_back(path);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, OnCrash);
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    if (IsDir(argv[i])) {
      std::vector<std::string> files = ListDir(argv[i]);
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else {
      inputs.push_back(argv[i]);
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "%s: no inputs (give corpus files or directories)\n", argv[0]);
    return 2;
  }
  size_t bytes = 0;
  for (const std::string& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 1;
    }
    std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::snprintf(g_current, sizeof(g_current), "%s", path.c_str());
    // An exactly sized heap copy, as libFuzzer passes it.
    static const uint8_t kEmpty = 0;
    std::vector<uint8_t> exact(data.begin(), data.end());
    LLVMFuzzerTestOneInput(exact.empty() ? &kEmpty : exact.data(), exact.size());
    bytes += exact.size();
  }
  std::printf("%s: %zu inputs (%zu bytes) replayed, no failure\n", argv[0], inputs.size(), bytes);
  return 0;
}
