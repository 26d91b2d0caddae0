// MCMC: the No-U-Turn sampler or HMC on any model written with vesta's primitives, with
// Stan's warm-up, several chains in parallel, the draws per site and a summary with the
// convergence diagnostics of Vehtari et al. (2021). Pyro's and NumPyro's interface:
//
//   NUTS kernel(model);                      // or HMC(model, {.trajectory_length = 2})
//   MCMC mcmc(kernel, 1000, 1000, 4);        // warm-up, draws per chain, chains
//   mcmc.run(data);                          // the model's arguments
//   SiteSamples s = mcmc.get_samples();      // per latent site, constrained, its own shape
//   mcmc.print_summary();                    // mean, sd, quantiles, ESS, R-hat, divergences
//
// Each chain runs on a thread of its own (vesta's tape, handler stack and generator are per
// thread), reproducibly from MCMCOptions::seed. Params the model reads are held at their
// current values (see Potential).
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <vesta/inference/initialization.hpp>
#include <vesta/inference/mcmc/chain.hpp>
#include <vesta/inference/mcmc/potential.hpp>
#include <vesta/inference/samples.hpp>

namespace vesta {

/// NUTS's options; the defaults are Stan's.
struct NUTSOptions {
  /// The mean acceptance statistic that step-size adaptation aims for, in (0, 1) (Stan's
  /// adapt_delta): higher gives smaller steps and fewer divergences.
  double target_accept = 0.8;
  /// The most doublings of a trajectory, in 1..30 (Stan's max_depth).
  int max_tree_depth = 10;
  /// Estimate a dense inverse metric (the full covariance) rather than a diagonal one.
  bool dense_mass = false;
  /// The initial step size; 0: found by Stan's heuristic.
  double step_size = 0;
  /// Tune the step size by dual averaging during warm-up; false: keep the initial one.
  bool adapt_step_size = true;
  /// Estimate the inverse metric from warm-up draws; false: the identity throughout.
  bool adapt_mass_matrix = true;
  /// Where chains start; unset: Stan's uniform(-2, 2) for every unconstrained entry.
  std::optional<InitStrategy> init = std::nullopt;
};

/// HMC's options: a fixed integration time instead of NUTS's tree.
struct HMCOptions {
  /// The integration time (default 2 pi): each trajectory takes round(trajectory_length /
  /// step size) leapfrog steps, at least 1.
  double trajectory_length = 6.283185307179586;
  /// As NUTSOptions::target_accept.
  double target_accept = 0.8;
  /// As NUTSOptions::dense_mass.
  bool dense_mass = false;
  /// The initial step size; 0: found by Stan's heuristic.
  double step_size = 0;
  /// As NUTSOptions::adapt_step_size.
  bool adapt_step_size = true;
  /// As NUTSOptions::adapt_mass_matrix.
  bool adapt_mass_matrix = true;
  /// As NUTSOptions::init.
  std::optional<InitStrategy> init = std::nullopt;
  /// At most 2^max_tree_depth leapfrog steps per trajectory.
  int max_tree_depth = 10;
};

namespace detail {

/// The settings a chain takes from either sampler's options: the fields they share, then
/// the algorithm's own.
template <class Options>
SamplerSettings shared_settings(const Options& o) {
  SamplerSettings s;
  s.target_accept = o.target_accept;
  s.max_tree_depth = o.max_tree_depth;
  s.dense_mass = o.dense_mass;
  s.step_size = o.step_size;
  s.adapt_step_size = o.adapt_step_size;
  s.adapt_mass_matrix = o.adapt_mass_matrix;
  return s;
}
/// NUTS's settings.
inline SamplerSettings sampler_settings(const NUTSOptions& o) {
  SamplerSettings s = shared_settings(o);
  s.algorithm = SamplerSettings::Algorithm::nuts;
  return s;
}
/// HMC's settings.
inline SamplerSettings sampler_settings(const HMCOptions& o) {
  SamplerSettings s = shared_settings(o);
  s.algorithm = SamplerSettings::Algorithm::hmc;
  s.trajectory_length = o.trajectory_length;
  return s;
}

/// What MCMC needs of a kernel: the model, where chains start, and the settings.
template <class Model, class Options>
class SamplerKernel {
 public:
  /// Checks the options (ValueError naming the first bad one).
  SamplerKernel(Model model, Options options)
      : model_(std::move(model)), options_(std::move(options)) {
    check_settings(settings());
  }
  /// The model.
  const Model& model() const { return model_; }
  /// Where chains start (unset: Stan's uniform(-2, 2)).
  const std::optional<InitStrategy>& init() const { return options_.init; }
  /// The options as a chain takes them.
  SamplerSettings settings() const { return sampler_settings(options_); }

