#include <vesta/inference/optim.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

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

void Optimizer::step(ParamStore& store) {
  // Gather the gradients and check them all before changing anything.
  // Gradients are read in place (no copies: this runs every SVI step).
  struct Item {
    const std::string* name;
    Tensor leaf;
    MatrixMap grad;
  };
  std::vector<Item> items;
  const std::vector<std::string> names = store.names();
  try {
    double squared_norm = 0;
    for (const std::string& name : names) {
      const Tensor& leaf = store.entry(name).unconstrained;
      if (!leaf.has_grad()) continue;  // not used since the last step: left as it is
      MatrixMap g = leaf.leaf_grad();
      // A NaN or infinite entry makes the (vectorised) squared norm non-finite, so the entries
      // are searched one by one only then; a finite one can overflow it too, and passes.
      const Scalar g_squared_norm = g.squaredNorm();
      if (!std::isfinite(g_squared_norm)) {
        for (Index k = 0; k < g.size(); ++k) {
          if (!std::isfinite(g.data()[k])) {
            throw ValueError(fmt::format(
                "optimizer: the gradient of param '{}' is {} at entry {} ({}); no parameter was "
                "updated",
                name, g.data()[k], entry_str(g.rows(), g.cols(), k), leaf.shape()));
          }
        }
      }
      squared_norm += static_cast<double>(g_squared_norm);
      items.push_back({&name, leaf, g});
    }
    if (max_grad_norm_ > 0) {
      const double norm = std::sqrt(squared_norm);
      if (norm > max_grad_norm_) {
        for (Item& it : items) it.grad *= static_cast<Scalar>(max_grad_norm_ / norm);
      }
    }
    const Scalar lr = schedule_(steps_);
    // In chunks that stay in the L1 cache, so that a large parameter's arrays are read from
    // memory once for the whole update; each chunk's new values are checked before they
    // replace the old.
    if (scratch_.size() < kChunk) scratch_.resize(kChunk);
    for (Item& it : items) {
      State& s = states_[*it.name];
      MatrixMap x = it.leaf.leaf_values();
      const Index n = x.size();
      if (s.t != 0 && s.size != n) s = State{};  // the param was made anew with another shape
      if (s.t == 0) {
        init_state(s, n);
        s.size = n;
      }
      ++s.t;
      for (Index first = 0; first < n; first += kChunk) {
        const Index len = std::min(kChunk, n - first);
        Chunk c{first, Eigen::Map<const Column>(x.data() + first, len),
                Eigen::Map<const Column>(it.grad.data() + first, len),
                Eigen::Map<Column>(scratch_.data(), len)};
        update(s, c, lr);
        if (!c.out.allFinite()) {
          for (Index k = 0; k < len; ++k) {
            if (std::isfinite(c.out(k))) continue;
            throw ValueError(
                fmt::format("optimizer: the update of param '{}' ({}) would make entry {} {} (its "
                            "gradient there "
                            "is {}, the learning rate {}); the run diverges: lower the learning "
                            "rate or clip the "
                            "gradients. The param keeps its last finite values",
                            *it.name, it.leaf.shape(), entry_str(x.rows(), x.cols(), first + k),
                            c.out(k), c.g(k), lr));
          }
        }
        Eigen::Map<Column>(x.data() + first, len) = c.out;
      }
      it.leaf.zero_grad();
    }
  } catch (...) {
    for (const std::string& name : names) store.entry(name).unconstrained.zero_grad();
    throw;
  }
  ++steps_;
}

Adam::Adam(Scalar lr, Scalar beta1, Scalar beta2, Scalar eps)
    : Optimizer(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {}

void Adam::init_state(State& s, Index size) {
  s.m = Column::Zero(size);
  s.v = Column::Zero(size);
}

void Adam::update(State& s, Chunk& c, Scalar lr) {
  // torch's form, x -= (lr / c1) m / (sqrt(v / c2) + eps) with the bias corrections c1 and
  // c2, with sqrt(v / c2) computed as sqrt(v) / sqrt(c2): one division per entry fewer.
  const Scalar step = lr / (1 - std::pow(beta1_, Scalar(s.t)));
  const Scalar inv_sqrt_c2 = 1 / std::sqrt(1 - std::pow(beta2_, Scalar(s.t)));
  const Index len = c.x.size();
  auto m = s.m.segment(c.first, len);
  auto v = s.v.segment(c.first, len);
  m = beta1_ * m + (1 - beta1_) * c.g;
  v = beta2_ * v + (1 - beta2_) * c.g.square();
  c.out = c.x - step * m / (v.sqrt() * inv_sqrt_c2 + eps_);
}

ClippedAdam::ClippedAdam(Scalar lr, Scalar clip_norm, Scalar lrd, Scalar beta1, Scalar beta2,
                         Scalar eps)
    : Adam(lr, beta1, beta2, eps), clip_norm_(clip_norm), lrd_(lrd) {
  set_schedule([lr, lrd](std::int64_t step) { return lr * std::pow(lrd, Scalar(step)); });
}

void ClippedAdam::update(State& s, Chunk& c, Scalar lr) {
  alignas(64) Scalar buffer[kChunk];
  Eigen::Map<Column> clipped(buffer, c.g.size());
  clipped = c.g.max(-clip_norm_).min(clip_norm_);
  Chunk d{c.first, c.x, Eigen::Map<const Column>(buffer, c.g.size()), c.out};
  Adam::update(s, d, lr);
}

SGD::SGD(Scalar lr, Scalar momentum) : Optimizer(lr), momentum_(momentum) {}

void SGD::init_state(State& s, Index size) {
  if (momentum_ != 0) s.m = Column::Zero(size);
}

void SGD::update(State& s, Chunk& c, Scalar lr) {
  if (momentum_ == 0) {
    c.out = c.x - lr * c.g;
    return;
  }
  // torch: the first step's velocity is the gradient itself.
  auto m = s.m.segment(c.first, c.x.size());
  if (s.t == 1) {
    m = c.g;
  } else {
    m = momentum_ * m + c.g;
  }
  c.out = c.x - lr * m;
}

RMSProp::RMSProp(Scalar lr, Scalar alpha, Scalar eps) : Optimizer(lr), alpha_(alpha), eps_(eps) {}

void RMSProp::init_state(State& s, Index size) { s.v = Column::Zero(size); }

void RMSProp::update(State& s, Chunk& c, Scalar lr) {
  auto v = s.v.segment(c.first, c.x.size());
  v = alpha_ * v + (1 - alpha_) * c.g.square();
  c.out = c.x - lr * c.g / (v.sqrt() + eps_);
}

Adagrad::Adagrad(Scalar lr, Scalar eps) : Optimizer(lr), eps_(eps) {}

void Adagrad::init_state(State& s, Index size) { s.v = Column::Zero(size); }

void Adagrad::update(State& s, Chunk& c, Scalar lr) {
  auto v = s.v.segment(c.first, c.x.size());
  v += c.g.square();
  c.out = c.x - lr * c.g / (v.sqrt() + eps_);
}

}  // namespace vesta
