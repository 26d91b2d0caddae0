// The Distribution interface: what the effect-handler engine asks of any distribution (draw,
// score, shape). It lives in core because `sample` speaks it; the families implement it in
// distributions/.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <string>

#include <vesta/core/constraints.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

namespace detail {
inline std::atomic<bool> validation{true};  // see validation_enabled
}  // namespace detail
/// Whether distributions check their parameters and the values they score (default: on,
/// as in Pyro). Turning it off saves the checks' time in tuned code.
inline bool validation_enabled() { return detail::validation.load(std::memory_order_relaxed); }
/// Turns validation on or off for every thread.
void set_validation(bool enabled);

/// \class Distribution
/// A probability distribution over rows x cols Tensors.
///
/// Shapes, in vesta's 2-D world: one draw is a `rows() x cols()` Tensor. `event_dim()` says
/// how much of it is one joint event, the rest being independent batch entries:
/// - 0: every element is its own event; log_prob has the value's shape;
/// - 1: each row is one event (of `cols()` elements); log_prob is rows x 1;
/// - 2: the whole matrix is one event; log_prob is 1x1.
/// The batch shape is what log_prob returns; plates index its rows (and columns).
class Distribution;
using DistributionPtr = std::shared_ptr<const Distribution>;

class Distribution {
 public:
  virtual ~Distribution() = default;

  /// The family's name, for messages and site tables: "Normal".
  virtual std::string name() const = 0;
  /// A copy (families get it from Family<D>, below).
  virtual DistributionPtr clone() const = 0;
  /// Shape of one draw.
  virtual Index rows() const = 0;
  /// Columns of one draw.
  virtual Index cols() const = 0;
  /// How much of a draw is one event: 0 (each entry), 1 (each row) or 2 (the whole draw).
  virtual int event_dim() const { return 0; }
  /// Shape of log_prob for a value of the draw's shape.
  Index batch_rows() const { return event_dim() >= 2 ? 1 : rows(); }
  /// Columns of the batch shape (1 when each row is one event).
  Index batch_cols() const { return event_dim() >= 1 ? 1 : cols(); }

  /// The set of values with positive density (for a value check and for autoguides).
  virtual ConstraintPtr support() const = 0;

  /// True when rsample() gives draws differentiable with respect to the parameters.
  virtual bool has_rsample() const { return false; }
  /// A reparameterised draw: differentiable in the parameters. Throws unless has_rsample().
  Tensor rsample(Rng& rng) const {
    check_args();
    return rsample_impl(rng);
  }
  /// A draw, not differentiated (the default detaches rsample()).
  Tensor sample(Rng& rng) const {
    check_args();
    return sample_impl(rng);
  }
  /// log density (or mass) of `value`, one entry per batch element. `value` may broadcast
  /// against the batch shape. With validation on, a value outside the support throws.
  Tensor log_prob(const Tensor& value) const {
    check_args();
    return log_prob_impl(value);
  }

  /// Mean, variance (per element, the draw's shape) and entropy (batch shape), where they
  /// have a closed form; otherwise these throw naming the family.
  Tensor mean() const {
    check_args();
    return mean_impl();
  }
  /// The variance of each entry (the draw's shape), where it has a closed form.
  Tensor variance() const {
    check_args();
    return variance_impl();
  }
  /// The entropy (batch shape), where it has a closed form.
  Tensor entropy() const {
    check_args();
    return entropy_impl();
  }

  /// With validation on, throws the first invalid parameter found when the distribution was
  /// made (an ArgumentError, or the family's ValueError). Every draw and score calls it, so
  /// an invalid distribution never computes; `sample` calls it first, so that the error
  /// names the site ("guide site 'w' (param 'w_scale'): Normal: scale[1] is inf, ...").
  void check_args() const {
    if (invalid_) [[unlikely]] {
      throw_invalid_args();
    }
  }

  /// True when log_prob does not score the value but returns a term folded into the
  /// objective, such as minus a KL divergence (Pyro's HiddenLayer). Inference does not warn
  /// when such a site is in the model but not the guide, and a guide's folded term scores
  /// nothing.
  virtual bool log_prob_is_folded_term() const { return false; }
  /// True when log_prob is one 1x1 term about global variables (a layer's weight KL): it
  /// counts once for the whole data set wherever the site sits, so the subsample scale and
  /// per-entry masks of the plates around it do not apply (an explicit scale handler, as in
  /// KL annealing, and a 1x1 mask still do). Implies log_prob_is_folded_term().
  virtual bool log_prob_is_global_term() const { return false; }

  /// Whether the support is a finite set that can be listed (Pyro's has_enumerate_support):
  /// Bernoulli and Categorical. Such a site can be summed out by enumeration.
  virtual bool has_enumerate_support() const { return false; }
  /// The values of the support, as a 1 x K row (every batch entry takes one of them). Throws
  /// naming the family when the support is not finite.
  virtual Tensor enumerate_support() const;
  /// log p of every value of the support for every batch entry: batch_rows() x K, column k
  /// for the k-th value of enumerate_support(), or 1 x K when every batch entry has the same
  /// parameters (a plate broadcast them). Needs batch_cols() == 1.
  Tensor enumerate_log_prob() const {
    check_args();
    return enumerate_log_prob_impl();
  }

