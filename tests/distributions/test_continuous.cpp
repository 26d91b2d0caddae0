// The continuous families beyond Normal: LogNormal, HalfNormal, HalfCauchy, Cauchy, StudentT,
// Laplace, Uniform and Exponential. Each check is a table with one row per family: log_prob
// against Boost.Math's densities, draws against Boost.Math's CDFs, moments, entropies,
// gradients of log_prob and rsample, shapes, and argument validation.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <boost/math/distributions/cauchy.hpp>
#include <boost/math/distributions/exponential.hpp>
#include <boost/math/distributions/laplace.hpp>
#include <boost/math/distributions/lognormal.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/distributions/uniform.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;
namespace bm = boost::math;

namespace {
/// Entry (i, j) of a parameter broadcast to the batch shape (its rows or columns may be 1).
double at(const Matrix& m, Index i, Index j) {
  return static_cast<double>(m(m.rows() == 1 ? 0 : i, m.cols() == 1 ? 0 : j));
}

template <class D, class... Params>
DistributionPtr make(const Params&... params) {
  return std::make_shared<D>(Tensor(params)...);
}
}  // namespace

TEST_CASE("Continuous families: log_prob matches Boost.Math densities",
          "[distributions][continuous]") {
  struct Case {
    DistributionPtr d;
    Matrix values;
    std::function<double(Index, Index, double)> ref;
  };
  const Matrix loc = col({-0.5, 0, 1.2}), scale = col({0.3, 1, 2.5});
  const Matrix wide_scale = rows_of({{0.2, 1, 4, 0.75}});  // 1x4: broadcasts against loc
  const Matrix df = rows_of({{0.7, 3, 25, 1}});
  const Matrix low = col({-1, 0, 2}), high = col({1, 0.5, 10});
  const Matrix positive = rows_of({{0.05, 0.7, 1.9, 12}, {0.2, 1, 3.5, 9}, {0.01, 2, 15, 40}});
  const Matrix nonnegative = rows_of({{0, 0.3, 1.1, 6.5}, {0, 0.2, 2.5, 9}, {0, 4, 12, 40}});
  const Matrix real = rows_of({{-12, -0.8, 0.5, 7}, {-30, -1.1, 0.4, 9}, {-3, 1.5, 2.2, 60}});
  const Matrix in_bounds = rows_of({{-1, -0.3, 0.2, 1}, {0, 0.1, 0.25, 0.5}, {2, 3.3, 7, 10}});

  const std::vector<Case> cases = {
      {make<LogNormal>(loc, scale), positive,
       [&](Index i, Index j, double x) {
         return std::log(
             bm::pdf(bm::lognormal_distribution<double>(at(loc, i, j), at(scale, i, j)), x));
       }},
      {make<HalfNormal>(scale), nonnegative,
       [&](Index i, Index j, double x) {
         return std::log(2 * bm::pdf(bm::normal_distribution<double>(0, at(scale, i, j)), x));
       }},
      {make<HalfCauchy>(scale), nonnegative,
       [&](Index i, Index j, double x) {
         return std::log(2 * bm::pdf(bm::cauchy_distribution<double>(0, at(scale, i, j)), x));
       }},
      {make<Cauchy>(loc, wide_scale), real,
       [&](Index i, Index j, double x) {
         return std::log(
             bm::pdf(bm::cauchy_distribution<double>(at(loc, i, j), at(wide_scale, i, j)), x));
       }},
      // df 1x4, loc 3x1, scale 1x1: a 3x4 batch.
      {make<StudentT>(df, loc, col({1.5})), real,
       [&](Index i, Index j, double x) {
         const double s = static_cast<double>(Scalar(1.5));
         const bm::students_t_distribution<double> t(at(df, i, j));
         return std::log(bm::pdf(t, (x - at(loc, i, j)) / s)) - std::log(s);
       }},
      {make<StudentT>(col({4.5}), loc, scale), real,
       [&](Index i, Index j, double x) {
         const bm::students_t_distribution<double> t(static_cast<double>(Scalar(4.5)));
         return std::log(bm::pdf(t, (x - at(loc, i, j)) / at(scale, i, j))) -
                std::log(at(scale, i, j));
       }},
      {make<Laplace>(loc, wide_scale), real,
       [&](Index i, Index j, double x) {
         return std::log(
             bm::pdf(bm::laplace_distribution<double>(at(loc, i, j), at(wide_scale, i, j)), x));
       }},
      {make<Uniform>(low, high), in_bounds,
       [&](Index i, Index j, double x) {
         return std::log(
             bm::pdf(bm::uniform_distribution<double>(at(low, i, j), at(high, i, j)), x));
       }},
      {make<Exponential>(scale), nonnegative,
       [&](Index i, Index j, double x) {
         return std::log(bm::pdf(bm::exponential_distribution<double>(at(scale, i, j)), x));
       }},
  };
  for (const Case& c : cases) check_log_prob(*c.d, c.values, c.ref);
}

