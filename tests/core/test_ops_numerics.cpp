// Numerical care: the log-sum-exp family and softplus/log_sigmoid at inputs of magnitude
// 1e3 (where naive formulas overflow) and their accuracy, gradients at relu's and abs's kinks, and
// where() keeping an infinite branch that is not taken out of values and gradients.
#include <algorithm>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;

namespace {
bool all_finite(const Matrix& m) { return m.allFinite(); }
// Relative precision of the build's Scalar at magnitude 1e3, where float keeps about 1e-4.
const double kEps1e3 = 1e3 * std::numeric_limits<Scalar>::epsilon() * 4;
}  // namespace

TEST_CASE("logsumexp and log_softmax are stable at magnitude 1e3", "[core][numerics]") {
  Matrix m(2, 3);
  m << 1000, 999, 998, -1000, -1001, -1002;
  const Tensor x = Tensor::variable(m);
  // log(e^0 + e^-1 + e^-2), shifted by the row maximum.
  const double tail = std::log(1 + std::exp(-1.0) + std::exp(-2.0));

  const Tensor lse = rowwise_logsumexp(x);
  CHECK(lse(0, 0) == Approx(1000 + tail));
  CHECK(lse(1, 0) == Approx(-1000 + tail));
  const Tensor lsm = rowwise_log_softmax(x);
  CHECK(lsm(0, 0) == Approx(-tail));
  CHECK(lsm(1, 2) == Approx(-2 - tail));
  CHECK(logsumexp(x).item() == Approx(1000 + tail));

  sum(lse).backward();
  const Matrix g = x.grad();
  REQUIRE(all_finite(g));
  // The gradient of logsumexp is the softmax: each row sums to one.
  CHECK(g.row(0).sum() == Approx(1).epsilon(kEps1e3));
  CHECK(g(1, 0) == Approx(1 / (1 + std::exp(-1.0) + std::exp(-2.0))).epsilon(kEps1e3));
  x.zero_grad();
  Matrix w(2, 3);
  w << 1, 2, 3, -1, 0, 1;
  sum(lsm * Tensor(w)).backward();
  REQUIRE(all_finite(x.grad()));
  tape().reset();
}

TEST_CASE("a row of -inf has logsumexp -inf and zero gradient", "[core][numerics]") {
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  Matrix m(2, 2);
  m << -inf, -inf, 0, 0;
  const Tensor x = Tensor::variable(m);
  const Tensor lse = rowwise_logsumexp(x);
  CHECK(lse(0, 0) == -inf);
  CHECK(lse(1, 0) == Approx(std::log(2.0)));
  sum(lse * Tensor(Matrix::Constant(2, 1, 1))).backward();
  CHECK(x.grad().row(0).isZero());
  CHECK(x.grad()(1, 0) == Approx(0.5));
  tape().reset();
}

TEST_CASE("softplus and log_sigmoid are stable at magnitude 1e3", "[core][numerics]") {
  Matrix m(1, 4);
  m << 1000, -1000, 30, -30;
  const Tensor x = Tensor::variable(m);
  const Tensor sp = softplus(x);
  CHECK(sp(0, 0) == Approx(1000));
  // exp(-1000) underflows; Eigen's vectorised float exp clamps its argument near -88 and
  // gives a subnormal there, still below the smallest normal Scalar.
  CHECK(sp(0, 1) == Approx(std::exp(-1000.0)).margin(std::numeric_limits<Scalar>::min()));
  CHECK(sp(0, 2) == Approx(30 + std::log1p(std::exp(-30.0))));
  const Tensor ls = log_sigmoid(x);
  CHECK(ls(0, 0) == Approx(0).margin(1e-12));
  CHECK(ls(0, 1) == Approx(-1000));
  CHECK(ls(0, 3) == Approx(-30 - std::log1p(std::exp(-30.0))));
  sum(sp + ls).backward();
  const Matrix g = x.grad();
  REQUIRE(all_finite(g));
  // d softplus = sigmoid(x), d log_sigmoid = sigmoid(-x): they add up to one.
  CHECK((g.array() - 1).abs().maxCoeff() < 1e-6);
  CHECK(sigmoid(x)(0, 1) == Approx(0).margin(1e-12));
  CHECK(sigmoid(x)(0, 0) == Approx(1));
  tape().reset();
}

