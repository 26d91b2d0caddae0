// Amortised guides: an encoder network maps each data point to its posterior's parameters,
// inside a subsampled data plate, and SVI trains it like any other guide. On two models whose
// exact posterior is known for every data point, the trained encoder outputs it:
// - a linear-Gaussian model with a Normal latent per point (encoder: loc and a positive scale);
// - a two-dimensional latent with a correlated posterior (encoder: loc and a lower-triangular
//   scale for a MultivariateNormal with a factor per row), with Trace_ELBO and with
//   TraceMeanField_ELBO (whose analytic KL then runs on a factor per row).
//
// The encoders are linear and the exact posteriors lie in their families, so the ELBO's
// optimum is exact; what remains is the noise of SVI, which the tolerances come from. Each
// fit is kReplicates independent runs (their own seeds and initial encoders); each run
// averages its parameters over its last kAveraged steps (Polyak-Ruppert averaging) and
// computes the encoder's outputs from that average. The runs' outputs are independent, so
// their spread over sqrt(kReplicates) is the standard error of their mean, which must be
// within 4 of them of the exact value at every data point (for 10 runs, a t statistic with
// 9 degrees of freedom exceeds 4 with probability 0.003), plus 0.002, the learning rate,
// for the offset that a constant rate leaves between Adam's average iterate and the optimum.
// (Iterates within one run are correlated over thousands of steps, too strongly for their
// own spread to give the standard error.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/LU>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using vesta::testing::Running;
using Fresh = vesta::testing::FreshParams;

