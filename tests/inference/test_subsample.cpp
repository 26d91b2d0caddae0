// Subsampling and particles in SVI: a plate that sees 10 of 100 observations per step
// (scaled by 100/10) leads Adam to the same optimum as the full batch, which is the analytic
// posterior; and averaging k particles in Trace_ELBO divides the variance of the loss and of
// its gradient by k.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;

namespace {

using Fresh = vesta::testing::FreshParams;

constexpr Index kN = 100;

// N observations x_i ~ N(2, 1), from a fixed seed.
Matrix data100() {
  Rng rng(2024);
  Matrix x = rng.normal(kN, 1);
  x.array() += Scalar(2);
  return x;
}

// z ~ N(0, 1); x_i ~ N(z, 1). The plate over the data sees `batch` rows per run (all of
// them by default) and scales their log-probability by N / batch.
auto make_model(std::optional<Index> batch) {
  return [batch](const Matrix& x) {
    const Tensor z = sample("z", Normal(0, 1));
    auto p = plate("data", x.rows(), batch);
    sample("x", Normal(z, 1), gather_rows(Tensor(x), p.indices()));
  };
}

void guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

// The mean and standard deviation of a parameter's final iterates.
struct Iterates {
  double loc = 0, loc_sd = 0, scale = 0, scale_sd = 0;
};

// Trains from a fresh store with Adam: 0.01 for the first 8000 steps, then 0.0005, and
// averages the last `tail` iterates, by which point they have long settled at the small rate.
Iterates fit(std::optional<Index> batch, std::uint64_t seed) {
  Fresh fresh;
  const Matrix x = data100();
  set_rng_seed(seed);
  Adam adam(0.01);
  adam.set_schedule([](std::int64_t step) { return Scalar(step < 8000 ? 0.01 : 0.0005); });
  SVI svi(make_model(batch), guide, adam);
  svi.set_progress(nullptr);
  const int steps = 20000, tail = 8000;
  svi.run(steps - tail, x);
  double sl = 0, sl2 = 0, ss = 0, ss2 = 0;
  for (int t = 0; t < tail; ++t) {
    svi.step(x);
    const double l = param("loc").item(), s = param("scale").item();
    tape().reset();
    sl += l;
    sl2 += l * l;
    ss += s;
    ss2 += s * s;
  }
  Iterates it;
  it.loc = sl / tail;
  it.scale = ss / tail;
  it.loc_sd = std::sqrt(std::max(sl2 / tail - it.loc * it.loc, 0.0));
  it.scale_sd = std::sqrt(std::max(ss2 / tail - it.scale * it.scale, 0.0));
  return it;
}

// Mean, variance and kurtosis (fourth central moment over the squared variance) of a sample.
struct Moments {
  double mean = 0, var = 0, kurtosis = 0;
};

Moments moments(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  Moments m;
  for (double x : v) m.mean += x / n;
  double m4 = 0;
  for (double x : v) {
    const double d2 = (x - m.mean) * (x - m.mean);
    m.var += d2 / n;
    m4 += d2 * d2 / n;
  }
  m.kurtosis = m4 / (m.var * m.var);
  return m;
}

}  // namespace

