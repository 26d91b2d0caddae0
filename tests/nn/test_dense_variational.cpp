// Bayesian dense layers: each estimator's output against weight-space sampling (mean,
// variance, and the correlation across examples that tells them apart); the Normal prior's
// KL against the closed form and the scale mixture's Monte Carlo KL against quadrature; the
// factor site and losses(); SVI recovering an exact posterior; the gradient variance of the
// three estimators; gradients against finite differences; the errors that name the layer.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"
#include "support/gradcheck.hpp"
#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using Fresh = vesta::testing::FreshParams;
using vesta::testing::rows_of;
using vesta::testing::Running;

namespace {

const DenseEstimator kEstimators[] = {DenseEstimator::reparameterization,
                                      DenseEstimator::local_reparameterization,
                                      DenseEstimator::flipout};

// rho with softplus(rho) = scale.
Matrix inverse_softplus(const Matrix& scale) { return scale.array().expm1().log().matrix(); }

// A fixed posterior and input for a 3 -> 2 layer. The third example is all zeros, so only the
// bias varies there.
struct Fixture {
  Matrix x = rows_of({{1, -0.5, 2}, {0.3, 1.2, -1}, {0, 0, 0}, {-2, 0.7, 0.4}});
  Matrix kernel_loc = rows_of({{0.5, -0.3}, {0.2, 0.8}, {-0.6, 0.1}});
  Matrix kernel_scale = rows_of({{0.3, 0.1}, {0.5, 0.2}, {0.15, 0.4}});
  Matrix bias_loc = rows_of({{0.1, -0.2}});
  Matrix bias_scale = rows_of({{0.2, 0.05}});

  void set(const DenseVariational& layer) const {
    param_store().set(layer.full_name("kernel_loc"), kernel_loc);
    param_store().set(layer.full_name("kernel_rho"), inverse_softplus(kernel_scale));
    if (layer.has_bias()) {
      param_store().set(layer.full_name("bias_loc"), bias_loc);
      param_store().set(layer.full_name("bias_rho"), inverse_softplus(bias_scale));
    }
  }
  // The exact mean and variance of each output entry: x loc + b_loc, (x*x)(scale*scale) +
  // b_scale^2.
  Matrix mean() const { return (x * kernel_loc).rowwise() + bias_loc.row(0); }
  Matrix variance() const {
    return (x.cwiseAbs2() * kernel_scale.cwiseAbs2()).rowwise() + bias_scale.cwiseAbs2().row(0);
  }
};

// Moments of draws of a batch x out output around a given mean: per entry, the mean and
// variance with their standard errors, and the covariance of examples 0 and 1 per column.
struct Moments {
  Matrix mu;  // the centre
  Matrix s1, s2, s4;
  Matrix c1, c2;  // products of centred examples 0 and 1, per column, and their squares
  int n = 0;
  explicit Moments(Matrix centre)
      : mu(std::move(centre)),
        s1(Matrix::Zero(mu.rows(), mu.cols())),
        s2(s1),
        s4(s1),
        c1(Matrix::Zero(1, mu.cols())),
        c2(c1) {}
  void add(const Matrix& v) {
    const Matrix c = v - mu;
    s1 += c;
    s2 += c.cwiseAbs2();
    s4 += c.cwiseAbs2().cwiseAbs2();
    const Matrix p = c.row(0).cwiseProduct(c.row(1));
    c1 += p;
    c2 += p.cwiseAbs2();
    ++n;
  }
  double mean(Index i, Index j) const { return mu(i, j) + s1(i, j) / n; }
  double mean_se(Index i, Index j) const { return std::sqrt(variance(i, j) / n); }
  double variance(Index i, Index j) const { return s2(i, j) / n - std::pow(s1(i, j) / n, 2); }
  double variance_se(Index i, Index j) const {
    return std::sqrt(std::max(s4(i, j) / n - std::pow(s2(i, j) / n, 2), 0.0) / n);
  }
  double cov01(Index j) const { return c1(0, j) / n; }
  double cov01_se(Index j) const {
    return std::sqrt(std::max(c2(0, j) / n - std::pow(cov01(j), 2), 0.0) / n);
  }
};

}  // namespace

