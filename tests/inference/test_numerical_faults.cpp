// Numerical faults, as a property over random small models and random (often far too large)
// learning rates: an SVI step either succeeds and leaves every parameter finite, or throws an
// error that names a site or a param, and then leaves every parameter that existed before the
// step exactly as it was. The ParamStore never holds a NaN or an infinity.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;

namespace {

using Fresh = vesta::testing::FreshParams;

std::map<std::string, Matrix> snapshot() {
  std::map<std::string, Matrix> out;
  for (const auto& [name, e] : param_store().entries()) out[name] = e.unconstrained.matrix();
  return out;
}

std::unique_ptr<Optimizer> random_optimizer(Rng& rng) {
  // Learning rates from 1e-3 to 1e8, log-uniform: most of them make the run diverge.
  const Scalar lr = static_cast<Scalar>(std::pow(10.0, -3 + 11 * double(rng.uniform())));
  switch (rng() % 5) {
    case 0:
      return std::make_unique<Adam>(lr);
    case 1:
      return std::make_unique<SGD>(lr, Scalar(0.9));
    case 2:
      return std::make_unique<SGD>(lr);
    case 3:
      return std::make_unique<RMSProp>(lr);
    default:
      return std::make_unique<Adagrad>(lr);
  }
}

// One random model with its guide and data, as a step function and the names its errors may
// mention (its sites and params).
struct Case {
  std::string description;
  std::function<double(Optimizer&)> make_svi_and_step;
  std::vector<std::string> names;
};

// Each kind of model draws its sizes and its data's scale (from 1e-2 to 1e4) from `rng`.
Case random_case(Rng& rng, int kind) {
  const Index n = 1 + Index(rng() % 20), d = 1 + Index(rng() % 4);
  const Scalar scale = static_cast<Scalar>(std::pow(10.0, -2 + 6 * double(rng.uniform())));
  const Matrix X = rng.normal(n, d), noise = rng.normal(n, 1);
  const Matrix y = (X.rowwise().sum() + noise) * scale;
  switch (kind) {
    case 0: {  // Normal mean with a hand-written guide
      auto m = [](const Matrix& yy) {
        const Tensor z = sample("z", Normal(0, 1));
        auto p = plate("data", yy.rows());
        sample("y", Normal(z, 1), yy);
      };
      auto g = [](const Matrix&) {
        sample("z", Normal(param("loc", Matrix::Zero(1, 1)),
                           param("scale", Matrix::Ones(1, 1), constraints::positive())));
      };
      return {"normal mean",
              [=](Optimizer& opt) { return SVI(m, g, opt).step(y); },
              {"z", "y", "loc", "scale"}};
    }
    case 1: {  // a positive scale latent, fitted by AutoNormal
      auto m = [](const Matrix& yy) {
        const Tensor s = sample("s", LogNormal(0, 1));
        auto p = plate("data", yy.rows());
        sample("y", Normal(0, s), yy);
      };
      return {"LogNormal scale, AutoNormal",
              [=](Optimizer& opt) {
                AutoNormal guide(m);
                return SVI(m, guide, opt).step(y);
              },
              {"s", "y", "AutoNormal.locs.s", "AutoNormal.scales.s"}};
    }
    case 2: {  // Bayesian logistic regression, AutoDiagonalNormal
      const Matrix labels = (y.array() > 0).cast<Scalar>().matrix();
      auto m = [d](const Matrix& XX, const Matrix& ll) {
        const Tensor w = sample("w", Normal(Tensor::zeros(d, 1), 1).to_event(2));
        auto p = plate("data", XX.rows());
        sample("label", Bernoulli::from_logits(matmul(Tensor(XX), w)), ll);
      };
      const Matrix Xs = X * scale;
      return {"logistic regression, AutoDiagonalNormal",
              [=](Optimizer& opt) {
                AutoDiagonalNormal guide(m);
                return SVI(m, guide, opt).step(Xs, labels);
              },
              {"w", "label", "AutoDiagonalNormal.loc", "AutoDiagonalNormal.scale"}};
    }
    default: {  // a HiddenLayer BNN whose params are in the model
      Matrix Xb(n, d + 1);
      Xb << X * scale, Matrix::Ones(n, 1);
      auto m = [d](const Matrix& XX, const Matrix& yy) {
        const Tensor h = sample(
            "h", HiddenLayer(
                     XX, param("a1_mean", Matrix::Constant(d + 1, 8, 0.1)),
                     param("a1_scale", Matrix::Constant(d + 1, 8, 0.01), constraints::positive())));
        const Tensor f = sample(
            "f",
            HiddenLayer(h, param("a2_mean", Matrix::Constant(9, 1, 0.1)),
                        param("a2_scale", Matrix::Constant(9, 1, 0.01), constraints::positive()),
                        {.include_hidden_bias = false, .non_linearity = identity}));
        const Tensor sigma = param("sigma", Matrix::Ones(1, 1), constraints::positive());
        auto p = plate("data", XX.rows());
        sample("y", Normal(f, sigma), yy);
      };
      auto g = [](const Matrix&, const Matrix&) {};
      return {"HiddenLayer BNN",
              [=](Optimizer& opt) { return SVI(m, g, opt).step(Xb, y); },
              {"h", "f", "y", "a1_mean", "a1_scale", "a2_mean", "a2_scale", "sigma"}};
    }
  }
}

bool names_one_of(const std::string& message, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (message.find("'" + name + "'") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a step with a bad learning rate succeeds with finite params or throws naming them",
          "[inference][faults]") {
  Rng rng(2026);
  int failures = 0, successes = 0;
  for (int trial = 0; trial < 80; ++trial) {
    Fresh fresh;
    const int kind = trial % 4;
    const Case c = random_case(rng, kind);
    const std::unique_ptr<Optimizer> opt = random_optimizer(rng);
    set_rng_seed(static_cast<std::uint64_t>(trial));
    for (int step = 0; step < 40; ++step) {
      const auto before = snapshot();
      try {
        c.make_svi_and_step(*opt);
        ++successes;
      } catch (const Error& e) {
        ++failures;
        INFO(c.description << ", step " << step << ": " << e.what());
        CHECK(names_one_of(e.what(), c.names));
        // Every param the step found is as it was.
        for (const auto& [name, value] : before) {
          CHECK(param_store().entry(name).unconstrained.matrix() == value);
        }
      }
      tape().reset();
      for (const auto& [name, e] : param_store().entries()) {
        INFO(c.description << ", step " << step << ", param " << name);
        REQUIRE(e.unconstrained.value().allFinite());
      }
    }
  }
  // The learning rates reach far enough that both outcomes occur many times.
  CHECK(failures > 100);
  CHECK(successes > 100);
}

TEST_CASE("an update that overflows in a later param leaves the earlier ones untouched",
          "[inference][faults]") {
  Fresh fresh;
  param("first", Matrix::Constant(2, 1, 1));
  param("second", Matrix::Constant(2, 1, 1));
  SGD sgd(2);
  // The gradient of `second` is large enough that lr * g overflows; that of `first` is not.
  const Scalar big = std::numeric_limits<Scalar>::max() * Scalar(0.75);
  (sum(param("first")) + sum(param("second") * Tensor(Matrix::Constant(2, 1, big)))).backward();
  CHECK_THROWS_WITH(sgd.step(), Catch::Matchers::Contains("'second'") &&
                                    Catch::Matchers::Contains("No parameter was updated"));
  CHECK(param_store().entry("first").unconstrained.matrix() == Matrix::Constant(2, 1, 1));
  CHECK(param_store().entry("second").unconstrained.matrix() == Matrix::Constant(2, 1, 1));
  CHECK(sgd.steps() == 0);
  // The next step with sane gradients goes ahead from the same values.
  tape().reset();
  (sum(param("first")) + sum(param("second"))).backward();
  sgd.step();
  CHECK(param_store().entry("first").unconstrained.matrix()(0, 0) == Approx(-1));
}

TEST_CASE("a failed step leaves the optimizer's state as it was", "[inference][faults]") {
  // SGD with momentum on two params; in one run, step 3 overflows in the second param (which
  // comes after the first in the store). The first param's momentum and values must come out
  // of the failed step untouched: the run then continues exactly as a run without step 3.
  const Scalar max = std::numeric_limits<Scalar>::max();
  auto run = [max](bool poison) {
    ParamStore store;
    ParamStoreScope use(store);
    SGD sgd(Scalar(1), Scalar(0.9));
    for (int step = 0; step < 8; ++step) {
      TapeStep scope;
      const Tensor small = param("small", Matrix::Constant(2, 1, 3));
      const Tensor big = param("big", Matrix::Constant(1, 1, -max / 2));
      Tensor loss = Scalar(0.1) * sum(square(small - 1));
      if (step == 3) {
        if (!poison) continue;
        (loss + sum(big * (max * Scalar(0.75)))).backward();
        CHECK_THROWS_WITH(sgd.step(), Catch::Matchers::Contains("'big'"));
        continue;
      }
      (loss + sum(big * Scalar(0))).backward();
      sgd.step();
    }
    return store.entry("small").unconstrained.matrix();
  };
  const Matrix poisoned = run(true);
  CHECK(poisoned == run(false));
  CHECK(poisoned(0, 0) != 3);  // it moved
}
