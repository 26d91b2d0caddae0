// How the smallest model's SVI step grows with the data: z ~ N(0, 1), N observations
// x_i ~ N(z, 1) in a plate, guide N(loc, scale), Trace_ELBO, Adam, for N from 10 to 10^6.
// A step should cost a fixed overhead plus a few nanoseconds per point, and touch no fresh
// memory once warmed up (page faults per step about 0). One JSON line per N.
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

namespace {

void model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", x.rows());
  sample("x", Normal(z, 1), x);
}

void guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

}  // namespace

int main(int argc, char** argv) {
  const long only = bench::option(argc, argv, "--n", 0);
  std::vector<Index> sizes = {10, 100, 1000, 2000, 3000, 10000, 100000, 1000000};
  if (only > 0) sizes = {Index(only)};
  for (const Index N : sizes) {
    param_store().clear();
    Rng rng(5);
    const Matrix x = (rng.normal(N, 1).array() + 1).matrix();
    set_rng_seed(1);
    Adam adam(0.01);
    SVI svi(&model, &guide, adam);
    svi.set_progress(nullptr);
    double loss = 0;
    const int calls = static_cast<int>(std::max<Index>(2, 2000000 / (N + 2000)));
    const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(x); }, calls, 7);
    fmt::print(
        R"({{"bench": "svi_size_sweep", "scalar": "{}", "n": {}, "us_per_step": {:.2f}, "ns_per_point": {:.2f}, )"
        R"("cpu_us_per_step": {:.2f}, "page_faults_per_step": {:.2f}, "loss": {:.6g}}})"
        "\n",
        bench::scalar_name(), N, t.wall * 1e6, t.wall * 1e9 / double(N), t.cpu * 1e6, t.faults,
        loss);
  }
}
