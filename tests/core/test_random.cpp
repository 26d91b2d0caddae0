// Tests of vesta::Rng: reproducibility and stream independence, then the distributions, each
// checked by moments and a Kolmogorov-Smirnov test with tolerances derived from the sample
// size (5 standard errors, or the KS critical value at level 0.001), so they hold in float
// builds too. The seeds are fixed, so every run draws the same samples.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/distributions/normal.hpp>

#include <vesta/core/error.hpp>
#include <vesta/core/random.hpp>

using vesta::Index;
using vesta::Matrix;
using vesta::Rng;
using vesta::Scalar;

namespace {

constexpr double kSe = 5;  // tolerance in standard errors

// Boost computes double CDFs in long double by default; double is plenty for KS at n = 1e7
// and several times faster.
using FastPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

struct Moments {
  double mean, var, skew, kurt;  // kurt is excess kurtosis
};

Moments moments(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {mean, m2, m3 / std::pow(m2, 1.5), m4 / (m2 * m2) - 3};
}

// sup |F_n - F|, which under the null exceeds 1.95 / sqrt(n) with probability 0.001. For a
// law with an atom, cdf_below(x) = P(X < x) differs from cdf(x) = P(X <= x) there.
template <class Cdf, class CdfBelow>
double ks_statistic(std::vector<double> x, Cdf cdf, CdfBelow cdf_below) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    d = std::max({d, cdf_below(x[i]) - static_cast<double>(i) / n,
                  static_cast<double>(i + 1) / n - cdf(x[i])});
  }
  return d;
}

template <class Cdf>
double ks_statistic(std::vector<double> x, Cdf cdf) {
  return ks_statistic(std::move(x), cdf, cdf);
}

double ks_critical(std::size_t n) { return 1.95 / std::sqrt(static_cast<double>(n)); }

template <class Draw>
std::vector<double> draw(std::size_t n, Draw draw_one) {
  std::vector<double> x(n);
  for (auto& v : x) v = static_cast<double>(draw_one());
  return x;
}

std::vector<double> to_vector(const Matrix& m) {
  std::vector<double> x(static_cast<std::size_t>(m.size()));
  for (Index k = 0; k < m.size(); ++k)
    x[static_cast<std::size_t>(k)] = static_cast<double>(m.data()[k]);
  return x;
}

double normal_cdf(double x) {
  return boost::math::cdf(boost::math::normal_distribution<double, FastPolicy>(), x);
}

// Mean, variance, skewness, excess kurtosis and KS against the standard normal.
void check_standard_normal(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  const Moments m = moments(x);
  INFO("n = " << x.size());
  CHECK(m.mean == Approx(0).margin(kSe / std::sqrt(n)));
  CHECK(m.var == Approx(1).margin(kSe * std::sqrt(2 / n)).epsilon(0));
  CHECK(m.skew == Approx(0).margin(kSe * std::sqrt(6 / n)));
  CHECK(m.kurt == Approx(0).margin(kSe * std::sqrt(24 / n)));
  CHECK(ks_statistic(x, normal_cdf) < ks_critical(x.size()));
}

// The count of |x| > t against its binomial expectation.
void check_two_sided_tail(const std::vector<double>& x, double t) {
  const double n = static_cast<double>(x.size());
  const double p = 2 * (1 - normal_cdf(t));
  const auto count = std::count_if(x.begin(), x.end(), [t](double v) { return std::abs(v) > t; });
  INFO("threshold " << t << ", n = " << x.size() << ", expected " << n * p);
  CHECK(static_cast<double>(count) ==
        Approx(n * p).margin(kSe * std::sqrt(n * p * (1 - p))).epsilon(0));
}

