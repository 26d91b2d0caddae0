// The Fashion-MNIST variational autoencoder step (the model and guide of examples/vae.cpp, in
// examples/support/vae_networks.hpp),
// shared by bench/vae_step and bench/vae_size_sweep: encoder 784-400-(latent, latent),
// softplus hidden units, exp scale; decoder latent-400-784, softplus hidden units, Bernoulli
// logits on the pixel intensities; a data plate over the 60000 training images seeing one
// minibatch; Adam lr 1e-3; 16 minibatches made beforehand and taken in turn.
#pragma once

#include <vector>

#include <vesta/vesta.hpp>

#include "fashion_data.hpp"
#include "gemm_floor.hpp"
#include "support/vae_networks.hpp"

namespace vesta::bench {

using examples::kVaeHidden;
using examples::VaeGuide;
using examples::VaeModel;

/// The step at one size with the ELBO estimator `Loss`: clears the param store, makes the
/// minibatches, seeds the generator (the layers draw their params at the first step), and step()
/// runs one SVI step on the next minibatch, returning its loss.
template <class Loss = Trace_ELBO>
class FashionVaeStep {
 public:
  static constexpr Index kNumBatches = 16;

  /// `train` must hold batch * kNumBatches images.
  FashionVaeStep(const examples::Dataset& train, Index batch, Index latent, Loss loss = Loss())
      : batch_(batch),
        latent_(latent),
        batches_(fashion_batches(train, batch, kNumBatches, false)),
        adam_(Scalar(1e-3)),
        svi_(VaeModel(kFashionTrainSize, latent), VaeGuide(kFashionTrainSize, latent), adam_,
             std::move(loss)) {
    param_store().clear();
    set_rng_seed(1);
  }

  double step() {
    const FashionBatch& b = batches_[next_++ % batches_.size()];
    return svi_.step(b.X, b.rows);
  }

  /// The step's GEMMs: each layer a batch x in x out product forward, one for its weight's
  /// gradient, and one for its input's gradient unless the input is data. Encoder fc1 (input
  /// X, data): batch x 784 x 400 without an input gradient. Its heads fc21 and fc22 (input
  /// h): batch x 400 x latent with one. Decoder fc1 (input z, drawn by rsample): batch x
  /// latent x 400 with one; fc2: batch x 400 x 784 with one. About 411 MFLOP at batch 128,
  /// latent 10. The elementwise work (softplus, the Bernoulli's cross-entropy, the Normal
  /// densities, Adam) is not counted.
  std::vector<Product> gemms() const {
    const Index P = examples::kFashionMnistPixels, H = kVaeHidden;
    return {{batch_, P, H, false},
            {batch_, H, latent_, true},
            {batch_, H, latent_, true},
            {batch_, latent_, H, true},
            {batch_, H, P, true}};
  }

 private:
  Index batch_, latent_;
  std::vector<FashionBatch> batches_;
  Adam adam_;
  SVI<VaeModel, VaeGuide, Loss> svi_;
  std::size_t next_ = 0;
};

}  // namespace vesta::bench
