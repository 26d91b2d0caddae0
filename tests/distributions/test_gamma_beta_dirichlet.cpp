// Gamma, Beta and Dirichlet: log_prob against Boost.Math (Dirichlet against its closed form),
// samplers (Kolmogorov-Smirnov, moments, entropy), gradients of log_prob, the implicit
// reparameterisation gradient against high-precision values and the quantile function, and
// rsample's gradients against finite differences of expected values.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <catch2/catch.hpp>

#include <vesta/distributions/gamma_reparam.hpp>
#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {
// Boost's Gamma takes the shape and the scale, 1 / rate.
boost::math::gamma_distribution<double> boost_gamma(double concentration, double rate) {
  return boost::math::gamma_distribution<double>(concentration, 1 / rate);
}

// The 0.001-level Kolmogorov-Smirnov test of check_ks, for draws that are not a 1x1
// distribution's (Dirichlet marginals).
void check_ks_draws(std::vector<double> x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double D = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double F = cdf(x[k]);
    D = std::max({D, F - double(k) / n, double(k + 1) / n - F});
  }
  CHECK(D < 1.95 / std::sqrt(n));
}
}  // namespace

// ---- log_prob ------------------------------------------------------------------------------

TEST_CASE("Gamma log_prob matches Boost.Math's density", "[distributions][gamma_family]") {
  struct Case {
    double concentration, rate;
    Matrix x;
  };
  const Matrix spread = col({1e-6, 0.01, 0.4, 1, 2.5, 7, 30});
  const Case cases[] = {
      {0.3, 1, spread},
      {1, 2.5, spread},
      {5, 0.5, spread},
      {0.05, 3, spread},
      {250, 40, col({4.5, 5.9, 6.25, 6.6, 8})}};  // Boost's pdf underflows far out
  for (const Case& c : cases) {
    // In float, log_prob's terms of size lgamma(250) ~ 1e3 cancel to a few units, leaving
    // absolute errors ~1e-4, above the float tolerance: large shapes are checked in double.
    if (VESTA_SCALAR_IS_FLOAT && c.concentration > 100) continue;
    check_log_prob(Gamma(c.concentration, c.rate), c.x, [&](Index, Index, double v) {
      return std::log(boost::math::pdf(boost_gamma(c.concentration, c.rate), v));
    });
  }
  // Parameters broadcast across a batch.
  const Matrix a = col({0.5, 2, 9});
  const Matrix b = rows_of({{0.5, 1, 4}});
  check_log_prob(Gamma(Tensor(a), Tensor(b)), Matrix::Constant(3, 3, 1.7),
                 [&](Index i, Index j, double v) {
                   return std::log(boost::math::pdf(boost_gamma(a(i, 0), b(0, j)), v));
                 });
}

TEST_CASE("Beta log_prob matches Boost.Math's density", "[distributions][gamma_family]") {
  struct Case {
    double c1, c0;
  };
  const Case cases[] = {{0.3, 0.3}, {1, 1}, {2, 5}, {0.5, 3}, {50, 20}, {1, 4}};
  const Matrix x = col({1e-6, 0.01, 0.25, 0.5, 0.8, 0.999});
  for (const Case& c : cases) {
    check_log_prob(Beta(c.c1, c.c0), x, [&](Index, Index, double v) {
      return std::log(boost::math::pdf(boost::math::beta_distribution<double>(c.c1, c.c0), v));
    });
  }
  // At the ends of the support: finite where that concentration is 1, as the density is.
  CHECK(Beta(1, 4).log_prob(0).item() == Approx(std::log(4.0)));
  CHECK(Beta(3, 1).log_prob(1).item() == Approx(std::log(3.0)));
  CHECK(Beta(2, 4).log_prob(0).item() == -std::numeric_limits<Scalar>::infinity());
  CHECK(Beta(0.5, 4).log_prob(0).item() == std::numeric_limits<Scalar>::infinity());
}

