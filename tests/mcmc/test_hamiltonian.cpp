// The pieces of the samplers: the leapfrog integrator (energy error shrinking as the step
// size squared, exact reversibility), the metric, dual averaging, and Stan's adaptation windows.
#include <cmath>

#include <Eigen/LU>
#include <catch2/catch.hpp>

#include <vesta/inference/mcmc/adaptation.hpp>
#include <vesta/inference/mcmc/hamiltonian.hpp>
#include <vesta/vesta.hpp>

using namespace vesta;

namespace {

constexpr bool kFloat = sizeof(Scalar) == 4;

// A correlated 3-d Gaussian: z ~ N(0, S) with S from its Cholesky factor.
void gaussian() {
  Matrix l(3, 3);
  l << 1, 0, 0, 0.5, 2, 0, -0.3, 0.4, 0.7;
  sample("z", MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(1, 3)), Tensor(l)));
}

// The mean absolute energy error at the end of trajectories of time 1 from several points.
double energy_error(Potential& u, double eps) {
  Metric metric(u.dim(), false);
  Hamiltonian h(u, metric);
  Rng rng(5);
  double total = 0;
  const int starts = 20;
  for (int s = 0; s < starts; ++s) {
    PhasePoint z;
    z.q.resize(u.dim());
    for (Eigen::Index i = 0; i < z.q.size(); ++i) z.q[i] = static_cast<double>(rng.normal());
    h.init(z);
    metric.draw_momentum(rng, z.p);
    const double h0 = h.energy(z);
    const long steps = std::lround(1.0 / eps);
    for (long k = 0; k < steps; ++k) h.leapfrog(z, eps);
    total += std::abs(h.energy(z) - h0);
  }
  return total / starts;
}

}  // namespace

TEST_CASE("leapfrog: the energy error shrinks as the step size squared", "[mcmc]") {
  Potential u(gaussian);
  const double e1 = energy_error(u, 0.2);
  const double e2 = energy_error(u, 0.1);
  const double e3 = energy_error(u, 0.05);
  // A second-order integrator: halving the step divides the error by about 4.
  CHECK(e1 / e2 == Approx(4).margin(1));
  CHECK(e2 / e3 == Approx(4).margin(kFloat ? 1.5 : 1));
}

TEST_CASE("leapfrog: reversible (forward, flip the momentum, forward again)", "[mcmc]") {
  Potential u(gaussian);
  for (bool dense : {false, true}) {
    Metric metric(u.dim(), dense);
    Eigen::MatrixXd inv = dense ? Eigen::MatrixXd(Eigen::MatrixXd::Identity(3, 3) * 0.5)
                                : Eigen::MatrixXd(Eigen::MatrixXd::Constant(3, 1, 0.5));
    if (dense) inv(0, 1) = inv(1, 0) = 0.2;
    metric.set_inverse(inv);
    Hamiltonian h(u, metric);
    Rng rng(9);
    PhasePoint z;
    z.q = Eigen::VectorXd::LinSpaced(3, -1, 1);
    h.init(z);
    metric.draw_momentum(rng, z.p);
    const PhasePoint start = z;
    for (int k = 0; k < 25; ++k) h.leapfrog(z, 0.1);
    CHECK((z.q - start.q).norm() > 0.1);
    z.p = -z.p;
    for (int k = 0; k < 25; ++k) h.leapfrog(z, 0.1);
    CHECK((z.q - start.q).norm() < (kFloat ? 1e-4 : 1e-10));
    CHECK((z.p + start.p).norm() < (kFloat ? 1e-4 : 1e-10));
    // And backwards in time is the same as flipping the momentum.
    z = start;
    for (int k = 0; k < 10; ++k) h.leapfrog(z, -0.1);
    for (int k = 0; k < 10; ++k) h.leapfrog(z, 0.1);
    CHECK((z.q - start.q).norm() < (kFloat ? 1e-4 : 1e-10));
  }
}

TEST_CASE("metric: momenta drawn with covariance M", "[mcmc]") {
  Metric metric(2, true);
  Eigen::MatrixXd inv(2, 2);
  inv << 2, 0.6, 0.6, 1;
  metric.set_inverse(inv);
  Rng rng(1);
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(2, 2);
  Eigen::VectorXd p;
  const int n = 40000;
  for (int k = 0; k < n; ++k) {
    metric.draw_momentum(rng, p);
    sum += p * p.transpose();
  }
  const Eigen::MatrixXd m = inv.inverse();
  // Each entry's standard error is about sqrt(2 / n) times its scale: 0.007; 5 of those.
  CHECK(((sum / n) - m).cwiseAbs().maxCoeff() < 0.05);
  CHECK_THROWS_AS(metric.set_inverse(-inv), ValueError);
  Metric diag(2, false);
  CHECK_THROWS_AS(diag.set_inverse(Eigen::MatrixXd::Constant(2, 1, -1)), ValueError);
}

TEST_CASE("dual averaging finds the step size with the target acceptance", "[mcmc]") {
  // Acceptance exp(-eps) has its 0.8 at eps = -log 0.8 = 0.223.
  DualAveraging da(0.8);
  double eps = 1;
  da.restart(eps);
  for (int i = 0; i < 2000; ++i) eps = da.update(std::exp(-eps));
  CHECK(da.final_step_size() == Approx(-std::log(0.8)).epsilon(0.02));
}

TEST_CASE("adaptation windows: Stan's 75 / 25 / 50 schedule with doubling windows", "[mcmc]") {
  AdaptationSchedule s(1000);
  std::vector<long> ends;
  long in = 0;
  for (long i = 0; i < 1000; ++i) {
    if (s.window_ends(i)) ends.push_back(i);
    in += s.in_window(i) ? 1 : 0;
  }
  CHECK(ends == std::vector<long>{99, 149, 249, 449, 949});
  CHECK(in == 1000 - 75 - 50);
  CHECK_FALSE(s.in_window(74));
  CHECK(s.in_window(75));
  CHECK_FALSE(s.in_window(950));
  // Too short for the defaults: 15% / 75% / 10%.
  AdaptationSchedule short_run(100);
  CHECK(short_run.window_ends(89));
  CHECK_FALSE(short_run.in_window(14));
  CHECK(short_run.in_window(15));
  CHECK_FALSE(AdaptationSchedule(10).adapts_metric());
}

TEST_CASE("running covariance: Stan's regularised estimate", "[mcmc]") {
  RunningCovariance c(2, true), d(2, false);
  Rng rng(2);
  Eigen::MatrixXd x(2, 500);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(rng.normal());
  x.row(1) = 3 * x.row(1) + x.row(0);
  for (Eigen::Index k = 0; k < x.cols(); ++k) {
    c.add(x.col(k));
    d.add(x.col(k));
  }
  const Eigen::MatrixXd centred = x.colwise() - x.rowwise().mean();
  const Eigen::MatrixXd s = centred * centred.transpose() / 499.0;
  const Eigen::MatrixXd expected =
      (500.0 / 505.0) * s + 1e-3 * (5.0 / 505.0) * Eigen::MatrixXd::Identity(2, 2);
  CHECK((c.regularised() - expected).norm() < 1e-9);
  CHECK((d.regularised() - expected.diagonal()).norm() < 1e-9);
}