TEST_CASE("each estimator's output has the mean and variance of weight-space sampling",
          "[nn][dense]") {
  Fresh fresh;
  const Fixture f;
  const int n = 20000;
  const Matrix mean = f.mean(), var = f.variance();

  // Weight-space sampling, the reference: a weight matrix and a bias per draw.
  Rng rng(11);
  Moments ref(mean);
  for (int k = 0; k < n; ++k) {
    const Matrix W = f.kernel_loc + f.kernel_scale.cwiseProduct(rng.normal(3, 2));
    const Matrix b = f.bias_loc + f.bias_scale.cwiseProduct(rng.normal(1, 2));
    ref.add((f.x * W).rowwise() + b.row(0));
  }

  set_rng_seed(12);
  for (const DenseEstimator e : kEstimators) {
    const auto layer = make_dense_variational(e, "fc", 3, 2);
    CHECK(layer->estimator() == e);
    f.set(*layer);
    Moments m(mean);
    for (int k = 0; k < n; ++k) {
      m.add((*layer)(Tensor(f.x)).matrix());
      tape().reset();
    }
    for (Index i = 0; i < mean.rows(); ++i) {
      for (Index j = 0; j < mean.cols(); ++j) {
        INFO(
            fmt::format("{}: entry ({}, {}): mean {} (weight space {}, exact {}), variance {} "
                        "(weight space {}, "
                        "exact {})",
                        to_string(e), i, j, m.mean(i, j), ref.mean(i, j), mean(i, j),
                        m.variance(i, j), ref.variance(i, j), var(i, j)));
        // Against the exact moments, and against weight-space sampling (two samples: their
        // standard errors add in quadrature).
        CHECK(std::abs(m.mean(i, j) - mean(i, j)) < 5 * m.mean_se(i, j));
        CHECK(std::abs(m.variance(i, j) - var(i, j)) < 5 * m.variance_se(i, j));
        CHECK(std::abs(m.mean(i, j) - ref.mean(i, j)) <
              5 * std::hypot(m.mean_se(i, j), ref.mean_se(i, j)));
        CHECK(std::abs(m.variance(i, j) - ref.variance(i, j)) <
              5 * std::hypot(m.variance_se(i, j), ref.variance_se(i, j)));
      }
    }
    // What tells them apart: across examples. One weight sample makes examples 0 and 1
    // covary by sum_k x0k x1k scale_kj^2 + b_scale_j^2; local reparameterisation draws them
    // independently; Flipout's random signs remove the kernel's part, leaving the shared bias.
    for (Index j = 0; j < 2; ++j) {
      const double shared_kernel =
          (f.x.row(0).cwiseProduct(f.x.row(1)) * f.kernel_scale.col(j).cwiseAbs2()).value();
      const double bias_var = f.bias_scale(0, j) * f.bias_scale(0, j);
      const double expected = e == DenseEstimator::reparameterization ? shared_kernel + bias_var
                              : e == DenseEstimator::flipout          ? bias_var
                                                                      : 0.0;
      INFO(
          fmt::format("{}: covariance of examples 0 and 1 in column {}: {} +- {}, expected {} "
                      "(weight space {})",
                      to_string(e), j, m.cov01(j), m.cov01_se(j), expected, ref.cov01(j)));
      CHECK(std::abs(m.cov01(j) - expected) < 5 * m.cov01_se(j));
    }
  }
}

