// What the inference tests share: a clean parameter store per test, the ten-observation
// Normal-mean model (ANCHORS.md's W4) with its hand-written guide, and the running mean and
// spread of SVI iterates, from which fitted values get their tolerances.
#pragma once

#include <cmath>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

namespace vesta::testing {

/// Clears the ParamStore when a test starts and ends, and resets the tape at the end.
struct FreshParams {
  FreshParams() { param_store().clear(); }
  ~FreshParams() {
    param_store().clear();
    tape().reset();
  }
  FreshParams(const FreshParams&) = delete;
  FreshParams& operator=(const FreshParams&) = delete;
};

/// Ten observations for normal_mean_model.
inline Matrix data10() {
  Matrix x(10, 1);
  x << 0.9, 1.4, 0.2, 1.1, 0.7, 1.8, 0.5, 1.2, 0.95, 1.3;
  return x;
}

/// z ~ N(0, 1); x_i ~ N(z, 1) in a plate. The posterior of z is N(sum(x) / (n + 1),
/// 1 / sqrt(n + 1)).
inline void normal_mean_model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", x.rows());
  sample("x", Normal(z, 1), Tensor(x));
}

/// q(z) = N(loc, scale) from the params "loc" and "scale" (positive).
inline void normal_mean_guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

/// The mean and spread of each entry of a quantity over iterations. SVI iterates fluctuate
/// with the gradient noise; their spread is the run's own error.
struct Running {
  Matrix sum, sum_sq;
  int n = 0;
  void add(const Matrix& m) {
    if (n == 0) {
      sum = Matrix::Zero(m.rows(), m.cols());
      sum_sq = sum;
    }
    sum += m;
    sum_sq += m.cwiseProduct(m);
    ++n;
  }
  void add(double v) { add(Matrix::Constant(1, 1, Scalar(v))); }
  Matrix mean() const { return sum / n; }
  Matrix sd() const { return (sum_sq / n - mean().cwiseProduct(mean())).cwiseMax(0).cwiseSqrt(); }
};

/// SVI with `loss` and normal_mean_guide on normal_mean_model over data10() recovers the
/// conjugate posterior (precision 1 + n, mean sum(x) / (1 + n)): the mean of the last 2000 of
/// 6000 Adam iterates within 4 of their sds (the run's own error) plus 0.01.
template <class Loss>
void check_svi_recovers_normal_mean_posterior(Loss loss) {
  const Matrix x = data10();
  const double post_sd = 1 / std::sqrt(11.0);
  const double post_mean = x.sum() / 11.0;
  set_rng_seed(11);
  Adam adam(0.01);
  SVI svi(&normal_mean_model, &normal_mean_guide, adam, std::move(loss));
  const int steps = 6000, tail = 2000;
  Running r;
  for (int t = 0; t < steps; ++t) {
    svi.step(x);
    if (t >= steps - tail) {
      r.add((Matrix(1, 2) << param("loc").item(), param("scale").item()).finished());
      tape().reset();
    }
  }
  const double loc = r.mean()(0), scale = r.mean()(1), loc_sd = r.sd()(0), scale_sd = r.sd()(1);
  INFO("loc " << loc << " (sd " << loc_sd << ") vs " << post_mean << "; scale " << scale << " (sd "
              << scale_sd << ") vs " << post_sd);
  CHECK(std::abs(loc - post_mean) < 4 * loc_sd + 0.01);
  CHECK(std::abs(scale - post_sd) < 4 * scale_sd + 0.01);
}

}  // namespace vesta::testing
