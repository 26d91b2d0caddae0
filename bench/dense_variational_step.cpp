// The SVI step of a regression network in -> hidden (relu) -> 1 of two Bayesian dense layers,
// for each estimator (reparameterization, local reparameterization, Flipout), over a few
// sizes (batch x in x hidden), y ~ N(net(x), 0.1) in a plate, Trace_ELBO, Adam, double. The
// weight noise, Flipout's random signs and the layer's temporaries are batch- or weight-sized
// every step: a step should keep them for the next one, so that page faults per step stay at
// 0. One JSON line per estimator and size.
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  struct Size {
    Index batch, in, hidden;
  };
  for (const Size s : {Size{128, 100, 100}, Size{128, 784, 400}, Size{1000, 200, 200}}) {
    Rng rng(3);
    const Matrix x = rng.normal(s.batch, s.in), y = rng.normal(s.batch, 1);
    for (const DenseEstimator e :
         {DenseEstimator::reparameterization, DenseEstimator::local_reparameterization,
          DenseEstimator::flipout}) {
      param_store().clear();
      set_rng_seed(1);
      const auto fc1 = make_dense_variational(e, "fc1", s.in, s.hidden, {.activation = relu});
      const auto fc2 = make_dense_variational(e, "fc2", s.hidden, 1, {});
      auto model = [&](const Matrix& xs, const Matrix& ys) {
        const Tensor mu = (*fc2)((*fc1)(Tensor(xs)));
        auto p = plate("data", xs.rows());
        sample("y", Normal(mu, Scalar(0.1)), Tensor(ys));
      };
      auto guide = [](const Matrix&, const Matrix&) {};
      Adam adam(Scalar(1e-3));
      SVI svi(model, guide, adam);
      svi.set_progress(nullptr);
      double loss = 0;
      // About a tenth of a second per batch of calls.
      const double work = double(s.batch) * double(s.in) * double(s.hidden);
      const int calls = static_cast<int>(std::max(1.0, 2e7 / work));
      // A few steps first: the pool, the tape and the optimizer's state reach their size.
      for (int i = 0; i < 5; ++i) svi.step(x, y);
      const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(x, y); }, calls, 7);
      fmt::print(R"({{"bench": "dense_variational_step", "scalar": "{}", "estimator": "{}", )"
                 R"("batch": {}, "in": {}, "hidden": {}, "us_per_step": {:.1f}, )"
                 R"("cpu_us_per_step": {:.1f}, "page_faults_per_step": {:.1f}, "threads": {}, )"
                 R"("loss": {:.6g}}})"
                 "\n",
                 bench::scalar_name(), to_string(e), s.batch, s.in, s.hidden, t.wall * 1e6,
                 t.cpu * 1e6, t.faults, num_threads(), loss);
    }
  }
}
