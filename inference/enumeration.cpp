#include <vesta/inference/enumeration.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/categorical.hpp>

namespace vesta {

// ---- marking and enumerating sites ----------------------------------------------------

void ConfigEnumerateMessenger::process(Site& site) {
  if (site.is_sample() && !site.observed && site.value.empty() &&
      site.dist->has_enumerate_support()) {
    site.enumerate = true;
  }
}

void EnumMessenger::process(Site& site) {
  if (!site.is_sample() || site.observed || !site.enumerate || !site.value.empty()) return;
  const Distribution& d = *site.dist;
  if (!d.has_enumerate_support() && !d.support()->is_continuous() && d.event_dim() >= 1) {
    throw ValueError(fmt::format(
        "sample '{}' is marked for enumeration, but its distribution {} (support {}) cannot be "
        "enumerated here: each of its values is a row, and vesta lists a site's values in one "
        "row, one number per value, as Bernoulli and Categorical have them (for a "
        "OneHotCategorical, sample a Categorical and index with take())",
        site.name, d.describe(), d.support()->name()));
  }
  if (!d.has_enumerate_support()) {
    throw ValueError(fmt::format(
        "sample '{}' is marked for enumeration, but its distribution {} has support {}, which "
        "{}; only sites whose family lists a finite support (Bernoulli, Categorical) can be "
        "summed out: draw this one instead (do not mark it, or give it a guide site)",
        site.name, d.describe(), d.support()->name(),
        d.support()->name().rfind("integer_interval", 0) == 0
            ? "vesta does not enumerate for this family"
            : "is not finite"));
  }
  const PlateFrame* plate = nullptr;
  for (const PlateFrame& f : site.frames) {
    if (f.dim == PlateDim::cols) {
      throw ValueError(fmt::format(
          "sample '{}' is enumerated inside plate '{}' over columns; enumerated values take the "
          "columns, so an enumerated site may only be inside a plate over rows",
          site.name, f.name));
    }
    plate = &f;
  }
  if (d.batch_cols() != 1) {
    throw ShapeError(fmt::format(
        "sample '{}' is marked for enumeration, but its distribution {} has batch shape {}; an "
        "enumerated site needs a column of batch entries (R x 1), as the columns hold its values",
        site.name, d.describe(), shape_str(d.batch_rows(), d.batch_cols())));
  }
  if (const std::string& chain = site.extras().markov_chain; !chain.empty()) {
    if (plate != nullptr) {
      throw ValueError(fmt::format(
          "sample '{}' is enumerated in markov chain '{}' inside plate '{}': a chain inside a "
          "plate is not supported (a chain's rows index the previous step's values, and 2-D "
          "tensors have no room for the plate as well); run the chain of each sequence "
          "separately",
          site.name, chain, plate->name));
    }
    site.value = d.enumerate_support();
    site.log_prob = d.enumerate_log_prob();
    site.enumerated = true;
    return;
  }
  const std::string key = plate != nullptr ? plate->name : std::string();
  auto g = std::find_if(layout_->groups.begin(), layout_->groups.end(),
                        [&](const detail::EnumGroupLayout& l) { return l.plate == key; });
  if (g == layout_->groups.end()) {
    layout_->groups.push_back({key, {}});
    g = layout_->groups.end() - 1;
  }
  auto v =
      std::find_if(visited_.begin(), visited_.end(), [&](const auto& p) { return p.first == key; });
  if (v == visited_.end()) {
    visited_.emplace_back(key, 0);
    v = visited_.end() - 1;
  }
  const Tensor support = d.enumerate_support();
  const Index K = support.cols();
  const std::size_t i = v->second;
  if (i >= g->sites.size() || g->sites[i].first != site.name || g->sites[i].second != K) {
    g->sites.resize(i);
    g->sites.emplace_back(site.name, K);
    throw detail::EnumRelayout{};
  }
  ++v->second;
  Index stride = 1, width = 1;
  for (std::size_t j = 0; j < g->sites.size(); ++j) {
    if (j < i) stride *= g->sites[j].second;
    width *= g->sites[j].second;
  }
  const Tensor table = d.enumerate_log_prob();
  if (width == K) {
    site.value = support;
    site.log_prob = table;
  } else {
    // Mixed radix: joint value c gives this site its value number (c / stride) % K.
    std::vector<Index> digit(static_cast<std::size_t>(width));
    for (Index c = 0; c < width; ++c) digit[static_cast<std::size_t>(c)] = (c / stride) % K;
    site.value = gather_cols(support, digit);
    site.log_prob = gather_cols(table, digit);
  }
  site.enumerated = true;
}

bool EnumMessenger::finish() {
  bool fits = true;
  for (auto g = layout_->groups.begin(); g != layout_->groups.end();) {
    auto v = std::find_if(visited_.begin(), visited_.end(),
                          [&](const auto& p) { return p.first == g->plate; });
    const std::size_t seen = v == visited_.end() ? 0 : v->second;
    if (seen != g->sites.size()) {
      fits = false;
      g->sites.resize(seen);
    }
    g = g->sites.empty() ? layout_->groups.erase(g) : g + 1;
  }
  return fits;
}

// ---- the plan: which sites are summed out together -------------------------------------

namespace {

const PlateFrame* row_plate(const Site& s) {
  for (const PlateFrame& f : s.frames) {
    if (f.dim == PlateDim::rows) return &f;
  }
  return nullptr;
}

const PlateFrame* col_plate(const Site& s) {
  for (const PlateFrame& f : s.frames) {
    if (f.dim == PlateDim::cols) return &f;
  }
  return nullptr;
}

}  // namespace

EnumPlan plan_enumeration(const Trace& model_trace) {
  EnumPlan plan;
  const std::span<const Site> sites = model_trace.sites();
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const Site& s = sites[i];
    if (!s.is_sample() || !s.enumerated) continue;
    const std::string& chain = s.extras().markov_chain;
    const Index step = s.extras().markov_step;
    if (!chain.empty()) {
      auto c = std::find_if(plan.chains.begin(), plan.chains.end(),
                            [&](const EnumChain& ch) { return ch.name == chain; });
      if (c == plan.chains.end()) {
        plan.chains.push_back({chain, {}, {}});
        c = plan.chains.end() - 1;
      }
      if (!c->states.empty() && c->states.back()->extras().markov_step == step) {
        throw ValueError(fmt::format(
            "sites '{}' and '{}' are both enumerated at step {} of markov chain '{}'; a chain "
            "sums out one enumerated site per step (combine them into one Categorical)",
            c->states.back()->name, s.name, step, chain));
      }
      const Tensor& lp = s.log_prob;
      const Index prev = c->states.empty() ? 1 : c->states.back()->value.cols();
      if (lp.rows() != 1 && lp.rows() != prev) {
        throw ShapeError(fmt::format(
            "enumerated site '{}' (step {} of markov chain '{}') has a log_prob table {}: its rows "
            "must index the previous state's {} values (take_rows(probs, z_prev)), or be 1",
            s.name, step, chain, lp.shape(), prev));
      }
      c->states.push_back(&s);
      c->factors.emplace_back();
      continue;
    }
    const PlateFrame* p = row_plate(s);
    const std::string key = p != nullptr ? p->name : std::string();
    auto g = std::find_if(plan.groups.begin(), plan.groups.end(),
                          [&](const EnumGroup& gr) { return gr.plate == key; });
    if (g == plan.groups.end()) {
      plan.groups.push_back({key, {}, {}, 1, i});
      g = plan.groups.end() - 1;
    }
    g->enumerated.push_back(&s);
    g->width = s.value.cols();
  }
  const bool global = std::any_of(plan.groups.begin(), plan.groups.end(),
                                  [](const EnumGroup& g) { return g.plate.empty(); });
  if (global && (plan.groups.size() > 1 || !plan.chains.empty())) {
    throw ValueError(fmt::format(
        "enumerated site '{}' is outside any plate and markov chain, so every term may depend on "
        "it; vesta does not combine it with enumerated sites inside plates or chains (every "
        "per-datum term would need a column per joint value of both): put it in a plate, or "
        "draw it",
        plan.groups.front().plate.empty() ? plan.groups.front().enumerated.front()->name
                                          : plan.groups.back().enumerated.front()->name));
  }

