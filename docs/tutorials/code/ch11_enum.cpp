// Chapter 11: mixtures and hidden Markov models by enumeration; score-function gradients
// against the sum over a mixture's assignments, TraceEnum_ELBO, infer_discrete, an HMM by the
// forward algorithm and its Viterbi path, and what cannot be enumerated.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

constexpr Index K = 3;

// [snippet mixture]
// A mixture of K = 3 Normals of one scale, fitted by maximum likelihood: the weights, the
// locs and the scale are params; each point's component is the discrete latent "assignment".
void mixture(const Matrix& x) {
  const Tensor weights = param("weights", Matrix::Constant(1, K, 1.0 / K), constraints::simplex());
  const Tensor locs = param("locs", Matrix{{-1.0}, {0.0}, {1.0}});
  const Tensor scale = param("scale", 1.0, constraints::positive());
  auto data = plate("data", x.rows());
  const Tensor z = sample("assignment", Categorical::from_probs(weights));
  sample("obs", Normal(take(locs, z), scale), Tensor(x));
}
// [end]

// [snippet sf_guide]
// Without enumeration, a guide must draw each point's assignment: here from its own
// probabilities q[i], learned with the score-function gradient (Chapter 5).
void sf_guide(const Matrix& x) {
  auto data = plate("data", x.rows());
  const Tensor q = param("q", Matrix::Constant(x.rows(), K, 1.0 / K), constraints::simplex());
  sample("assignment", Categorical::from_probs(q));
}
// [end]

// [snippet hmm]
// A hidden Markov model: z_0 ~ Categorical(init), z_t ~ Categorical(trans[z_{t-1}]),
// x_t ~ Normal(locs[z_t], scale); the transition matrix and the emissions are params.
void hmm(const Matrix& x) {
  const Tensor init = param("init", Matrix::Constant(1, K, 1.0 / K), constraints::simplex());
  const Matrix trans0 = Matrix::Constant(K, K, 0.1) + 0.7 * Matrix::Identity(K, K);
  const Tensor trans = param("trans", trans0, constraints::simplex());
  const Tensor locs = param("locs", Matrix{{-1.0}, {0.5}, {2.0}});
  const Tensor scale = param("scale", 1.0, constraints::positive());
  Tensor z;
  for (Index t : markov(x.rows(), "hmm")) {
    const Tensor probs = t == 0 ? init : take_rows(trans, z);
    z = sample(fmt::format("z_{}", t), Categorical::from_probs(probs), Infer{.enumerate = true});
    sample(fmt::format("x_{}", t), Normal(take(locs, z), scale), Tensor(x(t, 0)));
  }
}
// [end]

void no_guide(const Matrix&) {}

// The order of the fitted components by their locs, as the truth's are (labels are arbitrary):
// rank[j] is the true component that fitted component j stands for.
std::vector<Index> rank_by(const Matrix& locs) {
  std::vector<Index> order(K), rank(K);
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return locs(a, 0) < locs(b, 0); });
  for (Index k = 0; k < K; ++k) rank[std::size_t(order[std::size_t(k)])] = k;
  return rank;
}

double max_loc_error(const Matrix& locs, const double* truth) {
  Matrix sorted = locs;
  std::sort(sorted.data(), sorted.data() + K);
  double e = 0;
  for (Index k = 0; k < K; ++k) e = std::max(e, std::abs(sorted(k, 0) - truth[k]));
  return e;
}

double normal_pdf(double x, double m, double s) {
  return std::exp(-0.5 * (x - m) * (x - m) / (s * s)) / (s * std::sqrt(2 * M_PI));
}

