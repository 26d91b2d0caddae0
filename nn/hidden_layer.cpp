#include <vesta/nn/hidden_layer.hpp>

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/kl.hpp>
#include <vesta/distributions/params.hpp>
#include <vesta/nn/local_reparameterization.hpp>

namespace vesta {

HiddenLayer::HiddenLayer(Tensor X, Tensor A_mean, Tensor A_scale, HiddenLayerOptions options)
    : X_(std::move(X)),
      A_mean_(std::move(A_mean)),
      A_scale_(std::move(A_scale)),
      options_(std::move(options)) {
  if (X_.cols() != A_mean_.rows()) {
    throw ShapeError(
        fmt::format("HiddenLayer: X is {} but A_mean is {}; X needs one column per row of A_mean",
                    X_.shape(), A_mean_.shape()));
  }
  if (A_scale_.rows() != A_mean_.rows() || A_scale_.cols() != A_mean_.cols()) {
    throw ShapeError(
        fmt::format("HiddenLayer: A_scale is {} but A_mean is {}; they must have the same shape",
                    A_scale_.shape(), A_mean_.shape()));
  }
  const Tensor& p = options_.A_prior_scale;
  const Index D = A_mean_.rows(), H = A_mean_.cols();
  if ((p.rows() != 1 && p.rows() != D) || (p.cols() != 1 && p.cols() != H)) {
    throw ShapeError(fmt::format(
        "HiddenLayer: A_prior_scale is {}; it must be a scalar, 1x{}, {}x1 or {} (A_mean's shape)",
        p.shape(), H, D, A_mean_.shape()));
  }
  prior_scale_ = p.size() == 1 ? p : detail::broadcast_to(p, D, H);
  if (!options_.non_linearity) throw ValueError("HiddenLayer: non_linearity is empty");
  if (!(options_.KL_factor >= 0) || !std::isfinite(options_.KL_factor)) {
    throw ValueError(fmt::format("HiddenLayer: KL_factor is {}, but must be finite and >= 0",
                                 options_.KL_factor));
  }
  validate_args([&] {
    detail::check_finite("HiddenLayer", "A_mean", A_mean_);
    detail::check_positive("HiddenLayer", "A_scale", A_scale_);
    detail::check_positive("HiddenLayer", "A_prior_scale", p);
  });
}

Tensor HiddenLayer::rsample_impl(Rng& rng) const {
  Tensor pre;
  if (options_.weight_space_sampling) {
    const Tensor A =
        A_mean_ + A_scale_ * detail::standard_normal(rng, A_mean_.rows(), A_mean_.cols());
    pre = matmul(X_, A);
  } else {
    // Each pre-activation is a sum of independent Normals x_d A_dh: mean X A_mean, variance
    // (X∘X)(A_scale∘A_scale), one GEMM each.
    pre =
        local_reparameterized_draw(matmul(X_, A_mean_), matmul(square(X_), square(A_scale_)), rng);
  }
  const Tensor out = options_.non_linearity(pre);
  if (out.rows() != pre.rows() || out.cols() != pre.cols()) {
    throw ShapeError(
        fmt::format("HiddenLayer: non_linearity turned {} pre-activations into {}; it must act "
                    "elementwise",
                    pre.shape(), out.shape()));
  }
  return options_.include_hidden_bias ? append_ones_column(out) : out;
}

const Tensor& HiddenLayer::kl() const {
  if (!kl_) {
    check_args();
    kl_ = normal_kl_to_centered_sum(A_mean_, A_scale_, prior_scale_);
  }
  return *kl_;
}

Tensor HiddenLayer::log_prob_impl(const Tensor&) const {
  return options_.KL_factor == 1 ? -kl() : kl() * -options_.KL_factor;
}

}  // namespace vesta