// Mean and variance of Gamma(shape, 1) (both equal shape) and KS against its CDF, with the
// draws below the smallest normal Scalar gathered into an atom there.
void check_gamma(const std::vector<double>& x, double shape) {
  const double n = static_cast<double>(x.size());
  const Moments m = moments(x);
  const double tiny = std::numeric_limits<Scalar>::min();
  INFO("shape " << shape << ", n = " << x.size());
  CHECK(*std::min_element(x.begin(), x.end()) >= tiny);
  CHECK(m.mean == Approx(shape).margin(kSe * std::sqrt(shape / n)).epsilon(0));
  // Var of the sample variance is (mu4 - sigma^4) / n, with mu4 = 3 k (k + 2) for Gamma(k).
  CHECK(m.var ==
        Approx(shape).margin(kSe * std::sqrt((2 * shape * shape + 6 * shape) / n)).epsilon(0));
  const boost::math::gamma_distribution<double, FastPolicy> dist(shape, 1.0);
  const auto cdf = [&](double v) { return boost::math::cdf(dist, v); };
  const auto cdf_below = [&](double v) { return v <= tiny ? 0.0 : cdf(v); };
  CHECK(ks_statistic(x, cdf, cdf_below) < ks_critical(x.size()));
}

// The published algorithms, written out plainly, to check the optimised ones against.
std::uint64_t ref_splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

std::uint64_t ref_xoshiro256pp(Rng::State& s) {
  const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const std::uint64_t result = rotl(s[0] + s[3], 23) + s[0];
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

}  // namespace

// ---- the engine and its streams -----------------------------------------------------------

TEST_CASE("Rng seeds through splitmix64 and steps like xoshiro256++", "[random]") {
  for (std::uint64_t seed :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xdeadbeef}, ~std::uint64_t{0}}) {
    std::uint64_t sm = seed;
    Rng::State ref;
    for (auto& w : ref) w = ref_splitmix64(sm);
    Rng rng(seed);
    REQUIRE(rng.state() == ref);
    for (int i = 0; i < 1000; ++i) REQUIRE(rng.next_u64() == ref_xoshiro256pp(ref));
  }
}

TEST_CASE("Rng streams are reproducible from the seed", "[random]") {
  Rng a(42), b(42), c(43);
  std::vector<std::uint64_t> xa(1000), xb(1000), xc(1000);
  for (auto& v : xa) v = a.next_u64();
  for (auto& v : xb) v = b.next_u64();
  for (auto& v : xc) v = c.next_u64();
  CHECK(xa == xb);
  // Any coincidence between the two streams has probability about 1000^2 / 2^64.
  std::sort(xa.begin(), xa.end());
  std::sort(xc.begin(), xc.end());
  std::vector<std::uint64_t> common;
  std::set_intersection(xa.begin(), xa.end(), xc.begin(), xc.end(), std::back_inserter(common));
  CHECK(common.empty());

  Rng d(7), e(7);
  CHECK(d.normal() == e.normal());
  CHECK(d.uniform() == e.uniform());
  CHECK(d.gamma(Scalar(0.5)) == e.gamma(Scalar(0.5)));
  CHECK(d.normal(3, 4) == e.normal(3, 4));
  CHECK(d == e);
}

TEST_CASE("Rng state can be saved and restored", "[random]") {
  Rng rng(5);
  rng.normal(10, 10);
  const Rng::State saved = rng.state();
  const Matrix first = rng.normal(7, 3);
  rng.set_state(saved);
  CHECK(rng.normal(7, 3) == first);
  Rng restored = Rng::from_state(saved);
  CHECK(restored.normal(7, 3) == first);

  CHECK_THROWS_AS(rng.set_state(Rng::State{}), vesta::ValueError);
  CHECK_THROWS_AS(Rng::from_state(Rng::State{}), vesta::ValueError);
}

TEST_CASE("Rng::fork derives reproducible streams without advancing the parent", "[random]") {
  Rng parent(11);
  const Rng before = parent;
  Rng a = parent.fork(1), a_again = parent.fork(1), b = parent.fork(2);
  CHECK(parent == before);
  CHECK(a == a_again);
  CHECK_FALSE(a == b);
  CHECK_FALSE(a == parent);

  // Children of equal parents are equal; forking after a draw gives another child.
  CHECK(Rng(11).fork(1) == a);
  parent.next_u64();
  CHECK_FALSE(parent.fork(1) == a);

  // Streams are uncorrelated with each other and with the parent: the correlation of n
  // pairs of independent normals has standard error 1 / sqrt(n).
  constexpr Index n = 200000;
  Rng p = before;
  const std::vector<double> xp = to_vector(p.normal(n, 1));
  const std::vector<double> xa = to_vector(a.normal(n, 1));
  const std::vector<double> xb = to_vector(b.normal(n, 1));
  const auto corr = [](const std::vector<double>& x, const std::vector<double>& y) {
    return std::inner_product(x.begin(), x.end(), y.begin(), 0.0) / static_cast<double>(x.size());
  };
  CHECK(corr(xa, xb) == Approx(0).margin(kSe / std::sqrt(double(n))));
  CHECK(corr(xa, xp) == Approx(0).margin(kSe / std::sqrt(double(n))));
  CHECK(corr(xb, xp) == Approx(0).margin(kSe / std::sqrt(double(n))));
}

