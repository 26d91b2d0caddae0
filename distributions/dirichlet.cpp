#include <vesta/distributions/dirichlet.hpp>

#include <limits>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/gamma_reparam.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
Tensor draw(const Tensor& concentration, Rng& rng) {
  // G_i / sum_j G_j with independent G_i ~ Gamma(alpha_i, 1): the gradients reach each
  // alpha_i through the Gammas' implicit reparameterisation (Figurnov et al. 2018).
  // Entries stay above the smallest normal number, as in Pyro, so that log_prob is finite.
  const Tensor g = detail::standard_gamma(concentration, rng);
  return clamp(g / rowwise_sum(g), std::numeric_limits<Scalar>::min(), Scalar(1));
}
}  // namespace

Dirichlet::Dirichlet(Tensor concentration) : concentration_(std::move(concentration)) {
  if (concentration_.cols() == 0 || concentration_.rows() == 0) {
    throw ShapeError(
        fmt::format("Dirichlet: concentration is {}, but needs at least one row and column",
                    concentration_.shape()));
  }
  validate_args([&] { detail::check_positive("Dirichlet", "concentration", concentration_); });
}

Tensor Dirichlet::rsample_impl(Rng& rng) const { return draw(concentration_, rng); }

Tensor Dirichlet::sample_impl(Rng& rng) const { return draw(concentration_.detach(), rng); }

Tensor Dirichlet::log_prob_impl(const Tensor& value) const {
  if (value.cols() != cols()) {
    throw ShapeError(fmt::format("Dirichlet: value is {}, but a draw of {} has {} columns",
                                 value.shape(), describe(), cols()));
  }
  validate_sample(value);
  const Tensor& a = concentration_;
  // x log y form: an entry with alpha_i = 1 is finite at x_i = 0.
  return rowwise_sum(detail::xlogy(a - Scalar(1), value)) + lgamma(rowwise_sum(a)) -
         rowwise_sum(lgamma(a));
}

DistributionPtr Dirichlet::expand(Index rows, Index cols) const {
  if (cols != this->cols() || (concentration_.rows() != 1 && concentration_.rows() != rows)) {
    throw ShapeError(
        fmt::format("{} cannot be expanded to {}: its rows are events of {} categories", describe(),
                    shape_str(rows, cols), this->cols()));
  }
  return std::make_shared<Dirichlet>(detail::broadcast_to(concentration_, rows, cols));
}

Tensor Dirichlet::mean_impl() const { return concentration_ / rowwise_sum(concentration_); }

Tensor Dirichlet::variance_impl() const {
  const Tensor total = rowwise_sum(concentration_);
  const Tensor m = concentration_ / total;
  return m * (Scalar(1) - m) / (total + Scalar(1));
}

Tensor Dirichlet::entropy_impl() const {
  // log B(alpha) + (alpha_0 - K) psi(alpha_0) - sum_i (alpha_i - 1) psi(alpha_i).
  const Tensor& a = concentration_;
  const Tensor total = rowwise_sum(a);
  const Scalar K = static_cast<Scalar>(a.cols());
  return rowwise_sum(lgamma(a)) - lgamma(total) + (total - K) * digamma(total) -
         rowwise_sum((a - Scalar(1)) * digamma(a));
}

}  // namespace vesta
