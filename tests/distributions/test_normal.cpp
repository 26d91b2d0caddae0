// Normal: log_prob against Boost.Math, sampler, moments, entropy, gradients of log_prob and
// rsample, to_event and expand, and argument validation. The pattern for every family.
#include <limits>
#include <numbers>

#include <boost/math/distributions/normal.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"
#include "support/gradcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

TEST_CASE("Normal log_prob matches Boost.Math's density", "[distributions][normal]") {
  const Matrix loc = col({0, 1, -2, 5});
  const Normal d(Tensor(loc), 1.7);
  check_log_prob(d, col({-3.5, -0.1, 0.0, 7.25}), [&](Index i, Index, double x) {
    return std::log(boost::math::pdf(boost::math::normal_distribution<double>(loc(i, 0), 1.7), x));
  });
}

TEST_CASE("Normal draws follow its CDF and moments", "[distributions][normal]") {
  const Normal d(0.5, 2.0);
  check_ks(d, [](double x) {
    return boost::math::cdf(boost::math::normal_distribution<double>(0.5, 2.0), x);
  });
  check_moments(Normal(Tensor(col({-1, 3})), Tensor(col({0.5, 4}))));
  check_entropy_monte_carlo(Normal(Tensor(col({-1, 3})), Tensor(col({0.5, 4}))));
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Normal log_prob and rsample gradients match finite differences",
          "[distributions][normal][gradients]") {
  const Factory make = [](const std::vector<Tensor>& p) {
    return std::make_shared<Normal>(p[0], p[1]);
  };
  check_log_prob_gradients("Normal", make, {col({0.3, -1}), col({1.5, 0.7})}, col({0.2, 0.9}));
  check_rsample_gradients("Normal", make, {col({0.3, -1}), col({1.5, 0.7})});
}

TEST_CASE("a scalar location-scale draw is one node with the composed ops' value and gradients",
          "[distributions][normal][gradients]") {
  // detail::location_scale against loc + scale * noise on the same numbers, also when loc and
  // scale are one leaf; then each family that draws through it, with 1x1 parameters, against
  // finite differences. The fused node may differ from the two nodes in the last bit: the
  // compiler may fuse its product and sum into one rounding (an FMA).
  const double kRounding = 4 * double(std::numeric_limits<Scalar>::epsilon());
  const Tensor loc = Tensor::variable(Matrix::Constant(1, 1, 0.4));
  const Tensor scale = Tensor::variable(Matrix::Constant(1, 1, 1.3));
  const Tensor noise(Scalar(-0.7));
  for (const bool same : {false, true}) {
    INFO("loc and scale one leaf: " << same);
    const Tensor& s = same ? loc : scale;
    const std::size_t before = tape().num_nodes();
    const Tensor fused = detail::location_scale(loc, s, noise);
    CHECK(tape().num_nodes() - before == (same ? 2u : 3u));  // the leaves and one node
    const Tensor composed = loc + s * noise;
    CHECK(fused.item() == Approx(composed.item()).epsilon(kRounding));
    (fused * 3).backward();
    const Matrix g_loc = loc.grad(), g_scale = scale.grad();
    tape().reset();
    loc.zero_grad();
    scale.zero_grad();
    ((loc + s * noise) * 3).backward();
    CHECK(loc.grad()(0, 0) == Approx(g_loc(0, 0)).epsilon(kRounding));
    if (!same) CHECK(scale.grad()(0, 0) == Approx(g_scale(0, 0)).epsilon(kRounding));
    tape().reset();
    loc.zero_grad();
    scale.zero_grad();
  }
  const Matrix l = col({0.3}), sc = col({1.5});
  check_rsample_gradients(
      "Normal", [](const std::vector<Tensor>& p) { return std::make_shared<Normal>(p[0], p[1]); },
      {l, sc});
  check_rsample_gradients(
      "Laplace", [](const std::vector<Tensor>& p) { return std::make_shared<Laplace>(p[0], p[1]); },
      {l, sc});
  check_rsample_gradients(
      "Cauchy", [](const std::vector<Tensor>& p) { return std::make_shared<Cauchy>(p[0], p[1]); },
      {l, sc});
  check_rsample_gradients(
      "LogNormal",
      [](const std::vector<Tensor>& p) { return std::make_shared<LogNormal>(p[0], p[1]); },
      {l, sc});
  check_rsample_gradients(
      "StudentT",
      [](const std::vector<Tensor>& p) { return std::make_shared<StudentT>(5.0, p[0], p[1]); },
      {l, sc});
}

