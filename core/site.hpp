// Site: the message that a primitive (sample, param, plate, deterministic) sends through the
// handler stack, and that a Trace records. Pyro calls it a message ("msg"). Like Pyro's, it
// carries its primitive's default behaviour (`fn`), which apply_stack runs between the
// handlers' process and postprocess: each primitive's story is told in its own file.
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
  /// The site's distribution had one entry along `dim` and the plate broadcast it to
  /// subsample_size (so a value must have subsample_size entries there, not 1).
  bool broadcast = false;
};

using ParamInit = std::function<Matrix()>;

struct Site {
  SiteKind kind = SiteKind::sample;
  std::string name;
  /// The primitive's default behaviour (draw a sample, read a param, choose a plate's
  /// subsample), run after every handler's process(): it fills in what no handler did.
  void (*fn)(Site&) = nullptr;

  // sample: the distribution and the value drawn, replayed or observed.
  DistributionPtr dist;
  Tensor value;
  bool observed = false;
  /// A guide-only latent from which other guide sites are computed (an autoguide's joint
  /// draw): scored with the guide, but never looked for in the model.
  bool auxiliary = false;
  /// Where a draw comes from when a seed handler provides it (else the thread's generator).
  std::optional<Rng> rng;

  // How inference weighs the site's term (see term_scale and masked_scaled_sum in trace.hpp):
  // `scale` is the product of the enclosing scale handlers (plates add their subsample
  // factor from `frames`); `mask` (empty: keep all) zeroes the entries where it is 0, and
  // `keep` is false when a 1x1 mask of 0 drops the whole term.
  Scalar scale = 1;
  Tensor mask;
  bool keep = true;
  std::vector<PlateFrame> frames;

  // param: the initial (constrained) value and the constraint, used on first creation. The
  // pointers are valid while the site is being processed.
  const Matrix* init = nullptr;
  const ParamInit* init_fn = nullptr;
  std::shared_ptr<const Constraint> constraint;

  // plate: size, subsample size and the indices this run uses (drawn, or replayed).
  Index plate_size = 0;
  Index subsample_size = 0;
  std::vector<Index> indices;

  // Enumeration (inference/enumeration.hpp): `enumerate` marks a discrete sample site to be
  // summed out exactly rather than drawn (Pyro's infer={"enumerate": "parallel"});
  // `enumerated` says that its value holds every value of its support side by side (a 1 x W
  // row, see DESIGN.md) and its log_prob the log-probability of each, rather than one draw.
  bool enumerate = false;
  bool enumerated = false;
  /// The markov chain the site is in (empty: none) and its step there (see markov.hpp).
  std::string markov_chain;
  Index markov_step = -1;

  /// Set by a handler (block) to keep the site from the handlers outside it.
  bool stop = false;

  /// log_prob of the value (batch shape), computed once by a Trace.
  mutable std::optional<Tensor> log_prob;

  bool is_sample() const { return kind == SiteKind::sample; }
  /// A sample site whose log_prob is one term about global variables (a weight KL): it
  /// counts once for the whole data set, whatever plates enclose it (see
  /// Distribution::log_prob_is_global_term).
  bool is_global_term() const { return is_sample() && dist->log_prob_is_global_term(); }
  /// "sample 'z'", "param 'loc'": how messages name the site.
  std::string describe() const;
};

}  // namespace vesta
