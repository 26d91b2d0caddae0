// Cost of one SVI step on the smallest model: z ~ Normal(0, 1), ten x_i ~ Normal(z, 1) in a
// plate, guide Normal(loc, scale), Trace_ELBO, Adam. Nearly all of it is the machinery (the
// handler stack, two traces, the tape, the parameter store, the optimizer), not arithmetic.
// The fitted posterior is printed beside the closed form, to show the steps timed are real.
#include <cmath>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

namespace {

void model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", x.rows());
  sample("x", Normal(z, 1), Tensor(x));
}

void guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

}  // namespace

int main() {
  Matrix x(10, 1);
  x << 0.9, 1.4, 0.2, 1.1, 0.7, 1.8, 0.5, 1.2, 0.95, 1.3;
  set_rng_seed(1);
  Adam adam(0.01);
  SVI svi(model, guide, adam);

  // Training: 5000 steps reach the posterior and warm up the caches and the tape's arena.
  const int train_steps = 5000;
  double sink = 0;
  for (int i = 0; i < train_steps; ++i) sink += svi.step(x);

  // Then the median over batches of further steps (one more batch is the timer's warm-up).
  const int per_batch = 1000, batches = 15;
  const double seconds =
      bench::median_seconds_per_call([&] { sink += svi.step(x); }, per_batch, batches);
  const int steps = train_steps + per_batch * (batches + 1);

  // The final parameters: at this learning rate they fluctuate with the gradient noise by
  // about 0.03 (loc) and 0.015 (scale) around the optimum.
  const double loc = param("loc").item(), scale = param("scale").item();
  tape().reset();
  const double exact_loc = x.sum() / 11.0, exact_scale = 1 / std::sqrt(11.0);
  fmt::print(
      "SVI step on z ~ N(0, 1), 10 x ~ N(z, 1): {:.2f} us; after {} steps loc {:.4f} (exact "
      "{:.4f}), "
      "scale {:.4f} (exact {:.4f})\n",
      seconds * 1e6, steps, loc, exact_loc, scale, exact_scale);
  fmt::print(
      R"({{"bench": "svi_overhead", "scalar": "{}", "us_per_step": {:.3f}, "steps": {}, "loc": {:.5f}, "scale": {:.5f}, "exact_loc": {:.5f}, "exact_scale": {:.5f}, "checksum": {:.6g}}})"
      "\n",
      bench::scalar_name(), seconds * 1e6, steps, loc, scale, exact_loc, exact_scale, sink);
}
