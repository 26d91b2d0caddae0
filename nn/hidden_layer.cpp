#include <vesta/nn/hidden_layer.hpp>

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/kl.hpp>
#include <vesta/distributions/params.hpp>
#include <vesta/nn/local_reparameterization.hpp>

namespace vesta {

NonLinearity HiddenLayer::relu_nonlinearity() {
  return [](const Tensor& x) { return relu(x); };
}

HiddenLayer::HiddenLayer(Tensor X, Tensor A_mean, Tensor A_scale, NonLinearity non_linearity, Scalar KL_factor,
                         Tensor A_prior_scale, bool include_hidden_bias, bool weight_space_sampling)
    : X_(std::move(X)), A_mean_(std::move(A_mean)), A_scale_(std::move(A_scale)),
      non_linearity_(std::move(non_linearity)), KL_factor_(KL_factor), A_prior_scale_(std::move(A_prior_scale)),
      include_hidden_bias_(include_hidden_bias), weight_space_sampling_(weight_space_sampling) {
  if (X_.cols() != A_mean_.rows()) {
    throw ShapeError(fmt::format("HiddenLayer: X is {} but A_mean is {}; X needs one column per row of A_mean",
                                 X_.shape(), A_mean_.shape()));
  }
  if (A_scale_.rows() != A_mean_.rows() || A_scale_.cols() != A_mean_.cols()) {
    throw ShapeError(fmt::format("HiddenLayer: A_scale is {} but A_mean is {}; they must have the same shape",
                                 A_scale_.shape(), A_mean_.shape()));
  }
  const bool prior_scalar = A_prior_scale_.rows() == 1 && A_prior_scale_.cols() == 1;
  if (!prior_scalar && (A_prior_scale_.rows() != A_mean_.rows() || A_prior_scale_.cols() != A_mean_.cols())) {
    throw ShapeError(fmt::format("HiddenLayer: A_prior_scale is {}; it must be a scalar or {} like A_mean",
                                 A_prior_scale_.shape(), A_mean_.shape()));
  }
  if (!non_linearity_) throw ValueError("HiddenLayer: non_linearity is empty");
  if (!std::isfinite(KL_factor_)) throw ValueError(fmt::format("HiddenLayer: KL_factor is {}, but must be finite", KL_factor_));
  if (validation_enabled()) {
    detail::check_finite("HiddenLayer", "A_mean", A_mean_);
    detail::check_positive("HiddenLayer", "A_scale", A_scale_);
    detail::check_positive("HiddenLayer", "A_prior_scale", A_prior_scale_);
  }
}

Tensor HiddenLayer::rsample(Rng& rng) const {
  Tensor pre;
  if (weight_space_sampling_) {
    const Tensor A = A_mean_ + A_scale_ * Tensor(rng.normal(A_mean_.rows(), A_mean_.cols()));
    pre = matmul(X_, A);
  } else {
    // Each pre-activation is a sum of independent Normals x_d A_dh: mean X A_mean, variance
    // (X∘X)(A_scale∘A_scale), one GEMM each.
    pre = local_reparameterized_draw(matmul(X_, A_mean_), matmul(square(X_), square(A_scale_)), rng);
  }
  const Tensor out = non_linearity_(pre);
  if (out.rows() != pre.rows() || out.cols() != pre.cols()) {
    throw ShapeError(fmt::format("HiddenLayer: non_linearity turned {} pre-activations into {}; it must act "
                                 "elementwise",
                                 pre.shape(), out.shape()));
  }
  return include_hidden_bias_ ? append_ones_column(out) : out;
}

const Tensor& HiddenLayer::kl() const {
  if (!kl_) {
    kl_ = normal_kl_to_centered_sum(A_mean_, A_scale_, A_prior_scale_);
  }
  return *kl_;
}

Tensor HiddenLayer::log_prob(const Tensor&) const {
  const Scalar rows = Scalar(X_.rows());
  return Tensor::full(X_.rows(), 1, Scalar(1) / rows) * (-KL_factor_ * kl());
}

}  // namespace vesta
