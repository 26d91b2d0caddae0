// ParamStore: the named parameters that `param` creates and optimizers update. Each is an
// unconstrained leaf Tensor with its constraint; readers get the constrained value.
// The store saves to and loads from a file (atomic write, checked load). A store belongs to
// one thread at a time; ParamStoreScope gives a thread a store of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <vesta/core/constraints.hpp>
#include <vesta/core/name_index.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// The named parameters of every model and guide: each held unconstrained (a leaf the optimizers
/// update) with its constraint. One global store, param_store().
class ParamStore {
 public:
  /// One parameter.
  struct Entry {
    Tensor unconstrained;      ///< a leaf: what optimizers update
    ConstraintPtr constraint;  ///< How the constrained value is made from `unconstrained`.
  };

  /// The parameter `name`, created from `init` (a constrained value) on first use. A later
  /// call with a different constraint, or with a non-empty `init` of another shape, is an
  /// error naming the parameter and both. The calling thread's tape holds the store until it is
  /// reset; throws ConcurrentUseError while another thread's tape holds it.
  const Entry& get_or_create(const std::string& name, const ConstMatrixMap& init,
                             const ConstraintPtr& constraint);
  /// The same, with the initial value in a Matrix.
  const Entry& get_or_create(const std::string& name, const Matrix& init,
                             const ConstraintPtr& constraint) {
    return get_or_create(name, ConstMatrixMap(init.data(), init.rows(), init.cols()), constraint);
  }

  /// Whether a parameter named `name` exists.
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  /// The entry of `name`, or null.
  const Entry* find(const std::string& name) const;
  /// Whether the calling thread's tape holds the store: a step of this thread read a param
  /// through get_or_create and has not ended.
  bool held_by_this_thread() const;
  /// The entry of an existing parameter; throws naming the parameter if there is none.
  const Entry& entry(const std::string& name) const;
  /// The constrained value, as a Tensor on the tape (differentiable in the leaf).
  Tensor get(const std::string& name) const;
  /// Sets an existing parameter to a constrained value (or creates it, real-valued).
  void set(const std::string& name, const Matrix& value, const ConstraintPtr& constraint = nullptr);
  /// Names in creation order.
  std::vector<std::string> names() const;
  /// Every (name, entry), in creation order: what an optimizer walks each step.
  const std::vector<std::pair<std::string, Entry>>& entries() const { return entries_; }
  /// A number that changes whenever a param is added or removed (and is never reused): two
  /// stores, or one store at two times, with the same layout() and size() have the same names
  /// in the same order (a copy keeps its original's). An optimizer so knows that the params
  /// are where they were at its last step without comparing their names.
  std::uint64_t layout() const { return layout_; }
  /// Number of parameters.
  std::size_t size() const { return entries_.size(); }
  /// A store of its own with the same names, constraints and values in new leaves: a copy to
  /// train or predict with on another thread. Making copies from several threads at once is
  /// safe while no thread changes this store.
  ParamStore clone() const;
  /// Removes every parameter.
  void clear();
  /// Removes the parameter `name`.
  void erase(const std::string& name);

  /// Writes every parameter (name, constraint, shape, unconstrained values) to `path`
  /// atomically: a crash leaves either the old file or the new one, never half of one.
  void save(const std::string& path) const;
  /// Reads a file written by save(). Parameters already in the store must match the file's
  /// shape and constraint (a mismatch is an error naming the parameter, and nothing is
  /// changed); the others are added. A corrupt or truncated file is an error.
  void load(const std::string& path);

 private:
  std::vector<std::pair<std::string, Entry>> entries_;
  std::uint64_t layout_ = new_layout();  // see layout(); renewed by every add and removal
  static std::uint64_t new_layout();
  std::ptrdiff_t position(const std::string& name) const;
  void rebuild_index();
  const Entry& find_or_create(const std::string& name, const ConstMatrixMap& init,
                              const ConstraintPtr& constraint);
  // Throws ConcurrentUseError if another thread's tape holds the store; `what` names the use.
  void require_not_held_elsewhere(const char* what, const std::string& name) const;

  std::shared_ptr<detail::Claim> claim_ = std::make_shared<detail::Claim>();

  detail::NameIndex index_;  // name -> position in entries_

  // A model reads its params in the same order every step, so the next name asked for is
  // nearly always at the position after the last found (or the last found itself, read
  // again): position() compares those two names, in that order, before it hashes.
  detail::LastFound last_found_;
};

/// The calling thread's parameter store: the one bound by the innermost ParamStoreScope of
/// this thread, or else the process's store (as Pyro's global param store). `param`, the
/// optimizers, SVI and Predictive all use it.
ParamStore& param_store();

/// Binds `store` to the calling thread for the scope's lifetime: `param_store()` on this
/// thread returns it, so SVI, optimizers and Predictive run on it. Each thread that trains a
/// model of its own binds a store of its own; scopes nest, and the store must outlive the
/// scope.
///
///     std::thread worker([&] { ParamStore mine; ParamStoreScope use(mine); svi.run(1000); });
class ParamStoreScope {
 public:
  /// Makes `store` the calling thread's store until the scope ends.
  explicit ParamStoreScope(ParamStore& store);
  /// Gives the thread back the store it had before.
  ~ParamStoreScope();
  ParamStoreScope(const ParamStoreScope&) = delete;
  ParamStoreScope& operator=(const ParamStoreScope&) = delete;

 private:
  ParamStore* previous_;
};

}  // namespace vesta
