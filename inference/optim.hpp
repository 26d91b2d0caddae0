// Optimizers over the ParamStore's unconstrained leaves (as Pyro's optim wrappers of
// torch.optim): Adam, ClippedAdam, SGD with momentum, RMSProp, Adagrad, with learning-rate
// schedules and gradient-norm clipping. State is kept per parameter name, so parameters
// first seen mid-training simply join.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include <vesta/core/param_store.hpp>

namespace vesta {

/// Learning rate as a function of the step count (0 for the first step).
using LearningRateSchedule = std::function<Scalar(std::int64_t step)>;

namespace schedules {
/// lr * gamma^floor(step / step_size).
LearningRateSchedule step_decay(Scalar lr, std::int64_t step_size, Scalar gamma);
/// lr * gamma^step.
LearningRateSchedule exponential_decay(Scalar lr, Scalar gamma);
}  // namespace schedules

/// Base of the optimizers: holds the learning rate and its schedule, per-parameter state, gradient
/// clipping, and the finite-update check; step() updates every parameter that has a gradient.
class Optimizer {
 public:
  /// Params of at most this many entries (a model of many scalar sites) are checked in plain
  /// loops: Eigen's vectorised expressions cost more to set up than to run.
  static constexpr Index kSmallParam = 8;
  virtual ~Optimizer() = default;

  /// Updates every parameter of `store` whose gradient holds values (the others, unused
  /// since the last step, are left alone), then zeroes the gradients. The step is all or
  /// nothing: all gradients are checked first (a NaN or infinite entry throws ValueError
  /// naming the parameter and the entry), then every new value is computed and checked (an
  /// update that would make a value non-finite, a diverging run, throws naming the parameter
  /// and the entry), and only then are the values and the optimizer's state replaced. A
  /// throw leaves every parameter and the state as they were, so the store never holds a NaN;
  /// it also clears every gradient, so a caller that recovers does not carry this step's
  /// gradients into the next. An optimizer belongs to one thread at a time: a step while
  /// another thread's step runs throws ConcurrentUseError.
  void step(ParamStore& store = param_store());

  /// Replaces the constant learning rate by a schedule.
  void set_schedule(LearningRateSchedule schedule) { schedule_ = std::move(schedule); }
  /// Scales all gradients together so that their joint L2 norm is at most max_norm.
  void clip_grad_norm(Scalar max_norm) { max_grad_norm_ = max_norm; }
  /// The learning rate the next step will use.
  Scalar learning_rate() const { return schedule_(steps_); }
  /// Number of steps taken.
  std::int64_t steps() const { return steps_; }

  /// Writes the optimizer's state into `out` as real-valued entries named under `prefix`: the
  /// step count, and per parameter its update count and moments. Saved beside the parameters
  /// (ParamStore::save), it lets a run resume exactly where it stopped (a training
  /// checkpoint).
  void save_state(ParamStore& out, const std::string& prefix) const;
  /// Replaces the optimizer's state by the one save_state wrote under `prefix` in `in`.
  /// Throws ValueError if `in` holds none, or a malformed one.
  void load_state(const ParamStore& in, const std::string& prefix);

 protected:
  /// An optimizer with learning rate `lr`.
  explicit Optimizer(Scalar lr);

  /// Per-parameter state: moment estimates (sized by the optimizer's first update of the
  /// parameter) and the number of updates the parameter has had, this one included.
  using Column = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  /// Per-parameter state: moments and step count.
  struct State {
    /// The first moment (or momentum) and the second, as the optimizer keeps them (empty
    /// when it keeps none), and the moments being computed (exchanged with them when the step
    /// commits). One block holds all four side by side: a model of many small params reads
    /// one stretch of memory per param and step, not four.
    /// @{
    Eigen::Map<Column> m() { return moment(current_, 0); }
    Eigen::Map<Column> v() { return moment(current_, 1); }
    Eigen::Map<Column> m_next() { return moment(1 - current_, 0); }
    Eigen::Map<Column> v_next() { return moment(1 - current_, 1); }
    Eigen::Map<const Column> m() const { return moment(current_, 0); }
    Eigen::Map<const Column> v() const { return moment(current_, 1); }
    /// @}
    /// Makes the moments the optimizer keeps (`with_m`, `with_v`) for `size` entries, all
    /// zero (init_state calls it).
    void keep_moments(bool with_m, bool with_v, Index size);
    /// The moments computed become the moments (the step commits).
    void commit_moments() { current_ = 1 - current_; }

