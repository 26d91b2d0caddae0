// NUTS on the five posteriordb posteriors of tests/data/posteriordb, Stan's defaults, one
// chain of 1000 warm-up + 1000 draws each: the time per gradient of the potential (wall and
// thread CPU), the smallest bulk ESS over the parameters per second of the run (warm-up
// included), and the divergences. One JSON line per posterior. `--seed N` changes the seed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include <vesta/vesta.hpp>

#include "support/posteriordb.hpp"
#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const auto seed = static_cast<std::uint64_t>(bench::option(argc, argv, "--seed", 1));
  for (const auto& c : examples::posteriordb::cases(VESTA_POSTERIORDB_DIR)) {
    Potential u(c.model);
    Eigen::VectorXd q = Eigen::VectorXd::Zero(u.dim()), g;
    const bench::StepTiming grad = bench::time_steps([&] { u.value_and_gradient(q, g); }, 500, 7);
    MCMCOptions o;
    o.seed = seed;
    o.progress = nullptr;
    MCMC mcmc(NUTS{c.model}, 1000, 1000, 1, o);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = bench::thread_cpu_seconds();
    mcmc.run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = bench::thread_cpu_seconds() - cpu_start;
    double min_ess = std::numeric_limits<double>::infinity();
    for (const SummaryRow& r : mcmc.summary().rows) min_ess = std::min(min_ess, r.ess_bulk);
    const ChainResult& chain = mcmc.chains().front();
    std::printf(
        "{\"bench\": \"nuts_posteriordb\", \"posterior\": \"%s\", \"scalar\": \"%s\", \"dim\": "
        "%ld, "
        "\"grad_us\": %.3f, \"grad_cpu_us\": %.3f, \"seconds\": %.4f, \"cpu_seconds\": %.4f, "
        "\"min_ess_bulk\": %.0f, \"min_ess_per_s\": %.0f, \"divergences\": %ld, "
        "\"gradients\": %ld, \"step_size\": %.4g}\n",
        c.name.c_str(), bench::scalar_name(), static_cast<long>(u.dim()), grad.wall * 1e6,
        grad.cpu * 1e6, seconds, cpu, min_ess, min_ess / seconds, mcmc.num_divergences(),
        chain.gradient_evaluations, chain.step_size);
    std::fflush(stdout);
  }
  return 0;
}
