#include <vesta/inference/mcmc/mcmc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include <vesta/core/tape.hpp>

#include <vesta/inference/mcmc/diagnostics.hpp>
#include <vesta/inference/progress.hpp>

namespace vesta {

namespace {

// Stan's initialisation: every unconstrained entry uniform in (-2, 2), drawn again (up to 100
// times) while the potential or its gradient is not finite there, or the model rejects the
// point (a value error, such as a kernel matrix that is not positive definite).
Eigen::VectorXd uniform_init(Potential& u, Rng& rng) {
  Eigen::VectorXd q(u.dim()), g;
  std::string last_error;
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (Eigen::Index i = 0; i < q.size(); ++i) q[i] = 4 * static_cast<double>(rng.uniform()) - 2;
    try {
      const double v = u.value_and_gradient(q, g);
      if (std::isfinite(v) && g.allFinite()) return q;
    } catch (const ValueError& e) {
      last_error = e.what();
    }
  }
  throw ValueError(fmt::format(
      "MCMC: no initial point in (-2, 2) on the unconstrained scale, of 100 drawn, has a finite "
      "log-density and gradient{}; give an init strategy (init_to_value, init_to_median)",
      last_error.empty() ? "" : " (the last error: " + last_error + ")"));
}

std::string entry_name(const std::string& name, Index rows, Index cols, Index i, Index j) {
  if (rows == 1 && cols == 1) return name;
  if (rows == 1 || cols == 1) return fmt::format("{}[{}]", name, rows == 1 ? j : i);
  return fmt::format("{}[{},{}]", name, i, j);
}

}  // namespace

MCMCProgressCallback mcmc_progress_line(std::FILE* out) {
  struct State {
    bool shown = false;
    double last = 0;
  };
  auto state = std::make_shared<State>();
  const bool terminal = out != nullptr && isatty(fileno(out)) != 0;
  return [out, state, terminal](const MCMCProgress& p) {
    if (out == nullptr) return;
    if (p.iterations == 0 && !p.done) *state = State{};
    const double rate = p.seconds > 0 ? static_cast<double>(p.iterations) / p.seconds : 0;
    if (p.done) {
      if (!state->shown) return;
      std::fprintf(
          out,
          "%s%ld iterations of %d chain%s in %s (%s it/s), %ld divergences (warm-up included)\n",
          terminal ? "\r\033[K" : "", p.iterations, p.num_chains, p.num_chains == 1 ? "" : "s",
          format_duration(p.seconds).c_str(), format_rate(rate).c_str(), p.divergences);
      std::fflush(out);
      return;
    }
    if (p.seconds < 1.0 || p.seconds - state->last < (terminal ? 0.25 : 5.0)) return;
    state->last = p.seconds;
    state->shown = true;
    const double eta =
        rate > 0 ? static_cast<double>(p.total_iterations - p.iterations) / rate : 0.0;
    const std::string line =
        fmt::format("mcmc {} chain{}  {}/{}  {} divergences  {} it/s  ETA {}", p.num_chains,
                    p.num_chains == 1 ? "" : "s", p.iterations, p.total_iterations, p.divergences,
                    format_rate(rate), format_duration(eta));
    if (terminal) {
      std::fprintf(out, "\r\033[K%s", line.c_str());
    } else {
      std::fprintf(out, "%s\n", line.c_str());
    }
    std::fflush(out);
  };
}

const SummaryRow& MCMCSummary::at(const std::string& name) const {
  for (const SummaryRow& r : rows) {
    if (r.name == name) return r;
  }
  throw ValueError(fmt::format("MCMC summary: no parameter '{}'", name));
}

std::string MCMCSummary::format() const {
  std::string out = fmt::format("{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>7}\n", "",
                                "mean", "sd", "5%", "50%", "95%", "ess_bulk", "ess_tail", "r_hat");
  for (const SummaryRow& r : rows) {
    out += fmt::format(
        "{:<14} {:>10.4g} {:>10.4g} {:>10.4g} {:>10.4g} {:>10.4g} {:>9.1f} {:>9.1f} {:>7.3f}\n",
        r.name, r.mean, r.sd, r.q05, r.q50, r.q95, r.ess_bulk, r.ess_tail, r.rhat);
  }
  out += fmt::format("{} chain{} x {} draws; divergences after warm-up: {}\n", num_chains,
                     num_chains == 1 ? "" : "s", num_samples, divergences);
  return out;
}