  for (std::size_t i = 0; i < sites.size(); ++i) {
    const Site& s = sites[i];
    if (!s.is_sample() || s.enumerated) continue;
    const Tensor& lp = model_trace.log_prob(s);
    const std::string& chain = s.extras().markov_chain;
    const Index step = s.extras().markov_step;
    if (!chain.empty()) {
      auto c = std::find_if(plan.chains.begin(), plan.chains.end(),
                            [&](const EnumChain& ch) { return ch.name == chain; });
      if (c != plan.chains.end()) {
        // The step's state, looked for from the latest: a step's sites follow its state.
        std::size_t k = c->states.size();
        while (k > 0 && c->states[k - 1]->extras().markov_step != step) --k;
        if (k > 0) {
          c->factors[k - 1].push_back(&s);
          continue;
        }
        if (lp.cols() != 1) {
          throw ShapeError(fmt::format(
              "site '{}' at step {} of markov chain '{}' has log_prob {}, but that step has no "
              "enumerated site for its columns to index",
              s.name, step, chain, lp.shape()));
        }
      }
    }
    bool attached = false;
    for (EnumGroup& g : plan.groups) {
      if (i < g.first || g.width == 1) continue;
      const PlateFrame* p = row_plate(s);
      const bool inside = g.plate.empty() || (p != nullptr && p->name == g.plate);
      if (!inside) continue;
      if (lp.cols() == g.width) {
        if (!g.plate.empty() && col_plate(s) != nullptr) {
          throw ValueError(fmt::format(
              "site '{}' is inside plate '{}' over columns and plate '{}', whose enumerated sites "
              "take the columns; that nesting is not supported",
              s.name, col_plate(s)->name, g.plate));
        }
        g.factors.push_back(&s);
        attached = true;
      } else if (lp.cols() != 1 && !g.plate.empty()) {
        throw ShapeError(fmt::format(
            "site '{}' inside plate '{}' has log_prob {}, but the enumerated sites of that plate "
            "take {} joint values, which its columns must index (or have one column); a site with "
            "several columns per datum needs to_event(1)",
            s.name, g.plate, lp.shape(), g.width));
      }
      break;
    }
    if (!attached) plan.ordinary.push_back(&s);
  }
  return plan;
}