TEST_CASE("Dirichlet log_prob matches the closed-form density", "[distributions][gamma_family]") {
  const Matrix alpha = rows_of({{0.5, 1, 3}, {2, 2, 2}, {10, 0.2, 1.5}});
  const Matrix x = rows_of({{0.2, 0.3, 0.5}, {0.05, 0.9, 0.05}, {0.6, 0.001, 0.399}});
  auto density = [&](Index a_row, Index x_row) {
    double total = 0, lp = 0;
    for (Index k = 0; k < alpha.cols(); ++k) {
      total += alpha(a_row, k);
      lp += (alpha(a_row, k) - 1) * std::log(double(x(x_row, k))) -
            std::lgamma(double(alpha(a_row, k)));
    }
    return lp + std::lgamma(total);
  };
  const Dirichlet d{Tensor(alpha)};
  CHECK(d.event_dim() == 1);
  const Matrix lp = d.log_prob(Tensor(x)).matrix();
  REQUIRE(lp.rows() == 3);
  REQUIRE(lp.cols() == 1);
  for (Index r = 0; r < 3; ++r) {
    CHECK(double(lp(r, 0)) == Approx(density(r, r)).epsilon(log_prob_tolerance()));
  }
  // One concentration row against a batch of values; one value against a batch of rows.
  const Matrix lp1 = Dirichlet(Tensor(Matrix(alpha.row(2)))).log_prob(Tensor(x)).matrix();
  REQUIRE(lp1.rows() == 3);
  for (Index r = 0; r < 3; ++r)
    CHECK(double(lp1(r, 0)) == Approx(density(2, r)).epsilon(log_prob_tolerance()));
  const Matrix lp2 = d.log_prob(Tensor(Matrix(x.row(0)))).matrix();
  REQUIRE(lp2.rows() == 3);
  for (Index r = 0; r < 3; ++r)
    CHECK(double(lp2(r, 0)) == Approx(density(r, 0)).epsilon(log_prob_tolerance()));
  // An entry with concentration 1 is finite at 0.
  CHECK(std::isfinite(
      Dirichlet(Tensor(rows_of({{1, 2}}))).log_prob(Tensor(rows_of({{0, 1}}))).item()));
}

// ---- samplers ------------------------------------------------------------------------------

TEST_CASE("Gamma and Beta draws follow their CDFs", "[distributions][gamma_family]") {
  for (const auto& [a, rate] :
       {std::pair{0.3, 1.0}, {1.0, 2.0}, {5.0, 0.5}, {0.05, 1.0}, {200.0, 3.0}}) {
    check_ks(Gamma(a, rate),
             [a = a, rate = rate](double x) { return boost::math::cdf(boost_gamma(a, rate), x); });
  }
  for (const auto& [c1, c0] :
       {std::pair{0.3, 0.3}, {2.0, 5.0}, {0.5, 3.0}, {50.0, 20.0}, {1.0, 1.0}}) {
    check_ks(Beta(c1, c0), [c1 = c1, c0 = c0](double x) {
      return boost::math::cdf(boost::math::beta_distribution<double>(c1, c0), x);
    });
  }
}

TEST_CASE("Dirichlet marginals follow Beta CDFs and rows lie on the simplex",
          "[distributions][gamma_family]") {
  const Matrix alpha = rows_of({{0.4, 1.5, 3, 0.1}});
  const double total = alpha.sum();
  const Index n = 20000;
  Rng rng(11);
  const Matrix draws = Dirichlet(Tensor(alpha)).expand(n, 4)->sample(rng).matrix();
  REQUIRE(draws.rows() == n);
  CHECK(((draws.rowwise().sum().array() - 1).abs() < 1e-5).all());
  CHECK((draws.array() > 0).all());
  for (Index k = 0; k < 4; ++k) {
    INFO("marginal " << k);
    const double a = alpha(0, k);
    const boost::math::beta_distribution<double> marginal(a, total - a);
    check_ks_draws(std::vector<double>(draws.col(k).data(), draws.col(k).data() + n),
                   [&](double x) { return boost::math::cdf(marginal, x); });
  }
}

