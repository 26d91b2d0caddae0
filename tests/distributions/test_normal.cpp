// Normal, the family the engine is tested with: log_prob against Boost.Math, the
// reparameterised draw's moments and gradients, and argument validation.
#include <boost/math/distributions/normal.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;
using Catch::Matchers::Contains;

TEST_CASE("Normal log_prob matches Boost.Math's density", "[distributions][normal]") {
  Matrix x(4, 1);
  x << -3.5, -0.1, 0.0, 7.25;
  Matrix loc(4, 1);
  loc << 0, 1, -2, 5;
  const Normal d(Tensor(loc), Tensor(Scalar(1.7)));
  CHECK(d.rows() == 4);
  const Matrix lp = d.log_prob(Tensor(x)).matrix();
  for (Index i = 0; i < 4; ++i) {
    const boost::math::normal_distribution<double> ref(loc(i, 0), 1.7);
    CHECK(lp(i, 0) == Approx(std::log(boost::math::pdf(ref, x(i, 0)))).epsilon(1e-6));
  }
}

TEST_CASE("Normal rsample has the right moments and carries gradients", "[distributions][normal]") {
  Rng rng(8);
  const Tensor loc = Tensor::variable(Matrix::Constant(1, 1, 2));
  const Tensor scale = Tensor::variable(Matrix::Constant(1, 1, 0.5));
  const Normal d(loc + Tensor::zeros(20000, 1), scale + Tensor::zeros(20000, 1));
  const Tensor z = d.rsample(rng);
  const double n = 20000;
  const double m = z.value().mean();
  const double v = (z.value().array() - m).square().sum() / (n - 1);
  CHECK(std::abs(m - 2) < 4 * 0.5 / std::sqrt(n));
  CHECK(std::abs(v - 0.25) < 4 * 0.25 * std::sqrt(2 / (n - 1)));
  // d/dloc mean(z) = 1; d/dscale mean(z) = mean(eps).
  mean(z).backward();
  CHECK(loc.grad()(0, 0) == Approx(1));
  CHECK(scale.grad()(0, 0) == Approx((m - 2) / 0.5).margin(1e-4));
  tape().reset();
}

TEST_CASE("Normal rejects a non-positive scale, naming the index and value", "[distributions][normal]") {
  Matrix s(3, 1);
  s << 1, 2, -1;
  CHECK_THROWS_WITH(Normal(0, Tensor(s)), Contains("Normal: scale[2] is -1, but must be positive"));
  CHECK_THROWS_WITH(Normal(0, 0), Contains("scale is 0"));
  CHECK_THROWS_AS(Normal(Tensor(Matrix::Zero(2, 1)), Tensor(Matrix::Ones(3, 1))), ShapeError);
  set_validation(false);
  CHECK_NOTHROW(Normal(0, -1));
  set_validation(true);
}
