// Each constraint's bijection: it maps into the set, inverts, and its log-det-Jacobian
// matches the log-determinant of a finite-difference Jacobian.
#include <limits>

#include <Eigen/LU>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/gradcheck.hpp"

using namespace vesta;

namespace {

struct Row {
  ConstraintPtr c;
  Index rows;
  Index cols;  // of the unconstrained tensor
};

std::vector<Row> rows() {
  return {
      {constraints::real(), 2, 3},
      {constraints::positive(), 2, 3},
      {constraints::greater_than(-1.5), 2, 3},
      {constraints::interval(-2, 5), 2, 3},
      {constraints::unit_interval(), 2, 3},
      {constraints::simplex(), 2, 3},
      {constraints::lower_cholesky(), 3, 3},
  };
}

}  // namespace

TEST_CASE("constraint transforms map into the set and invert", "[core][constraints]") {
  std::mt19937_64 gen(5);
  for (const Row& r : rows()) {
    INFO(r.c->name());
    const Matrix x = vesta::testing::random_matrix(r.rows, r.cols, -2, 2, gen);
    const Matrix y = r.c->transform(Tensor(x)).matrix();
    CHECK(y.cols() == r.c->constrained_cols(r.cols));
    CHECK(r.c->unconstrained_cols(y.cols()) == r.cols);
    CHECK(r.c->check(y));
    Matrix back = r.c->inverse(y);
    if (r.c->name() == "lower_cholesky")
      back.triangularView<Eigen::StrictlyUpper>() = x.triangularView<Eigen::StrictlyUpper>();
    CHECK((back - x).cwiseAbs().maxCoeff() < (sizeof(Scalar) == 4 ? 1e-4 : 1e-10));
    // Specs round-trip, so saved parameters find their constraint again.
    CHECK(constraints::from_name(r.c->name())->name() == r.c->name());
  }
  CHECK_FALSE(constraints::positive()->check(Matrix::Constant(1, 1, -1)));
  CHECK_FALSE(constraints::simplex()->check(Matrix::Constant(1, 3, 0.5)));
  CHECK_FALSE(constraints::lower_cholesky()->check(Matrix::Identity(2, 2) * -1));
  CHECK_THROWS_AS(constraints::from_name("wobbly"), ValueError);
  CHECK_THROWS_AS(constraints::interval(1, 0), ValueError);
}

