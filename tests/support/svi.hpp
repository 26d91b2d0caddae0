// What the inference tests share: a clean parameter store per test, the ten-observation
// Normal-mean model (ANCHORS.md's W4) with its hand-written guide, and the running mean and
// spread of SVI iterates, from which fitted values get their tolerances.
#pragma once

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

}  // namespace vesta::testing