TEST_CASE("Gamma, Beta and Dirichlet moments and entropy match Monte Carlo",
          "[distributions][gamma_family]") {
  const Gamma gamma(Tensor(col({0.3, 2, 7})), Tensor(col({1, 0.5, 3})));
  check_moments(gamma);
  check_entropy_monte_carlo(gamma);
  const Beta beta(Tensor(col({0.4, 2, 30})), Tensor(col({0.6, 5, 12})));
  check_moments(beta);
  check_entropy_monte_carlo(beta);
  const Dirichlet dirichlet(Tensor(rows_of({{0.4, 1.5, 3}, {5, 5, 0.8}})));
  check_moments(dirichlet);
  check_entropy_monte_carlo(dirichlet);
}

TEST_CASE("Beta and Dirichlet draws stay inside the support for tiny concentrations",
          "[distributions][gamma_family]") {
  Rng rng(12);
  const Matrix b = Beta(0.01, 0.01).expand(5000, 1)->sample(rng).matrix();
  CHECK((b.array() > 0).all());
  CHECK((b.array() < 1).all());
  CHECK(std::isfinite(sum(Beta(0.01, 0.01).log_prob(Tensor(b))).item()));
  const Dirichlet d(Tensor(rows_of({{0.01, 0.02, 0.01}})));
  const Tensor x = d.expand(5000, 3)->sample(rng);
  CHECK((x.value().array() > 0).all());
  CHECK(std::isfinite(sum(d.log_prob(x)).item()));
}

TEST_CASE("Gamma, Beta and Dirichlet expand and keep their shapes",
          "[distributions][gamma_family]") {
  const DistributionPtr g = Gamma(2, 3).expand(4, 2);
  CHECK(g->rows() == 4);
  CHECK(g->cols() == 2);
  CHECK(Beta(Tensor(col({1, 2})), 3).rows() == 2);
  const Dirichlet d(Tensor(rows_of({{1, 2, 3}})));
  const DistributionPtr e = d.expand(5, 3);
  CHECK(e->rows() == 5);
  CHECK(e->batch_cols() == 1);
  Rng rng(1);
  CHECK(e->sample(rng).rows() == 5);
  CHECK(e->log_prob(e->sample(rng)).rows() == 5);
  CHECK(d.entropy().rows() == 1);
  CHECK_THROWS_AS(d.expand(5, 4), ShapeError);
  CHECK_THROWS_AS(Dirichlet(Tensor(rows_of({{1, 2}, {3, 4}}))).expand(3, 2), ShapeError);
  CHECK_THROWS_AS(d.log_prob(Tensor(rows_of({{0.5, 0.5}}))), ShapeError);
  CHECK(Gamma(2, 3).has_rsample());
  CHECK(Beta(2, 3).has_rsample());
  CHECK(d.has_rsample());
}

// ---- the implicit reparameterisation gradient -----------------------------------------------

