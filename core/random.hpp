// Seeded random numbers: Rng, a xoshiro256++ generator with the uniform, normal, exponential
// and gamma variates that vesta's sampling is built on, drawn one at a time or in bulk.
// A given seed reproduces the same draws on a given build (same Scalar, same compiler and libm).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include <vesta/core/scalar.hpp>

namespace vesta {

namespace detail {

/// Tables of a 256-layer ziggurat over the right half of exp(-x^2/2). Built once per process,
/// on first use, by solving for the tail start r that makes all layers the same area.
struct NormalZiggurat {
  static constexpr int kLayers = 256;
  /// Layer i covers [0, x[i]] between heights f[i] and f[i+1]; x[1] = r, x[kLayers] = 0, and
  /// x[0] is the width of a rectangle as tall as f(r) with the area of the base layer (the
  /// strip below f(r) plus the tail beyond r); f[i] = exp(-x[i]^2/2) but f[0] = 0, the
  /// base layer's floor.
  double x[kLayers + 1];
  double f[kLayers + 1];
  /// x[i] / 2^53: maps a 53-bit integer m to the point m * scale[i] of layer i.
  double scale[kLayers];
  /// Integers m below inner[i] land left of x[i+1], where the layer lies wholly under the
  /// density, so they are accepted without evaluating it.
  std::uint64_t inner[kLayers];
  double r;
  double area;  // of every layer
};

const NormalZiggurat& normal_ziggurat();

/// One xoshiro256++ step on a state held as four words. Taking the words separately lets
/// bulk loops keep them in registers, and lets the vectorised fill step many generators side
/// by side.
inline std::uint64_t xoshiro_step(std::uint64_t& s0, std::uint64_t& s1, std::uint64_t& s2,
                                  std::uint64_t& s3) {
  const std::uint64_t result = std::rotl(s0 + s3, 23) + s0;
  const std::uint64_t t = s1 << 17;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = std::rotl(s3, 45);
  return result;
}

}  // namespace detail

/// A pseudo-random generator: xoshiro256++ (Blackman & Vigna), 256 bits of state, period
/// 2^256 - 1. Not for cryptography. Copying an Rng copies its state, so the copy repeats the
/// original's future draws. Not thread-safe: give each thread its own (see fork()).
///
/// Bulk fills of uniforms draw exactly what the same number of scalar calls would, in
/// column-major order: fill_uniform(p, n) leaves the same values and state as n calls to
/// uniform(). So do fills of normals, except long ones in float builds: from
/// kVectorNormalMin values up, fill_normal draws by a vectorised Box-Muller transform (three
/// times as fast as the ziggurat) on generators seeded from this one, so the values
/// differ from those of scalar calls. They are still a function of the state alone: the same
/// state gives the same values, a shorter fill gives a prefix of a longer one, and any long
/// fill advances the state by the same kVectorNormalSeedDraws draws.
class Rng {
 public:
  /// The generator's four 64-bit words.
  using State = std::array<std::uint64_t, 4>;
  // A UniformRandomBitGenerator, so it also drives <random> and std::shuffle.
  /// What a draw returns (UniformRandomBitGenerator).
  using result_type = std::uint64_t;

  /// The state is four consecutive outputs of splitmix64 started at `seed`, as the xoshiro
  /// authors recommend, so nearby seeds give unrelated streams.
  explicit Rng(std::uint64_t seed = 0);
  /// A generator continuing from a saved state(); throws ValueError for the all-zero state,
  /// which xoshiro cannot leave.
  static Rng from_state(const State& state);
  /// The current state (to save it).
  State state() const { return s_; }
  /// Restores a saved state.
  void set_state(const State& state);

  /// The next 64 random bits.
  std::uint64_t next_u64() { return step(s_[0], s_[1], s_[2], s_[3]); }
  /// The next 64 random bits (for the standard library's distributions).
  result_type operator()() { return next_u64(); }
  /// Smallest value of a draw.
  static constexpr result_type min() { return 0; }
  /// Largest value of a draw.
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  /// Uniform on [0, 1): a multiple of 2^-53 (double) or 2^-24 (float), so never 1.
  Scalar uniform() { return to_uniform(next_u64()); }
  /// Standard normal.
  Scalar normal() { return static_cast<Scalar>(normal_double()); }
  /// Exponential with rate 1.
  Scalar exponential();
  /// Gamma with the given shape and rate 1; throws ValueError unless shape is positive and
  /// finite. Marsaglia & Tsang (2000); shapes below 1 use Gamma(shape + 1) * U^(1/shape).
  /// Draws below the smallest normal Scalar (which small shapes make common: a fraction
  /// about tiny^shape / Gamma(shape + 1), 1% at shape 0.05 in float) are returned as that
  /// value, never 0, so that logs and the ratios of Beta and Dirichlet stay finite.
  Scalar gamma(Scalar shape);