TEST_CASE("softplus and log_sigmoid are accurate to a few ulps wherever the result is normal",
          "[core][numerics]") {
  // From -80 to 80 (softplus(-80) = 1.8e-35 is still a normal float), an odd count of entries:
  // the vectorised pass and the entries past its last whole packet both run. Far left the
  // result is about exp(x), where log(1 + exp(x)) computed directly rounds to 0.
  const Index n = 16001;
  Matrix m(1, n);
  for (Index k = 0; k < n; ++k) m(0, k) = Scalar(-80 + 160 * double(k) / double(n - 1));
  const Matrix sp = softplus(Tensor(m)).value();
  const Matrix ls = log_sigmoid(Tensor(m)).value();
  const double eps = std::numeric_limits<Scalar>::epsilon();
  double worst_sp = 0, worst_ls = 0;
  for (Index k = 0; k < n; ++k) {
    const long double x = m(0, k);
    const long double tail = std::log1p(std::exp(-std::fabs(x)));  // long double overloads
    const long double want_sp = std::max(x, 0.0L) + tail;
    const long double want_ls = std::min(x, 0.0L) - tail;
    worst_sp = std::max(worst_sp, double(std::fabs((sp(0, k) - want_sp) / want_sp)));
    if (want_ls != 0) {
      worst_ls = std::max(worst_ls, double(std::fabs((ls(0, k) - want_ls) / want_ls)));
    }
  }
  CHECK(worst_sp < 8 * eps);
  CHECK(worst_ls < 8 * eps);
  // A NaN stays NaN, an infinity gives the limits, in both passes.
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  Matrix special(1, 49);
  for (Index k = 0; k < special.cols(); ++k) {
    special(0, k) = k % 3 == 0 ? std::numeric_limits<Scalar>::quiet_NaN() : k % 3 == 1 ? inf : -inf;
  }
  const Matrix s = softplus(Tensor(special)).value();
  for (Index k = 0; k < special.cols(); ++k) {
    CAPTURE(k);
    if (k % 3 == 0) CHECK(std::isnan(s(0, k)));
    if (k % 3 == 1) CHECK(s(0, k) == inf);
    // 0, or the subnormal that Eigen's vectorised exp gives at the argument it clamps to.
    if (k % 3 == 2) CHECK(s(0, k) == Approx(0).margin(std::numeric_limits<Scalar>::min()));
  }
}

TEST_CASE("relu and abs have zero gradient at their kink, not NaN", "[core][numerics]") {
  const Tensor x = Tensor::variable(Matrix::Zero(2, 2));
  sum(relu(x) + abs(x) + leaky_relu(x, 0.1)).backward();
  const Matrix g = x.grad();
  REQUIRE(all_finite(g));
  CHECK(g.array().abs().maxCoeff() <= 0.1 + 1e-7);  // only leaky_relu's slope remains
  tape().reset();
}

TEST_CASE("where keeps the branch not taken out of values and gradients", "[core][numerics]") {
  Matrix m(1, 3);
  m << -1, 0, 4;
  const Tensor x = Tensor::variable(m);
  Matrix positive(1, 3);
  positive << 0, 0, 1;
  const Tensor c(positive);
  // log(x) is NaN or -inf where x <= 0: the value picks 0 there instead.
  const Tensor naive = where(c, log(x), 0);
  CHECK(naive.matrix().allFinite());
  // where() sends exactly 0 to the unchosen entries of log(x)...
  const Tensor lx = log(x);
  const Tensor y = where(c, lx, 0);
  sum(y).backward();
  CHECK(x.grad()(0, 2) == Approx(0.25));
  x.zero_grad();
  // ...and guarding log's input as well keeps its infinite derivative at 0 out too.
  sum(where(c, log(where(c, x, 1)), 0)).backward();
  REQUIRE(all_finite(x.grad()));
  CHECK(x.grad()(0, 2) == Approx(0.25));
  CHECK(x.grad()(0, 0) == 0);
  CHECK(x.grad()(0, 1) == 0);
  tape().reset();
}
