// fill_tril and fill_scale_tril: the layout of the triangle (row by row in, column-major
// out), the positive diagonal for any input, gradients against finite differences, use as a
// MultivariateNormal's factor per row, and the error for a width that is no triangle.
#include <cmath>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"
#include "support/gradcheck.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using vesta::testing::rows_of;

TEST_CASE("fill_tril lays each row into a lower triangle, row by row", "[nn][scale_tril]") {
  CHECK(tril_size(1) == 1);
  CHECK(tril_size(3) == 6);
  const Matrix x = rows_of({{1, 2, 3, 4, 5, 6}, {-1, -2, -3, -4, -5, -6}});
  const Matrix y = fill_tril(Tensor(x)).matrix();
  REQUIRE(y.rows() == 2);
  REQUIRE(y.cols() == 9);
  Matrix expected(3, 3);
  expected << 1, 0, 0,  //
      2, 3, 0,          //
      4, 5, 6;
  for (Index r = 0; r < 2; ++r) {
    const Matrix m = Eigen::Map<const Matrix>(Matrix(y.row(r)).data(), 3, 3);
    CHECK(m == (r == 0 ? expected : Matrix(-expected)));
  }
  CHECK(fill_tril(Tensor(rows_of({{7}}))).item() == 7);
  CHECK_THROWS_WITH(
      fill_tril(Tensor(Matrix::Ones(2, 4))),
      Contains("fill_tril: x is 2x4, but needs d (d + 1) / 2 columns (1, 3, 6, 10, ...)"));
  CHECK_THROWS_AS(fill_scale_tril(Tensor(Matrix::Ones(2, 5))), ShapeError);
}

TEST_CASE("fill_scale_tril gives a valid Cholesky factor for any input", "[nn][scale_tril]") {
  // Very negative, zero and large diagonal inputs; free entries below the diagonal.
  const Matrix x = rows_of({{-50, 0.7, 0, -3, 2, 30}, {1, -1, 1, -1, 1, -1}});
  const Matrix y = fill_scale_tril(Tensor(x)).matrix();
  const double shift = 1e-5;
  const auto softplus_of = [](double v) {
    return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v)));
  };
  for (Index r = 0; r < 2; ++r) {
    INFO("row " << r);
    const Matrix L = Eigen::Map<const Matrix>(Matrix(y.row(r)).data(), 3, 3);
    CHECK(L(0, 1) == 0);
    CHECK(L(0, 2) == 0);
    CHECK(L(1, 2) == 0);
    CHECK(L(1, 0) == x(r, 1));
    CHECK(L(2, 0) == x(r, 3));
    CHECK(L(2, 1) == x(r, 4));
    CHECK(L(0, 0) == Approx(softplus_of(x(r, 0)) + shift));
    CHECK(L(1, 1) == Approx(softplus_of(x(r, 2)) + shift));
    CHECK(L(2, 2) == Approx(softplus_of(x(r, 5)) + shift));
    CHECK(L.diagonal().minCoeff() > 0);
  }
  // Another transform and shift.
  const Matrix e = fill_scale_tril(Tensor(x), 0, vesta::exp).matrix();
  CHECK(e(1, 4) == Approx(std::exp(1.0)));  // row 1's entry (1, 1): column 1 * 3 + 1
  // Accepted as a factor per row.
  const MultivariateNormal d =
      MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(2, 3)), Tensor(y));
  CHECK(d.has_scale_per_row());
  CHECK(d.log_prob(Tensor(Matrix::Zero(2, 3))).matrix().allFinite());
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("fill_tril and fill_scale_tril gradients match finite differences",
          "[nn][scale_tril][gradients]") {
  const Matrix x = rows_of({{-1.5, 0.7, 0.2, -3, 2, 1.1}, {1, -1, 0.5, -0.4, 1, -1}});
  vesta::testing::check_gradients(
      "fill_tril", [](const std::vector<Tensor>& t) { return fill_tril(t[0]); }, {x});
  vesta::testing::check_gradients(
      "fill_scale_tril", [](const std::vector<Tensor>& t) { return fill_scale_tril(t[0]); }, {x});
  vesta::testing::check_gradients(
      "fill_scale_tril with exp",
      [](const std::vector<Tensor>& t) { return fill_scale_tril(t[0], 0, vesta::exp); }, {x});
}
#endif