TEST_CASE("with a Normal prior the KL is the closed form, whatever the estimator", "[nn][dense]") {
  Fresh fresh;
  const Fixture f;
  const double s = 2, factor = 0.25;
  // sum over weights of log(s / sigma) + (sigma^2 + mu^2) / (2 s^2) - 1/2, in double.
  auto closed_form = [s](const Matrix& loc, const Matrix& scale) {
    double kl = 0;
    for (Index k = 0; k < loc.size(); ++k) {
      const double mu = loc.data()[k], sigma = scale.data()[k];
      kl += std::log(s / sigma) + (sigma * sigma + mu * mu) / (2 * s * s) - 0.5;
    }
    return kl;
  };
  const double kernel_kl = closed_form(f.kernel_loc, f.kernel_scale);
  const double bias_kl = closed_form(f.bias_loc, f.bias_scale);
  // The registry's Normal-Normal KL agrees.
  const double registry = sum(kl_divergence(Normal(Tensor(f.kernel_loc), Tensor(f.kernel_scale)),
                                            Normal(Tensor(Matrix::Zero(3, 2)), Scalar(s))))
                              .item();
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(registry == Approx(kernel_kl).epsilon(tol));
  for (const DenseEstimator e : kEstimators) {
    INFO(to_string(e));
    const auto layer = make_dense_variational(
        e, "fc", 3, 2, {.prior = NormalPrior{Scalar(s)}, .kl_factor = Scalar(factor)});
    f.set(*layer);
    (*layer)(Tensor(f.x));
    REQUIRE(layer->losses().size() == 2);
    CHECK(layer->losses()[0].item() == Approx(factor * kernel_kl).epsilon(tol));
    CHECK(layer->losses()[1].item() == Approx(factor * bias_kl).epsilon(tol));
    CHECK(layer->kl_loss().item() == Approx(factor * (kernel_kl + bias_kl)).epsilon(tol));
    tape().reset();
  }
  // Without a bias there is one loss.
  const auto no_bias = make_dense_variational(DenseEstimator::flipout, "nb", 3, 2, {.bias = false});
  f.set(*no_bias);
  (*no_bias)(Tensor(f.x));
  REQUIRE(no_bias->losses().size() == 1);
  double standard_kl = 0;  // the default prior, Normal(0, 1)
  for (Index k = 0; k < 6; ++k) {
    const double mu = f.kernel_loc.data()[k], sigma = f.kernel_scale.data()[k];
    standard_kl += -std::log(sigma) + (sigma * sigma + mu * mu) / 2 - 0.5;
  }
  CHECK(no_bias->losses()[0].item() == Approx(standard_kl).epsilon(tol));
  tape().reset();
}

TEST_CASE("the scale-mixture KL's Monte Carlo average matches quadrature", "[nn][dense]") {
  Fresh fresh;
  const Fixture f;
  const ScaleMixturePrior prior{Scalar(0.5), Scalar(1), Scalar(0.05)};
  // KL(N(mu, sigma) || p) = -entropy - E[log p(w)], the expectation by adaptive Gauss-Kronrod
  // quadrature over mu +- 12 sigma, split at the spike of the narrow component at 0.
  auto log_p = [&](double w) {
    auto normal = [](double x, double s) {
      return std::exp(-0.5 * x * x / (s * s)) / (s * std::sqrt(2 * M_PI));
    };
    return std::log(double(prior.pi) * normal(w, prior.sigma1) +
                    (1 - double(prior.pi)) * normal(w, prior.sigma2));
  };
  auto reference = [&](const Matrix& loc, const Matrix& scale) {
    double kl = 0;
    for (Index k = 0; k < loc.size(); ++k) {
      const double mu = loc.data()[k], sigma = scale.data()[k];
      auto integrand = [&](double w) {
        const double z = (w - mu) / sigma;
        return std::exp(-0.5 * z * z) / (sigma * std::sqrt(2 * M_PI)) * log_p(w);
      };
      using GK = boost::math::quadrature::gauss_kronrod<double, 61>;
      const double lo = mu - 12 * sigma, hi = mu + 12 * sigma;
      double expected_log_p = 0;
      if (lo < 0 && hi > 0) {
        expected_log_p =
            GK::integrate(integrand, lo, 0, 15, 1e-12) + GK::integrate(integrand, 0, hi, 15, 1e-12);
      } else {
        expected_log_p = GK::integrate(integrand, lo, hi, 15, 1e-12);
      }
      kl += -0.5 * std::log(2 * M_PI * M_E * sigma * sigma) - expected_log_p;
    }
    return kl;
  };
  const double kernel_kl = reference(f.kernel_loc, f.kernel_scale);
  const double bias_kl = reference(f.bias_loc, f.bias_scale);

  set_rng_seed(13);
  const int n = 20000;
  for (const DenseEstimator e : kEstimators) {
    const auto layer = make_dense_variational(e, "fc", 3, 2, {.prior = prior});
    f.set(*layer);
    Running kl;
    for (int k = 0; k < n; ++k) {
      (*layer)(Tensor(f.x));
      Matrix v(1, 2);
      v << layer->losses()[0].item(), layer->losses()[1].item();
      kl.add(v);
      tape().reset();
    }
    const Matrix se = kl.sd() / std::sqrt(double(n));
    INFO(fmt::format("{}: kernel KL {} +- {} (quadrature {}), bias KL {} +- {} (quadrature {})",
                     to_string(e), kl.mean()(0), se(0), kernel_kl, kl.mean()(1), se(1), bias_kl));
    CHECK(std::abs(kl.mean()(0) - kernel_kl) < 5 * se(0));
    CHECK(std::abs(kl.mean()(1) - bias_kl) < 5 * se(1));
  }
}