namespace detail {

void check_mcmc_sizes(long num_warmup, long num_samples, int num_chains) {
  if (num_warmup < 0) {
    throw ValueError(fmt::format("MCMC: num_warmup is {}, but must be at least 0", num_warmup));
  }
  if (num_samples < 1) {
    throw ValueError(fmt::format("MCMC: num_samples is {}, but must be at least 1", num_samples));
  }
  if (num_chains < 1) {
    throw ValueError(fmt::format("MCMC: num_chains is {}, but must be at least 1", num_chains));
  }
}

void throw_not_run() { throw ValueError("MCMC: no draws yet; call run(args...) first"); }

MCMCRun run_mcmc(const std::function<void()>& run_model, const SamplerSettings& settings,
                 const std::optional<InitStrategy>& init, long num_warmup, long num_samples,
                 int num_chains, const MCMCOptions& options) {
  check_mcmc_sizes(num_warmup, num_samples, num_chains);
  check_settings(settings);
  // The chains this process runs (all of them unless an exchange spreads them), on threads
  // of their own or one after another on this thread.
  std::vector<int> local;
  for (int c = 0; c < num_chains; ++c) {
    if (!options.exchange || options.exchange->runs(c, num_chains)) local.push_back(c);
  }
  const int num_local = static_cast<int>(local.size());
  const bool threaded = options.parallel && num_local > 1;

  // Built here, on the calling thread: the one run that reads the ParamStore and draws the
  // init strategy's values. An evaluation writes the potential's leaves, so no two threads
  // evaluate one Potential: chains on threads each work on a copy with leaves of its own
  // (`copies`, one per local chain), chains on this thread on the one built here.
  // With an exchange, an error here (the model throwing on this process's data) is agreed
  // on with the other processes, which would otherwise wait for this one's chains.
  std::optional<Potential> built;
  const Rng root(options.seed);
  std::vector<Rng> rngs;
  std::vector<Eigen::VectorXd> starts(static_cast<std::size_t>(num_chains));
  std::vector<Potential> copies;
  try {
    built.emplace(run_model, init ? *init : init_to_median());
    for (int c = 0; c < num_chains; ++c) {
      rngs.push_back(root.fork(static_cast<std::uint64_t>(c)));
      if (init) starts[static_cast<std::size_t>(c)] = built->point_from(*init, rngs.back());
    }
    if (threaded) {
      copies.reserve(local.size());
      for (std::size_t i = 0; i < local.size(); ++i) copies.emplace_back(*built);
    }
  } catch (...) {
    if (!options.exchange) throw;
    std::vector<ChainResult> none(static_cast<std::size_t>(num_chains));
    options.exchange->exchange(none, std::current_exception());
    throw;  // not reached: the exchange throws on every process
  }
  Potential& prototype = *built;

  const long per_chain = num_warmup + num_samples;
  std::atomic<long> iterations{0}, divergences{0};
  std::atomic<int> finished{0};
  std::mutex mutex;
  std::condition_variable cv;
  MCMCRun out;
  out.latents = prototype.latents();
  out.deterministic = prototype.deterministic_sites();
  out.chains.resize(static_cast<std::size_t>(num_chains));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(num_chains));

