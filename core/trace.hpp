// Trace: the record of one run of a model, its sites in order, each with its value and
// (computed once, on demand) its log-probability. The trace handler that fills one is in
// <vesta/core/handlers/trace.hpp>.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <vesta/core/site.hpp>

namespace vesta {

class Trace {
 public:
  /// Appends a site. A sample or deterministic site whose name is already taken is an error
  /// naming it; a plate entered again keeps its first record; a param read again is
  /// recorded once.
  void add(const Site& site);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// The site `name`; throws naming it if there is none.
  const Site& site(const std::string& name) const;
  const Site& operator[](const std::string& name) const { return site(name); }
  const std::vector<Site>& sites() const { return sites_; }
  std::size_t size() const { return sites_.size(); }

  /// log_prob of sample site `name` (its batch shape, before scale and mask), computed on
  /// first use and cached.
  const Tensor& log_prob(const std::string& name) const;
  /// Computes every sample site's log_prob now.
  void compute_log_prob() const;
  /// The sum over sample sites (those `keep` accepts, if given) of scale times the masked
  /// log_prob: the log-joint of the run (1x1).
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
  const Tensor& log_prob_of(const Site& site) const;

  std::vector<Site> sites_;
  std::unordered_map<std::string, std::size_t> index_;
};

/// How a trace weighs a sample site's batch-shaped term (its log_prob, or a quantity that
/// stands in for it, such as a KL divergence): the entries the site's mask keeps, summed,
/// times the site's scale (1x1). Throws ShapeError naming the site, and `what` the term,
/// when `term` does not have the size its plates need or is smaller than the mask.
Tensor masked_scaled_sum(const Site& site, const Tensor& term, const char* what = "log_prob");

}  // namespace vesta