TEST_CASE("inside a model a layer is a sample site whose log_prob is minus kl_factor times its KL",
          "[nn][dense]") {
  Fresh fresh;
  const Fixture f;
  for (const DenseEstimator e : kEstimators) {
    for (const bool mixture : {false, true}) {
      INFO(to_string(e) << (mixture ? ", scale-mixture prior" : ", Normal prior"));
      DenseOptions options{.kl_factor = Scalar(0.3)};
      if (mixture) options.prior = ScaleMixturePrior{};
      const auto layer = make_dense_variational(e, "enc.fc", 3, 2, options);
      f.set(*layer);
      const Trace t = trace([&] { (*layer)(Tensor(f.x)); }).get_trace();
      REQUIRE(t.contains("enc.fc"));
      const Site& site = t["enc.fc"];
      CHECK(site.is_sample());
      CHECK(site.is_global_term());
      CHECK(site.value.rows() == f.x.rows());  // the layer's output
      CHECK(site.value.cols() == 2);
      // The site's term is minus the layer's losses of the same pass, which are kl_factor * KL.
      const double total = layer->losses()[0].item() + layer->losses()[1].item();
      CHECK(t.log_prob_sum().item() == Approx(-total));
      CHECK(t.log_prob("enc.fc").item() == Approx(-total));
      if (!mixture) {
        const double kl =
            sum(kl_divergence(layer->kernel_posterior(), Normal(Tensor(Matrix::Zero(3, 2)), 1)))
                .item() +
            sum(kl_divergence(layer->bias_posterior(), Normal(Tensor(Matrix::Zero(1, 2)), 1)))
                .item();
        CHECK(total == Approx(0.3 * kl).epsilon(sizeof(Scalar) == 4 ? 1e-5 : 1e-10));
      }
      // And its parameters are param sites of the model.
      CHECK(t["enc.fc.kernel_loc"].kind == SiteKind::param);
      CHECK(t["enc.fc.bias_rho"].kind == SiteKind::param);
      tape().reset();
    }
  }
}

TEST_CASE("with subsampling the KL counts once and the likelihood N / B times", "[nn][dense]") {
  Fresh fresh;
  set_rng_seed(22);
  Rng rng(23);
  const Index n = 100, b = 10;
  const Matrix x = rng.normal(n, 3), y = rng.normal(n, 1);
  // The global-term rule: inside or outside the data plate, kl_factor = 1 counts the KL once
  // (the plate's N / B applies to the likelihood only), so the log-joint is the unbiased
  // full-data estimate wherever the layer is called.
  DenseLocalReparameterization outer("fc", 3, 1), inner("fc_in", 3, 1);
  auto outside = [&] {
    std::vector<Index> batch;
    {
      auto p = plate("data", n, b);
      batch = p.indices();
    }
    const Tensor out = outer(gather_rows(Tensor(x), batch));
    auto p = plate("data", n, batch);
    sample("y", Normal(out, 1), gather_rows(Tensor(y), batch));
  };
  auto inside = [&] {
    auto p = plate("data", n, b);
    const Tensor out = inner(gather_rows(Tensor(x), p.indices()));
    sample("y", Normal(out, 1), gather_rows(Tensor(y), p.indices()));
  };
  for (const auto& [layer, model] :
       {std::pair<DenseVariational*, std::function<void()>>{&outer, outside},
        std::pair<DenseVariational*, std::function<void()>>{&inner, inside}}) {
    INFO(layer->prefix());
    const Trace t = trace(model).get_trace();
    const Site& site = t[layer->prefix()];
    CHECK(term_scale(site) == 1);
    CHECK(term_scale(t["y"]) == Approx(double(n) / double(b)));
    const double full_kl =
        sum(kl_divergence(layer->kernel_posterior(), Normal(Tensor(Matrix::Zero(3, 1)), 1)))
            .item() +
        sum(kl_divergence(layer->bias_posterior(), Normal(Tensor(Matrix::Zero(1, 1)), 1))).item();
    CHECK(t.scaled_log_prob_sum(site).item() ==
          Approx(-full_kl).epsilon(sizeof(Scalar) == 4 ? 1e-5 : 1e-10));
    CHECK(t.scaled_log_prob_sum(site).item() == Approx(-layer->kl_loss().item()));
    tape().reset();
  }
}

