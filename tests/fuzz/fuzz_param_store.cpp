// libFuzzer harness for ParamStore::load: any byte sequence either loads or throws a vesta
// Error; nothing else (a crash, a leak, an allocation the file cannot back) is allowed.
//
// The file format ends with a checksum of the bytes before it, which random mutations almost
// never get right, so each input is tried twice: as it is (the checks of the header and the
// checksum), and with the right checksum appended (the parser behind them).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <vesta/core/error.hpp>
#include <vesta/core/param_store.hpp>

namespace {

// Where each input is written: $TMPDIR, else /dev/shm (memory: several times more inputs per
// second than a disk), else /tmp.
std::string scratch_root() {
  const char* dir = std::getenv("TMPDIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

// FNV-1a, as the file format defines its checksum.
std::uint64_t fnv1a(const std::uint8_t* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

const std::string& scratch_path() {
  static const std::string path = [] {
    return scratch_root() + "/vesta_fuzz_store_" + std::to_string(::getpid()) + ".vps";
  }();
  return path;
}

void try_load(const std::uint8_t* data, std::size_t n) {
  std::FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (f == nullptr) return;
  if (n > 0) std::fwrite(data, 1, n, f);
  std::fclose(f);
  vesta::ParamStore store;
  // A parameter already present, so loading also meets the checks against existing ones.
  store.set("loc", vesta::Matrix::Zero(2, 1));
  try {
    store.load(scratch_path());
    for (const auto& [name, e] : store.entries()) {
      if (!e.unconstrained.value().allFinite()) __builtin_trap();  // load promises finite values
    }
    // Reading each loaded param pushes its values through the constraint it came with.
    for (const std::string& name : store.names()) {
      try {
        (void)store.get(name);
      } catch (const vesta::Error&) {
      }
    }
  } catch (const vesta::Error&) {
  }
  // Give back what the tape and the thread's buffer pool keep for reuse: libFuzzer counts an
  // input that leaves more allocations than frees as a possible leak, and checks each such
  // input with LeakSanitizer, which is slow.
  vesta::tape().release_memory();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try_load(data, size);
  std::vector<std::uint8_t> sealed(data, data + size);
  const std::uint64_t sum = fnv1a(data, size);
  const auto* p = reinterpret_cast<const std::uint8_t*>(&sum);
  sealed.insert(sealed.end(), p, p + sizeof(sum));
  try_load(sealed.data(), sealed.size());
  return 0;
}
