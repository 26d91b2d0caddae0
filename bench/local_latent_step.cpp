// An SVI step with one local latent per data point, its guide from each reparameterised family
// that draws its noise itself (Normal, LogNormal, Laplace, StudentT): z_i ~ N(0, 1),
// x_i ~ N(z_i, 1) in a plate of n points, a guide q(z_i) with a loc and a positive scale per
// point, Trace_ELBO, Adam, the build's scalar. Each step draws n values of noise (and for
// StudentT n gamma variates), which must come from memory the step keeps for the next one, so
// that page faults per step stay at 0. One JSON line per family and n.
#include <string>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  for (const std::string family : {"normal", "lognormal", "laplace", "studentt"}) {
    for (const Index n : {20000, 50000, 100000, 300000}) {
      param_store().clear();
      set_rng_seed(1);
      Rng rng(3);
      const Matrix x = rng.normal(n, 1);
      auto model = [](const Matrix& xs) {
        auto p = plate("data", xs.rows());
        const Tensor z = sample("z", Normal(Tensor::zeros(xs.rows(), 1), 1));
        sample("x", Normal(z, 1), Tensor(xs));
      };
      auto guide = [&family](const Matrix& xs) {
        auto p = plate("data", xs.rows());
        const Tensor loc = param("loc", Matrix::Zero(xs.rows(), 1));
        const Tensor s = param("s", Matrix::Ones(xs.rows(), 1), constraints::positive());
        if (family == "lognormal") {
          sample("z", LogNormal(loc, s));
        } else if (family == "laplace") {
          sample("z", Laplace(loc, s));
        } else if (family == "studentt") {
          sample("z", StudentT(Scalar(5), loc, s));
        } else {
          sample("z", Normal(loc, s));
        }
      };
      Adam adam(Scalar(1e-3));
      SVI svi(model, guide, adam);
      svi.set_progress(nullptr);
      // A few steps first: the pool, the tape and the optimizer's state reach their size.
      for (int i = 0; i < 5; ++i) svi.step(x);
      double loss = 0;
      const int calls = static_cast<int>(std::max<Index>(1, 2000000 / n));
      const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(x); }, calls, 7);
      fmt::print(R"({{"bench": "local_latent_step", "scalar": "{}", "estimator": "{}", "n": {}, )"
                 R"("us_per_step": {:.1f}, "cpu_us_per_step": {:.1f}, )"
                 R"("page_faults_per_step": {:.1f}, "loss": {:.6g}}})"
                 "\n",
                 bench::scalar_name(), family, n, t.wall * 1e6, t.cpu * 1e6, t.faults, loss);
    }
  }
}
