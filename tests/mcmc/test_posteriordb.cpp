// NUTS against posteriordb's reference posteriors (tests/data/posteriordb): each model written
// with vesta's primitives, 4 chains x (1000 warm-up + 1000 draws), every reference parameter
// checked.
//
// Tolerances, from the standard errors of both estimates (the reference's from its 10,000
// near-independent draws, ours from our ESS):
// - mean: |m - m_ref| < 5 sqrt(se^2 + se_ref^2), se = sd / sqrt(ESS), se_ref = sd_ref / 100;
// - sd: the standard error of a standard deviation from n effective draws is about
//   sd sqrt((kurtosis - 1) / (4 n)); we take kurtosis 9 (sd sqrt(2 / n)) for the reference
//   (tau's, the heaviest tail, is about 8.4 in its draws) and for ours the larger of 9 and
//   our draws' own (a chain that visits tau's far tail a few times raises both its sd and its
//   kurtosis), and allow 5 of the combined error;
// - 5% and 95% quantiles: the standard error of a p-quantile is sqrt(p (1 - p) / n) / f(q_p);
//   with f at least a normal density's there, phi(1.645) / sd, that is 2.1 sd / sqrt(n) at
//   both quantiles; a skewed tail (tau's upper quantile) has a lower density, so we allow 3.5
//   sd / sqrt(n) per estimate (n the tail ESS for ours) and 5 of the combined error.
// Five standard errors per check: with ~40 checks per posterior the chance of a false alarm
// is far below 1e-3, while a sampler that misses the funnel of eight schools (tau's mean off
// by 0.5 or more) or the mixture's modes fails by dozens of standard errors.
#include <algorithm>
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/posteriordb.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

const std::string kDir = VESTA_POSTERIORDB_DIR;

// The kurtosis of a summary row's entry ("tau", "theta_trans[3]": a scalar or a vector's entry)
// over the pooled draws.
double kurtosis(const SiteSamples& samples, const std::string& entry) {
  const auto open = entry.find('[');
  const Matrix flat = samples.flat(entry.substr(0, open));
  const Index k = open == std::string::npos ? 0 : std::stol(entry.substr(open + 1));
  const Eigen::ArrayXd x = flat.col(k).cast<double>().array();
  const Eigen::ArrayXd d = x - x.mean();
  const double var = d.square().mean();
  return d.square().square().mean() / (var * var);
}

void check_posterior(const posteriordb::Case& c, std::uint64_t seed) {
  MCMCOptions o;
  o.seed = seed;
  o.progress = nullptr;
  MCMC mcmc(NUTS{c.model}, 1000, 1000, 4, o);
  mcmc.run();
  const MCMCSummary s = mcmc.summary();
  const SiteSamples samples = mcmc.get_samples();
  INFO(c.name << "\n" << s.format());
  // Divergences: eight schools' neck gives a few by chance; gp_pois_regr a few dozen in 4000
  // draws (its kernel matrix is near-singular at large length scales, where the curvature
  // changes fast); a biased sampler shows in the moments below, which must still match. More
  // than 2% of the draws diverging would mean the adaptation failed.
  CHECK(s.divergences <= 80);
  const Json ref = Json::parse_file(kDir + "/" + c.name + "/reference.json");
  for (const auto& [stan_name, r] : ref["summary"].object()) {
    const SummaryRow& row = s.at(posteriordb::vesta_name(stan_name));
    const double sd_ref = r["sd"].number();
    INFO(stan_name << ": mean " << row.mean << " (ref " << r["mean"].number() << "), sd " << row.sd
                   << " (ref " << sd_ref << "), q05 " << row.q05 << " (ref " << r["q05"].number()
                   << "), q95 " << row.q95 << " (ref " << r["q95"].number() << "), ess_bulk "
                   << row.ess_bulk << ", ess_tail " << row.ess_tail << ", rhat " << row.rhat);
    const double n_ref = 10000, n = row.ess_bulk, n_tail = row.ess_tail;
    CHECK(row.rhat < 1.02);
    CHECK(n > 300);
    const double se_mean = std::hypot(row.sd / std::sqrt(n), sd_ref / std::sqrt(n_ref));
    CHECK(std::abs(row.mean - r["mean"].number()) < 5 * se_mean);
    // NUTS's draws can be antithetic for the mean (bulk ESS above the number of draws) but not
    // for the spread: the sd's error uses the smaller of the two ESS.
    const double n_sd = std::min(n, n_tail);
    const double own_kurtosis = kurtosis(samples, row.name);
    INFO("kurtosis of the draws " << own_kurtosis);
    const double kurt = std::max(9.0, own_kurtosis);
    const double se_sd =
        std::hypot(row.sd * std::sqrt((kurt - 1) / (4 * n_sd)), sd_ref * std::sqrt(2 / n_ref));
    CHECK(std::abs(row.sd - sd_ref) < 5 * se_sd);
    const double se_q =
        std::hypot(3.5 * row.sd / std::sqrt(n_tail), 3.5 * sd_ref / std::sqrt(n_ref));
    CHECK(std::abs(row.q05 - r["q05"].number()) < 5 * se_q);
    CHECK(std::abs(row.q95 - r["q95"].number()) < 5 * se_q);
  }
}

