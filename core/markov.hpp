// markov: the steps of a chain whose sites depend only on the step before (Pyro's
// pyro.markov). It records the chain's name and the step on every sample site inside it, so
// that enumeration can sum a chain of discrete sites out by the forward algorithm, in time
// linear in its length, instead of over every joint assignment.
//
//     for (Index t : markov(T, "hmm")) {
//       z = sample(fmt::format("z_{}", t), Categorical::from_probs(take_rows(trans, z)), ...);
//       sample(fmt::format("x_{}", t), Normal(take(locs, z), 1), x(t));
//     }
#pragma once

#include <string>

#include <vesta/core/messenger.hpp>

namespace vesta {

/// A handler over the steps 0..length-1 of a chain named `name`, iterated by a range-for:
/// while step t runs, every sample site is marked as step t of the chain. A site at step t
/// may depend on the chain's site at step t-1 and on nothing earlier in the chain.
class Markov : public Messenger {
 public:
  /// A chain of `length` steps (>= 0) named `name` (chains in one model need names of their
  /// own).
  explicit Markov(Index length, std::string name = "markov");

  /// The step that sites are marked with now.
  Index step() const { return step_; }
  /// The chain's name, recorded on its sites.
  const std::string& name() const { return name_; }
  /// The number of steps.
  Index length() const { return length_; }

  /// Marks a sample site with the chain and the current step.
  void process(Site& site) override;

  /// The range-for's iterator: dereferences to the step and moves the chain to the next one.
  class iterator {
   public:
    /// The current step.
    Index operator*() const { return chain_->step_; }
    /// Moves the chain to its next step.
    iterator& operator++() {
      ++chain_->step_;
      return *this;
    }
    /// Whether the chain has steps left.
    bool operator!=(const iterator& other) const { return chain_->step_ != other.end_; }

   private:
    friend class Markov;
    iterator(Markov* chain, Index end) : chain_(chain), end_(end) {}
    Markov* chain_;
    Index end_;
  };
  /// The first step (0).
  iterator begin() { return {this, length_}; }
  /// Past the last step.
  iterator end() { return {this, length_}; }

 private:
  std::string name_;
  Index length_;
  Index step_ = 0;
};

/// A markov chain of `length` steps as a range: `for (Index t : markov(T)) { ... }`.
inline Markov markov(Index length, std::string name = "markov") {
  return Markov(length, std::move(name));
}

}  // namespace vesta
