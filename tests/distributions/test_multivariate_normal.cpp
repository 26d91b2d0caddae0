// MultivariateNormal: log_prob against a density computed here with Eigen in double, the
// sampler's moments, covariance and a Kolmogorov-Smirnov test of a projection, entropy,
// gradients with respect to loc, scale_tril and covariance, the two parameterisations
// agreeing, a factor per row agreeing with one distribution per row, and argument
// validation. Also the linear-algebra ops it is built on.
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

// Three different 3x3 factors, one per row, each row column-major (reshape(row, 3, 3) is
// the factor): the shared covariance3()'s factor, a diagonal one, and a strongly correlated one.
Matrix factor_rows() {
  const Matrix c2 = mat(3, 3,
                        {1.0, 0.9, 0.2,  //
                         0.9, 1.0, 0.1,  //
                         0.2, 0.1, 0.8});
  const Matrix f[3] = {cholesky_of(covariance3()),
                       mat(3, 1, {0.5, 2, 1}).asDiagonal().toDenseMatrix(), cholesky_of(c2)};
  Matrix rows(3, 9);
  for (Index r = 0; r < 3; ++r) rows.row(r) = Eigen::Map<const Matrix>(f[r].data(), 1, 9);
  return rows;
}

// A matrix's entries as one row, column-major.
Matrix one_row_of(const Matrix& m) { return Eigen::Map<const Matrix>(m.data(), 1, m.size()); }

// Row r's factor of factor_rows() (or of any rows of D*D entries).
Matrix factor_of(const Matrix& rows, Index r, Index D) {
  return Eigen::Map<const Matrix>(Matrix(rows.row(r)).data(), D, D);
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

  // A factor per row, its upper triangles masked out (as lower_part does for one factor).
  Matrix lower_mask(1, 9);
  lower_mask << 1, 1, 1, 0, 1, 1, 0, 0, 1;  // column-major: the lower triangle of a 3x3 matrix
  const Tensor keep(lower_mask);
  const Factory per_row = [keep](const std::vector<Tensor>& p) {
    return std::make_shared<MultivariateNormal>(
        MultivariateNormal::from_scale_tril(p[0], where(keep, p[1], 0)));
  };
  const Matrix rows = factor_rows().topRows(2);
  check_log_prob_gradients("MultivariateNormal per-row scale_tril", per_row, {loc, rows}, x);
  check_rsample_gradients("MultivariateNormal per-row scale_tril", per_row, {loc, rows});
  check_gradients("MultivariateNormal per-row entropy", through(per_row, entropy), {loc, rows});
  check_gradients("MultivariateNormal per-row variance", through(per_row, variance), {loc, rows});
  check_gradients("MultivariateNormal per-row covariance",
                  through(per_row,
                          [](const Distribution& d) {
                            return static_cast<const MultivariateNormal&>(d).covariance();
                          }),
                  {loc, rows});
}
#endif