TEST_CASE("Consecutive seeds and stream ids give uniformly spread first draws", "[random]") {
  // A seed handler will number its streams 0, 1, 2, ...; the first draw of each stream must
  // already look like an independent uniform.
  constexpr std::uint64_t n = 20000;
  const Rng parent(3);
  std::vector<double> from_forks(n), from_seeds(n);
  for (std::uint64_t k = 0; k < n; ++k) {
    Rng child = parent.fork(k);
    from_forks[k] = static_cast<double>(child.uniform());
    Rng seeded(k);
    from_seeds[k] = static_cast<double>(seeded.uniform());
  }
  const auto uniform_cdf = [](double u) { return u; };
  CHECK(ks_statistic(from_forks, uniform_cdf) < ks_critical(n));
  CHECK(ks_statistic(from_seeds, uniform_cdf) < ks_critical(n));
}

TEST_CASE("Rng::split advances the parent and gives distinct reproducible children", "[random]") {
  Rng parent(21);
  Rng expected_parent = parent;
  expected_parent.next_u64();
  Rng c1 = parent.split();
  CHECK(parent == expected_parent);
  Rng c2 = parent.split();
  CHECK_FALSE(c1 == c2);
  CHECK_FALSE(c1 == parent);

  Rng other(21);
  CHECK(other.split() == c1);
  CHECK(other.split() == c2);

  // The child's stream is not the parent's.
  std::vector<std::uint64_t> xs(1000), xp(1000);
  for (auto& v : xs) v = c1.next_u64();
  for (auto& v : xp) v = parent.next_u64();
  std::sort(xs.begin(), xs.end());
  std::sort(xp.begin(), xp.end());
  std::vector<std::uint64_t> common;
  std::set_intersection(xs.begin(), xs.end(), xp.begin(), xp.end(), std::back_inserter(common));
  CHECK(common.empty());
}

TEST_CASE("Rng::jump is deterministic and linear", "[random]") {
  Rng a(9), b(9);
  a.jump();
  b.jump();
  CHECK(a == b);
  CHECK_FALSE(a == Rng(9));

  // The jump is a linear map of the state over GF(2), like the engine itself.
  const Rng::State s{1, 2, 3, 4}, t{0x1234, 0, 0xffff0000, 99};
  Rng::State st;
  for (int k = 0; k < 4; ++k)
    st[static_cast<std::size_t>(k)] =
        s[static_cast<std::size_t>(k)] ^ t[static_cast<std::size_t>(k)];
  Rng js = Rng::from_state(s), jt = Rng::from_state(t), jst = Rng::from_state(st);
  js.jump();
  jt.jump();
  jst.jump();
  for (std::size_t k = 0; k < 4; ++k) CHECK((js.state()[k] ^ jt.state()[k]) == jst.state()[k]);
}

TEST_CASE("Rng is a UniformRandomBitGenerator", "[random]") {
  static_assert(std::uniform_random_bit_generator<Rng>);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  Rng a(1), b(1);
  std::vector<int> w = v;
  std::shuffle(v.begin(), v.end(), a);
  std::shuffle(w.begin(), w.end(), b);
  CHECK(v == w);
}

// ---- bulk fills ---------------------------------------------------------------------------