TEST_CASE("check_one says of one number what check says of it as a 1x1 matrix",
          "[core][constraints]") {
  // check_one is the value check of every scalar site; each set's own override must agree
  // with its check(), at the boundaries and for NaN and the infinities too.
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const std::vector<ConstraintPtr> sets = {constraints::real(),
                                           constraints::positive(),
                                           constraints::nonnegative(),
                                           constraints::greater_than(-1.5),
                                           constraints::interval(-2, 5),
                                           constraints::unit_interval(),
                                           constraints::boolean(),
                                           constraints::nonnegative_integer(),
                                           constraints::integer_interval(0, 3),
                                           constraints::one_hot(),
                                           constraints::simplex(),
                                           constraints::lower_cholesky()};
  const std::vector<Scalar> values = {nan, -inf, -3, -2, -1.5, -1, 0, 0.5, 1, 2, 3, 5, 7, inf};
  int accepted = 0, rejected = 0;
  for (const ConstraintPtr& c : sets) {
    for (const Scalar v : values) {
      INFO(c->name() << " at " << v);
      const bool expected = c->check(Matrix::Constant(1, 1, v));
      CHECK(c->check_one(v) == expected);
      (expected ? accepted : rejected) += 1;
    }
  }
  // Both answers occur, so the comparison above can fail either way.
  CHECK(accepted > 20);
  CHECK(rejected > 20);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("first_violation names the first entry outside the set, in a value of any size",
          "[core][constraints]") {
  // Every entry of a large value is tested in one pass before the first bad one is looked
  // for: the entry named must still be the first, wherever it is.
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  struct Case {
    ConstraintPtr c;
    Scalar inside;
    Scalar outside;
  };
  const Case cases[] = {{constraints::real(), 1, nan},
                        {constraints::positive(), 1, 0},
                        {constraints::nonnegative(), 0, -1},
                        {constraints::unit_interval(), Scalar(0.5), 2},
                        {constraints::boolean(), 1, Scalar(0.5)},
                        {constraints::nonnegative_integer(), 3, Scalar(2.5)}};
  for (const Case& c : cases) {
    INFO(c.c->name());
    for (const Index n : {Index(1), Index(7), Index(1000)}) {
      Matrix v = Matrix::Constant(n, 1, c.inside);
      CHECK(c.c->first_violation(v) == -1);
      CHECK(c.c->check(v));
      for (const Index at : {Index(0), n / 2, n - 1}) {
        Matrix w = v;
        w(at, 0) = c.outside;
        if (at + 1 < n) w(n - 1, 0) = c.outside;  // a later one too: the first is named
        CHECK(c.c->first_violation(w) == at);
        CHECK_FALSE(c.c->check(w));
      }
    }
  }
}

TEST_CASE("log_abs_det_jacobian matches a finite-difference Jacobian", "[core][constraints]") {
  std::mt19937_64 gen(6);
  for (const Row& r : rows()) {
    INFO(r.c->name());
    const Matrix x = vesta::testing::random_matrix(r.rows, r.cols, -1.5, 1.5, gen);
    const bool simplex = r.c->name() == "simplex";
    const bool cholesky = r.c->name() == "lower_cholesky";
    // The free coordinates: all of x, except the ignored upper triangle of a Cholesky
    // factor; the outputs they map to one-to-one: all of y, except a simplex row's last
    // entry (fixed by the others) and a Cholesky factor's zero upper triangle.
    std::vector<Index> in, out;
    const Index yc = r.c->constrained_cols(r.cols);
    for (Index j = 0; j < r.cols; ++j)
      for (Index i = 0; i < r.rows; ++i)
        if (!cholesky || i >= j) in.push_back(i + j * r.rows);
    for (Index j = 0; j < yc; ++j)
      for (Index i = 0; i < r.rows; ++i)
        if ((!simplex || j + 1 < yc) && (!cholesky || i >= j)) out.push_back(i + j * r.rows);
    REQUIRE(in.size() == out.size());
    const double h = 1e-6;
    Eigen::MatrixXd J(in.size(), in.size());
    for (std::size_t a = 0; a < in.size(); ++a) {
      Matrix xp = x, xm = x;
      xp.data()[in[a]] += h;
      xm.data()[in[a]] -= h;
      const Matrix yp = r.c->transform(Tensor(xp)).matrix();
      const Matrix ym = r.c->transform(Tensor(xm)).matrix();
      for (std::size_t b = 0; b < out.size(); ++b)
        J(b, a) = (yp.data()[out[b]] - ym.data()[out[b]]) / (2 * h);
    }
    const double expected = std::log(std::abs(J.determinant()));
    const Tensor ldj = r.c->log_abs_det_jacobian(Tensor(x));
    CHECK(sum(ldj).item() == Approx(expected).margin(1e-6));
    // One entry per event of the bijection.
    CHECK(ldj.rows() == (r.c->event_dim() == 2 ? 1 : x.rows()));
    CHECK(ldj.cols() == (r.c->event_dim() >= 1 ? 1 : x.cols()));
  }
}

TEST_CASE("constraint transforms are differentiable", "[core][constraints][gradients]") {
  std::mt19937_64 gen(7);
  for (const Row& r : rows()) {
    const Matrix x = vesta::testing::random_matrix(r.rows, r.cols, -1.5, 1.5, gen);
    const ConstraintPtr c = r.c;
    vesta::testing::check_gradients(
        c->name() + " transform", [c](const std::vector<Tensor>& v) { return c->transform(v[0]); },
        {x});
    vesta::testing::check_gradients(
        c->name() + " log_abs_det_jacobian",
        [c](const std::vector<Tensor>& v) { return c->log_abs_det_jacobian(v[0]); }, {x});
  }
}
#endif