namespace {

constexpr Index kN = 100;     // data points
constexpr Index kBatch = 20;  // seen per step

// Each run: Adam at 0.02 for kFast steps, then 0.002, of which the last kAveraged steps'
// parameters are averaged.
constexpr int kReplicates = 10, kFast = 5000, kSteps = 25000, kAveraged = 12000;

// The mean over the runs of what `evaluate` computes from each run's averaged parameters,
// and its standard error.
struct Fitted {
  Matrix mean;
  Matrix standard_error;
};

// Runs SVI with `model`, `guide` and `loss` kReplicates times from fresh parameters, calling
// `step(svi, t)` for each step t, and evaluates `evaluate()` (a Matrix) under substitute with
// the parameters `names` (reals: their unconstrained values are their values) replaced by
// their average over the run's last kAveraged steps.
template <class Model, class Guide, class Loss, class Step, class Evaluate>
Fitted fit_replicates(Model model, Guide guide, Loss loss, const std::vector<std::string>& names,
                      Step step, Evaluate evaluate) {
  Running runs;
  for (int r = 0; r < kReplicates; ++r) {
    param_store().clear();
    set_rng_seed(std::uint64_t(100 + r));
    Adam adam(0.02);
    adam.set_schedule([](std::int64_t t) { return Scalar(t < kFast ? 0.02 : 0.002); });
    SVI svi(model, guide, adam, loss);
    svi.set_progress(nullptr);
    std::map<std::string, Matrix> sums;
    for (int t = 0; t < kSteps; ++t) {
      step(svi, t);
      if (t < kSteps - kAveraged) continue;
      for (const std::string& name : names) {
        const auto v = param_store().entry(name).unconstrained.value();
        if (sums.count(name) == 0) sums[name] = Matrix::Zero(v.rows(), v.cols());
        sums[name] += v;
      }
    }
    ValueMap averaged;
    for (const auto& [name, sum] : sums) {
      averaged.emplace(name, Tensor(Matrix(sum / Scalar(kAveraged))));
    }
    {
      auto s = substitute(std::move(averaged));
      runs.add(evaluate());
    }
    tape().reset();
  }
  const double k = kReplicates;
  return {runs.mean(), runs.sd() * std::sqrt(k / (k - 1)) / std::sqrt(k)};
}

bool close(double fitted, double exact, double standard_error) {
  return std::abs(fitted - exact) < 4 * standard_error + 0.002;
}

// ---- a Normal latent per data point --------------------------------------------------

// z_i ~ N(0, 1), x_i ~ N(a z_i + b, s). The posterior of z_i is Normal with precision
// 1 + a^2 / s^2 and mean a (x_i - b) / (s^2 + a^2): linear in x_i, with a constant sd.
constexpr double kA = 2.0, kB = 0.5, kS = 0.8;

Matrix linear_gaussian_data() {
  Rng rng(31);
  const Matrix z = rng.normal(kN, 1);
  return (Scalar(kA) * z.array() + Scalar(kB) + Scalar(kS) * rng.normal(kN, 1).array()).matrix();
}

TEST_CASE("an amortised Normal guide learns each data point's exact posterior",
          "[inference][amortised]") {
  Fresh fresh;
  const Matrix x = linear_gaussian_data();
  const double post_sd = 1 / std::sqrt(1 + kA * kA / (kS * kS));
  const Matrix post_mean =
      (Scalar(kA) * (x.array() - Scalar(kB)) / Scalar(kS * kS + kA * kA)).matrix();

  const Linear loc_net("encoder.loc", 1, 1), scale_net("encoder.scale", 1, 1);
  // The guide's plate draws this step's subsample; the model's is replayed to the same rows.
  auto model = [](const Matrix& data) {
    auto p = plate("data", data.rows(), kBatch);
    const Tensor z = sample("z", Normal(0, 1));  // one per row of the subsample
    sample("x", Normal(Scalar(kA) * z + Scalar(kB), Scalar(kS)),
           gather_rows(Tensor(data), p.indices()));
  };
  auto guide = [&](const Matrix& data) {
    auto p = plate("data", data.rows(), kBatch);
    const Tensor xb = gather_rows(Tensor(data), p.indices());
    sample("z", Normal(loc_net(xb), exp(scale_net(xb))));
  };

  const Tensor all(x);
  const Fitted fit = fit_replicates(
      model, guide, Trace_ELBO(),
      {"encoder.loc.weight", "encoder.loc.bias", "encoder.scale.weight", "encoder.scale.bias"},
      [&](auto& svi, int) { svi.step(x); },
      [&] {
        Matrix out(kN, 2);
        out << loc_net(all).matrix(), exp(scale_net(all)).matrix();
        return out;
      });
  for (Index i = 0; i < kN; ++i) {
    INFO("point " << i << " (x = " << x(i, 0) << "): loc " << fit.mean(i, 0) << " (se "
                  << fit.standard_error(i, 0) << ") vs " << post_mean(i) << "; scale "
                  << fit.mean(i, 1) << " (se " << fit.standard_error(i, 1) << ") vs " << post_sd);
    CHECK(close(fit.mean(i, 0), post_mean(i), fit.standard_error(i, 0)));
    CHECK(close(fit.mean(i, 1), post_sd, fit.standard_error(i, 1)));
  }
}

// ---- a correlated two-dimensional latent per data point ------------------------------

// z_i ~ N(0, I_2), x_i ~ N(W z_i, s^2 I_3). The posterior of z_i has covariance
// S = (I + W^T W / s^2)^-1, the same for every point, and mean S W^T x_i / s^2. This W makes
// the two coordinates' posterior correlation about -0.83.
constexpr double kNoise = 0.5;

Matrix mixing() {
  Matrix w(3, 2);
  w << 1.0, 0.8,  //
      0.6, 1.0,   //
      0.5, 0.5;
  return w;
}

Matrix posterior_covariance() {
  const Matrix w = mixing();
  const Matrix precision = Matrix::Identity(2, 2) + w.transpose() * w / Scalar(kNoise * kNoise);
  return precision.inverse();
}

Matrix correlated_data() {
  Rng rng(32);
  return rng.normal(kN, 2) * mixing().transpose() + Scalar(kNoise) * rng.normal(kN, 3);
}

// Trains the MultivariateNormal guide with `loss` and checks its encoder's outputs at every
// data point against the exact posterior: the mean and all four entries of the covariance.
template <class Loss>
void check_mvn_guide_recovers_correlated_posterior(Loss loss) {
  Fresh fresh;
  const Matrix x = correlated_data();
  const Matrix S = posterior_covariance();
  const Matrix post_mean = x * mixing() * S / Scalar(kNoise * kNoise);  // rows: S W^T x_i / s^2
  const Tensor Wt(Matrix(mixing().transpose()));

  const Linear loc_net("encoder.loc", 3, 2), scale_net("encoder.scale", 3, tril_size(2));
  auto encode = [&](const Tensor& xb) {
    return MultivariateNormal::from_scale_tril(loc_net(xb), fill_scale_tril(scale_net(xb)));
  };
  // The caller walks the data in minibatches and hands both programs the rows.
  auto model = [&](const Matrix& data, const std::vector<Index>& rows) {
    auto p = plate("data", data.rows(), rows);
    const Tensor z = sample("z", MultivariateNormal::from_scale_tril(
                                     Tensor(Matrix::Zero(1, 2)), Tensor(Matrix::Identity(2, 2))));
    sample("x", Normal(matmul(z, Wt), Scalar(kNoise)).to_event(1), gather_rows(Tensor(data), rows));
  };
  auto guide = [&](const Matrix& data, const std::vector<Index>& rows) {
    auto p = plate("data", data.rows(), rows);
    sample("z", encode(gather_rows(Tensor(data), rows)));
  };

  std::vector<Index> order(static_cast<std::size_t>(kN));
  std::iota(order.begin(), order.end(), Index(0));
  Rng shuffle(9);
  const Tensor all(x);
  const Fitted fit = fit_replicates(
      model, guide, std::move(loss),
      {"encoder.loc.weight", "encoder.loc.bias", "encoder.scale.weight", "encoder.scale.bias"},
      [&](auto& svi, int t) {
        const Index first = (t * kBatch) % kN;
        if (first == 0) std::shuffle(order.begin(), order.end(), shuffle);
        svi.step(x, std::vector<Index>(order.begin() + first, order.begin() + first + kBatch));
      },
      [&] {
        const MultivariateNormal q = encode(all);
        Matrix out(kN, 6);
        out << q.loc().matrix(), q.covariance().matrix();  // S_00, S_10, S_01, S_11 of each point
        return out;
      });
  const double exact[4] = {S(0, 0), S(1, 0), S(0, 1), S(1, 1)};
  CHECK(S(1, 0) / std::sqrt(S(0, 0) * S(1, 1)) < -0.8);  // strongly correlated, as intended
  for (Index i = 0; i < kN; ++i) {
    INFO("point " << i);
    for (Index j = 0; j < 2; ++j) {
      INFO("mean[" << j << "] " << fit.mean(i, j) << " (se " << fit.standard_error(i, j) << ") vs "
                   << post_mean(i, j));
      CHECK(close(fit.mean(i, j), post_mean(i, j), fit.standard_error(i, j)));
    }
    for (Index k = 0; k < 4; ++k) {
      INFO("covariance entry " << k << ": " << fit.mean(i, 2 + k) << " (se "
                               << fit.standard_error(i, 2 + k) << ") vs " << exact[k]);
      CHECK(close(fit.mean(i, 2 + k), exact[k], fit.standard_error(i, 2 + k)));
    }
  }
  // The tolerance is far below the correlation it checks: a guide that could not correlate
  // the coordinates (S_10 = 0) would miss by 0.33.
  CHECK(4 * fit.standard_error.col(3).maxCoeff() + 0.002 < 0.05);
}

}  // namespace

TEST_CASE("an amortised MultivariateNormal guide learns a correlated posterior with Trace_ELBO",
          "[inference][amortised][mvn]") {
  check_mvn_guide_recovers_correlated_posterior(Trace_ELBO());
}

TEST_CASE(
    "an amortised MultivariateNormal guide learns a correlated posterior with "
    "TraceMeanField_ELBO",
    "[inference][amortised][mvn]") {
  check_mvn_guide_recovers_correlated_posterior(TraceMeanField_ELBO());
}
