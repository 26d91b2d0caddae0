#include <vesta/inference/distributed/chains_over_ranks.hpp>

#include <fmt/format.h>

namespace vesta {

namespace {

// A ChainResult as doubles (every field is a double or an integer far below 2^53), and back.
struct Writer {
  std::vector<double>& out;
  void number(double x) { out.push_back(x); }
  void matrix(const Eigen::MatrixXd& m) {
    number(double(m.rows()));
    number(double(m.cols()));
    out.insert(out.end(), m.data(), m.data() + m.size());
  }
  template <class T>
  void list(const std::vector<T>& v) {
    number(double(v.size()));
    for (const T& x : v) number(double(x));
  }
};

struct Reader {
  const std::vector<double>& in;
  std::size_t at = 0;
  double number() {
    if (at >= in.size())
      throw DistributedError("ChainsOverRanks: a chain's result arrived cut short");
    return in[at++];
  }
  Eigen::MatrixXd matrix() {
    const auto rows = Eigen::Index(number()), cols = Eigen::Index(number());
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = number();
    return m;
  }
  template <class T>
  std::vector<T> list() {
    std::vector<T> v(static_cast<std::size_t>(number()));
    for (T& x : v) x = static_cast<T>(number());
    return v;
  }
};

void write(Writer& w, int index, const ChainResult& c) {
  w.number(index);
  w.matrix(c.draws);
  w.list(c.accept_stat);
  w.list(c.potential);
  w.list(c.tree_depth);
  w.list(c.num_steps);
  w.list(c.divergent);
  w.number(double(c.divergences));
  w.number(double(c.warmup_divergences));
  w.number(c.step_size);
  w.matrix(c.inverse_metric);
  w.number(double(c.gradient_evaluations));
  w.number(c.warmup_seconds);
  w.number(c.sampling_seconds);
}

ChainResult read(Reader& r) {
  ChainResult c;
  c.draws = r.matrix();
  c.accept_stat = r.list<double>();
  c.potential = r.list<double>();
  c.tree_depth = r.list<int>();
  c.num_steps = r.list<long>();
  c.divergent = r.list<char>();
  c.divergences = long(r.number());
  c.warmup_divergences = long(r.number());
  c.step_size = r.number();
  c.inverse_metric = r.matrix();
  c.gradient_evaluations = long(r.number());
  c.warmup_seconds = r.number();
  c.sampling_seconds = r.number();
  return c;
}

}  // namespace

bool ChainsOverRanks::runs(int chain, int num_chains) const {
  if (chain < 0 || chain >= num_chains) {
    throw ValueError(
        fmt::format("ChainsOverRanks: chain {} is not one of 0..{}", chain, num_chains - 1));
  }
  return chain % comm_.size() == comm_.rank();
}

void ChainsOverRanks::exchange(std::vector<ChainResult>& chains, std::exception_ptr error) {
  comm_.agree(error);
  const int n = static_cast<int>(chains.size());
  std::vector<double> mine;
  Writer w{mine};
  for (int c = 0; c < n; ++c) {
    if (runs(c, n)) write(w, c, chains[std::size_t(c)]);
  }
  const std::vector<std::vector<double>> all = comm_.all_gather(mine);
  for (int rank = 0; rank < comm_.size(); ++rank) {
    if (rank == comm_.rank()) continue;
    Reader r{all[std::size_t(rank)]};
    while (r.at < r.in.size()) {
      const int c = static_cast<int>(r.number());
      if (c < 0 || c >= n || c % comm_.size() != rank) {
        throw DistributedError(fmt::format(
            "ChainsOverRanks: rank {} sent chain {}, which is not one of its own", rank, c));
      }
      chains[std::size_t(c)] = read(r);
    }
  }
}

}  // namespace vesta