// ---- summing out ------------------------------------------------------------------------

namespace {

// A member's log_prob with its mask applied (masked-out entries count 0), or an empty Tensor
// when the member is dropped altogether. Checks its scale against the group's. An enumerated
// site's own log p(z) is never masked: its values are summed over, so a datum whose other
// terms are all masked out adds log sum_z p(z) = 0, nothing, as a masked datum should
// (zeroing log p(z) as well would add log K).
Tensor member_term(const Trace& t, const Site& s, const Site& first, Scalar scale) {
  const Scalar ms = term_scale(s);
  const Scalar tol = 8 * std::numeric_limits<Scalar>::epsilon() * std::max(ms, scale);
  if (std::abs(ms - scale) > tol) {
    throw ValueError(fmt::format(
        "site '{}' has scale {}, but the enumerated site '{}' it depends on has {}; the terms "
        "summed over an enumerated site need one scale (scale or subsample them alike)",
        s.name, ms, first.name, scale));
  }
  if (s.enumerated) return t.log_prob(s);
  if (!s.keep) return Tensor();
  const Tensor& lp = t.log_prob(s);
  const Tensor& mask = s.extras().mask;
  if (mask.empty() || s.is_global_term()) return lp;
  return where(mask, lp, 0);
}

}  // namespace