TEST_CASE("a layer's noise comes from its site: seed reproduces it and replay fixes it",
          "[nn][dense]") {
  Fresh fresh;
  const Fixture f;
  for (const DenseEstimator e : kEstimators) {
    INFO(to_string(e));
    const auto layer = make_dense_variational(e, "fc", 3, 2);
    f.set(*layer);
    auto model = [&] { (*layer)(Tensor(f.x)); };
    set_rng_seed(1);
    const Trace a = trace(seed(model, 7)).get_trace();
    set_rng_seed(2);  // the thread's generator does not matter under a seed handler
    const Trace b = trace(seed(model, 7)).get_trace();
    const Trace c = trace(seed(model, 8)).get_trace();
    CHECK(a["fc"].value.matrix() == b["fc"].value.matrix());
    CHECK(a["fc"].value.matrix() != c["fc"].value.matrix());
    const Trace replayed = trace(replay(model, c)).get_trace();
    CHECK(replayed["fc"].value.matrix() == c["fc"].value.matrix());
    tape().reset();
  }
}

TEST_CASE("reading a layer's posterior creates nothing", "[nn][dense]") {
  Fresh fresh;
  const DenseFlipout layer("fc", 3, 2);
  CHECK_THROWS_WITH(layer.kernel_loc(), Contains("'fc.kernel_loc'") && Contains("forward pass"));
  CHECK(param_store().size() == 0);
}

namespace {

// Regression with known noise through one Bayesian layer: y ~ N(layer(x), sigma).
struct LayerRegression {
  DenseVariational* layer;
  Scalar sigma;
  void operator()(const Matrix& x, const Matrix& y) const {
    const Tensor mu = (*layer)(Tensor(x));
    auto p = plate("data", x.rows());
    sample("y", Normal(mu, sigma), Tensor(y));
  }
};

struct NoGuideFn {
  void operator()(const Matrix&, const Matrix&) const {}
};

}  // namespace

TEST_CASE("the hand-written loss NLL + sum(losses) / N is minus the ELBO over N", "[nn][dense]") {
  Fresh fresh;
  Rng rng(14);
  const Matrix x = rng.normal(20, 3);
  const Matrix y = rng.normal(20, 2);
  const Scalar sigma = 0.7;
  for (const DenseEstimator e : kEstimators) {
    INFO(to_string(e));
    const auto layer = make_dense_variational(e, "fc", 3, 2, {.prior = ScaleMixturePrior{}});
    (*layer)(Tensor(x));  // creates the parameters, whose first values come from thread_rng
    tape().reset();
    LayerRegression model{layer.get(), sigma};
    NoGuideFn guide;
    Trace_ELBO elbo;
    // The same noise in both: the guide draws nothing, so the layer's draws come first.
    set_rng_seed(15);
    const double svi_loss = elbo.differentiable_loss(model, guide, x, y).item();
    set_rng_seed(15);
    const Tensor out = (*layer)(Tensor(x));
    const Tensor nll = -sum(Normal(out, sigma).log_prob(Tensor(y)));
    const Tensor hand = (nll + layer->losses()[0] + layer->losses()[1]) / Scalar(20);
    CHECK(hand.item() == Approx(svi_loss / 20).epsilon(sizeof(Scalar) == 4 ? 1e-5 : 1e-12));
    tape().reset();
  }
}

