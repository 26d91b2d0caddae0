// Site: the message that a primitive (sample, param, plate, factor, deterministic) sends
// through the handler stack, and that a Trace records. Pyro calls it a message ("msg").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vesta/core/distribution.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

class Constraint;

enum class SiteKind { sample, param, plate, deterministic };

/// "sample", "param", ...
const char* to_string(SiteKind kind);

/// Which dimension of a site's batch shape a plate indexes.
enum class PlateDim { rows, cols };

/// One enclosing plate, as recorded on a site: the sites inside it are conditionally
/// independent along `dim`, of which this run sees `subsample_size` of `size` entries.
struct PlateFrame {
  std::string name;
  Index size;
  Index subsample_size;
  PlateDim dim;
};

struct Site {
  SiteKind kind = SiteKind::sample;
  std::string name;

  // sample: the distribution and the value drawn, replayed or observed.
  DistributionPtr dist;
  Tensor value;
  bool observed = false;
  /// A guide-only latent from which other guide sites are computed (an autoguide's joint
  /// draw): scored with the guide, but never looked for in the model.
  bool auxiliary = false;
  /// Where a draw comes from when a seed handler provides it (else the thread's generator).
  std::optional<Rng> rng;

  // The log-probability's weight: scale multiplies it (plate subsampling, the scale
  // handler); mask (empty: keep all) zeroes entries where it is 0.
  Scalar scale = 1;
  Tensor mask;
  std::vector<PlateFrame> frames;

  // param: the initial (constrained) value and the constraint, used on first creation.
  Tensor init;
  std::shared_ptr<const Constraint> constraint;

  // plate: size, subsample size and the indices this run uses (drawn, or replayed).
  Index plate_size = 0;
  Index subsample_size = 0;
  std::vector<Index> indices;

  /// Set by a handler (block) to keep the site from the handlers outside it.
  bool stop = false;

  /// log_prob of the value (batch shape), computed once by a Trace.
  mutable std::optional<Tensor> log_prob;

  bool is_sample() const { return kind == SiteKind::sample; }
};

}  // namespace vesta