posteriordb::Case find_case(const std::string& name) {
  for (const auto& c : posteriordb::cases(kDir)) {
    if (c.name == name) return c;
  }
  FAIL("no posterior " << name);
  return {};
}

}  // namespace

TEST_CASE("posteriordb: eight_schools_noncentered", "[mcmc][slow]") {
  check_posterior(find_case("eight_schools-eight_schools_noncentered"), 1);
}

TEST_CASE("posteriordb: kidiq kidscore_momiq", "[mcmc][slow]") {
  check_posterior(find_case("kidiq-kidscore_momiq"), 2);
}

TEST_CASE("posteriordb: arK", "[mcmc][slow]") { check_posterior(find_case("arK-arK"), 3); }

TEST_CASE("posteriordb: low_dim_gauss_mix", "[mcmc][slow]") {
  check_posterior(find_case("low_dim_gauss_mix-low_dim_gauss_mix"), 4);
}

TEST_CASE("posteriordb: gp_pois_regr", "[mcmc][slow]") {
  if (sizeof(Scalar) == 4) {
    // The model's jitter (1e-10 on the kernel's diagonal) is far below float's resolution at
    // the kernel's scale (alpha^2 ~ 9), so its Cholesky factorisation fails wherever the length
    // scale is not small: the posterior cannot be computed in float, in Stan's form.
    WARN("gp_pois_regr needs double precision; skipped in a float build");
    return;
  }
  check_posterior(find_case("gp_pois_regr-gp_pois_regr"), 5);
}

TEST_CASE("posteriordb: the data reader names what is wrong", "[mcmc]") {
  CHECK_THROWS_WITH(Json::parse("{\"a\": [1, 2,]}"), Catch::Matchers::Contains("byte"));
  CHECK_THROWS_WITH(Json::parse("[1, 2"), Catch::Matchers::Contains("']'"));
  CHECK_THROWS_WITH(Json::parse("{\"a\" 1}"), Catch::Matchers::Contains("':'"));
  CHECK_THROWS_WITH(Json::parse(std::string(100, '[')), Catch::Matchers::Contains("nesting"));
  CHECK_THROWS_WITH(Json::parse("\"open"), Catch::Matchers::Contains("quote"));
  CHECK_THROWS_WITH(Json::parse("1x"), Catch::Matchers::Contains("end of the input"));
  CHECK_THROWS_WITH(Json::parse_file(kDir + "/nowhere.json"), Catch::Matchers::Contains("nowhere"));
  const Json v = Json::parse(" {\"x\": [1.5, -2e3], \"s\": \"a\\\"b\", \"t\": true} ");
  CHECK(v["x"].numbers() == std::vector<double>{1.5, -2000});
  CHECK(v["s"].string() == "a\"b");
  CHECK_THROWS_WITH(v["x"].string(), Catch::Matchers::Contains("string"));
  CHECK_THROWS_WITH(v["y"], Catch::Matchers::Contains("'y'"));
}
