// Normal log_prob of a 128x400 batch, forward and backward, as an SVI step would run it:
// the cost per element of the most common term of every ELBO.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  const Index R = 128, C = 400;
  Rng rng(1);
  const Tensor x(rng.normal(R, C));
  const Tensor loc = Tensor::variable(rng.normal(R, C) * Scalar(0.1));
  const Tensor scale = Tensor::variable(Matrix::Constant(R, C, 1.3));
  double sink = 0;
  const double seconds = bench::median_seconds_per_call(
      [&] {
        const Tensor lp = sum(Normal(loc, scale).log_prob(x));
        lp.backward();
        sink += lp.item();
        tape().reset();
      },
      200, 15);
  const double per_s = double(R * C) / seconds;
  fmt::print(
      "Normal log_prob {}x{} forward+backward: {:.1f} us, {:.3g} elements/s (validation on)\n", R,
      C, seconds * 1e6, per_s);
  fmt::print(
      R"({{"bench": "normal_log_prob", "scalar": "{}", "rows": {}, "cols": {}, "us_per_call": {:.2f}, "elements_per_s": {:.4g}, "checksum": {:.6g}}})"
      "\n",
      bench::scalar_name(), R, C, seconds * 1e6, per_s, sink + loc.grad()(0, 0));
}
