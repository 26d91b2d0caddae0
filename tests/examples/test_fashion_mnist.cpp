// The Fashion-MNIST reader of examples/support: the test split as the data set's authors
// describe it (10000 images of 784 pixels in [0, 1], exactly 1000 per class), and clear
// errors for a missing folder, a file of the wrong kind and a truncated file.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/fashion_mnist.hpp"

using namespace vesta;
using namespace vesta::examples;
using Catch::Matchers::Contains;

namespace {

// A scratch folder, removed at the end of the scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

void put_u32(std::ofstream& out, std::uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(b, 4);
}

// An uncompressed IDX file (zlib reads plain files as they are): a magic number, the
// dimensions, then `payload` bytes of value 1.
void write_idx(const std::filesystem::path& path, std::uint32_t magic,
               const std::vector<std::uint32_t>& dims, std::size_t payload) {
  std::ofstream out(path, std::ios::binary);
  put_u32(out, magic);
  for (std::uint32_t d : dims) put_u32(out, d);
  const std::string bytes(payload, '\1');
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("Fashion-MNIST test split: 10000 images in [0, 1], 1000 of each class") {
  const Dataset test = load_fashion_mnist("test");
  REQUIRE(test.size() == 10000);
  REQUIRE(test.images.cols() == kFashionMnistPixels);
  REQUIRE(test.labels.size() == 10000);
  REQUIRE(test.labels_col.rows() == 10000);
  REQUIRE(test.labels_col.cols() == 1);

  CHECK(test.images.minCoeff() == 0);
  CHECK(test.images.maxCoeff() == 1);  // 255 / 255: every image has a saturated pixel or more
  const double mean = test.images.mean();
  CHECK(mean > 0.2);  // about 0.286, the figure usually quoted for normalising this data set
  CHECK(mean < 0.4);

  std::vector<int> counts(kFashionMnistClasses, 0);
  for (std::size_t i = 0; i < test.labels.size(); ++i) {
    const int label = test.labels[i];
    REQUIRE(label >= 0);
    REQUIRE(label < kFashionMnistClasses);
    REQUIRE(test.labels_col(Index(i), 0) == Scalar(label));
    ++counts[static_cast<std::size_t>(label)];
  }
  for (int c = 0; c < kFashionMnistClasses; ++c) {
    INFO("class " << c << " (" << kFashionMnistClassNames[static_cast<std::size_t>(c)] << ")");
    CHECK(counts[static_cast<std::size_t>(c)] == 1000);
  }
}

TEST_CASE("Fashion-MNIST: max_images keeps the first images, and gathering picks rows") {
  const Dataset full = load_fashion_mnist("test");
  const Dataset head = load_fashion_mnist("test", default_fashion_mnist_dir(), 300);
  REQUIRE(head.size() == 300);
  CHECK(head.images == full.images.topRows(300));
  CHECK(head.labels_col == full.labels_col.topRows(300));

  const std::vector<Index> rows = {7, 0, 299, 7};
  const Matrix X = gather_images(head, rows, true);
  REQUIRE(X.rows() == 4);
  REQUIRE(X.cols() == kFashionMnistPixels + 1);
  for (Index k = 0; k < 4; ++k) {
    CHECK(X.row(k).head(kFashionMnistPixels) == head.images.row(rows[std::size_t(k)]));
    CHECK(X(k, kFashionMnistPixels) == 1);
    CHECK(gather_labels(head, rows)(k, 0) == head.labels_col(rows[std::size_t(k)], 0));
  }
  CHECK(gather_images(head, rows).cols() == kFashionMnistPixels);
  CHECK_THROWS_WITH(gather_images(head, {0, 300}),
                    Contains("rows[1] is 300") && Contains("0..299"));
}

TEST_CASE("Fashion-MNIST: a missing folder names the file and the package that installs it") {
  CHECK_THROWS_AS(load_fashion_mnist("test", "/nonexistent/fashion-mnist"), DatasetError);
  CHECK_THROWS_WITH(load_fashion_mnist("test", "/nonexistent/fashion-mnist"),
                    Contains("/nonexistent/fashion-mnist/t10k-labels-idx1-ubyte.gz") &&
                        Contains("does not exist") &&
                        Contains("apt-get install dataset-fashion-mnist"));
  CHECK_THROWS_WITH(load_fashion_mnist("train", "/nonexistent"),
                    Contains("/nonexistent/train-labels-idx1-ubyte.gz"));
}

TEST_CASE(
    "Fashion-MNIST: wrong arguments, wrong magic numbers, wrong sizes and truncation are named") {
  CHECK_THROWS_AS(load_fashion_mnist("validation"), ValueError);
  CHECK_THROWS_WITH(load_fashion_mnist("validation"),
                    Contains("\"validation\"") && Contains("\"train\" or \"test\""));
  CHECK_THROWS_WITH(load_fashion_mnist("test", default_fashion_mnist_dir(), 0),
                    Contains("max_images is 0"));

  TempDir dir("vesta-fmnist-test");
  const auto labels = dir.path / "t10k-labels-idx1-ubyte.gz";
  const auto images = dir.path / "t10k-images-idx3-ubyte.gz";

  SECTION("labels and images swapped") {
    write_idx(labels, 0x00000803, {10000, 28, 28}, 0);
    write_idx(images, 0x00000803, {10000, 28, 28}, 0);
    CHECK_THROWS_WITH(load_fashion_mnist("test", dir.path.string()), Contains(labels.string()) &&
                                                                         Contains("0x00000803") &&
                                                                         Contains("0x00000801"));
  }
  SECTION("a split of the wrong size") {
    write_idx(labels, 0x00000801, {60000}, 0);
    write_idx(images, 0x00000803, {10000, 28, 28}, 0);
    CHECK_THROWS_WITH(load_fashion_mnist("test", dir.path.string()),
                      Contains("holds 60000 labels") && Contains("test split has 10000"));
  }
  SECTION("images of the wrong size") {
    write_idx(labels, 0x00000801, {10000}, 10000);
    write_idx(images, 0x00000803, {10000, 32, 32}, 0);
    CHECK_THROWS_WITH(load_fashion_mnist("test", dir.path.string()),
                      Contains(images.string()) && Contains("32x32") && Contains("28x28"));
  }
  SECTION("a truncated file") {
    write_idx(labels, 0x00000801, {10000}, 10000);
    write_idx(images, 0x00000803, {10000, 28, 28}, 5000);
    CHECK_THROWS_WITH(load_fashion_mnist("test", dir.path.string()),
                      Contains(images.string()) && Contains("ends before its pixels"));
    // Reading only the images that are there succeeds.
    const Dataset few = load_fashion_mnist("test", dir.path.string(), 6);
    CHECK(few.size() == 6);
    CHECK(few.images(5, 783) == Scalar(1) / 255);
  }
  SECTION("a label out of range") {
    write_idx(labels, 0x00000801, {10000}, 0);
    {
      std::ofstream out(labels, std::ios::binary | std::ios::app);
      out.put(3).put(12);
    }
    write_idx(images, 0x00000803, {10000, 28, 28}, 0);
    CHECK_THROWS_WITH(load_fashion_mnist("test", dir.path.string(), 2),
                      Contains("label 1 is 12") && Contains("0..9"));
  }
}