TEST_CASE("standard_gamma_grad matches 50-digit reference values",
          "[distributions][gamma_family]") {
  // -(dP/da)(a, x) / p(x; a), computed with mpmath at 50 digits (numerical derivative of the
  // regularised incomplete gamma function): every branch (series, both continued fractions)
  // and the points where they meet.
  struct Ref {
    double a, x, dg_da;
  };
  const Ref refs[] = {
      {0.001, 1e-30, 6.8501980858011070049e-26},
      {0.001, 0.5, 461.99216718924002005},
      {0.001, 1.5, 673.51671924146825963},
      {0.001, 13, 935.85146916549515024},
      {0.05, 0.006, 0.55801007557291088256},
      {0.3, 1e-6, 0.000045487769193291312256},
      {0.3, 0.46, 1.9108485654275287634},
      {0.3, 1.3, 3.0415825850822603239},
      {0.3, 7, 5.1099008077192464311},
      {1, 0.7, 0.97321874099238761933},
      {1, 2.5, 1.797032233261672025},
      {1, 23, 3.7544438023866831752},
      {5, 1.3, 0.48819649730491645558},
      {5, 4.7, 1.0022362289066648028},
      {5, 6.5, 1.1754892755549552289},
      {5, 34, 2.31632632622763703},
      {19.9, 20.9, 1.0333394779382362121},
      {20, 19.4, 0.99309371876884850309},
      {20, 21.6, 1.0476741652758862756},
      {200, 160, 0.89331711192045365293},
      {200, 199.5, 0.99958166208492760908},
      {200, 200, 1.0008337488073029762},
      {200, 240, 1.0948404339101659856},
      {10000, 9700, 0.98486412245473746499},
      {10000, 10000, 1.0000166668333238092},
      {10000, 10300, 1.0148691241755484859},
  };
  for (const Ref& r : refs) {
    INFO("a = " << r.a << ", x = " << r.x);
    const double tol = r.a > 1000 ? 1e-12 : 2e-14;
    CHECK(detail::standard_gamma_grad(r.a, r.x) == Approx(r.dg_da).epsilon(tol));
  }
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Gamma rsample's gradient is the derivative of the quantile at the draw's CDF value",
          "[distributions][gamma_family][gradients]") {
  // x = F^-1(u; a) / rate with u fixed: dx/da by central differences of Boost's gamma_p_inv,
  // draw by draw, and dx/drate = -x / rate.
  for (const double a : {0.3, 1.0, 5.0, 150.0}) {
    const double rate = 2.5;
    const Index n = 200;
    const Tensor conc = Tensor::variable(Matrix::Constant(n, 1, a));
    const Tensor r = Tensor::variable(Matrix::Constant(n, 1, rate));
    Rng rng(21);
    const Tensor x = Gamma(conc, r).rsample(rng);
    sum(x).backward();
    const Matrix xv = x.matrix();
    const Matrix da = conc.grad();
    const Matrix dr = r.grad();
    const double h = 1e-5 * a;
    for (Index k = 0; k < n; ++k) {
      const double u = boost::math::gamma_p(a, rate * xv(k, 0));
      if (u < 1e-250) continue;  // far below where gamma_p_inv resolves a change of h
      const double fd = (boost::math::gamma_p_inv(a + h, u) - boost::math::gamma_p_inv(a - h, u)) /
                        (2 * h) / rate;
      INFO("a = " << a << ", draw " << xv(k, 0) << " at u = " << u);
      CHECK(da(k, 0) == Approx(fd).epsilon(1e-6));
      CHECK(dr(k, 0) == Approx(-xv(k, 0) / rate).epsilon(1e-12));
    }
    tape().reset();
  }
}

namespace {

// A smooth test function, on Tensors (for the Monte Carlo gradient) and on numbers (for the
// expectation by quadrature).
struct TestFunction {
  const char* name;
  std::function<Tensor(const Tensor&)> on_tensor;
  std::function<double(double)> on_number;
};

const TestFunction kTestFunctions[] = {
    {"x^2", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }},
    {"exp(-x)", [](const Tensor& x) { return exp(-x); }, [](double x) { return std::exp(-x); }},
    {"log(1+x)", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }},
};

// Mean and standard error of the entries of `g` (one gradient per independent draw).
struct Estimate {
  double mean, se;
};
Estimate estimate(const Matrix& g) {
  const Eigen::ArrayXd v = g.cast<double>().reshaped().array();
  const double m = v.mean();
  return {m, std::sqrt((v - m).square().sum() / double(v.size() - 1) / double(v.size()))};
}