TEST_CASE("Bulk fills draw what the same scalar calls draw", "[random]") {
  // Uniforms always; normals in fills shorter than kVectorNormalMin, and in double builds at
  // any length: 100000 normals pass through the wedge and tail paths about 1500 times.
  constexpr Index n = 100000;
  Rng bulk(17), one(17);
  std::vector<Scalar> x(n);
  bool same = true;
  bulk.fill_uniform(x.data(), n);
  for (Index i = 0; i < n; ++i) same = same && x[static_cast<std::size_t>(i)] == one.uniform();
  CHECK(same);
  CHECK(bulk == one);

  const Index short_fill = Rng::kVectorNormalMin - 1;
  bulk.fill_normal(x.data(), short_fill);
  for (Index i = 0; i < short_fill; ++i)
    same = same && x[static_cast<std::size_t>(i)] == one.normal();
  CHECK(same);
  CHECK(bulk == one);
#if !VESTA_SCALAR_IS_FLOAT
  bulk.fill_normal(x.data(), n);
  for (Index i = 0; i < n; ++i) same = same && x[static_cast<std::size_t>(i)] == one.normal();
  CHECK(same);
  CHECK(bulk == one);
#endif

  // Matrices are filled in column-major order.
  const Matrix m = bulk.normal(13, 7);
  Matrix expected(13, 7);
  for (Index k = 0; k < expected.size(); ++k) expected.data()[k] = one.normal();
  CHECK(m == expected);
  const Matrix u = bulk.uniform(5, 9);
  Matrix expected_u(5, 9);
  for (Index k = 0; k < expected_u.size(); ++k) expected_u.data()[k] = one.uniform();
  CHECK(u == expected_u);
  CHECK(bulk == one);
}

TEST_CASE("Long normal fills are a function of the state and a shorter one is a prefix",
          "[random]") {
  const Index n = 1000;
  Rng a(23), b(23);
  const Matrix first = a.normal(n, 1);
  CHECK(first == b.normal(n, 1));
  CHECK(a == b);
  // Every length at or above the vectorised fill's threshold, whole blocks or not.
  for (const Index m : {Rng::kVectorNormalMin, Rng::kVectorNormalMin + 1, Index{333}, n - 1}) {
    INFO("fill of " << m);
    Rng c(23);
    const Matrix part = c.normal(m, 1);
    CHECK(part == first.topRows(m));
#if VESTA_SCALAR_IS_FLOAT
    // The vectorised fill advances the state by its seed draws, whatever the length.
    Rng d(23);
    for (Index k = 0; k < Rng::kVectorNormalSeedDraws; ++k) d.next_u64();
    CHECK(c == d);
#endif
  }
  // The next fill continues from the advanced state, so it draws new values.
  CHECK(a.normal(n, 1) != first);
}

TEST_CASE("fill_normal on a block fills only the block", "[random]") {
  Matrix m = Matrix::Constant(6, 5, Scalar(7));
  Rng rng(4), ref(4);
  rng.fill_normal(m.block(1, 2, 3, 2));
  Matrix expected = Matrix::Constant(6, 5, Scalar(7));
  for (Index j = 2; j < 4; ++j) {
    for (Index i = 1; i < 4; ++i) expected(i, j) = ref.normal();
  }
  CHECK(m == expected);

  rng.fill_uniform(m.block(0, 0, 2, 2));
  for (Index j = 0; j < 2; ++j) {
    for (Index i = 0; i < 2; ++i) expected(i, j) = ref.uniform();
  }
  CHECK(m == expected);

  // A long block draws what a matrix of its shape would, in column-major order.
  Matrix big = Matrix::Constant(300, 5, Scalar(7));
  rng.fill_normal(big.block(50, 1, 200, 3));
  const Matrix drawn = ref.normal(200, 3);
  CHECK(big.block(50, 1, 200, 3) == drawn);
  CHECK((big.topRows(50).array() == 7).all());
  CHECK((big.bottomRows(50).array() == 7).all());
  CHECK((big.col(0).array() == 7).all());
  CHECK((big.col(4).array() == 7).all());
  CHECK(rng == ref);
}

TEST_CASE("Rng rejects negative sizes", "[random]") {
  Rng rng;
  Scalar dummy = 0;
  CHECK_THROWS_AS(rng.normal(-1, 3), vesta::ValueError);
  CHECK_THROWS_AS(rng.uniform(2, -1), vesta::ValueError);
  CHECK_THROWS_AS(rng.gamma(Scalar(1), -2, 2), vesta::ValueError);
  CHECK_THROWS_AS(rng.fill_normal(&dummy, -1), vesta::ValueError);
  CHECK_THROWS_AS(rng.fill_uniform(&dummy, -1), vesta::ValueError);
  CHECK(rng.normal(0, 4).size() == 0);
}

