// NUTS on eight schools (non-centred), Stan's defaults: the time per gradient of the
// potential, and for one chain and for four chains (each 1000 warm-up + 1000 draws) the wall
// time, tau's bulk ESS per second (warm-up included) and the divergences. One JSON line per
// case, with wall and CPU times (the CPU time is the steadier when the machine is shared;
// for four chains it sums the threads'). `--seed N` changes the chains' seed, `--repeats N` the
// number of runs per case (the median ESS/s is reported).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <vesta/vesta.hpp>

#include "support/posteriordb.hpp"
#include "timing.hpp"

using namespace vesta;

namespace {
double process_cpu_seconds() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}
}  // namespace

int main(int argc, char** argv) {
  const auto seed = static_cast<std::uint64_t>(bench::option(argc, argv, "--seed", 1));
  const int repeats = static_cast<int>(bench::option(argc, argv, "--repeats", 5));
  const Matrix y = (Matrix(8, 1) << 28, 8, -3, 7, -1, 1, 18, 12).finished();
  const Matrix sigma = (Matrix(8, 1) << 15, 10, 16, 11, 9, 11, 10, 18).finished();
  const examples::posteriordb::EightSchools model{y, sigma};

  Potential u(model);
  Eigen::VectorXd q = Eigen::VectorXd::LinSpaced(u.dim(), -1, 1), g;
  // Wall and thread CPU time: on a machine shared with other work the CPU time is the steadier.
  const bench::StepTiming grad = bench::time_steps([&] { u.value_and_gradient(q, g); }, 20000, 7);
  std::printf(
      "{\"bench\": \"nuts_eight_schools\", \"case\": \"gradient\", \"scalar\": \"%s\", "
      "\"dim\": %ld, \"grad_us\": %.3f, \"grad_cpu_us\": %.3f}\n",
      bench::scalar_name(), static_cast<long>(u.dim()), grad.wall * 1e6, grad.cpu * 1e6);

  for (int chains : {1, 4}) {
    std::vector<double> ess_per_s, ess_per_cpu_s, seconds, cpu_seconds, ess;
    long divergences = 0, gradients = 0;
    for (int r = 0; r < repeats; ++r) {
      MCMCOptions o;
      o.seed = seed + static_cast<std::uint64_t>(r);
      o.progress = nullptr;
      MCMC mcmc(NUTS{model}, 1000, 1000, chains, o);
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = process_cpu_seconds();
      mcmc.run();
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double cpu = process_cpu_seconds() - cpu_start;
      const double e = mcmc.summary().at("tau").ess_bulk;
      ess_per_s.push_back(e / s);
      ess_per_cpu_s.push_back(e / cpu);
      seconds.push_back(s);
      cpu_seconds.push_back(cpu);
      ess.push_back(e);
      divergences += mcmc.num_divergences();
      for (const ChainResult& c : mcmc.chains()) gradients += c.gradient_evaluations;
    }
    auto median = [](std::vector<double> v) {
      std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
      return v[v.size() / 2];
    };
    std::printf(
        "{\"bench\": \"nuts_eight_schools\", \"case\": \"%d_chain%s\", \"scalar\": \"%s\", "
        "\"warmup\": 1000, \"samples\": 1000, \"repeats\": %d, \"seconds\": %.4f, "
        "\"cpu_seconds\": %.4f, \"tau_ess_bulk\": %.0f, \"ess_per_s\": %.0f, "
        "\"ess_per_cpu_s\": %.0f, \"divergences_per_run\": %.1f, \"gradients_per_run\": %ld}\n",
        chains, chains == 1 ? "" : "s", bench::scalar_name(), repeats, median(seconds),
        median(cpu_seconds), median(ess), median(ess_per_s), median(ess_per_cpu_s),
        double(divergences) / repeats, gradients / repeats);
  }
  return 0;
}
