// Fashion-MNIST minibatches for the benchmarks of dense steps (bench/bnn_step, bench/vae_step
// and their size sweeps): the training split read once, cut into minibatches made before
// timing so that their copying is not timed.
#pragma once

#include <optional>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/fashion_mnist.hpp"

namespace vesta::bench {

/// Images in Fashion-MNIST's training split: the size of the steps' data plate.
inline constexpr Index kFashionTrainSize = 60000;

/// The first `images` images of the training split, or nullopt after saying on stderr, after
/// `bench`, why they could not be read (the message names the package that installs them).
inline std::optional<examples::Dataset> load_fashion_train(const char* bench, Index images) {
  try {
    return examples::load_fashion_mnist("train", examples::default_fashion_mnist_dir(), images);
  } catch (const examples::DatasetError& e) {
    fmt::print(stderr, "{}: {}\n", bench, e.what());
    return std::nullopt;
  }
}

/// A minibatch: its images (with a column of ones for a bias row if asked), its labels if
/// asked, and the indices of its rows in the plate.
struct FashionBatch {
  Tensor X;
  std::optional<Tensor> labels;
  std::vector<Index> rows;
};

/// `count` consecutive minibatches of `batch` images from the start of `train` (which must
/// hold batch * count images).
inline std::vector<FashionBatch> fashion_batches(const examples::Dataset& train, Index batch,
                                                 Index count, bool with_ones_and_labels) {
  std::vector<FashionBatch> batches;
  for (Index b = 0; b < count; ++b) {
    std::vector<Index> rows(static_cast<std::size_t>(batch));
    for (Index k = 0; k < batch; ++k) rows[static_cast<std::size_t>(k)] = b * batch + k;
    FashionBatch fb{Tensor(examples::gather_images(train, rows, with_ones_and_labels)),
                    std::nullopt, rows};
    if (with_ones_and_labels) fb.labels = Tensor(examples::gather_labels(train, rows));
    batches.push_back(std::move(fb));
  }
  return batches;
}

}  // namespace vesta::bench
