// The Distribution interface: what the effect-handler engine asks of any distribution (draw,
// score, shape). It lives in core because `sample` speaks it; the families implement it in
// distributions/.
#pragma once

#include <memory>
#include <string>

#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// A probability distribution over rows x cols Tensors.
///
/// Shapes, in vesta's 2-D world: one draw is a `rows() x cols()` Tensor. `event_dim()` says
/// how much of it is one joint event, the rest being independent batch entries:
/// - 0: every element is its own event; log_prob has the value's shape;
/// - 1: each row is one event (of `cols()` elements); log_prob is rows x 1;
/// - 2: the whole matrix is one event; log_prob is 1x1.
/// The batch shape is what log_prob returns; plates index its rows (and columns).
class Distribution {
 public:
  virtual ~Distribution() = default;

  /// The family's name, for messages and site tables: "Normal".
  virtual std::string name() const = 0;
  /// Shape of one draw.
  virtual Index rows() const = 0;
  virtual Index cols() const = 0;
  virtual int event_dim() const { return 0; }
  /// Shape of log_prob for a value of the draw's shape.
  Index batch_rows() const { return event_dim() >= 2 ? 1 : rows(); }
  Index batch_cols() const { return event_dim() >= 1 ? 1 : cols(); }

  /// True when rsample() gives draws differentiable with respect to the parameters.
  virtual bool has_rsample() const { return false; }
  /// A reparameterised draw: differentiable in the parameters. Throws unless has_rsample().
  virtual Tensor rsample(Rng& rng) const;
  /// A draw, not differentiated (the default detaches rsample()).
  virtual Tensor sample(Rng& rng) const;
  /// log density (or mass) of `value`, one entry per batch element. `value` may broadcast
  /// against the batch shape.
  virtual Tensor log_prob(const Tensor& value) const = 0;

  /// True when log_prob does not score the value but returns a term folded into the
  /// objective, such as minus a KL divergence (Pyro's HiddenLayer). Inference does not warn
  /// when such a site is in the model but not the guide.
  virtual bool log_prob_is_folded_term() const { return false; }

  /// The same family with batch shape broadcast to rows x cols (Pyro's expand): used when a
  /// site inside a plate has size 1 along the plate's dimension.
  virtual std::shared_ptr<const Distribution> expand(Index rows, Index cols) const;

  /// "Normal(3x1)", for messages.
  std::string describe() const;
};

using DistributionPtr = std::shared_ptr<const Distribution>;

}  // namespace vesta