TEST_CASE("MultivariateNormal with a factor per row is one distribution per row",
          "[distributions][mvn]") {
  const Matrix L = factor_rows();
  const Matrix loc = mat(3, 3,
                         {0.5, -1, 2,  //
                          0, 0.3, 0,   //
                          1, 1, -1});
  const Matrix x = mat(3, 3,
                       {1, -0.5, 1.25,  //
                        -2, 3, 0.1,     //
                        0.4, 0.2, 0.0});
  const MultivariateNormal d = MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(L));
  CHECK(d.has_scale_per_row());
  CHECK(d.rows() == 3);
  CHECK(d.dim() == 3);
  const Matrix lp = d.log_prob(Tensor(x)).matrix();
  const Matrix cov = d.covariance().matrix();
  const Matrix var = d.variance().matrix();
  const Matrix h = d.entropy().matrix();
  const Matrix hld = d.half_log_det().matrix();
  REQUIRE(lp.rows() == 3);
  REQUIRE(cov.rows() == 3);
  REQUIRE(cov.cols() == 9);
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  for (Index r = 0; r < 3; ++r) {
    INFO("row " << r);
    const Matrix Lr = factor_of(L, r, 3);
    const MultivariateNormal one =
        MultivariateNormal::from_scale_tril(Tensor(Matrix(loc.row(r))), Tensor(Lr));
    CHECK(lp(r, 0) == Approx(one.log_prob(Tensor(Matrix(x.row(r)))).item()).epsilon(tol));
    CHECK(double(lp(r, 0)) == Approx(mvn_log_density(row_of(x, r), row_of(loc, r),
                                                     (Lr * Lr.transpose()).cast<double>()))
                                  .epsilon(log_prob_tolerance()));
    CHECK(factor_of(cov, r, 3).isApprox(Lr * Lr.transpose(), tol));
    CHECK(Matrix(var.row(r)).isApprox(one.variance().matrix(), tol));
    CHECK(h(r, 0) == Approx(one.entropy().item()).epsilon(tol));
    CHECK(hld(r, 0) == Approx(one.half_log_det().item()).epsilon(tol));
  }
  // One value, or one mean, broadcast against the factors' rows.
  const Matrix lp_one = d.log_prob(Tensor(Matrix(x.row(0)))).matrix();
  CHECK(lp_one(2, 0) == Approx(MultivariateNormal::from_scale_tril(Tensor(Matrix(loc.row(2))),
                                                                   Tensor(factor_of(L, 2, 3)))
                                   .log_prob(Tensor(Matrix(x.row(0))))
                                   .item())
                            .epsilon(tol));
  const MultivariateNormal centred =
      MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(1, 3)), Tensor(L));
  CHECK(centred.rows() == 3);
  CHECK(centred.mean().matrix() == Matrix::Zero(3, 3));
  // The same factor in every row draws what the shared factor draws from the same seed.
  const Matrix same =
      Eigen::Map<const Matrix>(cholesky_of(covariance3()).data(), 1, 9).replicate(3, 1);
  Rng r1(5), r2(5);
  const Matrix a =
      MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(same)).rsample(r1).matrix();
  const Matrix b =
      MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(cholesky_of(covariance3())))
          .rsample(r2)
          .matrix();
  CHECK(a.isApprox(b, tol));
  // Draws: each row's moments are its own.
  check_moments(d);
  check_entropy_monte_carlo(d);
  // Expanding: a single row of everything spreads to any number; a batch keeps its rows.
  const MultivariateNormal single =
      MultivariateNormal::from_scale_tril(Tensor(Matrix(loc.row(1))), Tensor(Matrix(L.row(1))));
  CHECK(single.has_scale_per_row());
  const DistributionPtr four = single.expand(4, 3);
  CHECK(four->rows() == 4);
  CHECK(four->log_prob(Tensor(Matrix(x.row(1))))
            .matrix()
            .isApprox(Matrix::Constant(4, 1, lp(1, 0)), tol));
  CHECK(d.expand(3, 3)->rows() == 3);
  CHECK_THROWS_AS(d.expand(4, 3), ShapeError);
  // The rows form of either kind of factor.
  CHECK(d.scale_tril_rows().matrix() == L);
  CHECK(one_row_of(cholesky_of(covariance3())) ==
        MultivariateNormal::from_scale_tril(Tensor(loc), Tensor(cholesky_of(covariance3())))
            .scale_tril_rows()
            .matrix());
}

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
  // A factor per row: rows of D*D entries, whose rows broadcast against loc's, each lower
  // triangular with a positive diagonal.
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(3, 2)), Tensor(Matrix::Ones(2, 4))),
      Contains("MultivariateNormal: loc is 3x2 but scale_tril is 2x4, a factor per row; "
               "their rows must be equal"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(3, 2)), Tensor(Matrix::Ones(3, 5))),
      Contains("so scale_tril must be 2x2, not 3x5 (or, with a factor per row, 3 x 4"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(loc, Tensor(mat(2, 4, {1, 0.3, 0, 1, 1, 0, 0.5, 1}))),
      Contains("MultivariateNormal: scale_tril[1, 2] (entry [0, 1] of row 1's factor) is "
               "0.5, but must be 0 (lower triangular)"));
  CHECK_THROWS_WITH(
      MultivariateNormal::from_scale_tril(loc, Tensor(mat(2, 4, {1, 0.3, 0, 1, 1, 0, 0, 0}))),
      Contains("MultivariateNormal: scale_tril[1, 3] (entry [1, 1] of row 1's factor) is "
               "0, but must be positive"));
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