// ---- uniform ------------------------------------------------------------------------------

TEST_CASE("uniform stays below 1, at or above 0, with the right mean, variance and distribution",
          "[random]") {
  constexpr std::size_t n = 1000000;
  Rng rng(101);
  const std::vector<double> x = to_vector(rng.uniform(static_cast<Index>(n), 1));
  CHECK(*std::min_element(x.begin(), x.end()) >= 0);
  CHECK(*std::max_element(x.begin(), x.end()) < 1);
  const Moments m = moments(x);
  const double dn = static_cast<double>(n);
  CHECK(m.mean == Approx(0.5).margin(kSe * std::sqrt(1.0 / 12 / dn)).epsilon(0));
  // mu4 = 1/80 and sigma^4 = 1/144 for U(0, 1).
  CHECK(m.var == Approx(1.0 / 12).margin(kSe * std::sqrt((1.0 / 80 - 1.0 / 144) / dn)).epsilon(0));
  CHECK(ks_statistic(x, [](double u) { return u; }) < ks_critical(n));

  // The scalar draw too, on fewer samples.
  const std::vector<double> y = draw(100000, [&] { return rng.uniform(); });
  CHECK(*std::max_element(y.begin(), y.end()) < 1);
  CHECK(ks_statistic(y, [](double u) { return u; }) < ks_critical(y.size()));
}

// ---- normal -------------------------------------------------------------------------------

TEST_CASE("Ziggurat tables have layers of equal area", "[random]") {
  const auto& z = vesta::detail::normal_ziggurat();
  constexpr int n = vesta::detail::NormalZiggurat::kLayers;
  CHECK(z.x[1] == z.r);
  CHECK(z.x[n] == 0);
  CHECK(z.inner[n - 1] == 0);
  // The base layer: strip below f(r) plus the tail.
  CHECK(z.r * std::exp(-z.r * z.r / 2) + std::sqrt(M_PI / 2) * std::erfc(z.r / std::sqrt(2.0)) ==
        Approx(z.area).epsilon(1e-12));
  CHECK(z.x[0] * z.f[1] == Approx(z.area).epsilon(1e-12));
  for (int i = 1; i < n; ++i) {
    INFO("layer " << i);
    CHECK(z.x[i + 1] < z.x[i]);
    CHECK(z.f[i] == Approx(std::exp(-z.x[i] * z.x[i] / 2)).epsilon(1e-15));
    // The difference of heights loses a few digits to cancellation.
    CHECK(z.x[i] * (z.f[i + 1] - z.f[i]) == Approx(z.area).epsilon(1e-11));
  }
}

TEST_CASE("normal() draws standard normals", "[random]") {
  Rng rng(202);
  check_standard_normal(draw(1000000, [&] { return rng.normal(); }));
}

TEST_CASE("fill_normal draws standard normals", "[random]") {
  Rng rng(303);
  const std::vector<double> x = to_vector(rng.normal(2000, 1000));
  check_standard_normal(x);
  // About 930 of 2e6 draws land beyond 3.5, some in the last wedges, some in the tail.
  check_two_sided_tail(x, 3.5);
}

TEST_CASE("fill_normal's draws are uncorrelated, and so are their squares", "[random]") {
  // Box-Muller makes normals in pairs from one radius, which float builds store 64 draws
  // apart; the lanes repeat every 16 draws. A flaw in either would correlate the draws or
  // their squares (the shared radius) at those lags; independent normals have correlation 0
  // with standard error 1 / sqrt(n) for both.
  Rng rng(333);
  const std::vector<double> x = to_vector(rng.normal(1024, 2000));
  for (const std::size_t lag : {1, 16, 64, 128}) {
    double xy = 0, x2 = 0, y2 = 0, sq = 0, sq_x = 0, sq_y = 0, sq_xx = 0, sq_yy = 0;
    double count = 0;
    for (std::size_t i = 0; i + lag < x.size(); i += 128) {
      for (std::size_t k = 0; k < 64 && i + k + lag < x.size(); ++k) {
        const double a = x[i + k], b = x[i + k + lag];
        xy += a * b;
        x2 += a * a;
        y2 += b * b;
        sq += a * a * b * b;
        sq_x += a * a;
        sq_y += b * b;
        sq_xx += a * a * a * a;
        sq_yy += b * b * b * b;
        count += 1;
      }
    }
    INFO("lag " << lag << ", " << count << " pairs");
    CHECK(xy / std::sqrt(x2 * y2) == Approx(0).margin(kSe / std::sqrt(count)));
    const double cov_sq = sq / count - (sq_x / count) * (sq_y / count);
    const double var_x = sq_xx / count - (sq_x / count) * (sq_x / count);
    const double var_y = sq_yy / count - (sq_y / count) * (sq_y / count);
    CHECK(cov_sq / std::sqrt(var_x * var_y) == Approx(0).margin(kSe / std::sqrt(count)));
  }
}

