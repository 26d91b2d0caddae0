// The Fashion-MNIST BNN of examples/bnn_fashion_mnist.cpp, shared with its benchmarks
// (bench/bnn_step, bench/distributed_bnn_step): two HiddenLayers, 784 pixels (+1 ones column,
// the bias) -> H ReLU units (+1 ones column) -> 10 logits, and a Categorical likelihood on the
// labels, in a data plate over the training set; the layers' params are in the model and
// the guide is empty (see the example's description).
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include <vesta/vesta.hpp>

#include "support/fashion_mnist.hpp"

namespace vesta::examples {

/// The model; its params live in the ParamStore (init_fashion_mnist_bnn makes them).
struct FashionMnistBnn {
  Index data_size;  ///< N, the training set's size

  /// X: B x 785 images with a ones column; labels: B x 1 (none to draw them); rows: the
  /// training rows of this minibatch (none: X is a whole data set of its own, as at
  /// prediction).
  void operator()(const Tensor& X, const std::optional<Tensor>& labels,
                  const std::vector<Index>& rows) const {
    const Tensor a1_mean = param("a1_mean"), a1_scale = param("a1_scale");
    const Tensor a2_mean = param("a2_mean"), a2_scale = param("a2_scale");
    const Index B = X.rows();
    auto data = rows.empty() ? plate("data", B) : plate("data", data_size, rows);
    const Tensor h1 = sample("h1", HiddenLayer(X, a1_mean, a1_scale));
    const Tensor logits =
        sample("logits", HiddenLayer(h1, a2_mean, a2_scale,
                                     {.include_hidden_bias = false, .non_linearity = identity}));
    sample("label", Categorical::from_logits(logits), labels);
  }
};

/// Creates the params of a BNN with `hidden` units: A_mean ~ N(0, 2 / D) (ReLU layer) and
/// N(0, 1 / D) (output layer) entrywise, A_scale = 0.01.
inline void init_fashion_mnist_bnn(Index hidden, Rng& rng) {
  const Index D1 = kFashionMnistPixels + 1, D2 = hidden + 1;
  param("a1_mean", rng.normal(D1, hidden) * std::sqrt(Scalar(2) / Scalar(D1)));
  param("a1_scale", Matrix::Constant(D1, hidden, Scalar(0.01)), constraints::positive());
  param("a2_mean", rng.normal(D2, kFashionMnistClasses) / std::sqrt(Scalar(D2)));
  param("a2_scale", Matrix::Constant(D2, kFashionMnistClasses, Scalar(0.01)),
        constraints::positive());
}

}  // namespace vesta::examples
