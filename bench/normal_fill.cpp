// Throughput of Rng's bulk fills: standard normals and uniforms into a 128x400 Matrix, the
// size of a typical minibatch of latent noise. Median over repetitions of about 0.1 s each.
// Usage: normal_fill [seconds per repetition]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include <vesta/core/random.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double per_s;     // values per second, median over repetitions
  double checksum;  // printed, so the fills cannot be optimised away
};

template <class Fill>
Result measure(vesta::Matrix& m, Fill fill, double seconds_per_rep, int reps) {
  double checksum = 0;
  const auto once = [&] {
    fill(m);
    checksum += static_cast<double>(m(0, 0)) + static_cast<double>(m(m.rows() - 1, m.cols() - 1));
  };
  // Warm up caches, the ziggurat tables and the clock frequency, and estimate the fill time.
  const auto warm_start = Clock::now();
  int warm = 0;
  while (std::chrono::duration<double>(Clock::now() - warm_start).count() < 0.05) {
    once();
    ++warm;
  }
  const double per_fill = std::chrono::duration<double>(Clock::now() - warm_start).count() / warm;
  const long fills = std::max(1L, static_cast<long>(seconds_per_rep / per_fill));

  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    for (long k = 0; k < fills; ++k) once();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    rates.push_back(static_cast<double>(fills) * static_cast<double>(m.size()) / elapsed);
  }
  std::nth_element(rates.begin(), rates.begin() + reps / 2, rates.end());
  return {rates[reps / 2], checksum};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds_per_rep = argc > 1 ? std::atof(argv[1]) : 0.1;
  constexpr int kReps = 7;
  constexpr vesta::Index kRows = 128;
  constexpr vesta::Index kCols = 400;

  vesta::Rng rng(20240601);
  vesta::Matrix m(kRows, kCols);
  const Result normal = measure(
      m, [&](vesta::Matrix& out) { rng.fill_normal(out); }, seconds_per_rep, kReps);
  const Result uniform = measure(
      m, [&](vesta::Matrix& out) { rng.fill_uniform(out); }, seconds_per_rep, kReps);

  fmt::print("normal:  {:.1f} M/s ({:.2f} ns each)\n", normal.per_s / 1e6, 1e9 / normal.per_s);
  fmt::print("uniform: {:.1f} M/s ({:.2f} ns each)\n", uniform.per_s / 1e6, 1e9 / uniform.per_s);
  fmt::print(
      "{{\"bench\": \"normal_fill\", \"scalar\": \"{}\", \"rows\": {}, \"cols\": {}, \"reps\": {}, "
      "\"normals_per_s\": {:.6g}, \"uniforms_per_s\": {:.6g}, \"checksum\": {:.17g}}}\n",
      std::is_same_v<vesta::Scalar, float> ? "float" : "double", kRows, kCols, kReps, normal.per_s,
      uniform.per_s, normal.checksum + uniform.checksum);
  return 0;
}