  auto chain = [&](int c, Potential& u) {
    const auto k = static_cast<std::size_t>(c);
    try {
      Rng& rng = rngs[k];
      const Eigen::VectorXd q0 = init ? starts[k] : uniform_init(u, rng);
      out.chains[k] =
          run_chain(u, settings, q0, num_warmup, num_samples, rng, [&](long, bool divergent) {
            iterations.fetch_add(1, std::memory_order_relaxed);
            if (divergent) divergences.fetch_add(1, std::memory_order_relaxed);
          });
    } catch (...) {
      errors[k] = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished.fetch_add(1);
    }
    cv.notify_all();
  };

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto report = [&](bool done) {
    if (!options.progress) return;
    options.progress(
        MCMCProgress{iterations.load(), per_chain * num_local, divergences.load(), num_local,
                     std::chrono::duration<double>(Clock::now() - start).count(), done});
  };
  report(false);
  if (threaded) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < local.size(); ++i) {
      threads.emplace_back(chain, local[i], std::ref(copies[i]));
    }
    {
      std::unique_lock<std::mutex> lock(mutex);
      while (finished.load() < num_local) {
        cv.wait_for(lock, std::chrono::milliseconds(200));
        if (finished.load() < num_local) {
          lock.unlock();
          report(false);
          lock.lock();
        }
      }
    }
    for (std::thread& t : threads) t.join();
  } else {
    // One after another on this thread: the progress comes from the chain itself.
    for (int c : local) {
      chain(c, prototype);
      report(false);
    }
  }
  report(true);
  std::exception_ptr first_error;
  for (const std::exception_ptr& e : errors) {
    if (e && !first_error) first_error = e;
  }
  if (options.exchange) options.exchange->exchange(out.chains, first_error);
  if (first_error) std::rethrow_exception(first_error);

  out.samples.resize(static_cast<std::size_t>(num_chains));
  for (int c = 0; c < num_chains; ++c) {
    const auto k = static_cast<std::size_t>(c);
    const Eigen::MatrixXd& draws = out.chains[k].draws;
    for (Eigen::Index s = 0; s < draws.rows(); ++s) {
      const Eigen::VectorXd q = draws.row(s).transpose();
      std::vector<Matrix> values = prototype.constrained(q);
      for (std::size_t b = 0; b < values.size(); ++b) {
        out.samples[k].add(out.latents[b].name, std::move(values[b]));
      }
      if (!out.deterministic.empty()) {
        std::vector<Matrix> det = prototype.deterministic_values(q);
        for (std::size_t d = 0; d < det.size(); ++d) {
          out.samples[k].add(out.deterministic[d], std::move(det[d]));
        }
      }
    }
  }
  return out;
}

SiteSamples concatenate(const std::vector<SiteSamples>& per_chain) {
  SiteSamples all;
  for (const SiteSamples& chain : per_chain) {
    for (const std::string& name : chain.sites()) {
      for (const Matrix& d : chain.draws(name)) all.add(name, d);
    }
  }
  return all;
}

MCMCSummary summarise(const MCMCRun& run) {
  MCMCSummary s;
  s.num_chains = static_cast<int>(run.chains.size());
  s.num_samples = run.chains.empty() ? 0 : run.chains.front().draws.rows();
  for (const ChainResult& c : run.chains) s.divergences += c.divergences;
  const Eigen::Index n = s.num_samples, m = s.num_chains;
  std::vector<std::string> names;
  for (const LatentBlock& b : run.latents) names.push_back(b.name);
  names.insert(names.end(), run.deterministic.begin(), run.deterministic.end());
  if (run.samples.empty()) return s;
  for (const std::string& name : names) {
    const Index rows = run.samples.front().rows(name), cols = run.samples.front().cols(name);
    for (Index j = 0; j < cols; ++j) {
      for (Index i = 0; i < rows; ++i) {
        Eigen::MatrixXd x(n, m);
        for (Eigen::Index c = 0; c < m; ++c) {
          const std::vector<Matrix>& d = run.samples[static_cast<std::size_t>(c)].draws(name);
          for (Eigen::Index t = 0; t < n; ++t)
            x(t, c) = static_cast<double>(d[static_cast<std::size_t>(t)](i, j));
        }
        std::vector<double> v(x.data(), x.data() + x.size());
        std::sort(v.begin(), v.end());
        auto quantile = [&](double q) {
          const double pos = q * static_cast<double>(v.size() - 1);
          const auto lo = static_cast<std::size_t>(std::floor(pos));
          const std::size_t hi = std::min(lo + 1, v.size() - 1);
          return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
        };
        const double mean = x.mean();
        const double sd =
            x.size() > 1
                ? std::sqrt((x.array() - mean).square().sum() / static_cast<double>(x.size() - 1))
                : 0.0;
        s.rows.push_back(SummaryRow{entry_name(name, rows, cols, i, j), mean, sd, quantile(0.05),
                                    quantile(0.5), quantile(0.95), ess_bulk(x), ess_tail(x),
                                    split_rhat(x)});
      }
    }
  }
  return s;
}

}  // namespace detail

}  // namespace vesta