TEST_CASE("Continuous families: draws follow Boost.Math CDFs", "[distributions][continuous]") {
  struct Case {
    DistributionPtr d;
    std::function<double(double)> cdf;
  };
  const std::vector<Case> cases = {
      {std::make_shared<LogNormal>(0.3, 0.8),
       [](double x) { return bm::cdf(bm::lognormal_distribution<double>(0.3, 0.8), x); }},
      {std::make_shared<HalfNormal>(1.5),
       [](double x) { return 2 * bm::cdf(bm::normal_distribution<double>(0, 1.5), x) - 1; }},
      {std::make_shared<HalfCauchy>(2.0),
       [](double x) { return 2 * bm::cdf(bm::cauchy_distribution<double>(0, 2.0), x) - 1; }},
      {std::make_shared<Cauchy>(-1.0, 0.5),
       [](double x) { return bm::cdf(bm::cauchy_distribution<double>(-1.0, 0.5), x); }},
      {std::make_shared<StudentT>(0.75, 1.0, 2.0),
       [](double x) {
         return bm::cdf(bm::students_t_distribution<double>(0.75), (x - 1.0) / 2.0);
       }},
      {std::make_shared<StudentT>(4.5, -2.0, 0.5),
       [](double x) { return bm::cdf(bm::students_t_distribution<double>(4.5), (x + 2.0) / 0.5); }},
      {std::make_shared<Laplace>(0.5, 1.5),
       [](double x) { return bm::cdf(bm::laplace_distribution<double>(0.5, 1.5), x); }},
      {std::make_shared<Uniform>(-2.0, 3.0),
       [](double x) { return bm::cdf(bm::uniform_distribution<double>(-2.0, 3.0), x); }},
      {std::make_shared<Exponential>(2.5),
       [](double x) { return bm::cdf(bm::exponential_distribution<double>(2.5), x); }},
  };
  for (const Case& c : cases) check_ks(*c.d, c.cdf);
}

TEST_CASE("Continuous families: moments and entropies agree with their draws",
          "[distributions][continuous]") {
  const Tensor loc(col({-0.3, 0.5})), scale(col({0.25, 2}));
  // Cauchy and HalfCauchy have no mean or variance: entropy only.
  const std::vector<DistributionPtr> with_moments = {
      std::make_shared<LogNormal>(loc, scale),
      std::make_shared<HalfNormal>(scale),
      std::make_shared<StudentT>(Tensor(col({10, 30})), loc, scale),
      std::make_shared<Laplace>(loc, scale),
      std::make_shared<Uniform>(loc, Tensor(col({0.5, 4}))),
      std::make_shared<Exponential>(scale),
  };
  for (const DistributionPtr& d : with_moments) {
    check_moments(*d);
    check_entropy_monte_carlo(*d);
  }
  check_entropy_monte_carlo(HalfCauchy(scale));
  check_entropy_monte_carlo(Cauchy(loc, scale));
  check_entropy_monte_carlo(StudentT(Tensor(col({0.6, 2.5})), loc, scale));
}

