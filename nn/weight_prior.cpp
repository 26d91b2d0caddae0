#include <vesta/nn/weight_prior.hpp>

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/kl.hpp>

namespace vesta {

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2

void check_scale(const std::string& who, const char* what, Scalar s) {
  if (!(s > 0) || !std::isfinite(s)) {
    throw ValueError(
        fmt::format("{}: prior {} is {}, but must be positive and finite", who, what, s));
  }
}

}  // namespace

// ---- NormalPrior -----------------------------------------------------------------------

Tensor NormalPrior::log_prob(const Tensor& w) const {
  const double s = scale;
  return Scalar(-std::log(s) - kHalfLog2Pi) - square(w) * Scalar(0.5 / (s * s));
}

Tensor NormalPrior::kl(const Tensor& loc, const Tensor& scale_q) const {
  return normal_kl_to_centered_sum(loc, scale_q, Tensor(Scalar(scale)));
}

std::string NormalPrior::describe() const { return fmt::format("Normal(0, {})", scale); }

void NormalPrior::validate(const std::string& who) const { check_scale(who, "scale", scale); }

// ---- ScaleMixturePrior -------------------------------------------------------------------

Tensor ScaleMixturePrior::log_prob(const Tensor& w) const {
  const double p = pi, s1 = sigma1, s2 = sigma2;
  // The two weighted log-densities, a = log(pi N(w; 0, s1^2)) and b = log((1-pi) N(w; 0, s2^2)),
  // and their difference d = a - b, each computed directly (no cancellation).
  const Tensor w2 = square(w);
  const Tensor a = Scalar(std::log(p) - std::log(s1) - kHalfLog2Pi) - w2 * Scalar(0.5 / (s1 * s1));
  const Tensor b =
      Scalar(std::log1p(-p) - std::log(s2) - kHalfLog2Pi) - w2 * Scalar(0.5 / (s2 * s2));
  const Tensor d = Scalar(std::log(p) - std::log1p(-p) + std::log(s2) - std::log(s1)) -
                   w2 * Scalar(0.5 * (1 / (s1 * s1) - 1 / (s2 * s2)));
  // log(e^a + e^b) = a + softplus(-d) where a >= b, and b + softplus(d) elsewhere: the larger
  // term carries the value, the softplus a correction in [0, log 2].
  const Matrix a_larger = (d.value().array() >= 0).cast<Scalar>().matrix();
  return where(Tensor(a_larger), a + softplus(-d), b + softplus(d));
}

std::string ScaleMixturePrior::describe() const {
  return fmt::format("ScaleMixture(pi={}, sigma1={}, sigma2={})", pi, sigma1, sigma2);
}

void ScaleMixturePrior::validate(const std::string& who) const {
  if (!(pi > 0 && pi < 1)) {
    throw ValueError(fmt::format("{}: prior pi is {}, but must be in (0, 1)", who, pi));
  }
  check_scale(who, "sigma1", sigma1);
  check_scale(who, "sigma2", sigma2);
}

// ---- WeightPrior ---------------------------------------------------------------------

bool has_analytic_kl(const WeightPrior& prior) {
  return std::holds_alternative<NormalPrior>(prior);
}

std::string describe(const WeightPrior& prior) {
  return std::visit([](const auto& p) { return p.describe(); }, prior);
}

}  // namespace vesta
