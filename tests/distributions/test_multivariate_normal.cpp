// MultivariateNormal: log_prob against a density computed here with Eigen in double, the
// sampler's moments, covariance and a Kolmogorov-Smirnov test of a projection, entropy,
// gradients with respect to loc, scale_tril and covariance, the two parameterisations
// agreeing, and argument validation. Also the linear-algebra ops it is built on.
#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <boost/math/distributions/normal.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {

// A fixed 3x3 covariance with unequal variances and correlations of both signs.
Matrix covariance3() {
  return mat(3, 3,
             {2.0, 0.6, -0.4,  //
              0.6, 1.0, 0.3,   //
              -0.4, 0.3, 0.5});
}

Matrix cholesky_of(const Matrix& c) { return c.llt().matrixL(); }

// log N(x; mu, sigma) in double, from Eigen's LLT: -(x-mu)^T sigma^-1 (x-mu) / 2 -
// log det(sigma) / 2 - D/2 log(2 pi).
double mvn_log_density(const Eigen::VectorXd& x, const Eigen::VectorXd& mu,
                       const Eigen::MatrixXd& sigma) {
  const Eigen::LLT<Eigen::MatrixXd> llt(sigma);
  const Eigen::VectorXd d = x - mu;
  const double quad = d.dot(llt.solve(d));
  const double log_det = std::log(sigma.determinant());
  return -0.5 * quad - 0.5 * log_det - 0.5 * double(x.size()) * std::log(2 * M_PI);
}

// Row r of m (broadcasting a single row) as a double vector.
Eigen::VectorXd row_of(const Matrix& m, Index r) {
  return m.row(m.rows() == 1 ? 0 : r).transpose().cast<double>();
}

// log_prob of d at each row of x equals the density above.
void check_mvn_log_prob(const MultivariateNormal& d, const Matrix& x, const Matrix& loc,
                        const Matrix& sigma) {
  INFO(d.describe());
  const Matrix lp = d.log_prob(Tensor(x)).matrix();
  const Index n = std::max(x.rows(), loc.rows());
  REQUIRE(lp.rows() == n);
  REQUIRE(lp.cols() == 1);
  for (Index r = 0; r < n; ++r) {
    const double expected = mvn_log_density(row_of(x, r), row_of(loc, r), sigma.cast<double>());
    INFO("row " << r);
    CHECK(double(lp(r, 0)) ==
          Approx(expected).epsilon(log_prob_tolerance()).margin(log_prob_tolerance()));
  }
}

#if !VESTA_SCALAR_IS_FLOAT
// The lower triangle of p as a Tensor, so that finite differences of the (ignored) upper
// entries do not step off the lower_cholesky constraint.
Tensor lower_part(const Tensor& p) {
  Matrix mask = Matrix::Zero(p.rows(), p.cols());
  mask.triangularView<Eigen::Lower>().setOnes();
  return where(Tensor(mask), p, 0);
}
#endif

}  // namespace

TEST_CASE("MultivariateNormal log_prob matches the Gaussian density", "[distributions][mvn]") {
  const Matrix sigma = covariance3();
  const Matrix loc = mat(2, 3,
                         {0.5, -1, 2,  //
                          0, 0, 0});
  const Matrix x = mat(2, 3,
                       {1, -0.5, 1.25,  //
                        -2, 3, 0.1});
  const MultivariateNormal a = MultivariateNormal::from_covariance(Tensor(loc), Tensor(sigma));
  CHECK(a.rows() == 2);
  CHECK(a.cols() == 3);
  CHECK(a.event_dim() == 1);
  CHECK(a.batch_cols() == 1);
  check_mvn_log_prob(a, x, loc, sigma);
  check_mvn_log_prob(MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(cholesky_of(sigma))),
                     x, loc, sigma);
  // One mean broadcast against rows of values, and one value against rows of means.
  const Matrix one = mat(1, 3, {1, 2, 3});
  check_mvn_log_prob(MultivariateNormal::from_covariance(Tensor(one), Tensor(sigma)), x, one,
                     sigma);
  check_mvn_log_prob(a, one, loc, sigma);
  // D = 1 is the Normal.
  const Matrix lp1 =
      MultivariateNormal::from_scale_tril(Tensor(mat(1, 1, {0.5})), Tensor(mat(1, 1, {2})))
          .log_prob(Tensor(mat(2, 1, {1, -3})))
          .matrix();
  const boost::math::normal_distribution<double> n1(0.5, 2);
  CHECK(lp1(1, 0) == Approx(std::log(boost::math::pdf(n1, -3.0))));
}

