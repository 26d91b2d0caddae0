// MPI for vesta (-DVESTA_MPI=ON): MpiSession starts and ends MPI for a program, and a
// Communicator is a group of ranks with the few collective operations data-parallel SVI
// and chains over ranks need, each a ValueError or DistributedError rather than an MPI error
// code. Every rank must make the same collective calls in the same order.
//
//   int main(int argc, char** argv) {
//     MpiSession mpi(argc, argv);
//     Communicator world = mpi.world();
//     return world.guard([&] { ...; return 0; });  // a rank's lone error stops every rank
//   }
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <vesta/core/error.hpp>
#include <vesta/core/scalar.hpp>

namespace vesta {

/// An error that every rank of a communicator throws together: one rank failed (its rank
/// and message are in what()), or the ranks disagreed about what to exchange.
class DistributedError : public Error {
 public:
  using Error::Error;
};

class Communicator;

/// Initialises MPI (threads allowed; only the thread that made the session calls MPI) for the
/// object's lifetime, and finalises it. One per program, made first in main().
class MpiSession {
 public:
  /// MPI_Init_thread with MPI_THREAD_FUNNELED; throws Error if MPI is initialised already or
  /// cannot give that level.
  MpiSession(int& argc, char**& argv);
  /// MPI_Finalize.
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  /// Every rank of the job (MPI_COMM_WORLD).
  Communicator world() const;
};

/// A group of ranks (an MPI communicator) and the collectives vesta uses on it. Copies share
/// the group.
class Communicator {
 public:
  /// The group `comm` (MPI_COMM_WORLD, or one made by split()).
  explicit Communicator(MPI_Comm comm);

  /// This process's rank, 0..size()-1.
  int rank() const { return rank_; }
  /// The number of ranks.
  int size() const { return size_; }
  /// Whether this is rank 0, the one that prints and writes files.
  bool is_root() const { return rank_ == 0; }
  /// The MPI communicator.
  MPI_Comm handle() const { return comm_; }

  /// Sums `values` element-wise over the ranks, in place (MPI_Allreduce).
  void all_reduce_sum(std::vector<double>& values) const;
  /// The same for floats.
  void all_reduce_sum(std::vector<float>& values) const;
  /// Element-wise maximum over the ranks, in place.
  void all_reduce_max(std::vector<std::int64_t>& values) const;
  /// Replaces `values` on every rank by rank `root`'s; every rank must pass as many.
  void broadcast(double* values, std::size_t count, int root = 0) const;
  /// The same for floats.
  void broadcast(float* values, std::size_t count, int root = 0) const;
  /// Rank `root`'s text on every rank.
  std::string broadcast(const std::string& text, int root = 0) const;
  /// Every rank's `values` (of any length), in rank order, on every rank.
  std::vector<std::vector<double>> all_gather(const std::vector<double>& values) const;
  /// Waits until every rank has called it.
  void barrier() const;
  /// The ranks with the same `color`, ranked as here: a group of their own (MPI_Comm_split).
  /// Collective over this group.
  Communicator split(int color) const;

  /// Makes every rank agree on whether one failed: each passes the error it caught (null for
  /// none). If any rank has one, every rank throws the same DistributedError: "rank R of N
  /// failed: <message>", R the lowest failing rank. Collective.
  void agree(std::exception_ptr error) const;
  /// Runs `body` and returns its status. A DistributedError (thrown by every rank alike)
  /// propagates; any other exception escaping `body` on one rank is printed as "rank R: ..."
  /// on stderr and ends every rank with MPI_Abort, so the others do not wait forever for it
  /// in a collective.
  int guard(const std::function<int()>& body) const;
  /// Prints `message` on stderr and ends every rank of the job (MPI_Abort) with `code`.
  [[noreturn]] void abort(const std::string& message, int code = 1) const;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

/// The message of an exception (what() of a std::exception, else "unknown error").
std::string error_message(const std::exception_ptr& error);

}  // namespace vesta