namespace {

// The group's terms, each R x W or 1 x W (R: the plate's entries), masked; `scale` receives
// their common term scale.
std::vector<Tensor> group_parts(const Trace& model_trace, const EnumGroup& group, Scalar& scale) {
  const Site& first = *group.enumerated.front();
  scale = term_scale(first);
  std::vector<Tensor> parts;
  auto add = [&](const Site* s) {
    Tensor term = member_term(model_trace, *s, first, scale);
    if (term.empty()) return;
    // Outside plates the group has one row: a member inside a plate adds up its entries.
    if (group.plate.empty() && term.rows() > 1) term = colwise_sum(term);
    parts.push_back(std::move(term));
  };
  for (const Site* s : group.enumerated) add(s);
  for (const Site* s : group.factors) add(s);
  return parts;
}

}  // namespace

Tensor group_log_table(const Trace& model_trace, const EnumGroup& group, Scalar& scale) {
  const std::vector<Tensor> parts = group_parts(model_trace, group, scale);
  Tensor total = parts.front();
  for (std::size_t k = 1; k < parts.size(); ++k) total = total + parts[k];
  return total;
}

Tensor group_log_marginal(const Trace& model_trace, const EnumGroup& group) {
  Scalar scale = 1;
  const Tensor total = sum_rowwise_logsumexp(group_parts(model_trace, group, scale));
  return scale == 1 ? total : total * scale;
}

Tensor chain_log_marginal(const Trace& model_trace, const EnumChain& chain) {
  Scalar scale = 1;
  const Tensor log_z = markov_logsumexp(chain_log_factors(model_trace, chain, scale));
  return scale == 1 ? log_z : log_z * scale;
}

Tensor sum_rowwise_logsumexp(const std::vector<Tensor>& parts) {
  if (parts.empty()) throw ShapeError("sum_rowwise_logsumexp: no terms");
  Index R = 1;
  const Index W = parts.front().cols();
  bool any_grad = false;
  for (const Tensor& p : parts) R = std::max(R, p.rows());
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const Tensor& p = parts[k];
    if (p.cols() != W || (p.rows() != R && p.rows() != 1)) {
      throw ShapeError(
          fmt::format("sum_rowwise_logsumexp: term {} is {}, but every term must be {}x{} or 1x{}",
                      k, p.shape(), R, W, W));
    }
    any_grad = any_grad || p.requires_grad();
  }
  // The sum of the terms, then each row's softmax in place: the weights the backward step
  // gives each term's entries.
  Tape& tp = tape();
  Matrix local;
  Scalar* w = nullptr;
  if (any_grad) {
    w = tp.allocate(static_cast<std::size_t>(R * W));
  } else {
    local.resize(R, W);
    w = local.data();
  }
  ArrayMap t(w, R, W);
  const auto n = static_cast<Index>(parts.size());
  Node** nodes = any_grad ? tp.allocate<Node*>(static_cast<std::size_t>(n)) : nullptr;
  Index* rows = any_grad ? tp.allocate<Index>(static_cast<std::size_t>(n)) : nullptr;
  for (Index k = 0; k < n; ++k) {
    const Operand op = Operand::of(parts[static_cast<std::size_t>(k)]);
    if (k == 0 && op.rows == R) {
      t = op.array();
    } else if (k == 0) {
      t = op.array().replicate(R, 1);
    } else if (op.rows == R) {
      t += op.array();
    } else {
      t.rowwise() += op.array().row(0);
    }
    if (any_grad) {
      nodes[k] = op.node;
      rows[k] = op.rows;
    }
  }
  using Column = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  Column m = t.rowwise().maxCoeff();
  m = m.isFinite().select(m, Scalar(0));
  t.colwise() -= m;
  t = t.exp();
  const Column s = t.rowwise().sum();
  t.colwise() /= s;
  const Scalar total = (m + s.log()).sum();
  if (!any_grad) return Tensor(total);
  auto fill = [&](Scalar* out) { out[0] = total; };
  return recorded_result(1, 1, fill, [w, nodes, rows, n, R, W](Node& y) {
    const ConstArrayMap weights(w, R, W);
    const Scalar g = y.adj[0];
    for (Index k = 0; k < n; ++k) {
      if (nodes[k] == nullptr) continue;
      if (rows[k] == R) {
        nodes[k]->accumulate(g * weights);
      } else {
        nodes[k]->accumulate(g * weights.colwise().sum());
      }
    }
  });
}

