// TransformedDistribution: a Normal pushed through exp is the LogNormal (density, draws,
// gradients of a draw's own log_prob), a simplex-valued push-forward integrates the
// stick-breaking Jacobian, and bad arguments are named.
#include <cmath>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

TEST_CASE("Normal pushed through exp is the LogNormal", "[distributions][transformed]") {
  const Matrix loc = col({0.3, -1.0, 2.0});
  const Matrix scale = col({0.5, 1.2, 0.1});
  const TransformedDistribution t(std::make_shared<Normal>(Tensor(loc), Tensor(scale)),
                                  constraints::positive());
  const LogNormal ln{Tensor(loc), Tensor(scale)};
  CHECK(t.rows() == 3);
  CHECK(t.cols() == 1);
  CHECK(t.support()->name() == "positive");
  const Matrix x = col({1.5, 0.2, 7.0});
  check_log_prob(t, x, [&](Index i, Index, double v) {
    const double z = (std::log(v) - loc(i, 0)) / scale(i, 0);
    return -0.5 * z * z - std::log(scale(i, 0) * v) - 0.5 * std::log(2 * M_PI);
  });
  // Same noise, same draw.
  Rng a(4), b(4);
  CHECK(t.rsample(a).matrix().isApprox(ln.rsample(b).matrix()));
  check_ks(TransformedDistribution(std::make_shared<Normal>(0.3, 0.5), constraints::positive()),
           [](double v) { return 0.5 * std::erfc(-(std::log(v) - 0.3) / (0.5 * std::sqrt(2.0))); });
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("log_prob of a draw keeps the pathwise gradient through the draw",
          "[distributions][transformed][gradients]") {
  // log q(T(x(theta)); theta) differentiated in theta through both arguments equals the same for
  // the LogNormal written directly, with the same noise.
  auto via_transform = [](const std::vector<Tensor>& p) {
    const TransformedDistribution t(std::make_shared<Normal>(p[0], p[1]), constraints::positive());
    Rng rng(9);
    return t.log_prob(t.rsample(rng));
  };
  auto direct = [](const std::vector<Tensor>& p) {
    const LogNormal ln(p[0], p[1]);
    Rng rng(9);
    return ln.log_prob(ln.rsample(rng));
  };
  const Matrix loc = col({0.3, -0.4}), scale = col({0.5, 0.8});
  vesta::testing::check_gradients("transformed log_prob(rsample)", via_transform, {loc, scale});
  const Tensor l = Tensor::variable(loc), s = Tensor::variable(scale);
  sum(via_transform({l, s})).backward();
  const Matrix gl = l.grad(), gs = s.grad();
  l.zero_grad();
  s.zero_grad();
  sum(direct({l, s})).backward();
  CHECK(gl.isApprox(l.grad()));
  CHECK(gs.isApprox(s.grad()));
  tape().reset();
}
#endif

TEST_CASE("a simplex-valued push-forward scores its draws with the stick-breaking Jacobian",
          "[distributions][transformed]") {
  // Rows of 3 probabilities from 2 unconstrained Normal coordinates per row.
  const auto base = Normal(Tensor(Matrix::Zero(2, 2)), 1).to_event(1);
  const TransformedDistribution t(base, constraints::simplex());
  CHECK(t.cols() == 3);
  CHECK(t.event_dim() == 1);
  Rng rng(3);
  const Tensor y = t.rsample(rng);
  CHECK(y.value().rowwise().sum().isApprox(Matrix::Ones(2, 1)));
  const Matrix own = t.log_prob(y).matrix();
  // The same value handed in from outside (a replay) is pulled back and scores the same.
  const Matrix pulled = t.log_prob(Tensor(y.matrix())).matrix();
  REQUIRE(own.rows() == 2);
  REQUIRE(own.cols() == 1);
  CHECK(own.isApprox(pulled, 1e-4));
  // By hand: base density at x = T^-1(y) less the summed log-Jacobian of each row.
  const Matrix x = constraints::simplex()->inverse(y.matrix());
  const Matrix by_hand =
      (base->log_prob(Tensor(x)) - constraints::simplex()->log_abs_det_jacobian(Tensor(x)))
          .matrix();
  CHECK(own.isApprox(by_hand, 1e-4));
  tape().reset();
}

TEST_CASE("TransformedDistribution names what it cannot do", "[distributions][transformed]") {
  CHECK_THROWS_WITH(TransformedDistribution(std::make_shared<Normal>(0, 1), constraints::boolean()),
                    Contains("boolean"));
  CHECK_THROWS_WITH(TransformedDistribution(std::make_shared<Normal>(0, 1), constraints::simplex()),
                    Contains("simplex") && Contains("to_event"));
}