  /// The same family with batch shape broadcast to rows x cols (Pyro's expand): used when a
  /// site inside a plate has size 1 along the plate's dimension.
  virtual DistributionPtr expand(Index rows, Index cols) const;

  /// This distribution with its `n` rightmost batch dimensions (columns, then rows) treated
  /// as one event, so log_prob sums over them (Pyro's to_event, an Independent).
  DistributionPtr to_event(int n = 1) const;

  /// "Normal(3x1)", for messages.
  std::string describe() const;

 protected:
  /// What each family implements (see the public functions of the same name, which check
  /// the parameters first).
  virtual Tensor rsample_impl(Rng& rng) const;
  /// A draw without a gradient; by default rsample_impl() detached.
  virtual Tensor sample_impl(Rng& rng) const;
  /// The log-density (or mass) of `value`, in the batch shape.
  virtual Tensor log_prob_impl(const Tensor& value) const = 0;
  /// The mean; by default a ValueError naming the family.
  virtual Tensor mean_impl() const;
  /// The variance; by default a ValueError naming the family.
  virtual Tensor variance_impl() const;
  /// The entropy; by default a ValueError naming the family.
  virtual Tensor entropy_impl() const;
  /// The default scores each value of enumerate_support() with log_prob and puts the
  /// columns side by side; a family may compute the table at once.
  virtual Tensor enumerate_log_prob_impl() const;

  /// Runs a constructor's parameter checks while validation is on. Outside a model run (no
  /// handler active) a failed check throws at once, as Pyro's does. Inside one, the
  /// ValueError is kept and check_args() throws it when the distribution is used, where the
  /// site that uses it names itself in the message.
  template <class Checks>
  void validate_args(Checks&& checks) {
    if (!validation_enabled()) return;
    if (!inside_model_run()) {
      checks();
      return;
    }
    try {
      checks();
    } catch (const ValueError&) {
      keep_invalid_args(std::current_exception());
    }
  }

  /// With validation on, throws ValueError naming the family, the entry and the value when
  /// `value` is outside support(): "Exponential: value[3] is -1, but must be in positive".
  void validate_sample(const Tensor& value) const;

 private:
  static bool inside_model_run();
  void keep_invalid_args(std::exception_ptr error);
  [[noreturn]] void throw_invalid_args() const;

  std::exception_ptr invalid_;  // the first failed parameter check, if any
};

/// A distribution parameter outside what the family accepts: a ValueError that also holds
/// the offending argument, so that a site can say which param it came from.
class ArgumentError : public ValueError {
 public:
  /// `message` says what is wrong; `argument` is the Tensor that was rejected.
  ArgumentError(const std::string& message, Tensor argument)
      : ValueError(message), argument_(std::move(argument)) {}
  /// The argument that was rejected.
  const Tensor& argument() const { return argument_; }

 private:
  Tensor argument_;
};

/// A term with one entry per event of dimension `from_dim` (log_prob, entropy, a
/// log-Jacobian), summed to one entry per event of dimension `to_dim` (>= from_dim).
Tensor sum_event_dims(const Tensor& t, int from_dim, int to_dim);

/// Base of a family D: supplies clone().
template <class D>
class Family : public Distribution {
 public:
  /// A copy of this distribution, of the derived family's type.
  DistributionPtr clone() const override {
    return std::make_shared<D>(static_cast<const D&>(*this));
  }
};

/// Pyro's Independent, made by to_event(n): the base distribution with `n` more of its batch
/// dimensions (columns first, then rows) counted as one event, so log_prob and entropy sum
/// over them.
class Independent final : public Family<Independent> {
 public:
  /// `base` with its `n` (1 or 2) rightmost batch dimensions made part of the event.
  Independent(DistributionPtr base, int n);
  std::string name() const override { return "Independent(" + base_->name() + ")"; }
  Index rows() const override { return base_->rows(); }
  Index cols() const override { return base_->cols(); }
  int event_dim() const override { return base_->event_dim() + n_; }
  ConstraintPtr support() const override { return base_->support(); }
  bool has_rsample() const override { return base_->has_rsample(); }
  bool log_prob_is_folded_term() const override { return base_->log_prob_is_folded_term(); }
  bool log_prob_is_global_term() const override { return base_->log_prob_is_global_term(); }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The distribution whose batch dimensions are reinterpreted.
  const DistributionPtr& base() const { return base_; }
  /// How many batch dimensions were moved into the event.
  int reinterpreted_dims() const { return n_; }
  /// Sums a batch-shaped term of the base (log_prob, entropy, KL) over the reinterpreted
  /// dimensions.
  Tensor reduce(const Tensor& t) const;

 protected:
  Tensor rsample_impl(Rng& rng) const override { return base_->rsample(rng); }
  Tensor sample_impl(Rng& rng) const override { return base_->sample(rng); }
  Tensor log_prob_impl(const Tensor& value) const override {
    return reduce(base_->log_prob(value));
  }
  Tensor mean_impl() const override { return base_->mean(); }
  Tensor variance_impl() const override { return base_->variance(); }
  Tensor entropy_impl() const override { return reduce(base_->entropy()); }

 private:
  DistributionPtr base_;
  int n_;
};

}  // namespace vesta
