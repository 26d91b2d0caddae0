// The Fashion-MNIST BNN step of ANCHORS.md workload W3 (the model of
// examples/bnn_fashion_mnist.cpp, in examples/support/fashion_mnist_bnn.hpp), shared by
// bench/bnn_step and bench/bnn_size_sweep: HiddenLayers 784(+1)-hidden(+1)-10, ReLU, Categorical
// likelihood, the KL counted once (KL_factor 1), Adam lr 1e-3, Trace_ELBO with an empty guide, over
// 16 minibatches made beforehand and taken in turn.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include <vesta/vesta.hpp>

#include "fashion_data.hpp"
#include "gemm_floor.hpp"
#include "support/fashion_mnist_bnn.hpp"

namespace vesta::bench {

using examples::FashionMnistBnn;

struct EmptyGuide {
  template <class... Args>
  void operator()(const Args&...) const {}
};

/// The step at one size: clears the param store, makes the minibatches and fresh params
/// (seeded), and step() runs one SVI step on the next minibatch, returning its loss.
class FashionBnnStep {
 public:
  static constexpr Index kNumBatches = 16;

  /// `train` must hold batch * kNumBatches images.
  FashionBnnStep(const examples::Dataset& train, Index batch, Index hidden)
      : batch_(batch),
        hidden_(hidden),
        batches_(fashion_batches(train, batch, kNumBatches, true)),
        adam_(Scalar(1e-3)),
        svi_(FashionMnistBnn{kFashionTrainSize}, EmptyGuide{}, adam_) {
    param_store().clear();
    set_rng_seed(1);
    Rng rng(2);
    examples::init_fashion_mnist_bnn(hidden, rng);
  }

  double step() {
    const FashionBatch& b = batches_[next_++ % batches_.size()];
    return svi_.step(b.X, b.labels, b.rows);
  }

  /// The step's GEMMs. Layer 1 (X is data, so no gradient for it): forward X A_mean and
  /// X^2 A_scale^2, backward X^T G and (X^2)^T G' for the two params: 2 products of
  /// batch x 785 x hidden without an input gradient. Layer 2 (its input h1 needs a gradient):
  /// the same, plus G A_mean^T and G' (A_scale^2)^T for h1: 2 products of batch x (hidden+1)
  /// x 10 with one. The elementwise work (KL, square roots, exp of the scales, Adam) is not
  /// counted.
  std::vector<Product> gemms() const {
    const Index D1 = examples::kFashionMnistPixels + 1, D2 = hidden_ + 1;
    const Index K = examples::kFashionMnistClasses;
    return {{batch_, D1, hidden_, false},
            {batch_, D1, hidden_, false},
            {batch_, D2, K, true},
            {batch_, D2, K, true}};
  }

 private:
  Index batch_, hidden_;
  std::vector<FashionBatch> batches_;
  Adam adam_;
  SVI<FashionMnistBnn, EmptyGuide> svi_;
  std::size_t next_ = 0;
};

}  // namespace vesta::bench
