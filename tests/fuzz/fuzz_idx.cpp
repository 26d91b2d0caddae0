// libFuzzer harness for the Fashion-MNIST reader (examples/support/fashion_mnist.cpp): any
// pair of label and image files, gzipped or plain, either loads or throws a vesta Error.
//
// Input layout: one byte choosing how many images to read (1 to 4), two bytes (little-endian)
// giving the length of the labels file, the labels file, and the images file (the rest).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <vesta/core/error.hpp>

#include "support/fashion_mnist.hpp"

namespace {

// Where each input is written: $TMPDIR, else /dev/shm (memory: several times more inputs per
// second than a disk), else /tmp.
std::string scratch_root() {
  const char* dir = std::getenv("TMPDIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string d = scratch_root() + "/vesta_fuzz_idx_" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

void write(const std::string& path, const std::uint8_t* data, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (n > 0) std::fwrite(data, 1, n, f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const vesta::Index max_images = 1 + data[0] % 4;
  std::size_t label_bytes = data[1] | (std::size_t{data[2]} << 8);
  data += 3;
  size -= 3;
  if (label_bytes > size) label_bytes = size;
  write(scratch_dir() + "/t10k-labels-idx1-ubyte.gz", data, label_bytes);
  write(scratch_dir() + "/t10k-images-idx3-ubyte.gz", data + label_bytes, size - label_bytes);
  try {
    const vesta::examples::Dataset d =
        vesta::examples::load_fashion_mnist("test", scratch_dir(), max_images);
    if (d.size() != max_images || !d.images.allFinite()) __builtin_trap();
    for (int label : d.labels) {
      if (label < 0 || label >= vesta::examples::kFashionMnistClasses) __builtin_trap();
    }
  } catch (const vesta::Error&) {
  }
  return 0;
}