// Central difference of E(theta) in parameter k, step relative to it.
double fd(const std::function<double(const std::vector<double>&)>& E, std::vector<double> theta,
          std::size_t k) {
  const double h = 1e-4 * theta[k];
  std::vector<double> plus = theta, minus = theta;
  plus[k] += h;
  minus[k] -= h;
  return (E(plus) - E(minus)) / (2 * h);
}

void check_estimate(const std::string& what, const Estimate& mc, double expected) {
  INFO(what << ": Monte Carlo " << mc.mean << " +- " << mc.se
            << ", finite differences of the expectation " << expected);
  CHECK(std::abs(mc.mean - expected) < 5 * mc.se);
  // The check has teeth: the standard error is small against the gradient.
  CHECK(mc.se < 0.05 * std::abs(expected));
}

// E[f(X)] for X ~ Gamma(a, rate), by exp-sinh quadrature on (0, inf) (which also copes with
// the density's singularity at 0 when a < 1).
double gamma_expectation(const std::function<double(double)>& f, double a, double rate) {
  static boost::math::quadrature::exp_sinh<double> integrator;
  const double log_norm = a * std::log(rate) - std::lgamma(a);
  return integrator.integrate([&](double x) {
    if (x <= 0) return 0.0;
    return f(x) * std::exp(log_norm + (a - 1) * std::log(x) - rate * x);
  });
}

// E[f(X)] for X ~ Beta(a, b), by tanh-sinh quadrature on (0, 1); xc is the distance to the
// nearer end, which keeps 1 - x exact near 1.
double beta_expectation(const std::function<double(double)>& f, double a, double b) {
  static boost::math::quadrature::tanh_sinh<double> integrator;
  const double log_norm = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  return integrator.integrate(
      [&](double x, double xc) {
        const double one_minus_x = xc > 0 ? xc : 1 - x;
        if (x <= 0 || one_minus_x <= 0) return 0.0;
        return f(x) * std::exp(log_norm + (a - 1) * std::log(x) + (b - 1) * std::log(one_minus_x));
      },
      0.0, 1.0);
}

}  // namespace

TEST_CASE("Quadrature expectations agree with closed forms", "[distributions][gamma_family]") {
  // The reference side of the next test: E[X^2] and E[exp(-X)] have closed forms.
  for (const auto& [a, rate] : {std::pair{0.3, 1.5}, {1.0, 1.5}, {5.0, 1.5}, {40.0, 20.0}}) {
    CHECK(gamma_expectation(kTestFunctions[0].on_number, a, rate) ==
          Approx(a * (a + 1) / (rate * rate)).epsilon(1e-10));
    CHECK(gamma_expectation(kTestFunctions[1].on_number, a, rate) ==
          Approx(std::pow(rate / (rate + 1), a)).epsilon(1e-10));
  }
  for (const auto& [a, b] : {std::pair{0.5, 2.0}, {3.0, 0.7}}) {
    CHECK(beta_expectation(kTestFunctions[0].on_number, a, b) ==
          Approx(a * (a + 1) / ((a + b) * (a + b + 1))).epsilon(1e-10));
  }
}

TEST_CASE("Gamma rsample gradients match finite differences of expected values",
          "[distributions][gamma_family][gradients]") {
  // d/dtheta E[f(X)] two ways: the Monte Carlo average of d f(rsample) / d theta (one draw per
  // batch entry, each with its own parameter copy, so the spread gives the standard error),
  // and central differences of E[f(X)] by quadrature. They must agree within 5 standard errors.
  const Index n = 100000;
  // Shapes below 1, near 1, above 1, and past 20 (where the continued fractions take over from
  // the series); the rates keep the mean of order 1.
  for (const auto& [a, rate] : {std::pair{0.3, 1.5}, {1.0, 1.5}, {5.0, 1.5}, {40.0, 20.0}}) {
    for (const TestFunction& f : kTestFunctions) {
      const Tensor conc = Tensor::variable(Matrix::Constant(n, 1, a));
      const Tensor r = Tensor::variable(Matrix::Constant(n, 1, rate));
      Rng rng(31);
      sum(f.on_tensor(Gamma(conc, r).rsample(rng))).backward();
      const auto E = [&](const std::vector<double>& t) {
        return gamma_expectation(f.on_number, t[0], t[1]);
      };
      const std::string what = fmt::format("Gamma({}, {}), f = {}", a, rate, f.name);
      check_estimate(what + ", d/dconcentration", estimate(conc.grad()), fd(E, {a, rate}, 0));
      check_estimate(what + ", d/drate", estimate(r.grad()), fd(E, {a, rate}, 1));
      tape().reset();
    }
  }
}