TEST_CASE("SVI on a Bayesian layer recovers the exact posterior of a linear regression",
          "[nn][dense]") {
  Fresh fresh;
  // With centred inputs the posterior of the slope and the intercept factorises, so the
  // mean-field Normal family holds it exactly and every estimator must find it.
  Rng rng(16);
  const Index n = 40;
  Matrix x = rng.normal(n, 1);
  x.array() -= x.mean();
  const Scalar sigma = 0.5;
  const Matrix y = ((x * 1.5).array() - 0.4).matrix() + sigma * rng.normal(n, 1);
  const double s2 = double(sigma) * sigma;
  const double prec_w = 1 + x.squaredNorm() / s2, prec_b = 1 + double(n) / s2;
  const double mean_w = (x.transpose() * y).value() / s2 / prec_w, mean_b = y.sum() / s2 / prec_b;
  const double sd_w = 1 / std::sqrt(prec_w), sd_b = 1 / std::sqrt(prec_b);

  set_rng_seed(17);
  for (const DenseEstimator e : kEstimators) {
    param_store().clear();  // each estimator starts afresh
    const auto layer = make_dense_variational(e, "fc", 1, 1);
    LayerRegression model{layer.get(), sigma};
    Adam adam(0.01);
    SVI svi(model, NoGuideFn{}, adam);
    svi.set_progress(nullptr);
    Running r;
    const int steps = 6000, tail = 2000;
    for (int t = 0; t < steps; ++t) {
      svi.step(x, y);
      if (t >= steps - tail) {
        Matrix m(1, 4);
        m << layer->kernel_loc()(0, 0), layer->kernel_scale()(0, 0), layer->bias_loc()(0, 0),
            layer->bias_scale()(0, 0);
        r.add(m);
      }
    }
    const Matrix mean = r.mean(), sd = r.sd();
    INFO(fmt::format(
        "{}: slope loc {} +- {} (exact {}), scale {} +- {} (exact {}); intercept loc {} +- {} "
        "(exact {}), scale {} +- {} (exact {})",
        to_string(e), mean(0), sd(0), mean_w, mean(1), sd(1), sd_w, mean(2), sd(2), mean_b, mean(3),
        sd(3), sd_b));
    // The iterates' own spread is the run's error; a little more for Adam's bias on the scale.
    CHECK(std::abs(mean(0) - mean_w) < 4 * sd(0) + 0.01);
    CHECK(std::abs(mean(2) - mean_b) < 4 * sd(2) + 0.01);
    CHECK(std::abs(mean(1) - sd_w) < 4 * sd(1) + 0.01);
    CHECK(std::abs(mean(3) - sd_b) < 4 * sd(3) + 0.01);
  }
}

