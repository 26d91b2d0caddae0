// The variational autoencoder of examples/vae.cpp (Pyro's tutorial networks), shared with
// the tests: the decoder and the model, the encoder and the guide, both in a data plate over
// the training set that sees a minibatch's rows (see the example's description).
#pragma once

#include <vector>

#include <vesta/vesta.hpp>

#include "support/fashion_mnist.hpp"

namespace vesta::examples {

/// Hidden units of the encoder and of the decoder.
inline constexpr Index kVaeHidden = 400;

/// The decoder and the model. Its params ("decoder.fc1.weight", ...) are created on the first
/// step and read from the ParamStore afterwards.
struct VaeModel {
  Index data_size;  ///< N: the plate's size, for the minibatch's scale N / B
  Index latent;     ///< The dimension of z.
  MLP decoder;      ///< latent -> 400 (softplus) -> 784 logits

  VaeModel(Index data_size, Index latent)
      : data_size(data_size),
        latent(latent),
        decoder("decoder", {latent, kVaeHidden, kFashionMnistPixels}, softplus) {}

  /// X: the minibatch's images (B x 784); rows: their indices in the data set.
  void operator()(const Tensor& X, const std::vector<Index>& rows) const {
    auto data = plate("data", data_size, rows);
    // One row of the prior, which the plate spreads to the minibatch's B rows.
    const Tensor z = sample("z", Normal(Tensor::zeros(1, latent), 1).to_event(1));
    sample("x", Bernoulli::from_logits(decoder(z)).with_soft_targets().to_event(1), X);
  }
};

/// The encoder and the guide.
struct VaeGuide {
  Index data_size;
  Linear fc1, fc21, fc22;  ///< 784 -> 400, then 400 -> L twice: loc and log scale

  VaeGuide(Index data_size, Index latent)
      : data_size(data_size),
        fc1("encoder.fc1", kFashionMnistPixels, kVaeHidden),
        fc21("encoder.fc21", kVaeHidden, latent),
        fc22("encoder.fc22", kVaeHidden, latent) {}

  void operator()(const Tensor& X, const std::vector<Index>& rows) const {
    auto data = plate("data", data_size, rows);
    const Tensor h = softplus(fc1(X));
    sample("z", Normal(fc21(h), exp(fc22(h))).to_event(1));
  }

  /// The encoder's mean of z for each row of X.
  Tensor loc(const Tensor& X) const { return fc21(softplus(fc1(X))); }
};

}  // namespace vesta::examples