TEST_CASE("MultivariateNormal draws have its mean, covariance and Gaussian projections",
          "[distributions][mvn]") {
  const Matrix sigma = covariance3();
  const Matrix loc = mat(1, 3, {0.5, -1, 2});
  const MultivariateNormal d = MultivariateNormal::from_covariance(Tensor(loc), Tensor(sigma));
  check_moments(d);
  check_moments(MultivariateNormal::from_scale_tril(Tensor(mat(2, 3, {0, 1, 2, -3, 0, 5})),
                                                    Tensor(cholesky_of(sigma))));

  const Index n = 20000;
  Rng rng(7);
  const Matrix x = d.expand(n, 3)->sample(rng).matrix();
  REQUIRE(x.rows() == n);
  // Sample covariance: Var(x_i x_j) = s_ii s_jj + s_ij^2 for a centred Gaussian, so each
  // entry's standard error is sqrt((s_ii s_jj + s_ij^2) / n).
  const Eigen::MatrixXd c = x.cast<double>().rowwise() - loc.cast<double>().row(0);
  const Eigen::MatrixXd s = c.transpose() * c / double(n);
  for (Index i = 0; i < 3; ++i) {
    for (Index j = 0; j < 3; ++j) {
      const double se =
          std::sqrt((sigma(i, i) * sigma(j, j) + sigma(i, j) * sigma(i, j)) / double(n));
      INFO(fmt::format("covariance [{}, {}]: sample {}, true {}", i, j, s(i, j), sigma(i, j)));
      CHECK(std::abs(s(i, j) - sigma(i, j)) < 5 * se);
    }
  }
  // a^T x ~ Normal(a^T mu, a^T sigma a): Kolmogorov-Smirnov at the 0.001 level.
  const Eigen::Vector3d a(0.7, -1.2, 2.0);
  std::vector<double> proj(static_cast<std::size_t>(n));
  for (Index k = 0; k < n; ++k) proj[std::size_t(k)] = x.row(k).cast<double>().dot(a);
  std::sort(proj.begin(), proj.end());
  const boost::math::normal_distribution<double> ref(loc.cast<double>().row(0).dot(a),
                                                     std::sqrt(a.dot(sigma.cast<double>() * a)));
  double D = 0;
  for (std::size_t k = 0; k < proj.size(); ++k) {
    const double F = boost::math::cdf(ref, proj[k]);
    D = std::max({D, F - double(k) / double(n), double(k + 1) / double(n) - F});
  }
  CHECK(D < 1.95 / std::sqrt(double(n)));
}

TEST_CASE("MultivariateNormal entropy matches the closed form and Monte Carlo",
          "[distributions][mvn]") {
  const Matrix sigma = covariance3();
  const MultivariateNormal d =
      MultivariateNormal::from_covariance(Tensor(mat(2, 3, {0, 1, 2, 3, 4, 5})), Tensor(sigma));
  // H = log det(2 pi e sigma) / 2.
  const double expected =
      0.5 * std::log((2 * M_PI * std::exp(1.0) * sigma.cast<double>()).determinant());
  const Matrix h = d.entropy().matrix();
  REQUIRE(h.rows() == 2);
  REQUIRE(h.cols() == 1);
  CHECK(h(1, 0) == Approx(expected));
  check_entropy_monte_carlo(d);
  // to_event(1) sums the rows' entropies.
  CHECK(d.to_event(1)->entropy().item() == Approx(2 * expected));
}

TEST_CASE("MultivariateNormal from_scale_tril and from_covariance agree", "[distributions][mvn]") {
  const Matrix sigma = covariance3();
  const Matrix l = cholesky_of(sigma);
  const Matrix loc = mat(1, 3, {0.5, -1, 2});
  const MultivariateNormal a = MultivariateNormal::from_covariance(Tensor(loc), Tensor(sigma));
  const MultivariateNormal b = MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(l));
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(a.scale_tril().matrix().isApprox(l, tol));
  CHECK(b.covariance().matrix().isApprox(sigma, tol));
  CHECK(a.covariance().matrix() == sigma);  // as given
  const Tensor x(mat(2, 3, {1, 0, 1, -1, 2, 0}));
  CHECK(a.log_prob(x).matrix().isApprox(b.log_prob(x).matrix(), tol));
  CHECK(a.entropy().matrix().isApprox(b.entropy().matrix(), tol));
  CHECK(a.variance().matrix().isApprox(b.variance().matrix(), tol));
  CHECK(a.variance().matrix().isApprox(sigma.diagonal().transpose(), tol));
  CHECK(a.mean().matrix() == loc);
  // The same seed gives the same draw.
  Rng r1(5), r2(5);
  CHECK(a.rsample(r1).matrix().isApprox(b.rsample(r2).matrix(), tol));
  CHECK(a.dim() == 3);
}

