// Reading Fashion-MNIST's gzipped IDX files with zlib.
//
// IDX (LeCun's MNIST format): a big-endian 32-bit magic number whose low byte is the number
// of dimensions and whose third byte is the element type (0x08: unsigned byte), then each
// dimension as a big-endian 32-bit count, then the elements in row-major order. Images are
// 0x00000803 (n, 28, 28), labels 0x00000801 (n).
#include "support/fashion_mnist.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace vesta::examples {

namespace {

constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint32_t kImagesMagic = 0x00000803;

const char* const kInstallHint =
    "install the data set with `apt-get install dataset-fashion-mnist` (scripts/setup.sh does), "
    "or set VESTA_FASHION_MNIST_DIR to the folder holding the four .gz files";

// An open gzip file (a plain file is read as it is), closed at the end of the scope.
class GzFile {
 public:
  explicit GzFile(std::string path) : path_(std::move(path)) {
    // gzopen also succeeds on a plain file; a missing one fails with ENOENT.
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      const int err = errno;
      if (err == ENOENT) {
        throw DatasetError(
            fmt::format("Fashion-MNIST: {} does not exist; {}", path_, kInstallHint));
      }
      throw DatasetError(
          fmt::format("Fashion-MNIST: cannot open {}: {}", path_,
                      err != 0 ? std::strerror(err) : "zlib could not allocate its state"));
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzFile() { gzclose(file_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  const std::string& path() const { return path_; }

  // Exactly `n` bytes into `out`; `what` names them in the error if the file ends early.
  void read(void* out, std::size_t n, const char* what) {
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
      const int got = gzread(file_, p, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(file_, &code);
        throw DatasetError(
            fmt::format("Fashion-MNIST: reading the {} of {} failed: {}", what, path_, message));
      }
      if (got == 0) {
        throw DatasetError(
            fmt::format("Fashion-MNIST: {} ends before its {} (truncated or corrupt; "
                        "reinstall dataset-fashion-mnist)",
                        path_, what));
      }
      p += got;
      n -= static_cast<std::size_t>(got);
    }
  }

  std::uint32_t read_u32(const char* what) {
    unsigned char b[4];
    read(b, 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           b[3];
  }

  // Checks the magic number and returns the dimensions.
  std::vector<std::uint32_t> header(std::uint32_t magic, const char* kind) {
    const std::uint32_t got = read_u32("magic number");
    if (got != magic) {
      throw DatasetError(
          fmt::format("Fashion-MNIST: {} has the magic number 0x{:08x}, but an IDX file of {} "
                      "has 0x{:08x}",
                      path_, got, kind, magic));
    }
    std::vector<std::uint32_t> dims(magic & 0xff);
    for (std::uint32_t& d : dims) d = read_u32("header");
    return dims;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

}  // namespace

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("VESTA_FASHION_MNIST_DIR");
  if (env != nullptr && *env != '\0') return env;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(const std::string& split, const std::string& dir,
                           std::optional<Index> max_images) {
  if (split != "train" && split != "test") {
    throw ValueError(fmt::format(
        "load_fashion_mnist: split is \"{}\", but must be \"train\" or \"test\"", split));
  }
  if (max_images && *max_images < 1) {
    throw ValueError(
        fmt::format("load_fashion_mnist: max_images is {}, but must be at least 1", *max_images));
  }
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  const Index expected = split == "train" ? 60000 : 10000;

  GzFile label_file(prefix + "-labels-idx1-ubyte.gz");
  GzFile image_file(prefix + "-images-idx3-ubyte.gz");
  const std::vector<std::uint32_t> label_dims = label_file.header(kLabelsMagic, "labels");
  const std::vector<std::uint32_t> image_dims = image_file.header(kImagesMagic, "images");
  if (label_dims[0] != expected) {
    throw DatasetError(fmt::format("Fashion-MNIST: {} holds {} labels, but the {} split has {}",
                                   label_file.path(), label_dims[0], split, expected));
  }
  if (image_dims[0] != expected || image_dims[1] != kFashionMnistSide ||
      image_dims[2] != kFashionMnistSide) {
    throw DatasetError(
        fmt::format("Fashion-MNIST: {} holds {} images of {}x{} pixels, but the {} split has {} "
                    "of {}x{}",
                    image_file.path(), image_dims[0], image_dims[1], image_dims[2], split, expected,
                    kFashionMnistSide, kFashionMnistSide));
  }

  const Index n = max_images ? std::min(*max_images, expected) : expected;
  Dataset data;
  data.labels.resize(static_cast<std::size_t>(n));
  data.labels_col.resize(n, 1);
  std::vector<unsigned char> label_bytes(static_cast<std::size_t>(n));
  label_file.read(label_bytes.data(), label_bytes.size(), "labels");
  for (Index i = 0; i < n; ++i) {
    const int label = label_bytes[static_cast<std::size_t>(i)];
    if (label >= kFashionMnistClasses) {
      throw DatasetError(fmt::format("Fashion-MNIST: {}: label {} is {}, but classes are 0..{}",
                                     label_file.path(), i, label, kFashionMnistClasses - 1));
    }
    data.labels[static_cast<std::size_t>(i)] = label;
    data.labels_col(i, 0) = static_cast<Scalar>(label);
  }

  // The file holds the images one after another, as the rows of `images` are laid out.
  data.images.resize(n, kFashionMnistPixels);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(data.images.size()));
  image_file.read(bytes.data(), bytes.size(), "pixels");
  std::transform(bytes.begin(), bytes.end(), data.images.data(),
                 [](unsigned char b) { return static_cast<Scalar>(b) / Scalar(255); });
  return data;
}

Matrix gather_images(const Dataset& data, const std::vector<Index>& rows, bool append_ones) {
  const Index n = static_cast<Index>(rows.size());
  for (Index k = 0; k < n; ++k) {
    const Index i = rows[static_cast<std::size_t>(k)];
    if (i < 0 || i >= data.size()) {
      throw ValueError(fmt::format("gather_images: rows[{}] is {}, but the data set has rows 0..{}",
                                   k, i, data.size() - 1));
    }
  }
  Matrix out(n, kFashionMnistPixels + (append_ones ? 1 : 0));
  for (Index k = 0; k < n; ++k)
    out.row(k).head(kFashionMnistPixels) = data.images.row(rows[static_cast<std::size_t>(k)]);
  if (append_ones) out.col(kFashionMnistPixels).setOnes();
  return out;
}

Matrix gather_labels(const Dataset& data, const std::vector<Index>& rows) {
  const Index n = static_cast<Index>(rows.size());
  Matrix out(n, 1);
  for (Index k = 0; k < n; ++k) {
    const Index i = rows[static_cast<std::size_t>(k)];
    if (i < 0 || i >= data.size()) {
      throw ValueError(fmt::format("gather_labels: rows[{}] is {}, but the data set has rows 0..{}",
                                   k, i, data.size() - 1));
    }
    out(k, 0) = data.labels_col(i, 0);
  }
  return out;
}

}  // namespace vesta::examples