 private:
  Model model_;
  Options options_;
};

}  // namespace detail

/// The No-U-Turn sampler (Hoffman & Gelman 2014) as Stan runs it, on `model`.
template <class Model>
class NUTS : public detail::SamplerKernel<Model, NUTSOptions> {
 public:
  /// `model` is callable with the arguments later given to MCMC::run(); throws ValueError
  /// naming the first bad option.
  explicit NUTS(Model model, NUTSOptions options = {})
      : detail::SamplerKernel<Model, NUTSOptions>(std::move(model), std::move(options)) {}
};

/// Hamiltonian Monte Carlo with a fixed trajectory length (Neal 2011), on `model`.
template <class Model>
class HMC : public detail::SamplerKernel<Model, HMCOptions> {
 public:
  /// As NUTS's constructor.
  explicit HMC(Model model, HMCOptions options = {})
      : detail::SamplerKernel<Model, HMCOptions>(std::move(model), std::move(options)) {}
};

/// Where a run stands, reported to the progress callback from the calling thread.
struct MCMCProgress {
  long iterations;        ///< Iterations completed, over all chains, warm-up included.
  long total_iterations;  ///< (num_warmup + num_samples) * num_chains.
  long divergences;       ///< Divergent transitions so far, warm-up included.
  int num_chains;         ///< The number of chains.
  double seconds;         ///< Wall-clock seconds since the chains started.
  bool done = false;      ///< Set on the last report, when every chain has ended.
};
/// Receives a run's progress: at its start, about every 0.2 s while chains run on threads (after
/// each chain when they run one after another), and once more with `done` at the end.
using MCMCProgressCallback = std::function<void(const MCMCProgress&)>;

/// The default progress callback: quiet for runs under a second, then one line on stderr
/// ("mcmc 4 chains  3200/8000  2 divergences  41.2k it/s  ETA 0.12 s", divergences of warm-up
/// included), redrawn on a
/// terminal and written every five seconds elsewhere, ending with a summary line.
MCMCProgressCallback mcmc_progress_line(std::FILE* out = stderr);

/// Spreads MCMC's chains over processes (ChainsOverRanks, inference/distributed, does so over
/// MPI ranks): each process runs its own chains (on threads, as MCMCOptions::parallel says),
/// then exchange() hands every process every chain's result, so summary() sees them all.
class ChainExchange {
 public:
  virtual ~ChainExchange() = default;
  /// Whether this process runs chain `chain` (0-based) of `num_chains`.
  virtual bool runs(int chain, int num_chains) const = 0;
  /// Called by every process once its chains have ended, with `chains` holding the results
  /// of its own (the others' entries empty) and `error` the first error of its chains (null
  /// if none). Fills in the other processes' chains; if any process had an error, throws on
  /// every process instead.
  virtual void exchange(std::vector<ChainResult>& chains, std::exception_ptr error) = 0;
};

/// How MCMC runs its chains: the seed, threads, and progress reports.
struct MCMCOptions {
  /// Chain c draws from Rng(seed).fork(c): a run is reproducible from the seed alone.
  std::uint64_t seed = 0;
  /// Run the chains on threads (true) or one after another on the calling thread.
  bool parallel = true;
  /// Receives the run's progress; the default, mcmc_progress_line(), writes to stderr;
  /// empty: no reports.
  MCMCProgressCallback progress = mcmc_progress_line();
  /// Spreads the chains over processes; null: this process runs them all. Chain c draws
  /// from Rng(seed).fork(c) whichever process runs it, so the draws are those of one process.
  std::shared_ptr<ChainExchange> exchange = nullptr;
};

/// One row of a summary: a scalar entry of a latent site.
struct SummaryRow {
  /// The entry: "tau", "theta[3]" (a vector's entry), "w[1,2]" (row, column), 0-based.
  std::string name;
  /// Over the draws of all chains pooled: the mean, the standard deviation (n - 1 divisor),
  /// the 5%, 50% and 95% quantiles (interpolated between order statistics); and, with the
  /// chains kept apart (Vehtari et al. 2021), the bulk and tail effective sample sizes and the
  /// rank-normalised split R-hat (see diagnostics.hpp).
  /// @{
  double mean, sd, q05, q50, q95, ess_bulk, ess_tail, rhat;
  /// @}
};

/// The summary of a run: a row per scalar entry of every latent site, then of every
/// deterministic site, and the divergences.
struct MCMCSummary {
  /// Site by site in run order (latents first), each site's entries in column-major order.
  std::vector<SummaryRow> rows;
  long divergences = 0;  ///< Divergent transitions after warm-up, over all chains.
  int num_chains = 0;    ///< The number of chains.
  long num_samples = 0;  ///< Draws per chain.
  /// The row `name`; throws ValueError naming it when there is none.
  const SummaryRow& at(const std::string& name) const;
  /// The table: one line per row, then the number of divergences.
  std::string format() const;
};

namespace detail {

/// What a run leaves: per chain its result, and the latent sites the draws are laid out by.
struct MCMCRun {
  std::vector<LatentBlock> latents;
  std::vector<std::string> deterministic;  // the model's deterministic sites, also in samples
  std::vector<ChainResult> chains;
  std::vector<SiteSamples> samples;  // per chain, constrained
};

MCMCRun run_mcmc(const std::function<void()>& run_model, const SamplerSettings& settings,
                 const std::optional<InitStrategy>& init, long num_warmup, long num_samples,
                 int num_chains, const MCMCOptions& options);

void check_mcmc_sizes(long num_warmup, long num_samples, int num_chains);

}  // namespace detail

/// Runs chains of a kernel (NUTS or HMC) on its model and keeps their draws: Pyro's MCMC.
template <class Kernel>
class MCMC {
 public:
  /// `num_warmup` (at least 0) warm-up iterations, then `num_samples` (at least 1) draws, per
  /// chain, with `num_chains` (at least 1) chains; throws ValueError naming a bad size.
  MCMC(Kernel kernel, long num_warmup, long num_samples, int num_chains = 1,
       MCMCOptions options = {})
      : kernel_(std::move(kernel)),
        num_warmup_(num_warmup),
        num_samples_(num_samples),
        num_chains_(num_chains),
        options_(std::move(options)) {
    detail::check_mcmc_sizes(num_warmup, num_samples, num_chains);
  }

