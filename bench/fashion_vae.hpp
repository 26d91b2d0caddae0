// The Fashion-MNIST variational autoencoder step (the model and guide of examples/vae.cpp),
// shared by bench/vae_step and bench/vae_size_sweep: encoder 784-400-(latent, latent),
// softplus hidden units, exp scale; decoder latent-400-784, softplus hidden units, Bernoulli
// logits on the pixel intensities; a data plate over the 60000 training images seeing one
// minibatch; Adam lr 1e-3; 16 minibatches made beforehand and taken in turn.
#pragma once

#include <vector>

#include <vesta/vesta.hpp>

#include "fashion_data.hpp"
#include "gemm_floor.hpp"

namespace vesta::bench {

inline constexpr Index kVaeHidden = 400;

struct FashionVaeModel {
  Index latent;
  MLP decoder;
  explicit FashionVaeModel(Index latent)
      : latent(latent),
        decoder("decoder", {latent, kVaeHidden, examples::kFashionMnistPixels}, softplus) {}
  void operator()(const Tensor& X, const std::vector<Index>& rows) const {
    auto data = plate("data", kFashionTrainSize, rows);
    const Tensor z = sample("z", Normal(Tensor::zeros(1, latent), 1).to_event(1));
    sample("x", Bernoulli::from_logits(decoder(z)).with_soft_targets().to_event(1), X);
  }
};

struct FashionVaeGuide {
  Linear fc1, fc21, fc22;
  explicit FashionVaeGuide(Index latent)
      : fc1("encoder.fc1", examples::kFashionMnistPixels, kVaeHidden),
        fc21("encoder.fc21", kVaeHidden, latent),
        fc22("encoder.fc22", kVaeHidden, latent) {}
  void operator()(const Tensor& X, const std::vector<Index>& rows) const {
    auto data = plate("data", kFashionTrainSize, rows);
    const Tensor h = softplus(fc1(X));
    sample("z", Normal(fc21(h), exp(fc22(h))).to_event(1));
  }
};

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
        svi_(FashionVaeModel{latent}, FashionVaeGuide{latent}, adam_, std::move(loss)) {
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
  SVI<FashionVaeModel, FashionVaeGuide, Loss> svi_;
  std::size_t next_ = 0;
};

}  // namespace vesta::bench