TEST_CASE("Subsampled SVI converges to the same optimum as full-batch SVI on a small problem",
          "[inference][svi][subsample]") {
  const Matrix x = data100();
  // Conjugate posterior: precision N + 1, mean sum(x) / (N + 1).
  const double post_mean = x.cast<double>().sum() / (kN + 1);
  const double post_sd = 1 / std::sqrt(double(kN + 1));
  const Iterates full = fit(std::nullopt, 8);
  const Iterates sub = fit(Index(10), 9);
  INFO("posterior: loc " << post_mean << ", scale " << post_sd);
  INFO("full batch: loc " << full.loc << " (sd " << full.loc_sd << "), scale " << full.scale
                          << " (sd " << full.scale_sd << ")");
  INFO("subsampled: loc " << sub.loc << " (sd " << sub.loc_sd << "), scale " << sub.scale << " (sd "
                          << sub.scale_sd << ")");
  // The spread of the iterates is each run's own error (their average is closer than that).
  // The slack covers what the spread does not: the full batch's iterates barely move once q
  // is the posterior (the ELBO gradient then has no variance), and float rounding.
  const double slack = 2e-3;
  CHECK(std::abs(full.loc - post_mean) < 4 * full.loc_sd + slack);
  CHECK(std::abs(full.scale - post_sd) < 4 * full.scale_sd + slack);
  CHECK(std::abs(sub.loc - post_mean) < 4 * sub.loc_sd + slack);
  CHECK(std::abs(sub.scale - post_sd) < 4 * sub.scale_sd + slack);
  CHECK(std::abs(sub.loc - full.loc) < 4 * std::hypot(sub.loc_sd, full.loc_sd) + slack);
  CHECK(std::abs(sub.scale - full.scale) < 4 * std::hypot(sub.scale_sd, full.scale_sd) + slack);
  // Without the N / batch scaling the subsampled fit would be the posterior given 10
  // observations, mean about 10 * mean(x) / 11 and scale 1 / sqrt(11): the tolerances are
  // well under half those distances.
  CHECK(4 * sub.loc_sd + slack < 0.5 * (post_mean - x.mean() * 10 / 11));
  CHECK(4 * sub.scale_sd + slack < 0.5 * (1 / std::sqrt(11.0) - post_sd));
}

TEST_CASE(
    "averaging particles in Trace_ELBO divides the variance of the loss and gradient by their "
    "number",
    "[inference][svi][subsample]") {
  Fresh fresh;
  const Matrix x = data100();
  // Fixed parameters away from the posterior, where the estimates do vary.
  param("loc", Matrix::Constant(1, 1, 1.5));
  param("scale", Matrix::Constant(1, 1, 0.3), constraints::positive());
  const Tensor& loc_leaf = param_store().entry("loc").unconstrained;
  const Tensor& scale_leaf = param_store().entry("scale").unconstrained;
  auto model = make_model(std::nullopt);
  auto gde = guide;
  const int n = 6000;
  auto estimates = [&](int particles, std::vector<double>& losses, std::vector<double>& grads) {
    Trace_ELBO elbo(particles);
    for (int k = 0; k < n; ++k) {
      const Tensor loss = elbo.differentiable_loss(model, gde, x);
      losses.push_back(loss.item());
      loss.backward();
      grads.push_back(loc_leaf.grad()(0, 0));
      loc_leaf.zero_grad();
      scale_leaf.zero_grad();
      tape().reset();
    }
  };
  set_rng_seed(21);
  std::vector<double> loss1, grad1, loss8, grad8;
  estimates(1, loss1, grad1);
  estimates(8, loss8, grad8);
  // The k-particle estimate averages k independent single-particle ones, so its variance is
  // 1/k of theirs. Each sample variance s^2 of n independent draws has, by the delta method,
  // Var(log s^2) ~ (kurtosis - 1) / n (2 / n for normal draws, where s1^2 / s8^2 is 8 times an
  // F(n-1, n-1) variable). The gradient of loc is normal here (linear in the guide's normal
  // draw); the loss is quadratic in it, so its kurtosis is estimated from the sample. The
  // log of the variance ratio must be within 4 standard errors of log 8.
  auto check_ratio = [&](const std::vector<double>& one, const std::vector<double>& eight,
                         const char* what) {
    const Moments m1 = moments(one), m8 = moments(eight);
    const double log_ratio = std::log(m1.var / m8.var);
    const double se = std::sqrt((m1.kurtosis - 1) / n + (m8.kurtosis - 1) / n);
    INFO(what << ": variance " << m1.var << " with 1 particle, " << m8.var << " with 8 (ratio "
              << std::exp(log_ratio) << ", within a factor " << std::exp(4 * se)
              << " of 8 expected); means " << m1.mean << " and " << m8.mean);
    CHECK(std::abs(log_ratio - std::log(8.0)) < 4 * se);
    // Both are unbiased estimates of the same quantity.
    CHECK(std::abs(m1.mean - m8.mean) < 4 * std::sqrt(m1.var / n + m8.var / n));
  };
  check_ratio(loss1, loss8, "loss");
  check_ratio(grad1, grad8, "gradient of loc");
}
