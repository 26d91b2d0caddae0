#include <vesta/inference/optim.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vesta/core/parallel.hpp>

namespace vesta {

namespace schedules {
LearningRateSchedule step_decay(Scalar lr, std::int64_t step_size, Scalar gamma) {
  if (step_size < 1)
    throw ValueError(fmt::format("step_decay: step_size is {}, but must be at least 1", step_size));
  return [=](std::int64_t step) { return lr * std::pow(gamma, Scalar(step / step_size)); };
}
LearningRateSchedule exponential_decay(Scalar lr, Scalar gamma) {
  return [=](std::int64_t step) { return lr * std::pow(gamma, Scalar(step)); };
}
}  // namespace schedules

Optimizer::Optimizer(Scalar lr) {
  if (!(lr > 0) || !std::isfinite(lr)) {
    throw ValueError(fmt::format("optimizer: the learning rate is {}, but must be positive", lr));
  }
  schedule_ = [lr](std::int64_t) { return lr; };
}

Optimizer::State& Optimizer::state_for(const ParamStore& store, std::size_t position) {
  const auto& entries = store.entries();
  if (position < states_.size() &&
      detail::same_name(states_[position].name, entries[position].first)) {
    return states_[position].state;
  }
  std::unordered_map<std::string, State> by_name;
  for (NamedState& s : states_) by_name.emplace(std::move(s.name), std::move(s.state));
  states_.clear();
  states_.reserve(entries.size());
  for (const auto& entry : entries) {
    auto it = by_name.find(entry.first);
    states_.push_back({entry.first, it != by_name.end() ? std::move(it->second) : State{}});
  }
  return states_[position].state;
}

void Optimizer::step(ParamStore& store) {
  if (busy_.on.exchange(true, std::memory_order_acquire)) {
    throw ConcurrentUseError(
        "optimizer: step() was called while another thread's step() with the same optimizer "
        "runs; an optimizer belongs to one thread at a time: give each thread its own");
  }
  struct Release {
    std::atomic<bool>& on;
    ~Release() { on.store(false, std::memory_order_release); }
  } release{busy_.on};

  // Gather the gradients. Nothing changes until every new value is known to be finite.
  // Gradients are read in place (no copies: this runs every SVI step).
  std::vector<Item>& items = items_;
  items.clear();
  const auto& entries = store.entries();
  const bool clipping = max_grad_norm_ > 0;
  std::size_t prepared = 0;  // items whose state counts this step (undone on a throw)
  try {
    double squared_norm = 0;
    for (std::size_t position = 0; position < entries.size(); ++position) {
      const std::string& name = entries[position].first;
      const Tensor& leaf = entries[position].second.unconstrained;
      if (!leaf.has_grad()) continue;  // not used since the last step: left as it is
      MatrixMap g = leaf.leaf_grad();
      items.push_back({position, &name, &leaf, g.data(), nullptr});
      // Clipping needs the norm first, and must not scale by a non-finite one. Without it, the
      // update checks its gradients as it goes (update_entries): one pass fewer over them.
      if (clipping) {
        const Scalar g_squared_norm = g.squaredNorm();
        if (!std::isfinite(g_squared_norm)) check_gradient(items.back(), leaf.size());
        squared_norm += static_cast<double>(g_squared_norm);
      }
    }
    if (clipping) {
      const double norm = std::sqrt(squared_norm);
      if (norm > max_grad_norm_) {
        for (Item& it : items) {
          Eigen::Map<Column>(it.grad, it.leaf->size()) *=
              static_cast<Scalar>(max_grad_norm_ / norm);
        }
      }
    }
    const Scalar lr = schedule_(steps_);
    // Every new value and moment goes to a buffer of the state first (the moments' m_next and
    // v_next, the values' x_next), in chunks that stay in the L1 cache while they are checked;
    // nothing the store or the next step sees changes until all of them are known to be
    // finite. Committing then exchanges buffers and copies nothing.
    // state_for may rebuild the states (a param made or erased since the last step), which
    // moves them: each item keeps a pointer to its state only once all are in place.
    // While the store keeps the layout with which every state was last found in place, the
    // params are where they were: no name to compare.
    if (store.layout() != layout_ || states_.size() != entries.size()) {
      for (const Item& it : items) state_for(store, it.position);
      // Each of these params' states is now at its position. When every state is (the usual
      // case: all params have a gradient), the next steps with the store's layout unchanged
      // find them without comparing names.
      if (items.size() == entries.size()) layout_ = store.layout();
    }
    for (Item& it : items) it.state = &states_[it.position].state;
    for (Item& it : items) {
      State& s = *it.state;
      MatrixMap x = it.leaf->leaf_values();
      const Index n = x.size();
      if (s.t != 0 && s.size != n) s = State{};  // the param was made anew with another shape
      if (s.t == 0) {
        init_state(s, n);
        s.size = n;
      }
      if (n != 1 && (s.x_next.rows() != x.rows() || s.x_next.cols() != x.cols())) {
        s.x_next.resize(x.rows(), x.cols());
      }
      ++s.t;
      ++prepared;
      begin_update(s);
      if (n == 1) {
        update_entry(s, it, *x.data(), lr);
      } else {
        update_entries(s, it, x, lr);
      }
    }
  } catch (...) {
    for (std::size_t i = 0; i < prepared; ++i) --items[i].state->t;
    for (const auto& entry : entries) entry.second.unconstrained.zero_grad();
    throw;
  }
  // Commit: new values into the store, new moments into the state.
  for (Item& it : items) {
    State& s = *it.state;
    if (s.size == 1) {
      it.leaf->swap_leaf_value(s.x_one);
    } else {
      it.leaf->swap_leaf_values(s.x_next);
    }
    s.commit_moments();
    it.leaf->zero_grad();
  }
  ++steps_;
}

void Optimizer::State::keep_moments(bool with_m, bool with_v, Index size) {
  m_size_ = with_m ? size : 0;
  v_size_ = with_v ? size : 0;
  const Index total = 2 * (m_size_ + v_size_);
  small_.fill(0);
  if (total <= kSmall) {
    block_.resize(0);
  } else {
    block_ = Column::Zero(total);
  }
  current_ = 0;
}

void Optimizer::check_gradient(const Item& it, Index size) {
  for (Index k = 0; k < size; ++k) {
    if (std::isfinite(it.grad[k])) continue;
    throw ValueError(fmt::format(
        "optimizer: the gradient of param '{}' is {} at entry {} ({}); no parameter was updated",
        *it.name, it.grad[k], entry_str(it.leaf->rows(), it.leaf->cols(), k), it.leaf->shape()));
  }
}

namespace {
// The sum of 0 * y over the entries of `v`: 0 exactly when every entry is finite (0 * inf and
// 0 * NaN are NaN). A small param's few entries take a plain loop (kSmallParam).
template <class V>
Scalar zero_products(const V& v) {
  if (v.size() > Optimizer::kSmallParam) return (v * 0).sum();
  Scalar p = 0;
  for (Index i = 0; i < v.size(); ++i) p += v[i] * 0;
  return p;
}
}  // namespace

Scalar Optimizer::update_one(State& s, Scalar x, Scalar g, Scalar lr) {
  Scalar out = 0;
  Chunk c{0, Eigen::Map<const Column>(&x, 1), Eigen::Map<const Column>(&g, 1),
          Eigen::Map<Column>(&out, 1)};
  update(s, c, lr);
  return out;  // update_entry checks the gradient, the value and the moment
}

// The new values of one parameter into its state's x_next, chunk by chunk; a large parameter's
// chunks are shared among the threads set_num_threads allows. A gradient entry or a new value
// that is not finite is an error naming the param and its first such entry.
void Optimizer::update_entries(State& s, const Item& it, const MatrixMap& x, Scalar lr) {
  const Index n = x.size();
  const Index chunks = (n + kChunk - 1) / kChunk;
  // 0 * y is 0 for every finite y and NaN for an infinite or NaN one, so the sum of such
  // products over a chunk (vectorised, while the chunk is in the L1 cache) is 0 exactly when
  // the chunk's gradient, new values and new squared-gradient accumulator are all finite.
  auto chunk_probe = [&](Index k) {
    const Index first = k * kChunk;
    const Index len = std::min(kChunk, n - first);
    Chunk c{first, Eigen::Map<const Column>(x.data() + first, len),
            Eigen::Map<const Column>(it.grad + first, len),
            Eigen::Map<Column>(s.next_values(n) + first, len)};
    update(s, c, lr);
    if (c.checked) return c.probe;
    Scalar probe = zero_products(c.g) + zero_products(c.out);
    // A finite gradient can still overflow the squared-gradient accumulator: with v infinite,
    // each later step of the entry would be m / inf = 0, a parameter that silently stops.
    if (s.v_next().size() > 0) probe += zero_products(s.v_next().segment(first, len));
    return probe;
  };
  bool all_finite = true;
  if (chunks == 1) {
    // Most params: no split, and no call through the pool's type-erased function.
    all_finite = chunk_probe(0) == 0;
  } else if (chunks > 1) {
    const int parts = static_cast<int>(
        std::min<Index>(chunks, detail::parts_for(double(n), detail::kElementwiseMinPerPart)));
    std::array<bool, 64> finite{};
    auto body = [&](int part) {
      const auto [first_chunk, count] = detail::part_range(chunks, parts, part, 1);
      Scalar probe = 0;
      for (Index k = first_chunk; k < first_chunk + count; ++k) probe += chunk_probe(k);
      finite[static_cast<std::size_t>(part)] = probe == 0;
    };
    if (parts == 1) {
      body(0);
    } else {
      detail::run_parts(parts, detail::PartFn(body));
    }
    all_finite = std::all_of(finite.begin(), finite.begin() + parts, [](bool ok) { return ok; });
  }
  if (!all_finite) report_non_finite(s, it, x, lr);
}

void Optimizer::update_entry(State& s, const Item& it, Scalar x, Scalar lr) {
  // A scalar site's param: no chunk, and the probe of the three numbers as each chunk has.
  Scalar& out = s.x_one;
  out = update_one(s, x, *it.grad, lr);
  Scalar probe = *it.grad * 0 + out * 0;
  if (s.v_next().size() > 0) probe += s.v_next()[0] * 0;
  if (probe != 0) report_non_finite(s, it, MatrixMap(&x, 1, 1), lr);
}

void Optimizer::report_non_finite(State& s, const Item& it, const MatrixMap& x, Scalar lr) {
  const Index n = x.size();
  check_gradient(it, n);
  // An overflowed accumulator names its cause (with Eigen's vectorised square root it also makes
  // the new value NaN, which would read as a divergence).
  const auto v_next = s.v_next();
  for (Index k = 0; k < v_next.size(); ++k) {
    if (std::isfinite(v_next[k])) continue;
    throw ValueError(fmt::format(
        "optimizer: the update of param '{}' ({}) would make its squared-gradient accumulator {} "
        "at entry {} (the gradient there is {}): the squares exceed the largest number; scale the "
        "loss down or clip the gradients; no parameter was updated",
        *it.name, it.leaf->shape(), v_next[k], entry_str(x.rows(), x.cols(), k), it.grad[k]));
  }
  for (Index k = 0; k < n; ++k) {
    const Scalar value = s.next_values(n)[k];
    if (std::isfinite(value)) continue;
    throw ValueError(fmt::format(
        "optimizer: the update of param '{}' ({}) would make entry {} {} (its gradient there is "
        "{}, the learning rate {}); the run diverges: lower the learning rate or clip the "
        "gradients. No parameter was updated",
        *it.name, it.leaf->shape(), entry_str(x.rows(), x.cols(), k), value, it.grad[k], lr));
  }
  // A probe is not finite only when one of the numbers above is not.
  throw ValueError(fmt::format("optimizer: the update of param '{}' is not finite", *it.name));
}

namespace {
// "a first and a second moment", ..., for a message about saved state.
const char* moments_str(bool m, bool v) {
  if (m && v) return "a first and a second moment";
  if (m) return "a first moment only";
  if (v) return "a second moment only";
  return "no moment";
}
}  // namespace

// Saved state, under a prefix P: "P.steps" (1x1); per parameter N, "P.t.N" (1x2: its update
// count and size) and, when the optimizer keeps them, "P.m.N" and "P.v.N" (columns).
void Optimizer::save_state(ParamStore& out, const std::string& prefix) const {
  out.set(prefix + ".steps", Matrix::Constant(1, 1, static_cast<Scalar>(steps_)));
  for (const NamedState& ns : states_) {
    if (ns.state.t == 0) continue;
    Matrix tn(1, 2);
    tn << static_cast<Scalar>(ns.state.t), static_cast<Scalar>(ns.state.size);
    out.set(prefix + ".t." + ns.name, tn);
    if (ns.state.m().size() > 0) out.set(prefix + ".m." + ns.name, Matrix(ns.state.m()));
    if (ns.state.v().size() > 0) out.set(prefix + ".v." + ns.name, Matrix(ns.state.v()));
  }
}

void Optimizer::load_state(const ParamStore& in, const std::string& prefix) {
  const ParamStore::Entry* steps = in.find(prefix + ".steps");
  if (steps == nullptr) {
    throw ValueError(
        fmt::format("optimizer: no saved state under '{}' (no '{}.steps')", prefix, prefix));
  }
  std::vector<NamedState> states;
  const std::string t_prefix = prefix + ".t.";
  for (const auto& [name, e] : in.entries()) {
    if (name.rfind(t_prefix, 0) != 0) continue;
    const std::string param = name.substr(t_prefix.size());
    const Matrix tn = e.unconstrained.matrix();
    if (tn.rows() != 1 || tn.cols() != 2 || !(tn(0, 0) >= 1) || !(tn(0, 1) >= 0)) {
      throw ValueError(fmt::format("optimizer: the saved state '{}' is malformed", name));
    }
    // The moments this optimizer keeps, filled from the saved ones.
    State s;
    s.size = static_cast<Index>(tn(0, 1));
    init_state(s, s.size);
    s.t = static_cast<std::int64_t>(tn(0, 0));
    const ParamStore::Entry* saved_m = in.find(prefix + ".m." + param);
    const ParamStore::Entry* saved_v = in.find(prefix + ".v." + param);
    if ((s.m().size() > 0) != (saved_m != nullptr) || (s.v().size() > 0) != (saved_v != nullptr)) {
      throw ValueError(fmt::format(
          "optimizer: the saved state of param '{}' has {}, but this optimizer keeps {} (was it "
          "saved by another kind of optimizer?)",
          param, moments_str(saved_m != nullptr, saved_v != nullptr),
          moments_str(s.m().size() > 0, s.v().size() > 0)));
    }
    for (auto [saved, moment] : {std::pair{saved_m, s.m()}, std::pair{saved_v, s.v()}}) {
      if (saved == nullptr) continue;
      const Matrix values = saved->unconstrained.matrix();
      if (values.cols() != 1 || values.rows() != s.size) {
        throw ValueError(fmt::format("optimizer: the saved moments of param '{}' are {}, not {}x1",
                                     param, shape_str(values.rows(), values.cols()), s.size));
      }
      moment = values.col(0).array();
    }
    states.push_back({param, std::move(s)});
  }
  steps_ = static_cast<std::int64_t>(steps->unconstrained.matrix()(0, 0));
  states_ = std::move(states);
  layout_ = 0;  // the states are in the file's order: match them by name at the next step
}

Adam::Adam(Scalar lr, Scalar beta1, Scalar beta2, Scalar eps)
    : Optimizer(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {}

void Adam::init_state(State& s, Index size) { s.keep_moments(true, true, size); }

void Adam::begin_update(const State& s) {
  // Every param of a run usually has the same step count: the corrections are computed once
  // per count (std::pow per param per step is a visible cost for models of many small sites).
  if (s.t != corrections_t_) {
    corrections_t_ = s.t;
    c1_ = 1 - std::pow(beta1_, Scalar(s.t));
    inv_sqrt_c2_ = 1 / std::sqrt(1 - std::pow(beta2_, Scalar(s.t)));
  }
}

void Adam::update(State& s, Chunk& c, Scalar lr) {
  // torch's form, x -= (lr / c1) m / (sqrt(v / c2) + eps) with the bias corrections c1 and
  // c2 (begin_update), with sqrt(v / c2) computed as sqrt(v) / sqrt(c2): one division per entry
  // fewer. One pass over the chunk, a packet of entries at a time: the two moments, the new
  // value and the finiteness probe (update_entries) while the packet is in registers, where
  // Eigen's expressions took a pass for each output and three more for the probe.
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<Scalar>::type;
  constexpr Index kPacket = ei::packet_traits<Scalar>::size;
  const Scalar step = lr / c1_;
  const Scalar inv_sqrt_c2 = inv_sqrt_c2_;
  const Index len = c.x.size();
  const Scalar* x = c.x.data();
  const Scalar* g = c.g.data();
  const Scalar* m0 = s.m().data() + c.first;
  const Scalar* v0 = s.v().data() + c.first;
  Scalar* m = s.m_next().data() + c.first;
  Scalar* v = s.v_next().data() + c.first;
  Scalar* out = c.out.data();
  const Packet b1 = ei::pset1<Packet>(beta1_), one_minus_b1 = ei::pset1<Packet>(1 - beta1_);
  const Packet b2 = ei::pset1<Packet>(beta2_), one_minus_b2 = ei::pset1<Packet>(1 - beta2_);
  const Packet step_p = ei::pset1<Packet>(step), inv_sqrt_c2_p = ei::pset1<Packet>(inv_sqrt_c2);
  const Packet eps = ei::pset1<Packet>(eps_), zero = ei::pset1<Packet>(0);
  Packet probe = zero;
  Index i = 0;
  for (; i + kPacket <= len; i += kPacket) {
    const Packet gi = ei::ploadu<Packet>(g + i);
    const Packet mi =
        ei::padd(ei::pmul(b1, ei::ploadu<Packet>(m0 + i)), ei::pmul(one_minus_b1, gi));
    const Packet vi = ei::padd(ei::pmul(b2, ei::ploadu<Packet>(v0 + i)),
                               ei::pmul(one_minus_b2, ei::pmul(gi, gi)));
    const Packet xi = ei::psub(
        ei::ploadu<Packet>(x + i),
        ei::pdiv(ei::pmul(step_p, mi), ei::padd(ei::pmul(ei::psqrt(vi), inv_sqrt_c2_p), eps)));
    ei::pstoreu(m + i, mi);
    ei::pstoreu(v + i, vi);
    ei::pstoreu(out + i, xi);
    probe = ei::padd(
        probe, ei::padd(ei::pmul(gi, zero), ei::padd(ei::pmul(xi, zero), ei::pmul(vi, zero))));
  }
  Scalar tail_probe = 0;
  for (; i < len; ++i) {  // the entries past the last whole packet: the same arithmetic
    const Scalar gi = g[i];
    m[i] = beta1_ * m0[i] + (1 - beta1_) * gi;
    v[i] = beta2_ * v0[i] + (1 - beta2_) * (gi * gi);
    out[i] = x[i] - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps_);
    tail_probe += gi * 0 + out[i] * 0 + v[i] * 0;
  }
  c.probe = ei::predux(probe) + tail_probe;
  c.checked = true;
}

Scalar Adam::update_one(State& s, Scalar x, Scalar g, Scalar lr) {
  // update()'s arithmetic for one entry (its loop past the last whole packet).
  const Scalar step = lr / c1_;
  const Scalar m = beta1_ * s.m()[0] + (1 - beta1_) * g;
  const Scalar v = beta2_ * s.v()[0] + (1 - beta2_) * (g * g);
  s.m_next()[0] = m;
  s.v_next()[0] = v;
  return x - step * m / (std::sqrt(v) * inv_sqrt_c2_ + eps_);
}

ClippedAdam::ClippedAdam(Scalar lr, Scalar clip_norm, Scalar lrd, Scalar beta1, Scalar beta2,
                         Scalar eps)
    : Adam(lr, beta1, beta2, eps), clip_norm_(clip_norm) {
  set_schedule([lr, lrd](std::int64_t step) { return lr * std::pow(lrd, Scalar(step)); });
}

void ClippedAdam::update(State& s, Chunk& c, Scalar lr) {
  alignas(64) Scalar buffer[kChunk];
  Eigen::Map<Column> clipped(buffer, c.g.size());
  clipped = c.g.max(-clip_norm_).min(clip_norm_);
  Chunk d{c.first, c.x, Eigen::Map<const Column>(buffer, c.g.size()), c.out};
  Adam::update(s, d, lr);
  // Adam's probe saw the clipped gradient, in which a NaN of the gradient need not survive.
  c.probe = d.probe + zero_products(c.g);
  c.checked = true;
}

Scalar ClippedAdam::update_one(State& s, Scalar x, Scalar g, Scalar lr) {
  // update()'s clipping of one entry (a NaN gradient fails update_entry's probe).
  return Adam::update_one(s, x, std::min(std::max(g, -clip_norm_), clip_norm_), lr);
}

SGD::SGD(Scalar lr, Scalar momentum) : Optimizer(lr), momentum_(momentum) {}

void SGD::init_state(State& s, Index size) {
  if (momentum_ != 0) {
    s.keep_moments(true, false, size);
  }
}

void SGD::update(State& s, Chunk& c, Scalar lr) {
  if (momentum_ == 0) {
    c.out = c.x - lr * c.g;
    return;
  }
  // torch: the first step's velocity is the gradient itself.
  auto m = s.m_next().segment(c.first, c.x.size());
  if (s.t == 1) {
    m = c.g;
  } else {
    m = momentum_ * s.m().segment(c.first, c.x.size()) + c.g;
  }
  c.out = c.x - lr * m;
}

RMSProp::RMSProp(Scalar lr, Scalar alpha, Scalar eps) : Optimizer(lr), alpha_(alpha), eps_(eps) {}

void RMSProp::init_state(State& s, Index size) { s.keep_moments(false, true, size); }

void RMSProp::update(State& s, Chunk& c, Scalar lr) {
  auto v = s.v_next().segment(c.first, c.x.size());
  v = alpha_ * s.v().segment(c.first, c.x.size()) + (1 - alpha_) * c.g.square();
  c.out = c.x - lr * c.g / (v.sqrt() + eps_);
}

Adagrad::Adagrad(Scalar lr, Scalar eps) : Optimizer(lr), eps_(eps) {}

void Adagrad::init_state(State& s, Index size) { s.keep_moments(false, true, size); }

void Adagrad::update(State& s, Chunk& c, Scalar lr) {
  auto v = s.v_next().segment(c.first, c.x.size());
  v = s.v().segment(c.first, c.x.size()) + c.g.square();
  c.out = c.x - lr * c.g / (v.sqrt() + eps_);
}

}  // namespace vesta