  /// Runs every chain with the model's arguments (the model must not change them). The
  /// potential is built here, on the calling thread, and evaluated there once per draw when the
  /// model has deterministic sites, which resets this thread's tape.
  template <class... Args>
  void run(const Args&... args) {
    const std::function<void()> run_model = [&] { kernel_.model()(args...); };
    run_ = detail::run_mcmc(run_model, kernel_.settings(), kernel_.init(), num_warmup_,
                            num_samples_, num_chains_, options_);
  }

  /// The draws of every latent site (and deterministic site), chains one after another, each
  /// draw in the site's shape and support.
  SiteSamples get_samples() const;
  /// The same, one SiteSamples per chain.
  const std::vector<SiteSamples>& get_samples_by_chain() const { return done().samples; }
  /// Per chain: unconstrained draws, acceptance statistics, tree depths, step size, metric.
  const std::vector<ChainResult>& chains() const { return done().chains; }
  /// The latent sites, with the columns of chains()'s unconstrained draws that each holds.
  const std::vector<LatentBlock>& latents() const { return done().latents; }
  /// Divergent transitions after warm-up, over all chains.
  long num_divergences() const;
  /// Per scalar entry of each site: mean, sd, quantiles, ESS and R-hat; and the divergences.
  MCMCSummary summary() const;
  /// Writes summary()'s table to `out`.
  void print_summary(std::FILE* out = stdout) const;

  /// Sets the seed (MCMCOptions::seed) for the next run().
  void set_seed(std::uint64_t seed) { options_.seed = seed; }
  /// Sets the progress callback (MCMCOptions::progress) for the next run().
  void set_progress(MCMCProgressCallback progress) { options_.progress = std::move(progress); }

 private:
  const detail::MCMCRun& done() const;

  Kernel kernel_;
  long num_warmup_, num_samples_;
  int num_chains_;
  MCMCOptions options_;
  std::optional<detail::MCMCRun> run_;
};

namespace detail {
SiteSamples concatenate(const std::vector<SiteSamples>& per_chain);
MCMCSummary summarise(const MCMCRun& run);
[[noreturn]] void throw_not_run();
}  // namespace detail

template <class Kernel>
const detail::MCMCRun& MCMC<Kernel>::done() const {
  if (!run_) detail::throw_not_run();
  return *run_;
}

template <class Kernel>
SiteSamples MCMC<Kernel>::get_samples() const {
  return detail::concatenate(done().samples);
}

template <class Kernel>
long MCMC<Kernel>::num_divergences() const {
  long n = 0;
  for (const ChainResult& c : done().chains) n += c.divergences;
  return n;
}

template <class Kernel>
MCMCSummary MCMC<Kernel>::summary() const {
  return detail::summarise(done());
}

template <class Kernel>
void MCMC<Kernel>::print_summary(std::FILE* out) const {
  std::fputs(summary().format().c_str(), out);
}

}  // namespace vesta
