// Site: the message that a primitive (sample, param, plate, deterministic) sends through the
// handler stack, and that a Trace records. Pyro calls it a message ("msg"). Like Pyro's, it
// carries its primitive's default behaviour (`fn`), which apply_stack runs between the
// handlers' process and postprocess: each primitive's story is told in its own file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vesta/core/distribution.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

class Constraint;

enum class SiteKind : std::uint8_t { sample, param, plate, deterministic };

/// "sample", "param", ...
const char* to_string(SiteKind kind);

/// Which dimension of a site's batch shape a plate indexes.
enum class PlateDim { rows, cols };

/// One enclosing plate, as recorded on a site: the sites inside it are conditionally
/// independent along `dim`, of which this run sees `subsample_size` of `size` entries.
struct PlateFrame {
  std::string name;      ///< The plate's name.
  Index size;            ///< Number of entries of the full dimension.
  Index subsample_size;  ///< Number of entries this run sees.
  PlateDim dim;          ///< The dimension the plate indexes.
  /// The site's distribution had one entry along `dim` and the plate broadcast it to
  /// subsample_size (so a value must have subsample_size entries there, not 1).
  bool broadcast = false;
};

using ParamInit = std::function<Matrix()>;

/// What a param site asks for, should the parameter not exist yet: its initial (constrained)
/// value, given as a value or as a function making one, and its constraint. The param
/// primitive keeps it while the site is processed (see Site::param).
struct ParamRequest {
  const ConstMatrixMap* init = nullptr;  ///< The initial constrained value, if given as one.
  const ParamInit* init_fn = nullptr;    ///< The function making it, if given instead.
  std::shared_ptr<const Constraint> constraint;  ///< The constraint (null: real).
};

/// What few sites carry: a per-entry mask, a plate's sizes and indices, a markov chain's step,
/// a seed handler's generator. Kept out of a Site's record (see Site::extras) so that the record
/// of an ordinary site stays small: a step records every site, and a model of many sites walks
/// its traces' records several times a step.
struct SiteExtras {
  /// Per-entry mask of the log_prob (empty: keep all); see masked_scaled_sum in trace.hpp.
  Tensor mask;
  // plate: size, subsample size and the indices this run uses (drawn, or replayed).
  Index plate_size = 0;        ///< plate: number of entries of the full dimension.
  Index subsample_size = 0;    ///< plate: number of entries this run sees.
  std::vector<Index> indices;  ///< plate: the indices of the entries this run sees.
  /// The site's step in its markov chain (-1: none).
  Index markov_step = -1;
  /// The markov chain the site is in (empty: none; see markov.hpp).
  std::string markov_chain;
  /// Where a draw comes from when a seed handler provides it (else the thread's generator).
  std::optional<Rng> rng;
};

namespace detail {
/// An owned, optional T that copies with its owner (a copy of the owner gets a copy of the T),
/// so that a struct holding one keeps its implicit copy and move.
template <class T>
class CopiedPtr {
 public:
  CopiedPtr() = default;
  CopiedPtr(const CopiedPtr& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  CopiedPtr(CopiedPtr&&) noexcept = default;
  CopiedPtr& operator=(const CopiedPtr& other) {
    if (!other.p_) {
      p_.reset();
    } else if (p_) {
      *p_ = *other.p_;  // reuses the memory of the members (vectors, strings)
    } else {
      p_ = std::make_unique<T>(*other.p_);
    }
    return *this;
  }
  CopiedPtr& operator=(CopiedPtr&&) noexcept = default;
  ~CopiedPtr() = default;

  /// The T, or null.
  T* get() const { return p_.get(); }
  /// The T, made (default) on first use.
  T& make() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }

 private:
  std::unique_ptr<T> p_;
};
}  // namespace detail