TEST_CASE("StudentT mean and variance follow PyTorch where they do not exist",
          "[distributions][continuous]") {
  const Tensor df = Tensor::variable(col({0.5, 1.5, 2, 4}));
  const Tensor scale = Tensor::variable(col({3}));
  const StudentT d(df, 2, scale);
  const Matrix mean = d.mean().matrix();
  CHECK(std::isnan(mean(0, 0)));
  CHECK(mean(1, 0) == 2);
  CHECK(mean(3, 0) == 2);
  const Tensor var = d.variance();
  const Matrix v = var.matrix();
  CHECK(std::isnan(v(0, 0)));
  CHECK(v(1, 0) == std::numeric_limits<Scalar>::infinity());
  CHECK(v(2, 0) == std::numeric_limits<Scalar>::infinity());
  CHECK(v(3, 0) == Approx(9 * 4 / 2.0));
  // The finite entry's gradient is exact, and the others' branches leave no NaN behind.
  sum(where(Tensor(col({0, 0, 0, 1})), var, 0)).backward();
  CHECK(df.grad()(3, 0) == Approx(-2 * 9 / 4.0));  // d/ddf s^2 df / (df - 2) = -2 s^2 / (df - 2)^2
  CHECK(df.grad().topRows(3).isZero());
  CHECK(scale.grad()(0, 0) == Approx(2 * 3 * 2.0));
  tape().reset();
  CHECK_THROWS_WITH(Cauchy(0, 1).mean(), Contains("Cauchy"));
  CHECK_THROWS_AS(HalfCauchy(1).variance(), ValueError);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Continuous families: log_prob and rsample gradients match finite differences",
          "[distributions][continuous][gradients]") {
  struct Case {
    std::string name;
    Factory make;
    std::vector<Matrix> params;
    Matrix values;  // for log_prob
  };
  const Matrix loc = col({0.3, -1}), scale = col({1.5, 0.7});
  const std::vector<Case> cases = {
      {"LogNormal",
       [](const auto& p) { return std::make_shared<LogNormal>(p[0], p[1]); },
       {loc, scale},
       col({0.4, 2.2})},
      {"HalfNormal",
       [](const auto& p) { return std::make_shared<HalfNormal>(p[0]); },
       {scale},
       col({0.4, 2.2})},
      {"HalfCauchy",
       [](const auto& p) { return std::make_shared<HalfCauchy>(p[0]); },
       {scale},
       col({0.4, 2.2})},
      {"Cauchy",
       [](const auto& p) { return std::make_shared<Cauchy>(p[0], p[1]); },
       {loc, scale},
       col({-0.4, 2.2})},
      {"StudentT",
       [](const auto& p) { return std::make_shared<StudentT>(p[0], p[1], p[2]); },
       {col({2.5, 7}), loc, scale},
       col({-0.4, 2.2})},
      {"Laplace",
       [](const auto& p) { return std::make_shared<Laplace>(p[0], p[1]); },
       {loc, scale},
       col({-0.4, 2.2})},
      {"Uniform",
       [](const auto& p) { return std::make_shared<Uniform>(p[0], p[1]); },
       {col({-1, 0.5}), col({2, 0.75})},
       col({0.4, 0.6})},
      {"Exponential",
       [](const auto& p) { return std::make_shared<Exponential>(p[0]); },
       {scale},
       col({0.4, 2.2})},
  };
  for (const Case& c : cases) {
    check_log_prob_gradients(c.name, c.make, c.params, c.values);
    if (c.name != "StudentT") check_rsample_gradients(c.name, c.make, c.params);
  }
  // StudentT's draw is differentiable in loc and scale only: df is a constant here.
  const Factory student = [](const auto& p) {
    return std::make_shared<StudentT>(Tensor(col({2.5, 7})), p[0], p[1]);
  };
  check_rsample_gradients("StudentT", student, {loc, scale});
}
#endif

TEST_CASE("Continuous families broadcast and expand and report their shapes",
          "[distributions][continuous]") {
  const Tensor c3(col({1, 2, 3})), r2(rows_of({{0.5, 1.5}}));
  const std::vector<DistributionPtr> batch = {
      std::make_shared<LogNormal>(c3, r2),
      std::make_shared<HalfNormal>(Tensor(Matrix::Ones(3, 2))),
      std::make_shared<Cauchy>(c3, r2),
      std::make_shared<HalfCauchy>(Tensor(Matrix::Ones(3, 2))),
      std::make_shared<StudentT>(r2, c3, 1),
      std::make_shared<Laplace>(c3, r2),
      std::make_shared<Uniform>(r2, c3 + 1),
      std::make_shared<Exponential>(Tensor(Matrix::Ones(3, 2))),
  };
  Rng rng(7);
  for (const DistributionPtr& d : batch) {
    INFO(d->describe());
    CHECK(d->rows() == 3);
    CHECK(d->cols() == 2);
    CHECK(d->event_dim() == 0);
    CHECK(d->has_rsample());
    const Tensor x = d->rsample(rng);
    CHECK(x.rows() == 3);
    CHECK(x.cols() == 2);
    CHECK(x.value().allFinite());
    CHECK(d->support()->check(x.value()));
    const Tensor lp = d->log_prob(x);
    CHECK(lp.rows() == 3);
    CHECK(lp.cols() == 2);
    CHECK(d->entropy().rows() == 3);
    CHECK(d->entropy().cols() == 2);
    const DistributionPtr events = d->to_event(1);
    CHECK(events->log_prob(x).rows() == 3);
    CHECK(events->log_prob(x).cols() == 1);
  }
  const std::vector<DistributionPtr> scalars = {
      std::make_shared<LogNormal>(0, 1),   std::make_shared<HalfNormal>(1),
      std::make_shared<Cauchy>(0, 1),      std::make_shared<HalfCauchy>(1),
      std::make_shared<StudentT>(3, 0, 1), std::make_shared<Laplace>(0, 1),
      std::make_shared<Uniform>(0, 1),     std::make_shared<Exponential>(1),
  };
  for (const DistributionPtr& d : scalars) {
    INFO(d->describe());
    const DistributionPtr wide = d->expand(4, 3);
    CHECK(wide->name() == d->name());
    CHECK(wide->rows() == 4);
    CHECK(wide->cols() == 3);
    CHECK(wide->entropy().matrix().isApprox(Matrix::Constant(4, 3, d->entropy().item())));
    CHECK(wide->sample(rng).rows() == 4);
  }
  CHECK_THROWS_AS(Cauchy(Tensor(Matrix::Zero(2, 1)), Tensor(Matrix::Ones(3, 1))), ShapeError);
  CHECK_THROWS_AS(Uniform(0, 1).expand(2, 2)->log_prob(Tensor(Matrix::Zero(3, 1))), ShapeError);
}