TEST_CASE("local reparameterisation and Flipout lower the variance of the ELBO gradient",
          "[nn][dense]") {
  Fresh fresh;
  // A 4 -> 3 regression on a batch of 64, at one fixed posterior: the variance over draws of
  // d(-ELBO) / d kernel_loc, averaged over its 12 entries.
  Rng rng(18);
  const Index batch = 64;
  const Matrix x = rng.normal(batch, 4);
  const Matrix W = rng.normal(4, 3);
  const Scalar sigma = 0.5;
  const Matrix y = x * W + sigma * rng.normal(batch, 3);
  const int draws = 3000;
  double variance[3];
  set_rng_seed(19);
  for (int k = 0; k < 3; ++k) {
    const auto layer = make_dense_variational(kEstimators[k], "fc", 4, 3);
    param_store().set("fc.kernel_loc", W + Matrix::Constant(4, 3, 0.1));
    param_store().set("fc.kernel_rho", inverse_softplus(Matrix::Constant(4, 3, 0.2)));
    param_store().set("fc.bias_loc", Matrix::Zero(1, 3));
    param_store().set("fc.bias_rho", inverse_softplus(Matrix::Constant(1, 3, 0.2)));
    LayerRegression model{layer.get(), sigma};
    NoGuideFn guide;
    Trace_ELBO elbo;
    const Tensor loc = param_store().entry("fc.kernel_loc").unconstrained;
    Running g;
    for (int d = 0; d < draws; ++d) {
      elbo.differentiable_loss(model, guide, x, y).backward();
      g.add(loc.grad());
      for (const std::string& name : param_store().names())
        param_store().entry(name).unconstrained.zero_grad();
      tape().reset();
    }
    variance[k] = g.sd().cwiseAbs2().mean();
    param_store().clear();
  }
  INFO(
      fmt::format("gradient variance: reparameterization {:.4g}, local reparameterization {:.4g}, "
                  "flipout {:.4g}",
                  variance[0], variance[1], variance[2]));
  // Each variance is estimated from 3000 draws to within a few percent (relative standard
  // error about sqrt(2 / 3000) = 2.6% per entry); a factor of 2 is far outside that, and far
  // inside the gap, which grows with the batch: one weight sample moves all 64 residuals
  // together, independent noise per example lets them cancel.
  CHECK(variance[1] < 0.5 * variance[0]);
  CHECK(variance[2] < 0.5 * variance[0]);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("the estimators' outputs and Monte Carlo KLs have the gradients of finite differences",
          "[nn][dense][gradients]") {
  Fresh fresh;
  const Fixture f;
  const Matrix rho = inverse_softplus(f.kernel_scale), bias_rho = inverse_softplus(f.bias_scale);
  for (const DenseEstimator e : kEstimators) {
    for (const bool mixture : {false, true}) {
      INFO(to_string(e) << (mixture ? ", scale-mixture prior" : ", Normal prior"));
      DenseOptions options;
      if (mixture) options.prior = ScaleMixturePrior{Scalar(0.5), Scalar(1), Scalar(0.1)};
      const auto layer = make_dense_variational(e, "fc", 3, 2, options);
      // The same seed in every evaluation: the noise is fixed, the layer a smooth function.
      auto run = [&](const std::vector<Tensor>& in) {
        set_rng_seed(20);
        auto s = substitute({{"fc.kernel_loc", in[1]},
                             {"fc.kernel_rho", in[2]},
                             {"fc.bias_loc", in[3]},
                             {"fc.bias_rho", in[4]}});
        return (*layer)(in[0]);
      };
      const std::vector<Matrix> inputs = {f.x + Matrix::Constant(4, 3, 0.1), f.kernel_loc, rho,
                                          f.bias_loc, bias_rho};
      vesta::testing::check_gradients(std::string(to_string(e)) + " output", run, inputs);
      vesta::testing::check_gradients(
          std::string(to_string(e)) + " KL",
          [&](const std::vector<Tensor>& in) {
            run(in);
            return layer->kl_loss();
          },
          inputs);
    }
  }
}
#endif

TEST_CASE("a Bayesian layer's posterior and prior are readable, and start as documented",
          "[nn][dense]") {
  Fresh fresh;
  set_rng_seed(21);
  DenseFlipout layer("fc", 16, 4,
                     {.prior = ScaleMixturePrior{Scalar(0.25), Scalar(1), Scalar(0.002)}});
  // The first forward pass creates the parameters; the accessors read them.
  layer(Tensor(Matrix::Zero(1, 16)));
  tape().reset();
  const Matrix loc = layer.kernel_loc();
  CHECK(loc.rows() == 16);
  CHECK(loc.cols() == 4);
  CHECK(loc.cwiseAbs().maxCoeff() < 0.25);  // uniform on (-1/sqrt(16), 1/sqrt(16))
  CHECK(loc.cwiseAbs().maxCoeff() > 0.1);
  const double start_scale = std::log1p(std::exp(-5.0));
  CHECK(layer.kernel_scale().isApprox(Matrix::Constant(16, 4, Scalar(start_scale))));
  CHECK(layer.bias_scale().isApprox(Matrix::Constant(1, 4, Scalar(start_scale))));
  CHECK(layer.parameter_names() ==
        std::vector<std::string>{"fc.kernel_loc", "fc.kernel_rho", "fc.bias_loc", "fc.bias_rho"});
  // After a change (as training makes), they read the store.
  param_store().set("fc.kernel_rho", Matrix::Constant(16, 4, 0.3));
  CHECK(layer.kernel_scale()(3, 2) == Approx(std::log1p(std::exp(0.3))));
  const Normal q = layer.kernel_posterior();
  CHECK(q.loc().matrix() == loc);
  CHECK(q.scale()(3, 2) == Approx(std::log1p(std::exp(0.3))));
  const auto& prior = std::get<ScaleMixturePrior>(layer.kernel_prior());
  CHECK(prior.pi == Approx(0.25));
  CHECK(describe(layer.bias_prior()) == "ScaleMixture(pi=0.25, sigma1=1, sigma2=0.002)");
  CHECK(describe(WeightPrior(NormalPrior{2})) == "Normal(0, 2)");
  CHECK(layer.estimator() == DenseEstimator::flipout);
  CHECK(std::string(to_string(layer.estimator())) == "flipout");
  CHECK(layer.describe() == "DenseFlipout 'fc'");
}

TEST_CASE("the scale-mixture log density is the log of the mixture, far into the tails",
          "[nn][dense]") {
  const ScaleMixturePrior p{Scalar(0.3), Scalar(1.5), Scalar(0.01)};
  const Matrix w = rows_of({{0, 0.005, -0.02, 0.05, 0.2, -1, 3, 10}});
  const Matrix lp = p.log_prob(Tensor(w)).matrix();
  for (Index k = 0; k < w.size(); ++k) {
    const double x = w(0, k);
    // log(pi N1 + (1 - pi) N2) by logsumexp in double.
    const double a =
        std::log(0.3) - std::log(1.5) - 0.5 * std::log(2 * M_PI) - x * x / (2 * 1.5 * 1.5);
    const double b =
        std::log(0.7) - std::log(0.01) - 0.5 * std::log(2 * M_PI) - x * x / (2 * 0.01 * 0.01);
    const double m = std::max(a, b);
    const double expected = m + std::log(std::exp(a - m) + std::exp(b - m));
    INFO("w = " << x);
    CHECK(lp(0, k) == Approx(expected).epsilon(sizeof(Scalar) == 4 ? 1e-5 : 1e-12));
  }
  const NormalPrior n{Scalar(2)};
  CHECK(n.log_prob(Tensor(Scalar(1))).item() ==
        Approx(-std::log(2.0) - 0.5 * std::log(2 * M_PI) - 0.125));
}

TEST_CASE("Bayesian layers name themselves in their errors", "[nn][dense]") {
  Fresh fresh;
  DenseFlipout layer("enc.fc1", 4, 2);
  CHECK_THROWS_AS(layer(Tensor(Matrix::Zero(5, 3))), ShapeError);
  CHECK_THROWS_WITH(layer(Tensor(Matrix::Zero(5, 3))),
                    Contains("DenseFlipout 'enc.fc1'") && Contains("5x3") &&
                        Contains("4 input columns") && Contains("kernel 4x2"));
  CHECK_THROWS_WITH(layer.kl_loss(),
                    Contains("DenseFlipout 'enc.fc1'") && Contains("first forward pass"));
  CHECK_THROWS_WITH(DenseReparameterization("fc", 0, 2),
                    Contains("'fc'") && Contains("in_features is 0"));
  CHECK_THROWS_WITH(DenseReparameterization("fc", 3, 2, {.kl_factor = -1}),
                    Contains("'fc'") && Contains("kl_factor is -1"));
  CHECK_THROWS_WITH(DenseLocalReparameterization("fc", 3, 2, {.prior = NormalPrior{0}}),
                    Contains("'fc'") && Contains("prior scale is 0"));
  CHECK_THROWS_WITH(
      DenseFlipout("fc", 3, 2, {.prior = ScaleMixturePrior{Scalar(1.5), 1, Scalar(0.01)}}),
      Contains("'fc'") && Contains("pi is 1.5"));
  CHECK_THROWS_WITH(DenseFlipout("fc", 3, 2, {.prior = ScaleMixturePrior{Scalar(0.5), 1, -1}}),
                    Contains("sigma2 is -1"));
  const DenseReparameterization no_bias("nb", 3, 2, {.bias = false});
  CHECK_THROWS_WITH(no_bias.bias_loc(),
                    Contains("DenseReparameterization 'nb'") && Contains("no bias"));
  // Parameters of another shape under the same prefix.
  param_store().set("clash.kernel_loc", Matrix::Zero(2, 2));
  DenseReparameterization clash("clash", 3, 2);
  CHECK_THROWS_WITH(clash(Tensor(Matrix::Zero(1, 3))),
                    Contains("'clash.kernel_loc' is 2x2") && Contains("3x2"));
  CHECK_THROWS_WITH(clash.kernel_loc(), Contains("'clash.kernel_loc' is 2x2"));
  tape().reset();
}
