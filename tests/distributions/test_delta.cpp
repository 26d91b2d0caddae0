// Delta: log_prob (log_density at the point, -inf elsewhere) for each event_dim, rsample
// returning the point with its gradient, moments, expand, and argument validation.
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("Delta log_prob is log_density at the point and -inf elsewhere",
          "[distributions][delta]") {
  struct Case {
    const char* name;
    Matrix point;
    Matrix log_density;
    int event_dim;
    Matrix x;
    Matrix expected;
  };
  const Case cases[] = {
      {"elementwise", col({1, 2, 3}), col({0.5, 1, -2}), 0, col({1, 2.5, 3}),
       col({0.5, -kInf, -2})},
      {"elementwise, default density", col({1, 2}), Matrix::Zero(1, 1), 0, col({1, 2}),
       col({0, 0})},
      {"elementwise, one value against the point", col({4, 4, 5}), Matrix::Zero(1, 1), 0,
       Matrix::Constant(1, 1, 4), col({0, 0, -kInf})},
      {"rows as events", mat(2, 3, {1, 2, 3, 4, 5, 6}), col({0.25, 3}), 1,
       mat(2, 3, {1, 2, 3, 4, 5, 6.5}), col({0.25, -kInf})},
      {"rows as events, one row of values", mat(2, 2, {1, 2, 1, 2}), Matrix::Constant(1, 1, -1), 1,
       mat(1, 2, {1, 2}), col({-1, -1})},
      {"whole matrix as one event", mat(2, 2, {1, 2, 3, 4}), Matrix::Constant(1, 1, 1.5), 2,
       mat(2, 2, {1, 2, 3, 4}), Matrix::Constant(1, 1, 1.5)},
      {"whole matrix, one entry differs", mat(2, 2, {1, 2, 3, 4}), Matrix::Constant(1, 1, 1.5), 2,
       mat(2, 2, {1, 2, 3, 4.5}), Matrix::Constant(1, 1, -kInf)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Delta d(Tensor(c.point), Tensor(c.log_density), c.event_dim);
    CHECK(d.event_dim() == c.event_dim);
    const Matrix lp = d.log_prob(Tensor(c.x)).matrix();
    REQUIRE(lp.rows() == c.expected.rows());
    REQUIRE(lp.cols() == c.expected.cols());
    for (Index k = 0; k < lp.size(); ++k)
      CHECK(double(lp.data()[k]) == Approx(c.expected.data()[k]));
  }
}

TEST_CASE("Delta draws are its point, with mean the point and variance 0",
          "[distributions][delta]") {
  const Matrix v = mat(2, 3, {1, -2, 3.5, 0, 7, -1});
  const Delta d(Tensor(v), 0, 1);
  Rng rng(1);
  CHECK(d.has_rsample());
  CHECK(d.sample(rng).matrix() == v);
  CHECK(d.rsample(rng).matrix() == v);
  CHECK(d.mean().matrix() == v);
  CHECK(d.variance().matrix() == Matrix::Zero(2, 3));
  CHECK(d.value().matrix() == v);
  CHECK(d.log_density().item() == 0);
  CHECK(d.support()->name() == "real");
  CHECK(d.batch_rows() == 2);
  CHECK(d.batch_cols() == 1);
  // A draw scores log_density.
  CHECK(d.log_prob(d.sample(rng)).matrix() == Matrix::Zero(2, 1));
  // The value keeps its gradient through rsample: a MAP-style guide.
  const Tensor w = Tensor::variable(v);
  sum(square(Delta(w).rsample(rng))).backward();
  CHECK(w.grad().isApprox(2 * v));
  tape().reset();
}

TEST_CASE("Delta expands and reinterprets batch dimensions", "[distributions][delta]") {
  const DistributionPtr wide = Delta(0.5, -1).expand(4, 1);
  CHECK(wide->rows() == 4);
  CHECK(wide->cols() == 1);
  const Matrix lp = wide->log_prob(Tensor(col({0.5, 0.5, 1, 0.5}))).matrix();
  CHECK(lp(0, 0) == -1);
  CHECK(lp(2, 0) == -kInf);
  // Rows as events inside a plate over rows: one point row broadcast to 3 rows.
  const DistributionPtr rows = Delta(Tensor(mat(1, 2, {1, 2})), 0, 1).expand(3, 2);
  CHECK(rows->rows() == 3);
  CHECK(rows->log_prob(Tensor(mat(3, 2, {1, 2, 1, 2, 0, 2}))).matrix() == col({0, 0, -kInf}));
  CHECK_THROWS_AS(Delta(Tensor(col({1, 2}))).expand(3, 1), ShapeError);
  // to_event(1) on an elementwise Delta is the same as event_dim 1.
  const Matrix v = mat(2, 2, {1, 2, 3, 4});
  const Tensor x(mat(2, 2, {1, 2, 3, 5}));
  CHECK(Delta(Tensor(v)).to_event(1)->log_prob(x).matrix() ==
        Delta(Tensor(v), 0, 1).log_prob(x).matrix());
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Delta rsample and log_prob gradients match finite differences",
          "[distributions][delta][gradients]") {
  const Matrix v = mat(2, 3, {1, -2, 3.5, 0, 7, -1});
  const Factory make = [](const std::vector<Tensor>& p) {
    return std::make_shared<Delta>(p[0], p[1], 1);
  };
  check_rsample_gradients("Delta", make, {v, col({0.5, -1})});
  // At the point, log_prob is log_density (constant in the point, which it only compares).
  const Factory at_point = [v](const std::vector<Tensor>& p) {
    return std::make_shared<Delta>(Tensor(v), p[0], 1);
  };
  check_log_prob_gradients("Delta log_density", at_point, {col({0.5, -1})}, v);
}
#endif

TEST_CASE("Delta rejects bad arguments and values, naming them", "[distributions][delta]") {
  CHECK_THROWS_WITH(Delta(1, 0, 3), Contains("Delta: event_dim is 3, but must be 0, 1 or 2"));
  CHECK_THROWS_AS(Delta(1, 0, -1), ValueError);
  CHECK_THROWS_WITH(
      Delta(Tensor(mat(2, 3, {1, 2, 3, 4, 5, 6})), Tensor(col({1, 2, 3})), 1),
      Contains("Delta: log_density is 3x1, but must broadcast to the batch shape 2x1"));
  CHECK_THROWS_AS(Delta(Tensor(col({1, 2})), Tensor(mat(1, 2, {0, 0}))), ShapeError);
  CHECK_THROWS_WITH(Delta(Tensor(col({1, std::nan("")}))), Contains("Delta: value[1] is nan"));
  const Delta d(Tensor(col({1, 2, 3})));
  CHECK_THROWS_WITH(d.log_prob(Tensor(col({1, std::nan(""), 3}))),
                    Contains("Delta: value[1] is nan, but must be in the support real"));
  CHECK_THROWS_WITH(d.log_prob(Tensor(col({1, 2}))),
                    Contains("Delta: value 2x1 does not broadcast against the point 3x1"));
  CHECK_THROWS_AS(d.entropy(), ValueError);
}