std::vector<Tensor> chain_log_factors(const Trace& model_trace, const EnumChain& chain,
                                      Scalar& scale) {
  const Site& first = *chain.states.front();
  scale = term_scale(first);
  std::vector<Tensor> out;
  out.reserve(chain.states.size());
  for (std::size_t k = 0; k < chain.states.size(); ++k) {
    const Site& state = *chain.states[k];
    const Index K = state.value.cols();
    const Index prev = k == 0 ? 1 : chain.states[k - 1]->value.cols();
    Tensor total = member_term(model_trace, state, first, scale);
    if (total.empty()) total = Tensor::zeros(1, K);
    for (const Site* f : chain.factors[k]) {
      Tensor term = member_term(model_trace, *f, first, scale);
      if (term.empty()) continue;
      if (row_plate(*f) != nullptr && term.rows() > 1) term = colwise_sum(term);
      if ((term.rows() != 1 && term.rows() != prev) || (term.cols() != 1 && term.cols() != K)) {
        throw ShapeError(fmt::format(
            "site '{}' at step {} of markov chain '{}' has log_prob {}: its columns must index "
            "the step's {} values (or be 1), its rows the previous step's {} (or be 1)",
            f->name, f->extras().markov_step, chain.name, term.shape(), K, prev));
      }
      total = total + term;
    }
    out.push_back(std::move(total));
  }
  return out;
}

// ---- the forward algorithm as one op ------------------------------------------------------

