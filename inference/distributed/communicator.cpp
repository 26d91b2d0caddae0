#include <vesta/inference/distributed/communicator.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace vesta {

namespace {

// An MPI call's result, or an Error naming the call.
void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("MPI: {} failed: {}", what, std::string(text, std::size_t(length))));
}

int as_count(std::size_t n, const char* what) {
  if (n > std::size_t(std::numeric_limits<int>::max())) {
    throw ValueError(fmt::format("MPI: {} of {} values is more than one call can carry", what, n));
  }
  return static_cast<int>(n);
}

}  // namespace

std::string error_message(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

MpiSession::MpiSession(int& argc, char**& argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) throw Error("MpiSession: MPI is initialised already; make one session only");
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw Error("MpiSession: this MPI cannot run alongside threads (MPI_THREAD_FUNNELED)");
  }
  // Errors come back as codes, which check() turns into exceptions.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

Communicator MpiSession::world() const { return Communicator(MPI_COMM_WORLD); }

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void Communicator::all_reduce_sum(std::vector<double>& values) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_count(values.size(), "all_reduce_sum"),
                      MPI_DOUBLE, MPI_SUM, comm_),
        "MPI_Allreduce");
}

void Communicator::all_reduce_sum(std::vector<float>& values) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_count(values.size(), "all_reduce_sum"),
                      MPI_FLOAT, MPI_SUM, comm_),
        "MPI_Allreduce");
}

void Communicator::all_reduce_max(std::vector<std::int64_t>& values) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_count(values.size(), "all_reduce_max"),
                      MPI_INT64_T, MPI_MAX, comm_),
        "MPI_Allreduce");
}

void Communicator::broadcast(double* values, std::size_t count, int root) const {
  check(MPI_Bcast(values, as_count(count, "broadcast"), MPI_DOUBLE, root, comm_), "MPI_Bcast");
}

void Communicator::broadcast(float* values, std::size_t count, int root) const {
  check(MPI_Bcast(values, as_count(count, "broadcast"), MPI_FLOAT, root, comm_), "MPI_Bcast");
}

std::string Communicator::broadcast(const std::string& text, int root) const {
  std::int64_t length = static_cast<std::int64_t>(text.size());
  check(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_), "MPI_Bcast");
  std::string out = rank_ == root ? text : std::string(std::size_t(length), '\0');
  check(MPI_Bcast(out.data(), as_count(out.size(), "broadcast"), MPI_CHAR, root, comm_),
        "MPI_Bcast");
  return out;
}

std::vector<std::vector<double>> Communicator::all_gather(const std::vector<double>& values) const {
  const int count = as_count(values.size(), "all_gather");
  std::vector<int> counts(std::size_t(size_), 0);
  check(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  std::vector<int> offsets(std::size_t(size_), 0);
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = as_count(total, "all_gather");
    total += std::size_t(counts[r]);
  }
  std::vector<double> all(total);
  check(MPI_Allgatherv(values.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(),
                       MPI_DOUBLE, comm_),
        "MPI_Allgatherv");
  std::vector<std::vector<double>> out(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) {
    out[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
  }
  return out;
}

void Communicator::barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

Communicator Communicator::split(int color) const {
  MPI_Comm part;
  check(MPI_Comm_split(comm_, color, rank_, &part), "MPI_Comm_split");
  MPI_Comm_set_errhandler(part, MPI_ERRORS_RETURN);
  return Communicator(part);
}

void Communicator::agree(std::exception_ptr error) const {
  // The lowest failing rank R is size - max(size - R): one all-reduce when nothing failed.
  std::vector<std::int64_t> failed = {error ? std::int64_t(size_ - rank_) : 0};
  all_reduce_max(failed);
  if (failed[0] == 0) return;
  const int root = size_ - static_cast<int>(failed[0]);
  const std::string message = broadcast(root == rank_ ? error_message(error) : std::string(), root);
  throw DistributedError(fmt::format("rank {} of {} failed: {}", root, size_, message));
}

int Communicator::guard(const std::function<int()>& body) const {
  try {
    return body();
  } catch (const DistributedError&) {
    throw;
  } catch (...) {
    abort(fmt::format("rank {} of {}: {}", rank_, size_, error_message(std::current_exception())),
          2);
  }
}

void Communicator::abort(const std::string& message, int code) const {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  MPI_Abort(comm_, code);
  std::abort();  // MPI_Abort does not return
}

}  // namespace vesta
