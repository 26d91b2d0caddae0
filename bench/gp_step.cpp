// A Gaussian process regression step over the number of points n: y ~ MultivariateNormal(0,
// K + s^2 I) with a squared-exponential kernel K, its length scale, amplitude and noise s as
// params (an empty guide: type-II maximum likelihood), Trace_ELBO, Adam, double. Each step
// factorises an n x n matrix and differentiates through the factor (cholesky, triangular
// solves): n x n temporaries and Eigen's packing blocks, which the step must keep for the next
// one, so that page faults per step stay at 0. One JSON line per n; --n N runs that one only.
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const long only = bench::option(argc, argv, "--n", 0);
  std::vector<Index> sizes = {50, 100, 200, 300, 500};
  if (only > 0) sizes = {Index(only)};
  for (const Index n : sizes) {
    param_store().clear();
    Rng rng(1);
    // Points on [0, 1] and y = sin(6 x) + noise; the squared distances are data.
    Matrix d2(n, n), y(1, n);
    for (Index i = 0; i < n; ++i) {
      const double xi = double(i) / double(n);
      y(0, i) = Scalar(std::sin(6 * xi)) + Scalar(0.1) * rng.normal(1, 1)(0, 0);
      for (Index j = 0; j < n; ++j) {
        const double xj = double(j) / double(n);
        d2(i, j) = Scalar((xi - xj) * (xi - xj));
      }
    }
    const Tensor D2(d2), Y(y), eye(Matrix(Matrix::Identity(n, n)));
    const Tensor zero(Matrix(Matrix::Zero(1, n)));
    auto model = [&] {
      const Tensor length = param("length", Matrix::Constant(1, 1, 0.3), constraints::positive());
      const Tensor amplitude =
          param("amplitude", Matrix::Constant(1, 1, 1.0), constraints::positive());
      const Tensor noise = param("noise", Matrix::Constant(1, 1, 0.3), constraints::positive());
      const Tensor K = amplitude * exp(D2 * (Scalar(-0.5) / (length * length))) +
                       eye * (noise * noise + Scalar(1e-6));
      sample("y", MultivariateNormal::from_covariance(zero, K), Y);
    };
    auto guide = [] {};
    Adam adam(Scalar(0.01));
    SVI svi(model, guide, adam);
    svi.set_progress(nullptr);
    double loss = 0;
    // About a tenth of a second per batch of calls.
    const double cube = double(n) * double(n) * double(n);
    const int calls = static_cast<int>(std::max(1.0, 1e7 / cube));
    const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(); }, calls, 7);
    fmt::print(R"({{"bench": "gp_step", "scalar": "{}", "n": {}, "us_per_step": {:.1f}, )"
               R"("cpu_us_per_step": {:.1f}, "page_faults_per_step": {:.1f}, "threads": {}, )"
               R"("loss": {:.6g}}})"
               "\n",
               bench::scalar_name(), n, t.wall * 1e6, t.cpu * 1e6, t.faults, num_threads(), loss);
  }
}