  /// The shortest fill_normal that float builds draw by Box-Muller (see the class comment).
  static constexpr Index kVectorNormalMin = 128;
  /// How many draws of this generator seed the Box-Muller fill's lanes.
  static constexpr Index kVectorNormalSeedDraws = 64;

  /// Fills `out` with `n` uniforms on [0, 1).
  void fill_uniform(Scalar* out, Index n);
  /// Fills `out` with `n` standard normals.
  void fill_normal(Scalar* out, Index n);
  /// Fill a matrix or any column-major block or map of one, in column-major order: a block
  /// draws what a matrix of its shape would.
  void fill_uniform(Eigen::Ref<Matrix> out);
  /// Fills a matrix with standard normals.
  void fill_normal(Eigen::Ref<Matrix> out);
  /// A rows x cols matrix of uniforms on [0, 1).
  Matrix uniform(Index rows, Index cols);
  /// A rows x cols matrix of standard normals.
  Matrix normal(Index rows, Index cols);
  /// Elementwise Gamma(shape(i, j), 1). Every shape is checked before anything is drawn, so
  /// on ValueError the generator is unchanged.
  Matrix gamma(const Eigen::Ref<const Matrix>& shape);
  /// A rows x cols matrix of Gamma(shape, 1) variates.
  Matrix gamma(Scalar shape, Index rows, Index cols);

  /// A generator for stream `stream`, derived from this one's current state without
  /// advancing it: the same state and stream always give the same child, whatever else is
  /// drawn from other children. The child's state is a chain of splitmix64 mixes of this
  /// state and `stream` (a bijection of `stream` in each word, so distinct streams never give
  /// the same child), which starts it at an unrelated point of the 2^256 - 1 period: k
  /// streams of L draws each overlap with probability about k^2 L / 2^256. That is the
  /// independence of distinct random 256-bit seeds; it is statistical, not cryptographic.
  Rng fork(std::uint64_t stream) const;
  /// fork() with a stream id drawn from this generator, which it advances by one draw:
  /// successive splits give distinct children.
  Rng split();
  /// Advances the state by 2^128 draws: generators jumped 0, 1, 2, ... times from one state
  /// produce provably disjoint sequences of up to 2^128 draws each.
  void jump();

  /// Whether two generators are in the same state.
  friend bool operator==(const Rng& a, const Rng& b) { return a.s_ == b.s_; }

 private:
  // A private tag type, kept out of the reference:
  /// \cond
  struct FromState {};
  /// \endcond
  Rng(const State& state, FromState);

  static Scalar to_uniform(std::uint64_t bits) {
    if constexpr (std::is_same_v<Scalar, float>) {
      return static_cast<float>(static_cast<std::int32_t>(bits >> 40)) * 0x1p-24f;
    } else {
      return static_cast<double>(static_cast<std::int64_t>(bits >> 11)) * 0x1p-53;
    }
  }
  double uniform53() { return static_cast<double>(next_u64() >> 11) * 0x1p-53; }
  /// Uniform on (0, 1), for logarithms.
  double uniform_open() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1p-53; }

  static std::uint64_t step(std::uint64_t& s0, std::uint64_t& s1, std::uint64_t& s2,
                            std::uint64_t& s3) {
    return detail::xoshiro_step(s0, s1, s2, s3);
  }

  // Ziggurat (Marsaglia & Tsang 2000) with independent bits for the layer (0-7), the sign
  // (8) and the position (11-63), as Doornik (2005) advises. About 98.5% of draws are
  // accepted here; the rest (wedges, tail, the top layer) go to normal_slow.
  static bool normal_fast(const detail::NormalZiggurat& z, std::uint64_t bits, double& x) {
    const unsigned layer = bits & 0xff;
    const std::uint64_t m = bits >> 11;
    if (m >= z.inner[layer]) [[unlikely]] {
      return false;
    }
    x = static_cast<double>(static_cast<std::int64_t>(m)) * z.scale[layer];
    x = std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) ^
                              ((bits << 55) & (std::uint64_t{1} << 63)));
    return true;
  }
  double normal_double() {
    const std::uint64_t bits = next_u64();
    double x;
    return normal_fast(*zig_, bits, x) ? x : normal_slow(bits);
  }
  double normal_slow(std::uint64_t bits);
  double normal_tail();
  double gamma_double(double shape);
  Scalar gamma_clamped(double shape) {
    return std::max(static_cast<Scalar>(gamma_double(shape)), std::numeric_limits<Scalar>::min());
  }

  State s_;
  const detail::NormalZiggurat* zig_;
};

/// The calling thread's generator, which `sample` draws from when no seed handler gives a
/// site its own. Starts from a fixed seed, so a program is reproducible unless reseeded.
Rng& thread_rng();
/// Reseeds the calling thread's generator (Pyro's set_rng_seed).
void set_rng_seed(std::uint64_t seed);

}  // namespace vesta
