// The Fashion-MNIST BNN step of ANCHORS.md workload W3 (the model of
// examples/bnn_fashion_mnist.cpp), shared by bench/bnn_step and bench/bnn_size_sweep:
// HiddenLayers 784(+1)-hidden(+1)-10, ReLU, Categorical likelihood, the KL counted once
// (KL_factor 1), Adam lr 1e-3, Trace_ELBO with an empty guide, over 16 minibatches made
// beforehand and taken in turn.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include <vesta/vesta.hpp>

#include "fashion_data.hpp"
#include "gemm_floor.hpp"

namespace vesta::bench {

struct FashionBnn {
  void operator()(const Tensor& X, const std::optional<Tensor>& labels,
                  const std::vector<Index>& rows) const {
    const Tensor a1_mean = param("a1_mean"), a1_scale = param("a1_scale");
    const Tensor a2_mean = param("a2_mean"), a2_scale = param("a2_scale");
    auto data = plate("data", kFashionTrainSize, rows);
    const Tensor h1 = sample("h1", HiddenLayer(X, a1_mean, a1_scale));
    const Tensor logits =
        sample("logits", HiddenLayer(h1, a2_mean, a2_scale,
                                     {.include_hidden_bias = false, .non_linearity = identity}));
    sample("label", Categorical::from_logits(logits), labels);
  }
};

/// The guide of a model whose only latent sites are HiddenLayers: empty.
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
        svi_(FashionBnn{}, EmptyGuide{}, adam_) {
    const Index D1 = examples::kFashionMnistPixels + 1, D2 = hidden + 1;
    const Index K = examples::kFashionMnistClasses;
    param_store().clear();
    set_rng_seed(1);
    Rng rng(2);
    param("a1_mean", rng.normal(D1, hidden) / std::sqrt(Scalar(D1)));
    param("a1_scale", Matrix::Constant(D1, hidden, Scalar(0.01)), constraints::positive());
    param("a2_mean", rng.normal(D2, K) / std::sqrt(Scalar(D2)));
    param("a2_scale", Matrix::Constant(D2, K, Scalar(0.01)), constraints::positive());
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
  SVI<FashionBnn, EmptyGuide> svi_;
  std::size_t next_ = 0;
};

}  // namespace vesta::bench
