// The draw of the local reparameterisation trick (Kingma, Salimans & Welling 2015), shared by
// HiddenLayer and DenseLocalReparameterization: a dense layer with independent Normal weights
// gives each pre-activation a Normal law, mean X M and variance (X∘X)(S∘S), so the layer
// draws the pre-activations themselves instead of a weight matrix.
#pragma once

#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// mean + sqrt(variance) ∘ ε with ε ~ N(0, 1) drawn from `rng` (mean's shape, column-major
/// order), as one differentiable op: one pass forward, one backward, no intermediate nodes.
/// The square root is taken of variance plus the smallest normal Scalar, which keeps its
/// gradient finite where the variance is 0 (an input row of zeros) and changes no other
/// value. Throws ShapeError when the shapes differ; the variance must be non-negative.
Tensor local_reparameterized_draw(const Tensor& mean, const Tensor& variance, Rng& rng);

}  // namespace vesta