TEST_CASE("Continuous families name the parameter and index and value they reject",
          "[distributions][continuous]") {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  Matrix bad_scale = Matrix::Ones(2, 2);
  bad_scale(1, 0) = -1;
  struct Case {
    std::function<void()> action;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[] {
         LogNormal(0, Tensor(col({1, -1})));
       },
       "LogNormal: scale[1] is -1, but must be positive"},
      {[&] { LogNormal(inf, 1); }, "LogNormal: loc is inf, but must be finite"},
      {[] { HalfNormal(0); }, "HalfNormal: scale is 0, but must be positive"},
      // Infinite and NaN entries among valid ones (the checks screen whole Tensors first).
      {[&] { (void)HalfNormal(inf); }, "HalfNormal: scale is inf, but must be positive"},
      {[&] {
         Exponential(Tensor(col({1, 2, nan})));
       },
       "Exponential: rate[2] is nan, but must be positive"},
      {[&] {
         Cauchy(Tensor(col({0, -inf})), 1);
       },
       "Cauchy: loc[1] is -inf, but must be finite"},
      {[] {
         HalfCauchy(Tensor(col({1, 2, -0.5})));
       },
       "HalfCauchy: scale[2] is -0.5, but must be positive"},
      {[&] { Cauchy(nan, 1); }, "Cauchy: loc is nan, but must be finite"},
      {[] { Cauchy(0, -3); }, "Cauchy: scale is -3, but must be positive"},
      {[] {
         StudentT(Tensor(col({1, 0})), 0, 1);
       },
       "StudentT: df[1] is 0, but must be positive"},
      {[&] { StudentT(3, 0, Tensor(bad_scale)); },
       "StudentT: scale[1, 0] is -1, but must be positive"},
      {[] {
         Laplace(0, Tensor(col({2, -3})));
       },
       "Laplace: scale[1] is -3, but must be positive"},
      {[] { Uniform(1, 1); }, "Uniform: low is 1, but must be less than high, which is 1"},
      {[] {
         Uniform(Tensor(col({0, 2})), 1);
       },
       "Uniform: low[1] is 2, but must be less than high, which is 1"},
      {[&] { Uniform(0, inf); }, "Uniform: high is inf, but must be finite"},
      {[] {
         Exponential(Tensor(col({1, -2})));
       },
       "Exponential: rate[1] is -2, but must be positive"},
      // Values outside the support.
      {[] {
         LogNormal(0, 1).log_prob(Tensor(col({1, 0})));
       },
       "LogNormal: value[1] is 0, but must be in the support positive"},
      {[] {
         HalfNormal(1).log_prob(Tensor(col({0, -1})));
       },
       "HalfNormal: value[1] is -1, but must be in the support nonnegative"},
      {[] { HalfCauchy(2).log_prob(-0.5); },
       "HalfCauchy: value is -0.5, but must be in the support nonnegative"},
      {[] {
         Exponential(1).log_prob(Tensor(col({0.5, -1})));
       },
       "Exponential: value[1] is -1, but must be in the support nonnegative"},
      {[&] {
         Cauchy(0, 1).log_prob(Tensor(col({0, nan})));
       },
       "Cauchy: value[1] is nan"},
      {[&] { StudentT(3, 0, 1).log_prob(nan); }, "StudentT: value is nan"},
      {[&] { Laplace(0, 1).log_prob(nan); }, "Laplace: value is nan"},
      {[] {
         Uniform(0, 1).log_prob(Tensor(col({0.5, 2})));
       },
       "Uniform: value[1] is 2, but must be in the support interval(0, 1)"},
      // Per-entry bounds: each value against its own entry's interval.
      {[] {
         Uniform(0, Tensor(col({1, 2}))).log_prob(Tensor(col({1.5, 1.5})));
       },
       "Uniform: value[0] is 1.5, but must be in [low, high[0]] = [0, 1]"},
      {[] {
         Uniform(Tensor(col({0, 0})), Tensor(col({2, 1}))).log_prob(1.5);
       },
       "Uniform: value is 1.5, but must be in [low[1], high[1]] = [0, 1]"},
  };
  for (const Case& c : cases) {
    INFO(c.message);
    CHECK_THROWS_AS(c.action(), ValueError);
    CHECK_THROWS_WITH(c.action(), Contains(c.message));
  }
}

