// Five posteriors of posteriordb (the Stan project's database of models, data and reference
// posteriors) written with vesta's primitives, each read from a folder holding the Stan
// model's data.json (and, for the checks, reference.json). Parameter names follow the Stan
// models; vector entries are 0-based here ("theta[0]" is Stan's "theta[1]").
#pragma once

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <vesta/vesta.hpp>

#include "support/json.hpp"

namespace vesta::examples::posteriordb {

/// A column of the numbers in `data[key]`.
inline Matrix column(const Json& data, const std::string& key) {
  const std::vector<double> v = data[key].numbers();
  Matrix m(static_cast<Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i)
    m(static_cast<Index>(i), 0) = static_cast<Scalar>(v[i]);
  return m;
}

/// eight_schools_noncentered: theta = mu + tau * theta_trans, y ~ Normal(theta, sigma).
// Data are held as Tensors (constants made once): a Matrix argument would be copied into a new
// constant at every evaluation of the model.
struct EightSchools {
  Tensor y, sigma;
  void operator()() const {
    const Tensor mu = sample("mu", Normal(0, 5));
    const Tensor tau = sample("tau", HalfCauchy(5));  // Stan: cauchy(0, 5) on tau >= 0
    auto schools = plate("schools", y.rows());
    const Tensor theta_trans = sample("theta_trans", Normal(0, 1));
    const Tensor theta = deterministic("theta", mu + tau * theta_trans);
    sample("y", Normal(theta, sigma), y);
  }
  static EightSchools from(const Json& data) { return {column(data, "y"), column(data, "sigma")}; }
};

/// kidscore_momiq: kid_score ~ Normal(beta[0] + beta[1] mom_iq, sigma). Stan's model leaves
/// beta with a flat prior; here it is Normal(0, 1e4), whose pull on a posterior with sd 6
/// (beta[0]) and 0.06 (beta[1]) is a relative change of (6 / 1e4)^2 < 1e-6: invisible.
struct KidIQ {
  Tensor kid_score, X;  // X: a ones column and mom_iq
  void operator()() const {
    const Tensor beta = sample("beta", Normal(0, 1e4).expand(2, 1));
    const Tensor sigma = sample("sigma", HalfCauchy(2.5));
    auto data = plate("data", X.rows());
    sample("kid_score", Normal(matmul(X, beta), sigma), kid_score);
  }
  static KidIQ from(const Json& data) {
    const Matrix iq = column(data, "mom_iq");
    Matrix x(iq.rows(), 2);
    x.col(0).setOnes();
    x.col(1) = iq.col(0);
    return {column(data, "kid_score"), x};
  }
};

/// arK: y[t] ~ Normal(alpha + sum_k beta[k] y[t-k], sigma) for t > K.
struct ArK {
  Tensor lags, y_tail;  // lags(t, k) = y[t + K - 1 - k]: the K values before y_tail[t]
  void operator()() const {
    const Index K = lags.cols();
    const Tensor alpha = sample("alpha", Normal(0, 10));
    const Tensor beta = sample("beta", Normal(0, 10).expand(K, 1));
    const Tensor sigma = sample("sigma", HalfCauchy(2.5));
    auto data = plate("time", y_tail.rows());
    sample("y", Normal(alpha + matmul(lags, beta), sigma), y_tail);
  }
  static ArK from(const Json& data) {
    const Matrix y = column(data, "y");
    const auto K = static_cast<Index>(data["K"].number());
    if (K < 1 || K >= y.rows()) throw std::runtime_error("arK: K must be in 1..T-1");
    Matrix lags(y.rows() - K, K);
    for (Index t = 0; t < lags.rows(); ++t) {
      for (Index k = 0; k < K; ++k) lags(t, k) = y(t + K - 1 - k, 0);
    }
    return {lags, Matrix(y.bottomRows(y.rows() - K))};
  }
};

/// low_dim_gauss_mix: y[n] ~ theta N(mu[0], sigma[0]) + (1 - theta) N(mu[1], sigma[1]) with
/// mu ordered. vesta has no ordered constraint, so mu is built the way Stan's ordered
/// transform builds it: mu[0] real, mu[1] = mu[0] + gap with gap > 0. The map (mu[0], gap) ->
/// (mu[0], mu[1]) has Jacobian 1, so the prior mu ~ Normal(0, 2) on both entries is the
/// density of mu[1] added by a factor; gap is a latent with support (0, inf) whose own
/// Exponential(1) log-density the factor takes out again, leaving exactly Stan's target.
struct GaussMix {
  Tensor y;
  void operator()() const {
    const Tensor mu0 = sample("mu0", Normal(0, 2));
    const Tensor gap = sample("gap", Exponential(1));
    const Tensor mu1 = mu0 + gap;
    global_factor("mu1_prior", Normal(0, 2).log_prob(mu1) + gap);
    deterministic("mu", vstack({mu0, mu1}));
    const Tensor sigma = sample("sigma", HalfNormal(2).expand(2, 1));
    const Tensor theta = sample("theta", Beta(5, 5));
    auto data = plate("data", y.rows());
    const Tensor a = log(theta) + Normal(mu0, gather_rows(sigma, {0})).log_prob(y);
    const Tensor b = log1p(-theta) + Normal(mu1, gather_rows(sigma, {1})).log_prob(y);
    factor("y", rowwise_logsumexp(hstack({a, b})));
  }
  static GaussMix from(const Json& data) { return {column(data, "y")}; }
};

/// gp_pois_regr: a latent Gaussian process f = L f_tilde (L the Cholesky factor of the
/// squared-exponential kernel alpha^2 exp(-(x_i - x_j)^2 / (2 rho^2)) + 1e-10 I) with
/// k ~ Poisson(exp(f)).
struct GPPoisson {
  Tensor sq_dist, k, jitter;  // sq_dist(i, j) = (x_i - x_j)^2; jitter 1e-10 I
  void operator()() const {
    const Index n = k.rows();
    const Tensor rho = sample("rho", Gamma(25, 4));
    const Tensor alpha = sample("alpha", HalfNormal(2));
    const Tensor f_tilde = sample("f_tilde", Normal(0, 1).expand(n, 1));
    const Tensor cov = square(alpha) * exp(sq_dist * (Scalar(-0.5) / square(rho))) + jitter;
    const Tensor f = deterministic("f", matmul(cholesky(cov), f_tilde));
    auto data = plate("data", n);
    sample("k", Poisson(exp(f)), k);
  }
  static GPPoisson from(const Json& data) {
    const Matrix x = column(data, "x");
    Matrix d(x.rows(), x.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      for (Index j = 0; j < x.rows(); ++j) d(i, j) = (x(i, 0) - x(j, 0)) * (x(i, 0) - x(j, 0));
    }
    const Matrix jitter = Matrix::Identity(x.rows(), x.rows()) * Scalar(1e-10);
    return {d, column(data, "k"), jitter};
  }
};

/// One posterior: its folder name and the model, read from `dir/<name>/data.json`.
struct Case {
  std::string name;
  std::function<void()> model;
};

inline std::vector<Case> cases(const std::string& dir) {
  auto data = [&](const std::string& name) {
    return Json::parse_file(dir + "/" + name + "/data.json");
  };
  std::vector<Case> out;
  out.push_back({"eight_schools-eight_schools_noncentered",
                 EightSchools::from(data("eight_schools-eight_schools_noncentered"))});
  out.push_back({"kidiq-kidscore_momiq", KidIQ::from(data("kidiq-kidscore_momiq"))});
  out.push_back({"arK-arK", ArK::from(data("arK-arK"))});
  out.push_back({"low_dim_gauss_mix-low_dim_gauss_mix",
                 GaussMix::from(data("low_dim_gauss_mix-low_dim_gauss_mix"))});
  out.push_back({"gp_pois_regr-gp_pois_regr", GPPoisson::from(data("gp_pois_regr-gp_pois_regr"))});
  return out;
}

/// Stan's name of a parameter ("theta[1]") as vesta's summary names it ("theta[0]").
inline std::string vesta_name(const std::string& stan_name) {
  const auto open = stan_name.find('[');
  if (open == std::string::npos) return stan_name;
  const int k = std::stoi(stan_name.substr(open + 1));
  return stan_name.substr(0, open) + "[" + std::to_string(k - 1) + "]";
}

}  // namespace vesta::examples::posteriordb