namespace {

// Draws n normals in chunks, counting those beyond each threshold and keeping every one
// beyond the ziggurat's tail start r, and every `keep_every`-th chunk whole.
struct NormalScan {
  std::vector<double> thresholds;
  std::vector<long> counts;
  std::vector<double> tail;
  std::vector<double> kept;
  double n = 0;

  NormalScan(Rng& rng, Index chunks, std::vector<double> ts, Index keep_every = 0)
      : thresholds(std::move(ts)) {
    constexpr Index chunk = 1000000;
    const double r = vesta::detail::normal_ziggurat().r;
    counts.assign(thresholds.size(), 0);
    Matrix m(chunk, 1);
    for (Index c = 0; c < chunks; ++c) {
      rng.fill_normal(m);
      for (Index k = 0; k < chunk; ++k) {
        const double v = static_cast<double>(m(k, 0));
        const double a = std::abs(v);
        for (std::size_t t = 0; t < thresholds.size(); ++t) counts[t] += a > thresholds[t];
        if (a > r) tail.push_back(a);
        if (keep_every > 0 && c % keep_every == 0) kept.push_back(v);
      }
    }
    n = static_cast<double>(chunks * chunk);
  }

  void check() const {
    for (std::size_t t = 0; t < thresholds.size(); ++t) {
      const double p = 2 * (1 - normal_cdf(thresholds[t]));
      INFO("threshold " << thresholds[t] << ", expected " << n * p);
      CHECK(static_cast<double>(counts[t]) ==
            Approx(n * p).margin(kSe * std::sqrt(n * p * (1 - p))).epsilon(0));
    }
    // Beyond r the draws come from the tail algorithm alone: check their conditional law.
    const double r = vesta::detail::normal_ziggurat().r;
    const double q = 1 - normal_cdf(r);
    INFO(tail.size() << " draws beyond r = " << r);
    CHECK(ks_statistic(tail, [&](double v) { return (normal_cdf(v) - normal_cdf(r)) / q; }) <
          ks_critical(tail.size()));
  }
};

}  // namespace

TEST_CASE("Normal draws beyond the ziggurat's layers follow the normal tail", "[random]") {
  // 5e7 draws give about 12900 beyond r = 3.65 and 340 beyond 4.5.
  Rng rng(313);
  NormalScan(rng, 50, {3.5, 4.0, 4.5}).check();
}

TEST_CASE("Normal draws fill a fine histogram as the density says", "[random]") {
  // Chi-square over 160 bins of width 0.05 on [-4, 4] plus two for the rest. 2e7 draws
  // resolve per-bin deviations of about 1%, the size a flawed wedge or layer choice leaves.
  constexpr int kBins = 160;
  constexpr double lo = -4, width = 0.05;
  constexpr Index chunk = 1000000;
  constexpr int chunks = 20;
  std::vector<double> counts(kBins + 2, 0);
  Rng rng(323);
  Matrix m(chunk, 1);
  for (int c = 0; c < chunks; ++c) {
    rng.fill_normal(m);
    for (Index k = 0; k < chunk; ++k) {
      const double b = std::floor((static_cast<double>(m(k, 0)) - lo) / width);
      counts[b < 0 ? 0 : b >= kBins ? kBins + 1 : static_cast<std::size_t>(b) + 1] += 1;
    }
  }
  const double n = double(chunk) * chunks;
  double chi2 = 0;
  for (int i = 0; i < kBins + 2; ++i) {
    const double left = i == 0 ? 0 : normal_cdf(lo + (i - 1) * width);
    const double right = i == kBins + 1 ? 1 : normal_cdf(lo + i * width);
    const double expected = n * (right - left);
    chi2 += (counts[static_cast<std::size_t>(i)] - expected) *
            (counts[static_cast<std::size_t>(i)] - expected) / expected;
  }
  const double critical = boost::math::quantile(
      boost::math::chi_squared_distribution<double, FastPolicy>(kBins + 1), 0.999);
  CHECK(chi2 < critical);
}