TEST_CASE("Uniform support and log_prob without validation", "[distributions][continuous]") {
  CHECK(Uniform(-1, 2).support()->name() == "interval(-1, 2)");
  // Per-entry bounds: the smallest interval holding every entry's.
  CHECK(Uniform(Tensor(col({-1, 0})), Tensor(col({1, 3}))).support()->name() == "interval(-1, 3)");
  set_validation(false);
  const Matrix lp =
      Uniform(Tensor(col({0, 0})), Tensor(col({2, 1}))).log_prob(Tensor(col({1.5, 1.5}))).matrix();
  set_validation(true);
  CHECK(lp(0, 0) == Approx(-std::log(2.0)));
  CHECK(lp(1, 0) == -std::numeric_limits<Scalar>::infinity());
}

TEST_CASE("Inverse-CDF samplers stay finite when the uniform draw is exactly 0",
          "[distributions][continuous]") {
  // xoshiro256++ outputs rotl(s0 + s3, 23) + s0, which is 0 when s0 = s3 = 0: a state whose
  // first uniform is exactly 0, where a careless inverse CDF takes log(0) or tan(-pi/2).
  const Rng::State zero_first = {0, 1, 0, 0};
  REQUIRE(Rng::from_state(zero_first).uniform() == 0);
  const std::vector<DistributionPtr> cases = {
      std::make_shared<Laplace>(0, 1),  std::make_shared<Cauchy>(0, 1),
      std::make_shared<HalfCauchy>(1),  std::make_shared<Uniform>(0, 1),
      std::make_shared<Exponential>(1),
  };
  for (const DistributionPtr& d : cases) {
    INFO(d->describe());
    Rng rng = Rng::from_state(zero_first);
    const Tensor x = d->rsample(rng);
    CHECK(std::isfinite(x.item()));
    CHECK(std::isfinite(d->log_prob(x).item()));
  }
}

TEST_CASE("Standard noise is drawn into pooled memory, with the values Rng gives",
          "[distributions][continuous]") {
  // 300 x 200 is past the size glibc would hand back to the system when freed.
  for (const auto& [rows, cols] : {std::pair<Index, Index>{1, 1}, {3, 2}, {300, 200}}) {
    INFO(rows << "x" << cols);
    Rng a(11), b(11);
    CHECK(detail::standard_normal(a, rows, cols).matrix() == b.normal(rows, cols));
    CHECK(detail::standard_uniform(a, rows, cols).matrix() == b.uniform(rows, cols));
    CHECK(a.next_u64() == b.next_u64());  // both streams at the same point
  }
  // The standard members of the families draw exactly that noise.
  const Index rows = 300, cols = 200;
  const Tensor zeros = Tensor::zeros(rows, cols);
  Rng a(5), b(5);
  CHECK(Normal(zeros, 1).rsample(a).matrix() == b.normal(rows, cols));
  CHECK(Uniform(zeros, 1).rsample(a).matrix() == b.uniform(rows, cols));
  CHECK(LogNormal(zeros, 1).rsample(a).matrix() == exp(Tensor(b.normal(rows, cols))).matrix());
  CHECK(HalfNormal(Tensor::ones(rows, cols)).rsample(a).matrix() ==
        b.normal(rows, cols).cwiseAbs());

  // The noise's buffer goes back to the pool and is taken again by the next draw.
  release_pooled_memory();
  const Scalar* first = nullptr;
  {
    const Tensor eps = detail::standard_normal(a, rows, cols);
    first = eps.value().data();
  }
  CHECK(pooled_bytes() >= static_cast<std::size_t>(rows * cols) * sizeof(Scalar));
  for (int step = 0; step < 3; ++step) {
    const Tensor eps = detail::standard_uniform(a, rows, cols);
    CHECK(eps.value().data() == first);
    CHECK(pooled_bytes() == 0);
  }
}