TEST_CASE("Normal's fused log_prob broadcasts value, loc and scale as the composed ops do",
          "[distributions][normal][gradients]") {
  // The reference path: the density written with elementwise ops.
  auto composed = [](const Tensor& x, const Tensor& loc, const Tensor& scale) {
    const Tensor z = (x - loc) / scale;
    return Scalar(-0.5) * square(z) - log(scale) - Scalar(0.5 * std::log(2 * std::numbers::pi));
  };
  Matrix x32(3, 2), loc32(3, 2), scale32(3, 2);
  x32 << 0.2, -1.1, 0.7, 2.0, -0.4, 0.3;
  loc32 << 0.1, 0.5, -0.3, 1.2, 0.0, -0.8;
  scale32 << 0.6, 1.4, 2.1, 0.9, 1.1, 0.5;
  // value, loc, scale: every operand in turn full, a column, a row or one number.
  const std::vector<std::vector<Matrix>> cases = {
      {x32, Matrix::Constant(1, 1, 0.3), Matrix::Constant(1, 1, 1.7)},
      {x32, col({0.1, -0.2, 0.4}), Matrix::Constant(1, 1, 0.8)},
      {x32, loc32, scale32},
      {x32, Matrix::Constant(1, 2, 0.3), col({0.5, 1.5, 2.5})},
      {Matrix::Constant(1, 1, 0.4), loc32, scale32.row(0)},
      {col({0.2, -0.6, 1.0}), loc32.row(1), Matrix::Constant(1, 1, 1.3)},
  };
  for (const auto& c : cases) {
    INFO("shapes " << c[0].rows() << "x" << c[0].cols() << ", " << c[1].rows() << "x" << c[1].cols()
                   << ", " << c[2].rows() << "x" << c[2].cols());
    const Matrix fused = Normal(Tensor(c[1]), Tensor(c[2])).log_prob(Tensor(c[0])).matrix();
    const Matrix reference = composed(Tensor(c[0]), Tensor(c[1]), Tensor(c[2])).matrix();
    REQUIRE(fused.rows() == reference.rows());
    REQUIRE(fused.cols() == reference.cols());
    CHECK((fused - reference).cwiseAbs().maxCoeff() < 1e-12);
    check_gradients(
        "Normal log_prob",
        [](const std::vector<Tensor>& p) { return Normal(p[1], p[2]).log_prob(p[0]); }, c);
  }
}
#endif

TEST_CASE("Normal to_event sums log_prob over the event", "[distributions][normal]") {
  Matrix loc(2, 3);
  loc << 0, 1, 2, 3, 4, 5;
  const Normal base(Tensor(loc), 1);
  const Matrix x = Matrix::Constant(2, 3, 1.5);
  const Matrix lp = base.log_prob(Tensor(x)).matrix();
  const DistributionPtr rows = base.to_event(1);
  CHECK(rows->event_dim() == 1);
  CHECK(rows->log_prob(Tensor(x)).matrix().isApprox(lp.rowwise().sum()));
  const DistributionPtr whole = base.to_event(2);
  CHECK(whole->log_prob(Tensor(x)).item() == Approx(lp.sum()));
  CHECK(whole->entropy().item() == Approx(sum(base.entropy()).item()));
  CHECK_THROWS_AS(rows->to_event(2), ValueError);
  const DistributionPtr wide = Normal(0, 1).expand(4, 3);
  CHECK(wide->rows() == 4);
  CHECK(wide->cols() == 3);
}

TEST_CASE("Normal rejects bad parameters and values, naming the index and value",
          "[distributions][normal]") {
  CHECK_THROWS_WITH(Normal(0, Tensor(col({1, 2, -1}))),
                    Contains("Normal: scale[2] is -1, but must be positive"));
  CHECK_THROWS_WITH(Normal(0, 0), Contains("scale is 0"));
  CHECK_THROWS_WITH(Normal(std::nan(""), 1), Contains("loc is nan"));
  CHECK_THROWS_AS(Normal(Tensor(Matrix::Zero(2, 1)), Tensor(Matrix::Ones(3, 1))), ShapeError);
  CHECK_THROWS_WITH(Normal(0, 1).log_prob(Tensor(col({0, std::nan("")}))),
                    Contains("value[1] is nan"));
  set_validation(false);
  CHECK_NOTHROW(Normal(0, -1));
  set_validation(true);
}