TEST_CASE("Normal tail and wedges are exact on 1e8 draws", "[random][slow]") {
  Rng rng(404);
  const NormalScan scan(rng, 100, {3.0, 3.5, 4.0, 4.5, 5.0}, 10);
  scan.check();
  check_standard_normal(scan.kept);
}

// ---- exponential and gamma ----------------------------------------------------------------

TEST_CASE("exponential() draws Exp(1)", "[random]") {
  Rng rng(505);
  constexpr std::size_t n = 500000;
  const std::vector<double> x = draw(n, [&] { return rng.exponential(); });
  const Moments m = moments(x);
  const double dn = static_cast<double>(n);
  CHECK(*std::min_element(x.begin(), x.end()) >= 0);
  CHECK(m.mean == Approx(1).margin(kSe / std::sqrt(dn)).epsilon(0));
  CHECK(m.var == Approx(1).margin(kSe * std::sqrt(8 / dn)).epsilon(0));  // mu4 = 9
  CHECK(ks_statistic(x, [](double v) { return -std::expm1(-v); }) < ks_critical(n));
}

TEST_CASE("gamma(shape) draws Gamma(shape, 1)", "[random]") {
  Rng rng(606);
  for (double shape : {0.3, 1.0, 2.5, 10.0}) {
    check_gamma(draw(200000, [&] { return rng.gamma(static_cast<Scalar>(shape)); }), shape);
  }
}

TEST_CASE("gamma on 1e6 draws per shape", "[random][slow]") {
  // Shape 0.01 puts about 1e-3 (double) or 40% (float) of the draws at the clamp.
  Rng rng(707);
  for (double shape : {0.01, 0.05, 0.3, 0.999, 1.0, 2.5, 10.0, 1000.0}) {
    check_gamma(to_vector(rng.gamma(static_cast<Scalar>(shape), 1000000, 1)), shape);
  }
}

TEST_CASE("gamma(shape matrix) draws each element with its own shape", "[random]") {
  constexpr Index n = 100000;
  Matrix shape(2, n);
  shape.row(0).setConstant(Scalar(0.5));
  shape.row(1).setConstant(Scalar(4));
  Rng rng(808);
  const Matrix g = rng.gamma(shape);
  REQUIRE(g.rows() == 2);
  REQUIRE(g.cols() == n);
  check_gamma(to_vector(g.row(0).transpose()), 0.5);
  check_gamma(to_vector(g.row(1).transpose()), 4.0);
}

TEST_CASE("gamma rejects shapes that are not positive and finite", "[random]") {
  using Catch::Matchers::Contains;
  Rng rng(1);
  const Rng before = rng;
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    const auto shape = static_cast<Scalar>(bad);
    const std::string value = fmt::format("{}", shape);
    INFO("shape " << value);
    CHECK_THROWS_AS(rng.gamma(shape), vesta::ValueError);
    CHECK_THROWS_WITH(rng.gamma(shape), Contains("shape") && Contains(value));
    CHECK_THROWS_AS(rng.gamma(shape, 2, 2), vesta::ValueError);
    CHECK_THROWS_WITH(rng.gamma(shape, 2, 2), Contains(value));

    Matrix shapes = Matrix::Ones(3, 2);
    shapes(1, 0) = shape;
    CHECK_THROWS_AS(rng.gamma(shapes), vesta::ValueError);
    CHECK_THROWS_WITH(rng.gamma(shapes), Contains("(1, 0)") && Contains(value));
  }
  // Nothing was drawn.
  CHECK(rng == before);
}