TEST_CASE("Beta rsample gradients match finite differences of expected values",
          "[distributions][gamma_family][gradients]") {
  const Index n = 100000;
  for (const auto& [a, b] : {std::pair{0.5, 2.0}, {3.0, 0.7}, {1.5, 1.5}}) {
    for (const TestFunction& f : kTestFunctions) {
      const Tensor c1 = Tensor::variable(Matrix::Constant(n, 1, a));
      const Tensor c0 = Tensor::variable(Matrix::Constant(n, 1, b));
      Rng rng(32);
      sum(f.on_tensor(Beta(c1, c0).rsample(rng))).backward();
      const auto E = [&](const std::vector<double>& t) {
        return beta_expectation(f.on_number, t[0], t[1]);
      };
      const std::string what = fmt::format("Beta({}, {}), f = {}", a, b, f.name);
      check_estimate(what + ", d/dconcentration1", estimate(c1.grad()), fd(E, {a, b}, 0));
      check_estimate(what + ", d/dconcentration0", estimate(c0.grad()), fd(E, {a, b}, 1));
      tape().reset();
    }
  }
}

TEST_CASE("Dirichlet rsample gradients match finite differences of expected values",
          "[distributions][gamma_family][gradients]") {
  // Two smooth functions of a draw with closed-form expectations (alpha_0 = sum alpha):
  // E[sum_i w_i x_i^2] = sum_i w_i alpha_i (alpha_i + 1) / (alpha_0 (alpha_0 + 1)) and
  // E[x_0 x_1] = alpha_0 alpha_1 / (alpha_0 (alpha_0 + 1)).
  const std::vector<double> alpha = {0.4, 1.5, 3.0};
  const Index K = 3;
  const Index n = 100000;
  const Matrix w = rows_of({{1, 2, 3}});
  struct Fn {
    const char* name;
    std::function<Tensor(const Tensor&)> on_tensor;
    std::function<double(const std::vector<double>&)> expectation;
  };
  const Fn fns[] = {
      {"sum w_i x_i^2", [&](const Tensor& x) { return rowwise_sum(square(x) * Tensor(w)); },
       [&](const std::vector<double>& a) {
         const double a0 = a[0] + a[1] + a[2];
         double e = 0;
         for (Index i = 0; i < K; ++i) e += w(0, i) * a[i] * (a[i] + 1);
         return e / (a0 * (a0 + 1));
       }},
      {"x_0 x_1", [&](const Tensor& x) { return slice_cols(x, 0, 1) * slice_cols(x, 1, 1); },
       [&](const std::vector<double>& a) {
         const double a0 = a[0] + a[1] + a[2];
         return a[0] * a[1] / (a0 * (a0 + 1));
       }},
  };
  for (const Fn& f : fns) {
    Matrix init(n, K);
    for (Index i = 0; i < K; ++i) init.col(i).setConstant(static_cast<Scalar>(alpha[i]));
    const Tensor conc = Tensor::variable(init);
    Rng rng(33);
    sum(f.on_tensor(Dirichlet(conc).rsample(rng))).backward();
    const Matrix g = conc.grad();
    for (Index i = 0; i < K; ++i) {
      check_estimate(fmt::format("Dirichlet(0.4, 1.5, 3), f = {}, d/dconcentration[{}]", f.name, i),
                     estimate(g.col(i)), fd(f.expectation, alpha, static_cast<std::size_t>(i)));
    }
    tape().reset();
  }
}