    /// Where the new values are computed before they are exchanged with the param's: a
    /// param of one entry (a scalar site's) keeps its new value here, not in a Matrix of its
    /// own (x_next then stays empty).
    Scalar* next_values(Index size) { return size == 1 ? &x_one : x_next.data(); }
    Matrix x_next;       ///< The new values being computed (exchanged with the param's).
    Scalar x_one = 0;    ///< The new value of a param of one entry.
    std::int64_t t = 0;  ///< Number of updates made.
    Index size = 0;      ///< of the parameter it was made for

   private:
    // [m | v] for the current moments, then the same for the ones being computed, or the
    // other way round (current_); a moment not kept takes no room. A scalar param's four
    // numbers are held in the state itself (small_), not in a block of their own.
    static constexpr Index kSmall = 4;
    Column block_;
    std::array<Scalar, kSmall> small_{};
    Index m_size_ = 0, v_size_ = 0;
    int current_ = 0;
    Scalar* base() { return 2 * (m_size_ + v_size_) <= kSmall ? small_.data() : block_.data(); }
    const Scalar* base() const {
      return 2 * (m_size_ + v_size_) <= kSmall ? small_.data() : block_.data();
    }
    Eigen::Map<Column> moment(int half, int which) {
      return {base() + half * (m_size_ + v_size_) + which * m_size_,
              which == 0 ? m_size_ : v_size_};
    }
    Eigen::Map<const Column> moment(int half, int which) const {
      return {base() + half * (m_size_ + v_size_) + which * m_size_,
              which == 0 ? m_size_ : v_size_};
    }
  };
  /// Entries per chunk of an update.
  static constexpr Index kChunk = 2048;
  /// One stretch of a parameter's update: the current values `x`, the gradient `g` and the
  /// moments at entries [first, first + x.size()). `out` receives the new values, and the
  /// state's m_next and v_next the new moments (read m and v, which stay as they were); both
  /// are committed only if every new value of the step is finite.
  struct Chunk {
    Index first;                 ///< Index of the chunk's first entry.
    Eigen::Map<const Column> x;  ///< The current values.
    Eigen::Map<const Column> g;  ///< The gradient.
    Eigen::Map<Column> out;      ///< The new values.
    /// Set by an update() that checks its own results as it computes them, in `probe`;
    /// otherwise the caller computes `probe` after update().
    bool checked = false;
    /// The sum of 0 y over the chunk's gradient, new values and new second moments: 0 exactly
    /// when all of them are finite.
    Scalar probe = 0;
  };
  /// Makes the state's moments (State::keep_moments) for a parameter of `size` entries (first
  /// update only).
  virtual void init_state(State& s, Index size) { (void)s, (void)size; }
  /// Computes one chunk of an update with learning rate `lr`.
  virtual void update(State& s, Chunk& c, Scalar lr) = 0;
  /// The new value of a param of one entry (a scalar site's): x with gradient g, its moments
  /// at entry 0 of s. A rule may give update()'s arithmetic for one entry without a chunk's
  /// set-up (it must be the same arithmetic); the default runs update() on a chunk of one.
  virtual Scalar update_one(State& s, Scalar x, Scalar g, Scalar lr);
  /// Called once per parameter and step, before its chunks' update() calls, which may then run
  /// on several threads at once (see set_num_threads): work that depends only on the state's
  /// step count (a bias correction) belongs here, not in update().
  virtual void begin_update(const State& s) { (void)s; }