/// The message a primitive sends through the handler stack and a Trace records (Pyro's msg).
///
/// The members are in the order every step reads them: what a pass over a trace looks at for
/// each site (kind, flags, name, distribution, value, weight, log_prob, plates) comes first, in
/// the first three cache lines, then a param's; what only masks, plates, markov chains and seeds
/// use is out of line (extras()). A model of many small sites touches each site's record several
/// times a step, and with more sites than the cache holds, every byte of it costs.
struct Site {
  SiteKind kind = SiteKind::sample;  ///< What kind of primitive sent it.
  bool observed = false;  ///< Whether the value was observed (given as data or by condition).
  /// A guide-only latent from which other guide sites are computed (an autoguide's joint
  /// draw): scored with the guide, but never looked for in the model.
  bool auxiliary = false;
  /// False when a 1x1 mask of 0 drops the whole term (see SiteExtras::mask).
  bool keep = true;
  /// Set by a handler (block) to keep the site from the handlers outside it.
  bool stop = false;
  /// A discrete sample site marked to be summed out exactly rather than drawn (Pyro's
  /// infer={"enumerate": "parallel"}); see inference/enumeration.hpp.
  bool enumerate = false;
  /// The value holds every value of the support side by side (a 1 x W row, see DESIGN.md)
  /// and log_prob the log-probability of each, rather than one draw: set by EnumMessenger.
  bool enumerated = false;
  /// The primitive's default behaviour (draw a sample, read a param, choose a plate's
  /// subsample), run after every handler's process(): it fills in what no handler did.
  void (*fn)(Site&) = nullptr;
  std::string name;  ///< The site's name, unique in a run.

  // sample: the distribution and the value drawn, replayed or observed.
  DistributionPtr dist;  ///< The distribution of a sample site.
  Tensor value;          ///< The value: drawn, replayed, conditioned or observed.

  // How inference weighs the site's term (see term_scale and masked_scaled_sum in trace.hpp):
  // `scale` is the product of the enclosing scale handlers (plates add their subsample
  // factor from `frames`); the mask (extras().mask; empty: keep all) zeroes the entries where
  // it is 0, and `keep` (above) is false when a 1x1 mask of 0 drops the whole term.
  Scalar scale = 1;  ///< Product of the enclosing scale handlers.
  /// log_prob of the value (batch shape), computed once by a Trace (empty until then).
  mutable Tensor log_prob;
  std::vector<PlateFrame> frames;  ///< The enclosing plates, innermost first.

  /// param: the initial value and constraint the primitive was given, used if the parameter
  /// does not exist yet; set while the site is processed, null in a Trace's record. One pointer
  /// rather than the three members: every record of every site has room for it.
  const ParamRequest* param = nullptr;

  /// What few sites carry (a mask, a plate's indices, a markov step, a seed's generator); all
  /// empty when the site has none.
  const SiteExtras& extras() const {
    static const SiteExtras none;
    const SiteExtras* e = extras_.get();
    return e != nullptr ? *e : none;
  }
  /// The extras, to set one (made on first use).
  SiteExtras& set_extras() { return extras_.make(); }
  /// Whether any extra was set.
  bool has_extras() const { return extras_.get() != nullptr; }
  /// Copies `other`'s extras over this site's (reusing their memory).
  void copy_extras(const Site& other) { extras_ = other.extras_; }

  /// Whether this is a sample site.
  bool is_sample() const { return kind == SiteKind::sample; }
  /// A sample site whose log_prob is one term about global variables (a weight KL): it
  /// counts once for the whole data set, whatever plates enclose it (see
  /// Distribution::log_prob_is_global_term).
  bool is_global_term() const { return is_sample() && dist->log_prob_is_global_term(); }
  /// "sample 'z'", "param 'loc'": how messages name the site.
  std::string describe() const;
  /// Where the site's draw comes from: the generator a seed handler gave it, else the thread's.
  Rng& rng();

 private:
  detail::CopiedPtr<SiteExtras> extras_;
};

}  // namespace vesta
