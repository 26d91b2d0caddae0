// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) for the examples and benchmarks: a reader of
// the four gzipped IDX files as Debian's dataset-fashion-mnist package installs them, giving
// each split as Eigen matrices ready to become Tensors, and the names of the ten classes.
//
//   Dataset test = load_fashion_mnist("test");    // 10000 images, 28x28 = 784 pixels each
//   Tensor X(test.images);                         // 10000 x 784, pixels in [0, 1]
//   sample("y", Categorical::from_logits(logits), Tensor(test.labels_col));
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <vesta/core/error.hpp>
#include <vesta/core/scalar.hpp>

namespace vesta::examples {

/// A data set file that is missing, unreadable, truncated or not what its name says.
class DatasetError : public Error {
 public:
  using Error::Error;
};

/// Pixels per image (28 x 28) and the number of classes.
inline constexpr Index kFashionMnistPixels = 784;
inline constexpr Index kFashionMnistSide = 28;
inline constexpr int kFashionMnistClasses = 10;

/// The class of each label 0..9, as the data set's authors name them.
inline constexpr std::array<const char*, kFashionMnistClasses> kFashionMnistClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// Images one per row, each row contiguous (as in the file): copying a random minibatch of
/// rows then reads whole images rather than one pixel per cache line.
using ImageMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// One split of Fashion-MNIST.
struct Dataset {
  /// n x 784: image i in row i, its 28 rows of 28 pixels left to right, top to bottom, each
  /// pixel its byte value / 255, so in [0, 1] (0 is the background). `Tensor(Matrix(images))`
  /// makes it a Tensor; gather_images() copies a minibatch.
  ImageMatrix images;
  /// The class of each image, 0..9 (see kFashionMnistClassNames).
  std::vector<int> labels;
  /// The same labels as an n x 1 column of Scalars: the observations of a Categorical.
  Matrix labels_col;

  Index size() const { return images.rows(); }
};

/// Where the data set is read from by default: $VESTA_FASHION_MNIST_DIR if set and not empty,
/// otherwise /usr/share/datasets/fashion-mnist (where dataset-fashion-mnist installs it).
std::string default_fashion_mnist_dir();

/// Reads the "train" split (60000 images: train-images-idx3-ubyte.gz and
/// train-labels-idx1-ubyte.gz) or the "test" split (10000: t10k-...) from `dir`, keeping the
/// first `max_images` images if given (for quick runs and small memory). Throws
/// DatasetError naming the file when it is missing (with the command that installs it),
/// unreadable, truncated, or has the wrong IDX magic number or sizes, and ValueError for an
/// unknown split or a max_images below 1.
Dataset load_fashion_mnist(const std::string& split,
                           const std::string& dir = default_fashion_mnist_dir(),
                           std::optional<Index> max_images = std::nullopt);

/// The images of `rows` (in that order) as a rows.size() x 784 matrix, with a column of ones
/// appended (785 columns) when `append_ones` is set: the input of a layer with a bias row.
/// Throws ValueError naming an index outside 0..size()-1.
Matrix gather_images(const Dataset& data, const std::vector<Index>& rows, bool append_ones = false);

/// The labels of `rows` (in that order) as a rows.size() x 1 column of Scalars; throws as
/// gather_images.
Matrix gather_labels(const Dataset& data, const std::vector<Index>& rows);

}  // namespace vesta::examples