 private:
  LearningRateSchedule schedule_;
  Scalar max_grad_norm_ = 0;  // 0: no clipping
  std::int64_t steps_ = 0;
  // The state of the param at each position of the store's entries, with its name: a step
  // finds a param's state without a lookup while the store keeps its order, and rearranges
  // the states by name when it does not (params erased, or another store).
  struct NamedState {
    std::string name;
    State state;
  };
  std::vector<NamedState> states_;
  // The store layout (ParamStore::layout) with which states_ was last known to be in the
  // store's order, entry for entry (0: none).
  std::uint64_t layout_ = 0;
  State& state_for(const ParamStore& store, std::size_t position);
  // The params that have a gradient in this step (a member, so a step allocates nothing).
  struct Item {
    std::size_t position;
    const std::string* name;
    const Tensor* leaf;
    Scalar* grad;  // leaf's gradient, as many entries as the leaf
    State* state;  // its state in states_, once every item's is in place
  };
  std::vector<Item> items_;
  void update_entries(State& s, const Item& it, const MatrixMap& x, Scalar lr);
  // The same for a param of one entry, whose value is x (update_one, then the probe).
  void update_entry(State& s, const Item& it, Scalar x, Scalar lr);
  // Throws naming the param, the entry and the cause of a non-finite gradient, moment or new
  // value among those update_entries computed.
  [[noreturn]] void report_non_finite(State& s, const Item& it, const MatrixMap& x, Scalar lr);
  // Throws naming the param and its first non-finite gradient entry, if it has one.
  static void check_gradient(const Item& it, Index size);
  // Set while a step runs: a step from a second thread at the same time is an error.
  struct BusyFlag {
    std::atomic<bool> on{false};
    BusyFlag() = default;
    BusyFlag(const BusyFlag&) {}
    BusyFlag& operator=(const BusyFlag&) { return *this; }
  };
  BusyFlag busy_;
};

/// Adam (Kingma & Ba 2015), with torch's defaults.
class Adam : public Optimizer {
 public:
  /// Adam with learning rate `lr`, moment decays `beta1` and `beta2`, and `eps`.
  explicit Adam(Scalar lr = Scalar(1e-3), Scalar beta1 = Scalar(0.9), Scalar beta2 = Scalar(0.999),
                Scalar eps = Scalar(1e-8));

 protected:
  void init_state(State& s, Index size) override;
  void update(State& s, Chunk& c, Scalar lr) override;
  Scalar update_one(State& s, Scalar x, Scalar g, Scalar lr) override;
  void begin_update(const State& s) override;
  /// Adam's hyperparameters.
  /// @{
  Scalar beta1_, beta2_, eps_;
  /// @}

 private:
  std::int64_t corrections_t_ = 0;  // the step count c1_ and inv_sqrt_c2_ were computed for
  Scalar c1_ = 1, inv_sqrt_c2_ = 1;
};

/// Pyro's ClippedAdam: each gradient entry clipped to [-clip_norm, clip_norm], and the
/// learning rate multiplied by lrd after every step.
class ClippedAdam : public Adam {
 public:
  /// ClippedAdam: Adam's arguments, plus `clip_norm` (per entry) and the decay `lrd` of the
  /// learning rate per step.
  explicit ClippedAdam(Scalar lr = Scalar(1e-3), Scalar clip_norm = 10, Scalar lrd = 1,
                       Scalar beta1 = Scalar(0.9), Scalar beta2 = Scalar(0.999),
                       Scalar eps = Scalar(1e-8));

 protected:
  void update(State& s, Chunk& c, Scalar lr) override;
  Scalar update_one(State& s, Scalar x, Scalar g, Scalar lr) override;

 private:
  Scalar clip_norm_;
};

/// Stochastic gradient descent with (heavy-ball) momentum, as torch.optim.SGD.
class SGD : public Optimizer {
 public:
  /// SGD with learning rate `lr` and heavy-ball `momentum`.
  explicit SGD(Scalar lr, Scalar momentum = 0);

 protected:
  void init_state(State& s, Index size) override;
  void update(State& s, Chunk& c, Scalar lr) override;

 private:
  Scalar momentum_;
};

/// RMSProp (Tieleman & Hinton 2012), as torch.optim.RMSprop.
class RMSProp : public Optimizer {
 public:
  /// RMSProp with learning rate `lr`, decay `alpha` of the squared-gradient average, and `eps`.
  explicit RMSProp(Scalar lr = Scalar(1e-2), Scalar alpha = Scalar(0.99),
                   Scalar eps = Scalar(1e-8));

 protected:
  void init_state(State& s, Index size) override;
  void update(State& s, Chunk& c, Scalar lr) override;

 private:
  Scalar alpha_, eps_;
};

/// Adagrad (Duchi et al. 2011), as torch.optim.Adagrad.
class Adagrad : public Optimizer {
 public:
  /// Adagrad with learning rate `lr` and `eps`.
  explicit Adagrad(Scalar lr = Scalar(1e-2), Scalar eps = Scalar(1e-10));

 protected:
  void init_state(State& s, Index size) override;
  void update(State& s, Chunk& c, Scalar lr) override;

 private:
  Scalar eps_;
};

}  // namespace vesta
