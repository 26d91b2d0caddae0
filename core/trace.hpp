// Trace: the record of one run of a model, its sites in order, each with its value and
// (computed once, on demand) its log-probability. The trace handler that fills one is in
// <vesta/core/handlers/trace.hpp>. Also here: how a site's term is weighed (its scale and
// mask), the one rule every estimator uses.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vesta/core/name_index.hpp>
#include <vesta/core/site.hpp>

namespace vesta {

/// The record of one run of a program: its sites in order, each with its value and, computed once
/// on demand, its log-probability.
class Trace {
 public:
  /// An empty trace; `program` ("model", "guide") names it in error messages.
  explicit Trace(std::string program = {}) : program_(std::move(program)) {}
  /// A copy of the sites (not of the memory kept for reuse).
  Trace(const Trace& other);
  /// Copies the sites (not the memory kept for reuse).
  Trace& operator=(const Trace& other);
  /// Moves the trace (`other` is left empty).
  Trace(Trace&& other) noexcept;
  /// Moves the trace (`other` is left empty).
  Trace& operator=(Trace&& other) noexcept;

  /// Appends a copy of `site`. A sample or deterministic site whose name is already taken is
  /// an error naming it; a plate entered again keeps its first record; a param read again is
  /// recorded once.
  void add(const Site& site);
  /// Forgets every site but keeps the memory, for a trace filled anew every step; `program`
  /// names it from now on. Each site recorded next is copied over the earlier run's site in
  /// its place, which is let go of then (see drop_unused()).
  void clear(std::string program);
  /// Lets go of the earlier run's sites that this run has not overwritten (it recorded
  /// fewer), and of what they refer to (values, distributions). The trace handler calls it
  /// when its scope ends, so a trace between runs holds its own sites only.
  void drop_unused();

  /// Whether a site named `name` was recorded.
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  /// The site `name`; throws naming it if there is none.
  const Site& site(const std::string& name) const;
  /// The site `name` (see site()).
  const Site& operator[](const std::string& name) const { return site(name); }
  /// The site `name`, or null.
  const Site* find(const std::string& name) const;
  /// All sites, in the order they were recorded.
  std::span<const Site> sites() const { return {sites_.data(), size_}; }
  /// Number of sites.
  std::size_t size() const { return size_; }
  /// "model", "guide", or empty.
  const std::string& program() const { return program_; }

  /// log_prob of sample site `name` (its batch shape, before scale and mask), computed on
  /// first use and cached. An error names the site (and the program).
  const Tensor& log_prob(const std::string& name) const;
  /// The same for one of this trace's sites.
  const Tensor& log_prob(const Site& site) const;
  /// Computes every sample site's log_prob now.
  void compute_log_prob() const;
  /// The sum over sample sites (those `keep` accepts, if given) of their weighed log_prob
  /// (masked_scaled_sum): the log-joint of the run (1x1).
  Tensor log_prob_sum(const std::function<bool(const Site&)>& keep = nullptr) const;
  /// One site's term of log_prob_sum (1x1): masked_scaled_sum(site, log_prob).
  Tensor scaled_log_prob_sum(const Site& site) const;

  /// Names of the sample sites that were drawn (not observed), in order.
  std::vector<std::string> stochastic_nodes() const;
  /// Names of the observed sample sites, in order.
  std::vector<std::string> observation_nodes() const;

  /// A table of the sites for reading: name, kind, distribution, shape, observed, scale and
  /// the summed log_prob of each sample site.
  std::string format() const;

 private:
  std::string program_;
  // The first size_ slots are the sites. clear() keeps the slots, and a trace filled anew
  // every step copies each site over the earlier run's site in its slot: no Site is
  // constructed or destroyed, and its strings and vectors keep their memory. Slots from
  // size_ to held_ still hold an earlier run's sites (until overwritten or drop_unused()).
  std::vector<Site> sites_;
  std::size_t size_ = 0;
  std::size_t held_ = 0;
  // name -> position in sites_, for the first indexed_ slots (at least this run's size_ sites;
  // past them, an earlier run's sites that this run may make again in the same slots).
  detail::NameIndex index_;
  std::size_t indexed_ = 0;
  detail::LastFound last_found_;

  // Indexes the names of the first n slots, and only those.
  void reindex(std::size_t n);
  // add() for a site whose slot held another name at the earlier run (or none): checks the
  // name against this run's earlier sites and indexes it; false when the site is a repeat
  // that is not recorded again (a plate or param site of a name already recorded).
  bool index_new_name(const Site& site, std::size_t at);
};

/// The factor a site's term is multiplied by: the product of the scale handlers around it,
/// times, for a per-datum term, size / subsample_size of every enclosing plate (so a
/// minibatch's terms estimate the whole data set's). A global term (a weight KL, a
/// global_factor) counts once for the whole data set, so plates do not scale it.
Scalar term_scale(const Site& site);

/// How a trace weighs a sample site's batch-shaped term (its log_prob, or a quantity that
/// stands in for it, such as a KL divergence): the entries the site's mask keeps, summed,
/// times term_scale(site) (1x1). A global term is 1x1 and takes no per-entry mask; a 1x1 mask
/// of 0 drops any term. Throws ShapeError naming the site, and `what` the term, when `term`
/// does not have the size its plates need or is smaller than the mask.
Tensor masked_scaled_sum(const Site& site, const Tensor& term, const char* what = "log_prob");

/// How an error names a site: "guide site 'w'" (in a trace of the guide), "sample 'w'"
/// outside one, with " (param 'w_scale')" when `argument` is the value of a param read in
/// `trace` (the argument a distribution rejected).
std::string site_context(const Site& site, const Trace* trace, const Tensor* argument = nullptr);

}  // namespace vesta