TEST_CASE("Gamma, Beta and Dirichlet log_prob gradients match finite differences",
          "[distributions][gamma_family][gradients]") {
  const Factory gamma = [](const std::vector<Tensor>& p) {
    return std::make_shared<Gamma>(p[0], p[1]);
  };
  check_log_prob_gradients("Gamma", gamma, {col({0.3, 2, 7}), col({1.5, 0.4, 3})},
                           col({0.2, 1.1, 2.5}));
  const Factory beta = [](const std::vector<Tensor>& p) {
    return std::make_shared<Beta>(p[0], p[1]);
  };
  check_log_prob_gradients("Beta", beta, {col({0.3, 1, 7}), col({1.5, 0.4, 1})},
                           col({0.2, 0.65, 0.9}));
  const Factory dirichlet = [](const std::vector<Tensor>& p) {
    return std::make_shared<Dirichlet>(p[0]);
  };
  check_log_prob_gradients("Dirichlet", dirichlet, {rows_of({{0.4, 1, 3}, {2, 0.7, 1.2}})},
                           rows_of({{0.2, 0.3, 0.5}, {0.6, 0.1, 0.3}}));
}
#endif

// ---- validation ----------------------------------------------------------------------------

TEST_CASE("Gamma, Beta and Dirichlet reject bad parameters and values",
          "[distributions][gamma_family]") {
  CHECK_THROWS_WITH(Gamma(0, 1), Contains("Gamma: concentration is 0, but must be positive"));
  CHECK_THROWS_WITH(Gamma(Tensor(col({1, -2})), 1),
                    Contains("Gamma: concentration[1] is -2, but must be positive"));
  CHECK_THROWS_WITH(Gamma(1, std::nan("")), Contains("Gamma: rate is nan, but must be positive"));
  CHECK_THROWS_AS(Gamma(Tensor(col({1, 2})), Tensor(col({1, 2, 3}))), ShapeError);
  CHECK_THROWS_WITH(Gamma(2, 1).log_prob(Tensor(col({1, -1}))),
                    Contains("Gamma: value[1] is -1, but must be in the support positive"));
  CHECK_THROWS_WITH(Gamma(2, 1).log_prob(0), Contains("Gamma: value is 0"));

  CHECK_THROWS_WITH(Beta(1, 0), Contains("Beta: concentration0 is 0, but must be positive"));
  CHECK_THROWS_WITH(Beta(Tensor(col({1, 2, -0.5})), 1),
                    Contains("Beta: concentration1[2] is -0.5, but must be positive"));
  CHECK_THROWS_WITH(Beta(2, 2).log_prob(1.5),
                    Contains("Beta: value is 1.5, but must be in the support unit_interval"));

  CHECK_THROWS_WITH(Dirichlet(Tensor(rows_of({{1, 2, 3}, {1, 2, 0}}))),
                    Contains("Dirichlet: concentration[1, 2] is 0, but must be positive"));
  CHECK_THROWS_AS(Dirichlet(Tensor(Matrix(0, 3))), ShapeError);
  CHECK_THROWS_WITH(Dirichlet(Tensor(rows_of({{1, 2, 3}})))
                        .log_prob(Tensor(rows_of({{0.2, 0.3, 0.5}, {0.3, 0.3, 0.3}}))),
                    Contains("Dirichlet: value[1, 0] is 0.3, but must be in the support simplex"));

  set_validation(false);
  CHECK_NOTHROW(Gamma(-1, 1));
  CHECK_NOTHROW(Beta(0, 1));
  CHECK_NOTHROW(Dirichlet(Tensor(rows_of({{-1, 2}}))));
  set_validation(true);
}
