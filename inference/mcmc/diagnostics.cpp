#include <vesta/inference/mcmc/diagnostics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <boost/math/special_functions/erf.hpp>

namespace vesta {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double normal_quantile(double p) { return std::sqrt(2.0) * boost::math::erf_inv(2 * p - 1); }

// The autocovariance of one chain at lag t, divided by n (the biased estimator whose
// sequence is positive definite).
double autocovariance(const Eigen::VectorXd& centred, Eigen::Index t) {
  const Eigen::Index n = centred.size();
  return centred.head(n - t).dot(centred.tail(n - t)) / static_cast<double>(n);
}

// ESS of chains taken as they are (already split), Vehtari et al. 2021, section 3.2: the
// combined autocorrelation rho_t = 1 - (W - mean_m acov_m(t)) / var_plus, summed in pairs
// until a pair's sum is negative, the pair sums made monotone (Geyer 1992).
double ess_of_chains(const Eigen::MatrixXd& x) {
  const Eigen::Index n = x.rows(), m = x.cols();
  if (n < 4 || m < 1 || !x.allFinite()) return kNaN;
  std::vector<Eigen::VectorXd> centred(static_cast<std::size_t>(m));
  Eigen::VectorXd means(m), vars(m);
  for (Eigen::Index j = 0; j < m; ++j) {
    means[j] = x.col(j).mean();
    centred[static_cast<std::size_t>(j)] = x.col(j).array() - means[j];
    vars[j] = centred[static_cast<std::size_t>(j)].squaredNorm() / static_cast<double>(n - 1);
  }
  const double w = vars.mean();  // within-chain variance
  const double nd = static_cast<double>(n);
  double var_plus = w * (nd - 1) / nd;
  if (m > 1) var_plus += (means.array() - means.mean()).square().sum() / static_cast<double>(m - 1);
  if (!(var_plus > 0)) return kNaN;
  auto rho = [&](Eigen::Index t) {
    double acov = 0;
    for (const auto& c : centred) acov += autocovariance(c, t);
    return 1 - (w - acov / static_cast<double>(m)) / var_plus;
  };
  std::vector<double> r;  // rho_0, rho_1, ...
  r.push_back(1.0);
  r.push_back(rho(1));
  Eigen::Index t = 1;
  double even = 1, odd = r[1];
  while (t < n - 4 && even + odd > 0) {
    even = rho(t + 1);
    odd = rho(t + 2);
    if (even + odd >= 0) {
      r.push_back(even);
      r.push_back(odd);
    }
    t += 2;
  }
  // r now holds rho_0 .. rho_{max_t}; the positive pair sums are made non-increasing.
  const std::size_t max_t = r.size() - 1;
  for (std::size_t k = 1; k + 2 <= max_t; k += 2) {
    if (r[k + 1] + r[k + 2] > r[k - 1] + r[k]) {
      r[k + 1] = (r[k - 1] + r[k]) / 2;
      r[k + 2] = r[k + 1];
    }
  }
  double tau = -1;
  for (double v : r) tau += 2 * v;
  if (even > 0 && even + odd < 0) tau += even;  // the last positive even lag, counted once
  const double total = nd * static_cast<double>(m);
  tau = std::max(tau, 1 / std::log10(total));
  return total / tau;
}

// sqrt(var_plus / W) of chains as they are.
double rhat_of_chains(const Eigen::MatrixXd& x) {
  const Eigen::Index n = x.rows(), m = x.cols();
  if (n < 2 || m < 2 || !x.allFinite()) return kNaN;
  Eigen::VectorXd means(m), vars(m);
  for (Eigen::Index j = 0; j < m; ++j) {
    means[j] = x.col(j).mean();
    vars[j] = (x.col(j).array() - means[j]).square().sum() / static_cast<double>(n - 1);
  }
  const double nd = static_cast<double>(n);
  const double w = vars.mean();
  const double b = nd * (means.array() - means.mean()).square().sum() / static_cast<double>(m - 1);
  if (!(w > 0)) return kNaN;
  return std::sqrt(((nd - 1) / nd * w + b / nd) / w);
}

double quantile_of(const Eigen::MatrixXd& x, double q) {
  std::vector<double> v(x.data(), x.data() + x.size());
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

Eigen::MatrixXd split_chains(const Eigen::MatrixXd& draws) {
  const Eigen::Index half = draws.rows() / 2, m = draws.cols();
  Eigen::MatrixXd out(half, 2 * m);
  for (Eigen::Index j = 0; j < m; ++j) {
    out.col(2 * j) = draws.col(j).head(half);
    out.col(2 * j + 1) = draws.col(j).tail(half);
  }
  return out;
}

Eigen::MatrixXd rank_normalise(const Eigen::MatrixXd& draws) {
  const Eigen::Index s = draws.size();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(s));
  std::iota(order.begin(), order.end(), 0);
  const double* x = draws.data();
  std::sort(order.begin(), order.end(),
            [x](Eigen::Index a, Eigen::Index b) { return x[a] < x[b]; });
  Eigen::MatrixXd out(draws.rows(), draws.cols());
  const double sd = static_cast<double>(s);
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    const double rank = (static_cast<double>(i + j) / 2) + 1;  // average 1-based rank of ties
    const double z = normal_quantile((rank - 0.375) / (sd + 0.25));
    for (std::size_t k = i; k <= j; ++k) out.data()[order[k]] = z;
    i = j + 1;
  }
  return out;
}

double effective_sample_size(const Eigen::MatrixXd& draws) {
  return ess_of_chains(split_chains(draws));
}

double ess_bulk(const Eigen::MatrixXd& draws) {
  if (draws.rows() < 4 || !draws.allFinite()) return kNaN;
  return ess_of_chains(rank_normalise(split_chains(draws)));
}

double ess_tail(const Eigen::MatrixXd& draws) {
  if (draws.rows() < 4 || !draws.allFinite()) return kNaN;
  const Eigen::MatrixXd split = split_chains(draws);
  double out = std::numeric_limits<double>::infinity();
  for (double q : {0.05, 0.95}) {
    const double cut = quantile_of(draws, q);
    const Eigen::MatrixXd indicator = (split.array() <= cut).cast<double>().matrix();
    out = std::min(out, ess_of_chains(indicator));
  }
  return out;
}

double split_rhat(const Eigen::MatrixXd& draws) {
  if (draws.rows() < 4 || !draws.allFinite()) return kNaN;
  const Eigen::MatrixXd split = split_chains(draws);
  const double bulk = rhat_of_chains(rank_normalise(split));
  const double median = quantile_of(draws, 0.5);
  const Eigen::MatrixXd folded = (split.array() - median).abs().matrix();
  const double tail = rhat_of_chains(rank_normalise(folded));
  return std::max(bulk, tail);
}

double split_rhat_basic(const Eigen::MatrixXd& draws) {
  return rhat_of_chains(split_chains(draws));
}

}  // namespace vesta