// The error a model raises under TraceEnum_ELBO, as text.
template <class Model>
std::string error_of(const Model& model, const Matrix& x) {
  TraceEnum_ELBO elbo;
  try {
    elbo.loss(model, no_guide, x);
  } catch (const std::exception& e) {
    tape().reset();
    return e.what();
  }
  return "no error";
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  // [snippet data]
  // 500 points from three Normals of scale 1 at -4, 0 and 5, with weights 0.5, 0.3, 0.2.
  const Index n = 500;
  const double true_w[K] = {0.5, 0.3, 0.2}, true_locs[K] = {-4, 0, 5};
  Rng data_rng(7);
  Matrix x(n, 1);
  std::vector<Index> truth(std::size_t(n), 0);
  for (Index i = 0; i < n; ++i) {
    const double u = data_rng.uniform();
    const Index k = u < true_w[0] ? 0 : u < true_w[0] + true_w[1] ? 1 : 2;
    truth[std::size_t(i)] = k;
    x(i, 0) = true_locs[k] + data_rng.normal();
  }
  // [end]

  // [snippet score_function]
  set_rng_seed(seed);
  Adam sf_adam(0.05);
  SVI sf_svi(mixture, sf_guide, sf_adam);  // Trace_ELBO
  sf_svi.set_progress(nullptr);
  sf_svi.run(1500, x);
  // [end]
  const double sf_error = max_loc_error(param("locs").matrix(), true_locs);
  const Matrix sf_locs = param("locs").matrix();
  report("sf_loc_error", sf_error);
  report("sf_loc_spread", sf_locs.maxCoeff() - sf_locs.minCoeff());
  // The marginal log-likelihood per point of the score-function fit (its q is irrelevant).
  const double sf_loglik = -TraceEnum_ELBO().loss(config_enumerate(mixture), no_guide, x) / n;
  report("sf_loglik", sf_loglik);
  param_store().clear();

  // [snippet enum_fit]
  auto enumerated = config_enumerate(mixture);  // marks "assignment" for enumeration
  set_rng_seed(seed);
  Adam adam(0.05);
  SVI svi(enumerated, no_guide, adam, TraceEnum_ELBO());
  svi.set_progress(nullptr);
  svi.run(1500, x);
  const Matrix w = param("weights").matrix(), locs = param("locs").matrix();
  const double scale = param("scale").item();
  // [end]
  tape().reset();
  const std::vector<Index> rank = rank_by(locs);
  for (Index j = 0; j < K; ++j) {
    const Index k = rank[std::size_t(j)];
    report(fmt::format("w{}", k), w(0, j));
    report(fmt::format("loc{}", k), locs(j, 0));
  }
  report("scale", scale);
  report("enum_loc_error", max_loc_error(locs, true_locs));
  const double enum_loglik = -TraceEnum_ELBO().loss(enumerated, no_guide, x) / n;
  report("enum_loglik", enum_loglik);

  // [snippet shapes]
  TraceEnum_ELBO elbo;
  const Trace enum_trace = elbo.traces(enumerated, no_guide, x).first;
  const Tensor z_all = enum_trace["assignment"].value;              // every value of z: 1 x 3
  const Tensor obs_table = enum_trace.log_prob(enum_trace["obs"]);  // 500 x 3
  fmt::print("z: {} x {}, [{}]; log p(obs | z): {} x {}\n", z_all.rows(), z_all.cols(),
             fmt::join(z_all.matrix().reshaped(), " "), obs_table.rows(), obs_table.cols());
  // [end]
  report("z_rows", double(z_all.rows()));
  report("z_cols", double(z_all.cols()));
  report("table_rows", double(obs_table.rows()));
  report("table_cols", double(obs_table.cols()));
  tape().reset();

  // [snippet infer_discrete]
  Rng rng(3);
  const Trace map = infer_discrete(enumerated, no_guide, 0, rng, x);  // most probable z
  const Matrix z_map = map["assignment"].value.matrix();
  std::vector<Matrix> draws;  // 100 draws from the posterior of every z, given the params
  for (int d = 0; d < 100; ++d) {
    draws.push_back(infer_discrete(enumerated, no_guide, 1, rng, x)["assignment"].value.matrix());
  }
  // [end]
  tape().reset();
  double map_correct = 0, draw_correct = 0, uncertain = 0;
  for (Index i = 0; i < n; ++i) {
    const Index k = truth[std::size_t(i)];
    map_correct += rank[std::size_t(Index(z_map(i, 0)))] == k;
    int agree = 0;
    for (const Matrix& z : draws) {
      draw_correct += rank[std::size_t(Index(z(i, 0)))] == k;
      agree += z(i, 0) == z_map(i, 0);
    }
    uncertain += agree < 95;
  }
  report("map_accuracy", 100 * map_correct / double(n));
  report("draw_accuracy", 100 * draw_correct / double(n * 100));
  report("uncertain_points", uncertain);

  // The HMM's data: T = 300 steps of a sticky 3-state chain.
  const Index T = 300;
  Matrix true_trans(K, K);
  true_trans << 0.90, 0.07, 0.03, 0.05, 0.90, 0.05, 0.04, 0.06, 0.90;
  const double hmm_locs[K] = {-2, 0.5, 3}, hmm_scale = 0.7;
  Rng hmm_rng(11);
  Matrix y(T, 1);
  std::vector<Index> states(std::size_t(T), 0);
  for (Index t = 0, s = 0; t < T; ++t) {
    if (t > 0) {
      double u = hmm_rng.uniform();
      Index next = 0;
      while (next < K - 1 && u >= true_trans(s, next)) u -= true_trans(s, next++);
      s = next;
    }
    states[std::size_t(t)] = s;
    y(t, 0) = hmm_locs[s] + hmm_scale * hmm_rng.normal();
  }

  // [snippet hmm_fit]
  param_store().clear();
  set_rng_seed(seed);
  Adam hmm_adam(0.05);
  SVI hmm_svi(hmm, no_guide, hmm_adam, TraceEnum_ELBO());
  hmm_svi.set_progress(nullptr);
  hmm_svi.run(300, y);
  Rng hmm_draws(5);
  const Trace path = infer_discrete(hmm, no_guide, 0, hmm_draws, y);  // Viterbi
  // [end]
  const Matrix trans = param("trans").matrix(), emit = param("locs").matrix();
  const double emit_scale = param("scale").item();
  const Matrix init = param("init").matrix();
  const std::vector<Index> hmm_rank = rank_by(emit);
  Matrix viterbi_states(T, 1);
  double viterbi_correct = 0;
  for (Index t = 0; t < T; ++t) {
    const auto z = Index(path[fmt::format("z_{}", t)].value.item());
    viterbi_states(t, 0) = double(hmm_rank[std::size_t(z)]);
    viterbi_correct += hmm_rank[std::size_t(z)] == states[std::size_t(t)];
  }
  tape().reset();
  report("viterbi_accuracy", 100 * viterbi_correct / double(T));
  report("hmm_loc_error", max_loc_error(emit, hmm_locs));
  report("hmm_scale", emit_scale);
  double diag = 0;
  for (Index k = 0; k < K; ++k) diag += trans(k, k) / K;
  report("hmm_stay", diag);

  // The forward algorithm against the sum over all 3^8 paths of the first 8 steps.
  const Index T8 = 8;
  const Matrix y8 = y.topRows(T8);
  const double forward = -TraceEnum_ELBO().loss(hmm, no_guide, y8);
  double brute = 0;
  std::vector<Index> z(std::size_t(T8), 0);
  for (Index p = 0; p < Index(std::pow(K, T8)); ++p) {
    Index q = p;
    for (Index t = 0; t < T8; ++t, q /= K) z[std::size_t(t)] = q % K;
    double logp = std::log(init(0, z[0]));
    for (Index t = 0; t < T8; ++t) {
      const Index s = z[std::size_t(t)];
      if (t > 0) logp += std::log(trans(z[std::size_t(t - 1)], s));
      logp += std::log(normal_pdf(y8(t, 0), emit(s, 0), emit_scale));
    }
    brute += std::exp(logp);
  }
  report("forward_loglik", forward);
  report("brute_loglik", std::log(brute));
  report("forward_error", std::abs(forward - std::log(brute)));

  // [snippet errors]
  auto continuous = [](const Matrix&) { sample("rate", Normal(0, 1), Infer{.enumerate = true}); };
  auto chain_in_plate = [](const Matrix& d) {
    auto data = plate("data", d.rows());
    Tensor s;
    for (Index t : markov(3)) {
      s = sample(fmt::format("s_{}", t), Bernoulli::from_probs(Tensor(0.5)),
                 Infer{.enumerate = true});
    }
  };
  // [end]
  {
    Output out("errors");
    fmt::print("{}\n\n{}\n", error_of(continuous, x), error_of(chain_in_plate, x));
  }

  // The figure: the mixture's histogram with the fitted density and its components; the
  // HMM's observations with the Viterbi states.
  const double lo = -8, hi = 9;
  const int bins = 50;
  Matrix hist = Matrix::Zero(bins, 2), dens(341, 5);
  const double width = (hi - lo) / bins;
  for (int b = 0; b < bins; ++b) hist(b, 0) = lo + (b + 0.5) * width;
  for (Index i = 0; i < n; ++i) {
    const int b = int((x(i, 0) - lo) / width);
    if (b >= 0 && b < bins) hist(b, 1) += 1 / (double(n) * width);
  }
  for (Index r = 0; r < dens.rows(); ++r) {
    const double v = lo + (hi - lo) * double(r) / double(dens.rows() - 1);
    dens(r, 0) = v;
    dens(r, 1) = 0;
    for (Index j = 0; j < K; ++j) {
      const double c = w(0, j) * normal_pdf(v, locs(j, 0), scale);
      dens(r, 2 + rank[std::size_t(j)]) = c;
      dens(r, 1) += c;
    }
  }
  Matrix series(T, 3);
  for (Index t = 0; t < T; ++t) {
    series.row(t) << double(t), y(t, 0), hmm_locs[std::size_t(viterbi_states(t, 0))];
  }
  examples::write_plot(
      "ch11_enum.png",
      "set multiplot layout 1,2\n"
      "set title 'mixture: 500 points and the fitted density'\n"
      "set xlabel 'x'; set ylabel 'density'; set grid; set key top right\n"
      "plot $hist using 1:2 with boxes fs solid 0.3 lc rgb '#888888' title 'data', "
      "$dens using 1:2 with lines lw 2 lc rgb '#000000' title 'mixture', "
      "$dens using 1:3 with lines lc rgb '#d62728' title 'components', "
      "$dens using 1:4 with lines lc rgb '#d62728' notitle, "
      "$dens using 1:5 with lines lc rgb '#d62728' notitle\n"
      "set title 'HMM: observations and the Viterbi states'\n"
      "set xlabel 't'; set ylabel 'observation'; set key bottom right\n"
      "plot $series using 1:2 with points pt 7 ps 0.4 lc rgb '#1f4e9c' title 'observations', "
      "$series using 1:3 with steps lw 2 lc rgb '#d62728' title 'loc of the Viterbi state'\n"
      "unset multiplot",
      {{"hist", hist}, {"dens", dens}, {"series", series}}, 1000, 420);
  tape().reset();
  return 0;
}