TEST_CASE("MultivariateNormal expands rows and keeps the dimension", "[distributions][mvn]") {
  const MultivariateNormal d =
      MultivariateNormal::from_covariance(Tensor(mat(1, 3, {0.5, -1, 2})), Tensor(covariance3()));
  const DistributionPtr many = d.expand(4, 3);
  CHECK(many->rows() == 4);
  CHECK(many->cols() == 3);
  CHECK(many->mean().rows() == 4);
  CHECK(many->variance().rows() == 4);
  CHECK(many->entropy().rows() == 4);
  CHECK(static_cast<const MultivariateNormal&>(*many).covariance().matrix() == covariance3());
  CHECK_THROWS_AS(d.expand(4, 2), ShapeError);
  CHECK_THROWS_WITH(many->expand(5, 3),
                    Contains("MultivariateNormal(4x3) cannot be expanded to 5x3"));
  // Inside a plate over rows, one mean draws a row per plate entry.
  const Tensor z = sample("z", d.expand(6, 3));
  CHECK(z.rows() == 6);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("MultivariateNormal gradients match finite differences",
          "[distributions][mvn][gradients]") {
  const Matrix sigma = covariance3();
  const Matrix l = cholesky_of(sigma);
  const Matrix loc = mat(2, 3, {0.5, -1, 2, 0, 0.3, 0});
  const Matrix x = mat(2, 3, {1, -0.5, 1.25, -2, 3, 0.1});
  const Factory tril = [](const std::vector<Tensor>& p) {
    return std::make_shared<MultivariateNormal>(
        MultivariateNormal::from_scale_tril(p[0], lower_part(p[1])));
  };
  // Symmetrised, so that a finite difference of one entry stays a covariance.
  const Factory cov = [](const std::vector<Tensor>& p) {
    return std::make_shared<MultivariateNormal>(
        MultivariateNormal::from_covariance(p[0], Scalar(0.5) * (p[1] + transpose(p[1]))));
  };
  check_log_prob_gradients("MultivariateNormal scale_tril", tril, {loc, l}, x);
  check_log_prob_gradients("MultivariateNormal covariance", cov, {loc, sigma}, x);
  check_log_prob_gradients("MultivariateNormal one loc", cov, {mat(1, 3, {0.1, 0.2, 0.3}), sigma},
                           x);
  check_rsample_gradients("MultivariateNormal scale_tril", tril, {loc, l});
  check_rsample_gradients("MultivariateNormal covariance", cov, {loc, sigma});
  const auto through = [](const Factory& make, auto f) {
    return [make, f](const std::vector<Tensor>& p) { return f(*make(p)); };
  };
  const auto entropy = [](const Distribution& d) { return d.entropy(); };
  const auto variance = [](const Distribution& d) { return d.variance(); };
  check_gradients("MultivariateNormal scale_tril entropy", through(tril, entropy), {loc, l});
  check_gradients("MultivariateNormal covariance entropy", through(cov, entropy), {loc, sigma});
  check_gradients("MultivariateNormal scale_tril variance", through(tril, variance), {loc, l});
  check_gradients("MultivariateNormal covariance variance", through(cov, variance), {loc, sigma});
}
#endif

TEST_CASE("MultivariateNormal rejects bad parameters and values, naming them",
          "[distributions][mvn]") {
  const Tensor loc(mat(1, 2, {0, 0}));
  CHECK_THROWS_WITH(MultivariateNormal::from_covariance(loc, Tensor(Matrix::Identity(2, 3))),
                    Contains("MultivariateNormal: covariance is 2x3, but must be square"));
  CHECK_THROWS_AS(MultivariateNormal::from_covariance(loc, Tensor(Matrix::Identity(2, 3))),
                  ShapeError);
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(Tensor(mat(1, 3, {0, 0, 0})),
                                          Tensor(Matrix::Identity(2, 2))),
      Contains("MultivariateNormal: loc is 1x3 (dimension 3), so scale_tril must be 3x3, not 2x2"));
  CHECK_THROWS_AS(MultivariateNormal::from_scale_tril(Tensor(Matrix(1, 0)), Tensor(Matrix(0, 0))),
                  ShapeError);
  CHECK_THROWS_WITH(
      MultivariateNormal::from_covariance(loc, Tensor(mat(2, 2, {1, 2, 2, 1}))),
      Contains("MultivariateNormal: covariance is not positive definite (pivot 1 is -3"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_covariance(loc, Tensor(mat(2, 2, {1, 0.5, 0.25, 1}))),
      Contains("MultivariateNormal: covariance[1, 0] is 0.25 but covariance[0, 1] is 0.5; it "
               "must be symmetric"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_covariance(loc, Tensor(mat(2, 2, {1, 0, 0, std::nan("")}))),
      Contains("MultivariateNormal: covariance[1, 1] is nan, but must be finite"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(loc, Tensor(mat(2, 2, {1, 0.5, 0, 1}))),
      Contains("MultivariateNormal: scale_tril[0, 1] is 0.5, but must be 0 (lower triangular)"));
  CHECK_THROWS_WITH(MultivariateNormal::from_scale_tril(loc, Tensor(mat(2, 2, {1, 0, 0.5, -1}))),
                    Contains("MultivariateNormal: scale_tril[1, 1] is -1, but must be positive"));
  CHECK_THROWS_WITH(MultivariateNormal::from_scale_tril(Tensor(mat(1, 2, {0, INFINITY})),
                                                        Tensor(Matrix::Identity(2, 2))),
                    Contains("MultivariateNormal: loc[1] is inf, but must be finite"));
  const MultivariateNormal d =
      MultivariateNormal::from_scale_tril(loc, Tensor(Matrix::Identity(2, 2)));
  CHECK_THROWS_WITH(
      d.log_prob(Tensor(mat(2, 2, {0, 1, std::nan(""), 0}))),
      Contains("MultivariateNormal: value[1, 0] is nan, but must be in the support real"));
  CHECK_THROWS_WITH(d.log_prob(Tensor(mat(1, 3, {0, 1, 2}))),
                    Contains("MultivariateNormal: value is 1x3"));
  CHECK_THROWS_AS(d.expand(3, 2)->log_prob(Tensor(mat(2, 2, {0, 1, 2, 3}))), ShapeError);
  CHECK_THROWS_AS(d.expand(2, 2)->expand(3, 2), ShapeError);
}

// ---- the linear-algebra ops -----------------------------------------------------------

TEST_CASE("cholesky, solve_triangular and diagonal compute what Eigen does", "[core][mvn]") {
  const Matrix sigma = covariance3();
  const Matrix l = cholesky(Tensor(sigma)).matrix();
  CHECK(l.isApprox(cholesky_of(sigma)));
  CHECK(l(0, 1) == 0);  // zeros above the diagonal
  CHECK((l * l.transpose()).isApprox(sigma));
  const Matrix b = mat(3, 2, {1, 2, 3, 4, 5, 6});
  CHECK(solve_triangular(Tensor(l), Tensor(b))
            .matrix()
            .isApprox(l.triangularView<Eigen::Lower>().solve(b)));
  const Matrix u = l.transpose();
  CHECK(solve_triangular(Tensor(u), Tensor(b), false)
            .matrix()
            .isApprox(u.triangularView<Eigen::Upper>().solve(b)));
  CHECK(diagonal(Tensor(sigma)).matrix().isApprox(sigma.diagonal()));
  CHECK(diagonal(Tensor(mat(2, 3, {1, 2, 3, 4, 5, 6}))).matrix().isApprox(mat(2, 1, {1, 5})));
  CHECK(cholesky(Tensor(Scalar(4))).item() == Approx(2));

  CHECK_THROWS_WITH(cholesky(Tensor(Matrix::Identity(2, 3))),
                    Contains("cholesky: the matrix is 2x3, but must be square"));
  CHECK_THROWS_WITH(cholesky(Tensor(mat(3, 3, {1, 0, 0, 0, 1, 0, 0, 0, -2}))),
                    Contains("cholesky: the 3x3 matrix is not positive definite (pivot 2 is -2, "
                             "but must be positive)"));
  CHECK_THROWS_WITH(
      cholesky(Tensor(mat(2, 2, {1, 0, INFINITY, 1}))),
      Contains("cholesky: entry [1, 0] of the 2x2 matrix is inf, but must be finite"));
  CHECK_THROWS_AS(solve_triangular(Tensor(Matrix::Identity(2, 3)), Tensor(b)), ShapeError);
  CHECK_THROWS_WITH(solve_triangular(Tensor(l), Tensor(Matrix::Ones(2, 1))),
                    Contains("solve_triangular: shapes 3x3 and 2x1 do not fit"));
}
