#include <vesta/core/random.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <vesta/core/error.hpp>

namespace vesta {

namespace detail {

namespace {

NormalZiggurat build_normal_ziggurat() {
  // Long double so that the tables come out right to the last bit of a double.
  using Real = long double;
  constexpr int n = NormalZiggurat::kLayers;
  const auto f = [](Real x) { return std::exp(-x * x / 2); };
  const Real sqrt_half_pi = std::sqrt(std::acos(Real(-1)) / 2);
  // Area of the base layer: the strip [0, r] x [0, f(r)] plus the tail beyond r.
  const auto base_area = [&](Real r) {
    return r * f(r) + sqrt_half_pi * std::erfc(r / std::sqrt(Real(2)));
  };

  // Stacks layers of the base layer's area from r upwards. A larger r means a smaller area,
  // so the layers stop short of the peak (+1); a smaller r overshoots it (-1). The r we want
  // makes the last layer end exactly at f(0) = 1.
  Real x[n + 1];
  const auto stack = [&](Real r) {
    const Real v = base_area(r);
    x[0] = v / f(r);
    x[1] = r;
    for (int i = 1; i < n - 1; ++i) {
      const Real y = f(x[i]) + v / x[i];
      if (y >= 1) return -1;
      x[i + 1] = std::sqrt(-2 * std::log(y));
    }
    return f(x[n - 1]) + v / x[n - 1] < 1 ? 1 : -1;
  };
  Real lo = 2, hi = 6;
  for (;;) {
    const Real mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    (stack(mid) > 0 ? hi : lo) = mid;
  }
  stack(hi);
  x[n] = 0;

  NormalZiggurat z{};
  z.r = static_cast<double>(hi);
  z.area = static_cast<double>(base_area(hi));
  for (int i = 0; i <= n; ++i) {
    z.x[i] = static_cast<double>(x[i]);
    z.f[i] = i == 0 ? 0.0 : static_cast<double>(f(x[i]));
  }
  for (int i = 0; i < n; ++i) {
    z.scale[i] = static_cast<double>(x[i] * 0x1p-53L);
    z.inner[i] = static_cast<std::uint64_t>(x[i + 1] / x[i] * 0x1p53L);
  }
  return z;
}

}  // namespace

const NormalZiggurat& normal_ziggurat() {
  static const NormalZiggurat tables = build_normal_ziggurat();
  return tables;
}

}  // namespace detail

namespace {

// splitmix64's output function: a bijection of 64-bit words with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15u;

void check_state(const Rng::State& state) {
  if (state == Rng::State{})
    throw ValueError("Rng: the all-zero state is not a valid xoshiro256++ state");
}

void check_size(const char* op, Index n) {
  if (n < 0) throw ValueError(fmt::format("Rng::{}: cannot draw {} values", op, n));
}

void check_shape(const char* op, Index rows, Index cols) {
  if (rows < 0 || cols < 0)
    throw ValueError(fmt::format("Rng::{}: cannot make a {} matrix", op, shape_str(rows, cols)));
}

bool valid_shape(double shape) { return shape > 0 && std::isfinite(shape); }

void check_gamma_shape(Scalar shape) {
  if (!valid_shape(shape))
    throw ValueError(fmt::format("Rng::gamma: shape must be positive and finite, got {}", shape));
}

}  // namespace

Rng::Rng(std::uint64_t seed) : zig_(&detail::normal_ziggurat()) {
  for (auto& word : s_) {
    seed += kGolden;
    word = mix64(seed);
  }
}

Rng::Rng(const State& state, FromState) : s_(state), zig_(&detail::normal_ziggurat()) {}

Rng Rng::from_state(const State& state) {
  check_state(state);
  return Rng(state, FromState{});
}

void Rng::set_state(const State& state) {
  check_state(state);
  s_ = state;
}

Rng Rng::fork(std::uint64_t stream) const {
  State child;
  for (std::size_t j = 0; j < child.size(); ++j) {
    // Each step is a bijection of its input, so for a fixed parent every child word is a
    // bijection of `stream`, and for a fixed stream it depends on every parent word.
    std::uint64_t h = mix64(stream + (j + 1) * kGolden);
    for (std::uint64_t word : s_) h = mix64(word ^ h);
    child[j] = h;
  }
  if (child == State{}) child[0] = kGolden;  // probability 2^-256, but xoshiro would be stuck
  return Rng(child, FromState{});
}

Rng Rng::split() {
  const std::uint64_t stream = next_u64();
  return fork(stream);
}

void Rng::jump() {
  // x^(2^128) modulo the characteristic polynomial of xoshiro256's linear engine (Blackman &
  // Vigna): the state 2^128 steps ahead is the XOR of the next 256 states it selects.
  static constexpr std::uint64_t kJump[] = {0x180ec6d33cfd0abau, 0xd5a61266f0c9392cu,
                                            0xa9582618e03fc9aau, 0x39abdc4529b1661cu};
  State acc{};
  for (std::uint64_t word : kJump) {
    for (int b = 0; b < 64; ++b) {
      if (word & (std::uint64_t{1} << b)) {
        for (std::size_t k = 0; k < acc.size(); ++k) acc[k] ^= s_[k];
      }
      next_u64();
    }
  }
  s_ = acc;
}

// ---- normal ------------------------------------------------------------------------------

double Rng::normal_tail() {
  // Marsaglia (1964): x = r + a with a ~ Exp(r), accepted with probability exp(-a^2 / 2),
  // which turns the exponential into the normal density beyond r.
  const double r = zig_->r;
  for (;;) {
    const double a = -std::log(uniform_open()) / r;
    const double b = -std::log(uniform_open());
    if (b + b > a * a) return r + a;
  }
}

double Rng::normal_slow(std::uint64_t bits) {
  // bits failed normal_fast: its point lies right of x[layer + 1].
  const detail::NormalZiggurat& z = *zig_;
  for (;;) {
    const unsigned layer = bits & 0xff;
    const bool negative = (bits >> 8) & 1;
    double x;
    if (layer == 0) {
      // Past r in the base layer: the part of its rectangle that stands in for the tail.
      x = normal_tail();
      return negative ? -x : x;
    }
    // In the wedge between the layer's rectangle and the curve: a uniform height decides.
    x = static_cast<double>(static_cast<std::int64_t>(bits >> 11)) * z.scale[layer];
    const double y = z.f[layer] + uniform53() * (z.f[layer + 1] - z.f[layer]);
    if (y < std::exp(-0.5 * x * x)) return negative ? -x : x;
    // Rejected: start over with a fresh layer, or the layers would not be equally likely.
    bits = next_u64();
    if (normal_fast(z, bits, x)) return x;
  }
}

// Box-Muller (1958) on kLanes xoshiro256++ generators stepped side by side. Every loop below
// is plain arithmetic on arrays, which compilers turn into vector instructions: the logarithm,
// sine and cosine are float polynomials, the square root Eigen's. Float builds only: double
// would need longer polynomials on vectors of half as many lanes, and keeps the ziggurat.
#if VESTA_SCALAR_IS_FLOAT
namespace {

constexpr int kLanes = 16;
constexpr int kPairs = 64;  // per block: kPairs / kLanes steps of every lane
constexpr Index kBlock = 2 * kPairs;
static_assert(kPairs % kLanes == 0);
static_assert(Rng::kVectorNormalSeedDraws == 4 * kLanes);

struct Lanes {
  alignas(64) std::uint64_t s0[kLanes], s1[kLanes], s2[kLanes], s3[kLanes];
};

// log(u) for u in [2^-32, 1], to float precision: u = 2^e m with m in [sqrt(1/2), sqrt(2)),
// and log(1 + f), f = m - 1, by the polynomial of Cephes' logf; ln 2 in two parts, so e ln 2
// adds no rounding error. Eigen's log handles zeros, infinities and subnormals, which this
// input never holds, at twice the cost.
inline float log_unit(float u) {
  const auto bits = std::bit_cast<std::uint32_t>(u);
  const float m = std::bit_cast<float>((bits & 0x7fffffu) | 0x3f800000u);  // in [1, 2)
  const bool high = m > 1.41421356f;
  const float e = static_cast<float>(static_cast<int>(bits >> 23) - 127 + (high ? 1 : 0));
  const float f = (high ? 0.5f * m : m) - 1.0f;
  const float f2 = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  return (f + (f * f2 * p - 0.5f * f2 + e * -2.12194440e-4f)) + e * 0.693359375f;
}

// kBlock standard normals. Each 64-bit word gives two: u1 in (0, 1] from its low half, and an
// angle theta uniform on the circle from its high half, as a quadrant q (2 bits) plus an
// offset psi uniform on [-pi/4, pi/4) (30 bits), so that sine and cosine need no range
// reduction: with r = sqrt(-2 log u1), r cos theta goes into the first half of the block and
// r sin theta into the second. u1 = (low half | 1) 2^-32 is never 0, so |z| <= sqrt(64 log 2)
// = 6.66, beyond which a standard normal falls with probability 3e-11.
void box_muller_block(Lanes& lanes, float* out) {
  alignas(64) float u1[kPairs], psi[kPairs], x_sign[kPairs], y_sign[kPairs];
  alignas(64) std::uint32_t swap[kPairs];
  for (int step = 0; step < kPairs / kLanes; ++step) {
    for (int k = 0; k < kLanes; ++k) {
      const int i = step * kLanes + k;
      const std::uint64_t w =
          detail::xoshiro_step(lanes.s0[k], lanes.s1[k], lanes.s2[k], lanes.s3[k]);
      const auto q = static_cast<std::uint32_t>(w >> 32) & 3u;
      u1[i] = static_cast<float>(static_cast<std::uint32_t>(w) | 1u) * 0x1p-32f;
      psi[i] = static_cast<float>(static_cast<std::uint32_t>(w >> 34)) * 0x1.921fb6p-30f -
               0x1.921fb6p-1f;
      // Rotating (cos psi, sin psi) by q quarter turns swaps the pair when q is odd, negates
      // the first for q = 1, 2 and the second for q = 2, 3.
      swap[i] = q & 1u;
      x_sign[i] = 1.0f - static_cast<float>((q + 1u) & 2u);
      y_sign[i] = 1.0f - static_cast<float>(q & 2u);
    }
  }
  // Eigen's sqrt, which compiles to vector instructions where std::sqrt (setting errno) does not.
  using Block = Eigen::Array<float, kPairs, 1>;
  alignas(64) float radius2[kPairs];
  for (int i = 0; i < kPairs; ++i) radius2[i] = -2.0f * log_unit(u1[i]);
  const Block radius = Eigen::Map<const Block, Eigen::Aligned64>(radius2).sqrt();
  for (int i = 0; i < kPairs; ++i) {
    // Minimax polynomials for sine and cosine on [-pi/4, pi/4], accurate to float precision
    // (the coefficients of Cephes' sinf and cosf).
    const float p = psi[i], p2 = p * p;
    const float sin_psi =
        p + p * p2 * (-1.6666654611e-1f + p2 * (8.3321608736e-3f + p2 * -1.9515295891e-4f));
    const float cos_psi =
        1.0f - 0.5f * p2 +
        p2 * p2 *
            (4.166664568298827e-2f + p2 * (-1.388731625493765e-3f + p2 * 2.443315711809948e-5f));
    const float x = swap[i] != 0 ? sin_psi : cos_psi;
    const float y = swap[i] != 0 ? cos_psi : sin_psi;
    out[i] = radius[i] * x_sign[i] * x;
    out[kPairs + i] = radius[i] * y_sign[i] * y;
  }
}

// n normals from lanes seeded by kVectorNormalSeedDraws draws of the caller's generator.
// Every lane starts from four mixed draws: a random point of the period, as for fork(), so
// lanes overlap one another or the caller's stream with negligible probability.
void box_muller_fill(const std::uint64_t* seeds, float* out, Index n) {
  Lanes lanes;
  for (int k = 0; k < kLanes; ++k) {
    lanes.s0[k] = mix64(seeds[4 * k]);
    lanes.s1[k] = mix64(seeds[4 * k + 1]);
    lanes.s2[k] = mix64(seeds[4 * k + 2]);
    lanes.s3[k] = mix64(seeds[4 * k + 3]);
    if ((lanes.s0[k] | lanes.s1[k] | lanes.s2[k] | lanes.s3[k]) == 0) lanes.s0[k] = kGolden;
  }
  Index i = 0;
  for (; i + kBlock <= n; i += kBlock) box_muller_block(lanes, out + i);
  if (i < n) {
    // The last, partial block is drawn whole and cut, so a shorter fill is a prefix of a longer.
    float rest[kBlock];
    box_muller_block(lanes, rest);
    std::copy(rest, rest + (n - i), out + i);
  }
}

}  // namespace
#endif

void Rng::fill_normal(Scalar* out, Index n) {
  check_size("fill_normal", n);
#if VESTA_SCALAR_IS_FLOAT
  if (n >= kVectorNormalMin) {
    std::uint64_t seeds[kVectorNormalSeedDraws];
    for (auto& word : seeds) word = next_u64();
    box_muller_fill(seeds, out, n);
    return;
  }
#endif
  // The fast path of normal_double() with the state in local variables: a member array
  // would be stored and reloaded on every draw, because its address escapes to normal_slow.
  const detail::NormalZiggurat& z = *zig_;
  std::uint64_t s0 = s_[0], s1 = s_[1], s2 = s_[2], s3 = s_[3];
  for (Index i = 0; i < n; ++i) {
    const std::uint64_t bits = step(s0, s1, s2, s3);
    double x;
    if (!normal_fast(z, bits, x)) [[unlikely]] {
      s_ = {s0, s1, s2, s3};
      x = normal_slow(bits);
      s0 = s_[0], s1 = s_[1], s2 = s_[2], s3 = s_[3];
    }
    out[i] = static_cast<Scalar>(x);
  }
  s_ = {s0, s1, s2, s3};
}

void Rng::fill_normal(Eigen::Ref<Matrix> out) {
  // One fill in column-major order, as if the block were a matrix of its own.
  if (out.outerStride() == out.rows() || out.cols() <= 1) {
    fill_normal(out.data(), out.size());
    return;
  }
  Matrix packed(out.rows(), out.cols());
  fill_normal(packed.data(), packed.size());
  out = packed;
}

Matrix Rng::normal(Index rows, Index cols) {
  check_shape("normal", rows, cols);
  Matrix out(rows, cols);
  fill_normal(out.data(), out.size());
  return out;
}

// ---- uniform -----------------------------------------------------------------------------

void Rng::fill_uniform(Scalar* out, Index n) {
  check_size("fill_uniform", n);
  std::uint64_t s0 = s_[0], s1 = s_[1], s2 = s_[2], s3 = s_[3];
  for (Index i = 0; i < n; ++i) {
    out[i] = to_uniform(step(s0, s1, s2, s3));
  }
  s_ = {s0, s1, s2, s3};
}

void Rng::fill_uniform(Eigen::Ref<Matrix> out) {
  for (Index j = 0; j < out.cols(); ++j) fill_uniform(out.col(j).data(), out.rows());
}

Matrix Rng::uniform(Index rows, Index cols) {
  check_shape("uniform", rows, cols);
  Matrix out(rows, cols);
  fill_uniform(out.data(), out.size());
  return out;
}

// ---- exponential and gamma ---------------------------------------------------------------

Scalar Rng::exponential() {
  // log1p keeps full relative precision for the many small values.
  return static_cast<Scalar>(-std::log1p(-uniform53()));
}

double Rng::gamma_double(double shape) {
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a); in logs, so that tiny shapes underflow gracefully.
    const double g = gamma_double(shape + 1);
    return g * std::exp(std::log(uniform_open()) / shape);
  }
  // Marsaglia & Tsang (2000): d (1 + c x)^3 with x normal is close to Gamma(shape), and a
  // rejection step on (x, u) makes it exact. The cheap squeeze accepts most draws.
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x;
    double v;
    do {
      x = normal_double();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open();
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

Scalar Rng::gamma(Scalar shape) {
  check_gamma_shape(shape);
  return gamma_clamped(shape);
}

Matrix Rng::gamma(const Eigen::Ref<const Matrix>& shape) {
  for (Index j = 0; j < shape.cols(); ++j) {
    for (Index i = 0; i < shape.rows(); ++i) {
      if (!valid_shape(shape(i, j))) {
        throw ValueError(fmt::format(
            "Rng::gamma: shape({}, {}) must be positive and finite, got {}", i, j, shape(i, j)));
      }
    }
  }
  Matrix out(shape.rows(), shape.cols());
  for (Index j = 0; j < shape.cols(); ++j) {
    for (Index i = 0; i < shape.rows(); ++i) out(i, j) = gamma_clamped(shape(i, j));
  }
  return out;
}

Matrix Rng::gamma(Scalar shape, Index rows, Index cols) {
  check_shape("gamma", rows, cols);
  check_gamma_shape(shape);
  Matrix out(rows, cols);
  for (Index k = 0; k < out.size(); ++k) out.data()[k] = gamma_clamped(shape);
  return out;
}

Rng& thread_rng() {
  thread_local Rng rng(0);
  return rng;
}

void set_rng_seed(std::uint64_t seed) { thread_rng() = Rng(seed); }

}  // namespace vesta