TEST_CASE("rowwise_matvec and rowwise_solve_triangular act on each row's matrix", "[core][mvn]") {
  const Matrix L = factor_rows();
  const Matrix v = mat(3, 3,
                       {1, 2, 3,     //
                        -1, 0.5, 4,  //
                        0, -2, 1});
  const Matrix prod = rowwise_matvec(Tensor(L), Tensor(v)).matrix();
  const Matrix lower = rowwise_solve_triangular(Tensor(L), Tensor(v)).matrix();
  // Transposed factors are upper triangular.
  Matrix Lt(3, 9);
  for (Index r = 0; r < 3; ++r) Lt.row(r) = one_row_of(factor_of(L, r, 3).transpose());
  const Matrix upper = rowwise_solve_triangular(Tensor(Lt), Tensor(v), false).matrix();
  for (Index r = 0; r < 3; ++r) {
    INFO("row " << r);
    const Matrix Lr = factor_of(L, r, 3);
    const Vector vr = v.row(r).transpose();
    CHECK(Matrix(prod.row(r).transpose()).isApprox(Lr * vr));
    CHECK(Matrix(lower.row(r).transpose()).isApprox(Lr.triangularView<Eigen::Lower>().solve(vr)));
    CHECK(Matrix(upper.row(r).transpose())
              .isApprox(Lr.transpose().triangularView<Eigen::Upper>().solve(vr)));
  }
  // A non-square matrix per row: 2x3 times 3-vectors; one matrix (or one vector) for all rows.
  const Matrix a = mat(1, 6, {1, 2, 3, 4, 5, 6});  // [[1, 3, 5], [2, 4, 6]]
  const Matrix wide = rowwise_matvec(Tensor(a), Tensor(v)).matrix();
  REQUIRE(wide.rows() == 3);
  REQUIRE(wide.cols() == 2);
  CHECK(wide.row(0).isApprox(mat(1, 2, {22, 28})));
  CHECK(rowwise_matvec(Tensor(L), Tensor(Matrix(v.row(0))))
            .matrix()
            .row(2)
            .isApprox((factor_of(L, 2, 3) * v.row(0).transpose()).transpose()));

  CHECK_THROWS_WITH(rowwise_matvec(Tensor(Matrix::Ones(3, 7)), Tensor(v)),
                    Contains("rowwise_matvec: shapes 3x7 and 3x3 do not fit"));
  CHECK_THROWS_AS(rowwise_matvec(Tensor(Matrix::Ones(2, 9)), Tensor(v)), ShapeError);
  CHECK_THROWS_WITH(rowwise_solve_triangular(Tensor(Matrix::Ones(3, 4)), Tensor(v)),
                    Contains("rowwise_solve_triangular: shapes 3x4 and 3x3 do not fit"));
  CHECK_THROWS_AS(rowwise_solve_triangular(Tensor(L), Tensor(Matrix::Ones(2, 3))), ShapeError);
  CHECK_THROWS_WITH(gather_cols(Tensor(v), {0, 3}),
                    Contains("gather_cols: indices[1] is 3, but the Tensor is 3x3 (columns 0..2)"));
  CHECK(gather_cols(Tensor(v), {2, 0, 2}).matrix().col(1) == v.col(0));
}