namespace {

Scalar log_sum_exp(const Scalar* x, Index n) {
  Scalar m = -std::numeric_limits<Scalar>::infinity();
  for (Index i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (!std::isfinite(m)) return m;
  Scalar s = 0;
  for (Index i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return m + std::log(s);
}

// The forward pass: alpha_t (K_t values at alpha + offset[t]) from the factors' values.
// Returns log Z. `scratch` has room for the largest K.
Scalar forward_pass(Index T, const Scalar* const* f, const Index* rows, const Index* cols,
                    const Index* offset, Scalar* alpha, Scalar* scratch) {
  std::copy(f[0], f[0] + cols[0], alpha);
  for (Index t = 1; t < T; ++t) {
    const Scalar* a = alpha + offset[t - 1];
    Scalar* out = alpha + offset[t];
    const Index Kp = cols[t - 1], K = cols[t];
    if (rows[t] == 1) {
      const Scalar z = log_sum_exp(a, Kp);
      for (Index j = 0; j < K; ++j) out[j] = z + f[t][j];
    } else {
      for (Index j = 0; j < K; ++j) {
        for (Index i = 0; i < Kp; ++i) scratch[i] = a[i] + f[t][i + j * Kp];
        out[j] = log_sum_exp(scratch, Kp);
      }
    }
  }
  return log_sum_exp(alpha + offset[T - 1], cols[T - 1]);
}

}  // namespace

Tensor markov_logsumexp(const std::vector<Tensor>& factors) {
  const auto T = static_cast<Index>(factors.size());
  if (T == 0) throw ShapeError("markov_logsumexp: no factors (a chain needs at least one step)");
  Index total = 0, max_k = 1;
  bool any_grad = false;
  for (Index t = 0; t < T; ++t) {
    const Tensor& f = factors[static_cast<std::size_t>(t)];
    const Index prev = t == 0 ? 1 : factors[static_cast<std::size_t>(t - 1)].cols();
    if (f.cols() < 1 || (f.rows() != 1 && f.rows() != prev)) {
      throw ShapeError(fmt::format(
          "markov_logsumexp: factor {} is {}, but must be {}x K or 1 x K (rows for the previous "
          "step's {} values)",
          t, f.shape(), prev, prev));
    }
    if (t == 0 && f.rows() != 1) {
      throw ShapeError(
          fmt::format("markov_logsumexp: factor 0 is {}, but must be one row", f.shape()));
    }
    total += f.cols();
    max_k = std::max(max_k, f.cols());
    any_grad = any_grad || f.requires_grad();
  }
  Tape& tp = tape();
  auto* values = tp.allocate<const Scalar*>(static_cast<std::size_t>(T));
  auto* nodes = tp.allocate<Node*>(static_cast<std::size_t>(T));
  auto* rows = tp.allocate<Index>(static_cast<std::size_t>(T));
  auto* cols = tp.allocate<Index>(static_cast<std::size_t>(T));
  auto* offset = tp.allocate<Index>(static_cast<std::size_t>(T));
  Scalar* alpha = tp.allocate(static_cast<std::size_t>(total));
  Scalar* scratch = tp.allocate(static_cast<std::size_t>(3 * max_k));
  Index off = 0;
  for (Index t = 0; t < T; ++t) {
    const Operand op = Operand::of(factors[static_cast<std::size_t>(t)]);
    values[t] = any_grad ? op.stable() : op.value;
    nodes[t] = op.node;
    rows[t] = op.rows;
    cols[t] = op.cols;
    offset[t] = off;
    off += op.cols;
  }
  const Scalar log_z = forward_pass(T, values, rows, cols, offset, alpha, scratch);
  if (!any_grad) return Tensor(log_z);
  auto fill = [&](Scalar* out) { out[0] = log_z; };
  return recorded_result(1, 1, fill, [=](Node& y) {
    const Scalar g = y.adj[0];
    const Scalar z = y.value[0];
    // beta_t: log of the sum over the rest of the path from each value of step t.
    Scalar* beta = scratch;
    Scalar* next = scratch + max_k;
    Scalar* tmp = scratch + 2 * max_k;
    std::fill(beta, beta + cols[T - 1], Scalar(0));
    for (Index t = T - 1; t >= 0; --t) {
      const Index K = cols[t];
      const Scalar* f = values[t];
      if (t == 0) {
        if (nodes[0] != nullptr) {
          Eigen::Array<Scalar, 1, Eigen::Dynamic> d(K);
          for (Index j = 0; j < K; ++j) d(j) = g * std::exp(f[j] + beta[j] - z);
          nodes[0]->accumulate(d);
        }
        break;
      }
      const Index Kp = cols[t - 1];
      const Scalar* a = alpha + offset[t - 1];
      if (rows[t] == 1) {
        const Scalar la = log_sum_exp(a, Kp);
        if (nodes[t] != nullptr) {
          Eigen::Array<Scalar, 1, Eigen::Dynamic> d(K);
          for (Index j = 0; j < K; ++j) d(j) = g * std::exp(la + f[j] + beta[j] - z);
          nodes[t]->accumulate(d);
        }
        for (Index j = 0; j < K; ++j) tmp[j] = f[j] + beta[j];
        const Scalar b = log_sum_exp(tmp, K);
        std::fill(next, next + Kp, b);
      } else {
        if (nodes[t] != nullptr) {
          Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic> d(Kp, K);
          for (Index j = 0; j < K; ++j) {
            for (Index i = 0; i < Kp; ++i)
              d(i, j) = g * std::exp(a[i] + f[i + j * Kp] + beta[j] - z);
          }
          nodes[t]->accumulate(d);
        }
        for (Index i = 0; i < Kp; ++i) {
          for (Index j = 0; j < K; ++j) tmp[j] = f[i + j * Kp] + beta[j];
          next[i] = log_sum_exp(tmp, K);
        }
      }
      std::swap(beta, next);
    }
  });
}

// ---- the best path and a drawn path -------------------------------------------------------

namespace {

void check_chain(const char* who, const std::vector<Matrix>& f) {
  if (f.empty()) throw ShapeError(fmt::format("{}: no factors", who));
  for (std::size_t t = 0; t < f.size(); ++t) {
    const Index prev = t == 0 ? 1 : f[t - 1].cols();
    if (f[t].rows() != 1 && f[t].rows() != prev) {
      throw ShapeError(fmt::format("{}: factor {} is {}, but must have 1 or {} rows", who, t,
                                   shape_str(f[t].rows(), f[t].cols()), prev));
    }
  }
}

}  // namespace

std::vector<Index> viterbi(const std::vector<Matrix>& f) {
  check_chain("viterbi", f);
  const std::size_t T = f.size();
  std::vector<Matrix> delta(T);
  std::vector<std::vector<Index>> back(T);
  delta[0] = f[0];
  for (std::size_t t = 1; t < T; ++t) {
    const Index K = f[t].cols();
    delta[t].resize(1, K);
    back[t].resize(static_cast<std::size_t>(K));
    for (Index j = 0; j < K; ++j) {
      Index best = 0;
      Scalar best_v = -std::numeric_limits<Scalar>::infinity();
      for (Index i = 0; i < delta[t - 1].cols(); ++i) {
        const Scalar v = delta[t - 1](0, i) + f[t](f[t].rows() == 1 ? 0 : i, j);
        if (v > best_v || i == 0) {
          best_v = v;
          best = i;
        }
      }
      delta[t](0, j) = best_v;
      back[t][static_cast<std::size_t>(j)] = best;
    }
  }
  std::vector<Index> path(T);
  delta[T - 1].row(0).maxCoeff(&path[T - 1]);
  for (std::size_t t = T - 1; t > 0; --t) path[t - 1] = back[t][static_cast<std::size_t>(path[t])];
  return path;
}

std::vector<Index> sample_chain(const std::vector<Matrix>& f, Rng& rng) {
  check_chain("sample_chain", f);
  const std::size_t T = f.size();
  std::vector<Matrix> alpha(T);
  alpha[0] = f[0];
  for (std::size_t t = 1; t < T; ++t) {
    const Index K = f[t].cols(), Kp = alpha[t - 1].cols();
    alpha[t].resize(1, K);
    for (Index j = 0; j < K; ++j) {
      Eigen::Array<Scalar, 1, Eigen::Dynamic> v(Kp);
      for (Index i = 0; i < Kp; ++i) v(i) = alpha[t - 1](0, i) + f[t](f[t].rows() == 1 ? 0 : i, j);
      alpha[t](0, j) = log_sum_exp(v.data(), Kp);
    }
  }
  auto draw = [&](const Matrix& logits) {
    return static_cast<Index>(Categorical::from_logits(Tensor(logits)).sample(rng).item());
  };
  std::vector<Index> path(T);
  path[T - 1] = draw(alpha[T - 1]);
  for (std::size_t t = T - 1; t > 0; --t) {
    const Index Kp = alpha[t - 1].cols();
    Matrix logits(1, Kp);
    for (Index i = 0; i < Kp; ++i) {
      logits(0, i) = alpha[t - 1](0, i) + f[t](f[t].rows() == 1 ? 0 : i, path[t]);
    }
    path[t - 1] = draw(logits);
  }
  return path;
}

}  // namespace vesta
