// Trace_ELBO and SVI against closed forms: the ELBO estimate averages to the exact ELBO of a
// Gaussian model, a hand-written guide recovers the analytic posterior, the score-function
// gradient of a discrete latent is unbiased against enumeration, and misuse is named.
#include <cmath>

#include <catch2/catch.hpp>

#include <vesta/inference/svi.hpp>
#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;
using vesta::testing::data10;
constexpr auto model = &vesta::testing::normal_mean_model;
constexpr auto guide = &vesta::testing::normal_mean_guide;

const double kLog2Pi = std::log(2 * M_PI);

}  // namespace

TEST_CASE("the Trace_ELBO estimate averages to the exact ELBO", "[inference][svi]") {
  Fresh fresh;
  const Matrix x = data10();
  const double m = 0.4, s = 0.6;
  param("loc", Matrix::Constant(1, 1, m));
  param("scale", Matrix::Constant(1, 1, s), constraints::positive());
  // E_q[log p(z, x)] - E_q[log q(z)] for q = N(m, s^2), in closed form.
  double exact = -0.5 * kLog2Pi - 0.5 * (m * m + s * s) + 0.5 * std::log(2 * M_PI * M_E * s * s);
  for (Index i = 0; i < x.rows(); ++i)
    exact += -0.5 * kLog2Pi - 0.5 * ((x(i, 0) - m) * (x(i, 0) - m) + s * s);
  Trace_ELBO elbo;
  auto mdl = model;
  auto gde = guide;
  const int n = 20000;
  double s1 = 0, s2 = 0;
  set_rng_seed(5);
  for (int k = 0; k < n; ++k) {
    const double v = -elbo.differentiable_loss(mdl, gde, x).item();
    s1 += v;
    s2 += v * v;
    tape().reset();
  }
  const double mean = s1 / n;
  const double se = std::sqrt((s2 / n - mean * mean) / n);
  INFO("estimate " << mean << " +- " << se << ", exact " << exact);
  CHECK(std::abs(mean - exact) < 5 * se);
}

TEST_CASE("SVI with a hand-written guide recovers the analytic posterior", "[inference][svi]") {
  Fresh fresh;
  vesta::testing::check_svi_recovers_normal_mean_posterior(Trace_ELBO());
}

TEST_CASE("the score-function gradient of a discrete latent is unbiased", "[inference][svi]") {
  Fresh fresh;
  // z ~ Bernoulli(0.3); x ~ N(2z, 1) observed at 1.6; guide q(z) = Bernoulli(sigmoid(theta)).
  const double theta = 0.2, x = 1.6;
  auto disc_model = [&] {
    const Tensor z = sample("z", Bernoulli::from_probs(0.3));
    sample("x", Normal(2 * z, 1), Tensor(Scalar(x)));
  };
  auto disc_guide = [&] {
    sample("z", Bernoulli::from_logits(param("theta", Matrix::Constant(1, 1, theta))));
  };
  // The exact ELBO by enumerating z, and its derivative by central differences.
  auto exact_elbo = [&](double th) {
    const double q1 = 1 / (1 + std::exp(-th));
    double e = 0;
    for (int z = 0; z <= 1; ++z) {
      const double q = z ? q1 : 1 - q1;
      const double log_p =
          std::log(z ? 0.3 : 0.7) - 0.5 * kLog2Pi - 0.5 * (x - 2 * z) * (x - 2 * z);
      e += q * (log_p - std::log(q));
    }
    return e;
  };
  const double h = 1e-5;
  const double exact_grad = (exact_elbo(theta + h) - exact_elbo(theta - h)) / (2 * h);
  Trace_ELBO elbo;
  const Tensor& leaf = [&]() -> const Tensor& {
    param("theta", Matrix::Constant(1, 1, theta));
    return param_store().entry("theta").unconstrained;
  }();
  const int n = 40000;
  double s1 = 0, s2 = 0;
  set_rng_seed(3);
  for (int k = 0; k < n; ++k) {
    elbo.differentiable_loss(disc_model, disc_guide).backward();
    const double g = -leaf.grad()(0, 0);  // the loss is minus the ELBO
    leaf.zero_grad();
    tape().reset();
    s1 += g;
    s2 += g * g;
  }
  const double mean = s1 / n;
  const double se = std::sqrt((s2 / n - mean * mean) / n);
  INFO("estimated " << mean << " +- " << se << ", exact " << exact_grad);
  CHECK(std::abs(mean - exact_grad) < 5 * se);
  // The loss reported is minus the ELBO of the draw, the surrogate term adding only gradient:
  // the same seed gives the same traces, whose log-probabilities are subtracted by hand.
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    set_rng_seed(seed);
    const double loss = elbo.differentiable_loss(disc_model, disc_guide).item();
    set_rng_seed(seed);
    auto [model_trace, guide_trace] = elbo.traces(disc_model, disc_guide);
    CHECK(loss == Approx(-(model_trace.log_prob_sum() - guide_trace.log_prob_sum()).item()));
    tape().reset();
  }
}

TEST_CASE("a guide site missing from the model is an error naming it", "[inference][svi]") {
  Fresh fresh;
  auto bad_guide = [](const Matrix& x) {
    guide(x);
    sample("extra", Normal(0, 1));
  };
  Adam adam(0.01);
  SVI svi(model, bad_guide, adam);
  CHECK_THROWS_WITH(svi.step(data10()), Contains("'extra'"));
  CHECK(handler_stack().empty());
  // An auxiliary guide site is not expected in the model, but its log_prob counts: the loss
  // of the guide with one equals the plain guide's loss minus its log-density.
  auto aux_guide = [](const Matrix& x) {
    guide(x);
    sample_auxiliary("extra", std::make_shared<Delta>(Tensor(Scalar(0)), Tensor(Scalar(0.75))));
  };
  Trace_ELBO elbo;
  set_rng_seed(3);
  const double plain = elbo.differentiable_loss(model, guide, data10()).item();
  set_rng_seed(3);
  const double with_aux = elbo.differentiable_loss(model, aux_guide, data10()).item();
  CHECK(with_aux == Approx(plain + 0.75));
}

TEST_CASE("a non-finite ELBO names the site and leaves the parameters as they were",
          "[inference][svi]") {
  Fresh fresh;
  // A corrupt observation (NaN, let through with validation off) poisons the ELBO.
  auto bad_model = [](const Matrix&) {
    const Tensor z = sample("z", Normal(0, 1));
    sample("rate_obs", Normal(z, 1), Tensor(std::numeric_limits<Scalar>::quiet_NaN()));
  };
  set_validation(false);
  Adam adam(0.01);
  SVI svi(bad_model, guide, adam);
  param("loc", Matrix::Zero(1, 1));
  param("scale", Matrix::Ones(1, 1), constraints::positive());
  const Matrix before = param_store().entry("loc").unconstrained.matrix();
  bool named = false;
  try {
    svi.step(data10());
  } catch (const ValueError& e) {
    named = std::string(e.what()).find("'rate_obs'") != std::string::npos;
  }
  set_validation(true);
  CHECK(named);
  CHECK(param_store().entry("loc").unconstrained.matrix() == before);
}
