// A Bayesian neural network classifies Fashion-MNIST, in the style of Pyro's contrib.bnn.
//
// Two HiddenLayers, 784 pixels (+1 ones column, the bias) -> 100 ReLU units (+1 ones column)
// -> 10 logits, and a Categorical likelihood on the labels. Every weight has a mean-field
// Normal posterior N(A_mean, A_scale) against a N(0, 1) prior; each HiddenLayer draws its
// pre-activations by local reparameterisation and contributes -KL_factor * KL to the ELBO.
// The layers and their params sit in the MODEL and the guide is empty:
//
//   model(X, labels, rows):
//     plate "data" over the 60000 training images, seeing this minibatch's `rows`
//       h1     ~ HiddenLayer(X, A1_mean, A1_scale)                             (B x 101)
//       logits ~ HiddenLayer(h1, A2_mean, A2_scale, identity, no ones column)
//       label  ~ Categorical(logits = logits), observed
//
// The plate scales the minibatch's likelihood by N / B; the layers' KL, a term about the
// global weights, counts once (KL_factor = 1, the default), so each step's loss is an unbiased
// estimate of the full-data -ELBO: -sum_n E[log p(label_n | image_n, A)] + KL(q(A) || p(A)).
// (Pyro scales the whole model by N / B, so its users pass KL_factor = B / N instead.)
// Training: minibatches of 128 from a fresh shuffle each epoch, Adam with lr 1e-3, A_scale
// initialised at 0.01 and A_mean at N(0, 2 / D) for the ReLU layer and N(0, 1 / D) for the
// output layer (He and LeCun initialisation; D counts the bias row). Pixels are standardised
// with the training set's mean and standard deviation (one pair for all pixels), as is
// customary: it speeds training up, and (measured here) leaves the network far less sure of
// itself on uniform noise than raw [0, 1] pixels do: a mean entropy near 1.5 nats, not 0.1.
//
// Afterwards the posterior predictive, class probabilities averaged over 10 forward draws,
// is scored on the 10000 test images: accuracy, the expected calibration error (15 equal
// bins of confidence), and the mean predictive entropy, which should be higher on inputs
// unlike the training data (the test images transposed, and uniform noise) than on the test
// images themselves.
//
// With --distributed (a vesta built with -DVESTA_MPI=ON), it trains data-parallel over the
// ranks of an MPI job, `mpirun -np 4 build/examples/bnn_fashion_mnist --distributed`: every
// rank reads the data set and takes its share of each minibatch of --batch images (the global
// batch), the gradients are averaged over the ranks each step (DataParallel), and rank 0
// writes the checkpoint, evaluates and prints.
//
// Needs the data set (`apt-get install dataset-fashion-mnist`, which scripts/setup.sh runs).
// Options: --epochs N (5), --hidden N (100), --batch N (128), --seed N (0), --train-images N
// (all 60000), --distributed. The last line printed is one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>
#if VESTA_MPI
#include <vesta/inference/distributed/data_parallel.hpp>
#endif

#include "support/checkpoint.hpp"
#include "support/command_line.hpp"
#include "support/fashion_mnist.hpp"
#include "support/fashion_mnist_bnn.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  int epochs = 5;
  Index hidden = 100;
  Index batch = 128;
  std::uint64_t seed = 0;
  Index train_images = 60000;
  std::string checkpoint;  // empty: none
  long checkpoint_every = 200;
  bool distributed = false;
};

// Reads the options (a ValueError names a bad or unknown one); nullopt when --help was asked
// for (and printed).
std::optional<Options> parse_options(int argc, char** argv) {
  CommandLine args(
      argc, argv,
      "Trains a Bayesian neural network of HiddenLayers on Fashion-MNIST by SVI and scores its "
      "posterior predictive on the test images.");
  Options o;
  o.epochs =
      static_cast<int>(args.integer("--epochs", o.epochs, "passes over the training images"));
  o.hidden = args.integer("--hidden", o.hidden, "hidden units");
  o.batch = args.integer("--batch", o.batch, "images per minibatch");
  o.seed = static_cast<std::uint64_t>(
      args.integer("--seed", static_cast<long long>(o.seed), "random seed", 0));
  o.train_images =
      args.integer("--train-images", o.train_images, "training images used (the first N)");
  o.checkpoint = args.text("--checkpoint", o.checkpoint,
                           "training checkpoint: written as it trains, resumed from if it exists");
  o.checkpoint_every =
      args.integer("--checkpoint-every", o.checkpoint_every, "steps between checkpoints");
  o.distributed = args.flag("--distributed", "data-parallel over the ranks of an MPI job (mpirun)");
  if (args.finish()) return std::nullopt;
#if !VESTA_MPI
  if (o.distributed) throw ValueError("--distributed needs a vesta built with -DVESTA_MPI=ON");
#endif
  return o;
}

// Each row of `logits` turned into probabilities.
Matrix softmax_rows(const Matrix& logits) {
  Matrix p = (logits.colwise() - logits.rowwise().maxCoeff()).array().exp().matrix();
  return p.array().colwise() / p.rowwise().sum().array();
}

// The posterior predictive class probabilities of `images` (n x 785), averaged over `draws`
// forward passes, each with its own draw of the activations. The images go through in chunks,
// which keeps the tape small; each image's draws are independent of the others' anyway.
Matrix predictive_probs(const FashionMnistBnn& model, const Matrix& images, int draws) {
  auto guide = [](auto&&...) {};
  Predictive predictive(model, guide, draws, {"logits"});
  const Index n = images.rows(), chunk = 2000;
  Matrix probs = Matrix::Zero(n, kFashionMnistClasses);
  for (Index first = 0; first < n; first += chunk) {
    const Index m = std::min(chunk, n - first);
    const SiteSamples s = predictive(Tensor(images.middleRows(first, m)), std::optional<Tensor>(),
                                     std::vector<Index>());
    for (int d = 0; d < draws; ++d) probs.middleRows(first, m) += softmax_rows(s.draw("logits", d));
  }
  return probs / Scalar(draws);
}

struct Scores {
  double accuracy;
  double ece;
  double entropy;
  int top_class;           // the class predicted most often
  double top_class_share;  // the share of inputs predicted as top_class
};

// Accuracy and expected calibration error against `labels` (15 equal-width bins of the
// confidence, the top probability: sum over bins of |accuracy - mean confidence| weighted by
// the bin's share of images), and the mean entropy of the predictive (nats).
Scores score(const Matrix& probs, const std::vector<int>& labels) {
  const int bins = 15;
  std::vector<double> count(bins, 0), correct(bins, 0), confidence(bins, 0);
  std::vector<double> predicted(kFashionMnistClasses, 0);
  double entropy = 0, hits = 0;
  const Index n = probs.rows();
  for (Index i = 0; i < n; ++i) {
    Index top = 0;
    const double conf = probs.row(i).maxCoeff(&top);
    predicted[static_cast<std::size_t>(top)] += 1;
    for (Index c = 0; c < probs.cols(); ++c) {
      const double p = probs(i, c);
      if (p > 0) entropy -= p * std::log(p);
    }
    if (labels.empty()) continue;
    const bool hit = top == labels[static_cast<std::size_t>(i)];
    const int b =
        std::clamp(static_cast<int>(std::ceil(conf * bins)) - 1, 0, bins - 1);  // (b/15, (b+1)/15]
    count[b] += 1;
    correct[b] += hit;
    confidence[b] += conf;
    hits += hit;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (count[b] > 0) ece += std::abs(correct[b] - confidence[b]) / double(n);
  }
  const auto most = std::max_element(predicted.begin(), predicted.end());
  return {hits / double(n), ece, entropy / double(n), static_cast<int>(most - predicted.begin()),
          *most / double(n)};
}

// The images with a ones column appended (the first layer's bias input).
Matrix with_ones(const ImageMatrix& images) {
  Matrix out(images.rows(), images.cols() + 1);
  out.leftCols(images.cols()) = images;
  out.col(images.cols()).setOnes();
  return out;
}

// Pixels minus `mean`, divided by `sd`.
void standardise(ImageMatrix& images, Scalar mean, Scalar sd) {
  images = (images.array() - mean) / sd;
}

// Each 28 x 28 image transposed (mirrored about its diagonal): trousers lie on their side.
Matrix transposed_images(const ImageMatrix& images) {
  ImageMatrix out(images.rows(), images.cols());
  for (Index i = 0; i < images.rows(); ++i) {
    for (Index r = 0; r < kFashionMnistSide; ++r) {
      for (Index c = 0; c < kFashionMnistSide; ++c) {
        out(i, c * kFashionMnistSide + r) = images(i, r * kFashionMnistSide + c);
      }
    }
  }
  return with_ones(out);
}

// The ranks of a --distributed run: DataParallel, or nothing in a run of one process (and in
// a build without MPI).
#if VESTA_MPI
using Ranks = DataParallel;
bool is_root(const Ranks* dp) { return dp == nullptr || dp->communicator().is_root(); }
int rank_count(const Ranks* dp) { return dp == nullptr ? 1 : dp->communicator().size(); }
#else
struct Ranks {};
bool is_root(const Ranks*) { return true; }
int rank_count(const Ranks*) { return 1; }
#endif

// Seeds the thread's generator: from the seed and the rank in a distributed run.
void seed_steps(Ranks* dp, std::uint64_t seed) {
#if VESTA_MPI
  if (dp != nullptr) return dp->seed(seed);
#endif
  (void)dp;
  set_rng_seed(seed);
}

// This rank's share of a global minibatch (all of it in a run of one process).
std::vector<Index> my_rows(Ranks* dp, std::vector<Index> rows) {
#if VESTA_MPI
  if (dp != nullptr) return dp->shard(rows);
#endif
  (void)dp;
  return rows;
}

int run(const Options& opt, Ranks* dp) {
  const bool root = is_root(dp);
  const auto start = Clock::now();
  Dataset train = load_fashion_mnist("train", default_fashion_mnist_dir(), opt.train_images);
  Dataset test = load_fashion_mnist("test");
  const Index N = train.size();
  const Scalar pixel_mean = train.images.mean();
  const Scalar pixel_sd = std::sqrt((train.images.array() - pixel_mean).square().mean());
  standardise(train.images, pixel_mean, pixel_sd);
  standardise(test.images, pixel_mean, pixel_sd);
  if (root) {
    fmt::print(
        "Fashion-MNIST: {} training and {} test images (pixel mean {:.3f}, sd {:.3f}); "
        "BNN 784(+1)-{}(+1)-10 of HiddenLayers, batch {}, {} epochs ({:.1f} s to load)\n",
        N, test.size(), pixel_mean, pixel_sd, opt.hidden, opt.batch, opt.epochs,
        seconds_since(start));
  }

  // The shuffles and the initial params come from `rng`, the same on every rank; the steps'
  // draws from the thread's generator, one stream per rank.
  seed_steps(dp, opt.seed);
  Rng rng(opt.seed);
  Rng init_rng = rng.fork(1);
  init_fashion_mnist_bnn(opt.hidden, init_rng);

  const FashionMnistBnn model{N};
  auto guide = [](auto&&...) {};  // HiddenLayer's params are in the model
  Adam adam(Scalar(1e-3));
  SVI svi(model, guide, adam);
#if VESTA_MPI
  if (dp != nullptr) {
    dp->broadcast_params();
    svi.set_reducer(dp);
    fmt::print("{}rank {} of {}\n", root ? "data-parallel: " : "", dp->communicator().rank(),
               dp->communicator().size());
  }
  const TrainingCheckpoint checkpoint =
      dp != nullptr ? TrainingCheckpoint(opt.checkpoint, opt.checkpoint_every, *dp)
                    : TrainingCheckpoint(opt.checkpoint, opt.checkpoint_every);
#else
  const TrainingCheckpoint checkpoint(opt.checkpoint, opt.checkpoint_every);
#endif

  const Matrix test_images = with_ones(test.images);
  std::vector<Index> order(static_cast<std::size_t>(N));
  std::iota(order.begin(), order.end(), Index(0));
  const Index steps_per_epoch = (N + opt.batch - 1) / opt.batch;  // the last batch may be smaller
  // A checkpoint brings back the params, Adam's state, the steps done and the generator the
  // steps draw from; the epochs' shuffles are replayed from the seed, so the run goes on as if
  // it had never stopped.
  long steps_done = checkpoint.resume(adam);
  const int first_epoch = static_cast<int>(steps_done / steps_per_epoch) + 1;
  for (int epoch = 1; epoch < first_epoch; ++epoch) std::shuffle(order.begin(), order.end(), rng);
  double train_seconds = 0;
  long steps = 0;
  for (int epoch = first_epoch; epoch <= opt.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto epoch_start = Clock::now();
    const Index skip = epoch == first_epoch ? steps_done % steps_per_epoch : 0;
    ProgressMeter meter(steps_per_epoch - skip);
    // Shown if the epoch takes over a second (by rank 0 only).
    const ProgressCallback line = root ? progress_line() : ProgressCallback();
    double loss_sum = 0;
    for (Index first = skip * opt.batch; first < N; first += opt.batch) {
      const std::vector<Index> rows =
          my_rows(dp, std::vector<Index>(order.begin() + first,
                                         order.begin() + std::min(first + opt.batch, N)));
      const Tensor X(gather_images(train, rows, /*append_ones=*/true));
      const std::optional<Tensor> labels(Tensor(gather_labels(train, rows)));
      const double loss = svi.step(X, labels, rows);  // over all ranks in a distributed run
      loss_sum += loss;
      if (line) line(meter.update(loss / double(N)));
      if (checkpoint.due(++steps_done)) checkpoint.save(steps_done, adam);
    }
    const double seconds = seconds_since(epoch_start);
    train_seconds += seconds;
    steps += steps_per_epoch - skip;
    if (!root) continue;  // rank 0 evaluates and prints
    // The evaluation's draws leave the training's generator where it was, so that a run
    // resumed from a checkpoint written at the end of this epoch goes on as this one does.
    const Rng training_rng = thread_rng();
    const Scores s = score(predictive_probs(model, test_images, 1), test.labels);
    thread_rng() = training_rng;
    fmt::print(
        "epoch {:2d}  loss {:.4f} per image  test accuracy {:.4f} (1 draw)  {:.0f} images/s  "
        "{:.1f} s\n",
        epoch, loss_sum / double(steps_per_epoch - skip) / double(N), s.accuracy,
        double(steps_per_epoch - skip) * double(opt.batch) / seconds, seconds);
  }

  if (!root) return 0;
  // The posterior predictive: 10 draws, on the test images and on two kinds of unfamiliar input.
  const int draws = 10;
  const Matrix probs = predictive_probs(model, test_images, draws);
  const Scores test_scores = score(probs, test.labels);
  const Scores transposed =
      score(predictive_probs(model, transposed_images(test.images), draws), {});
  Rng noise_rng = rng.fork(2);
  ImageMatrix noise = noise_rng.uniform(test.size(), kFashionMnistPixels);  // pixels in [0, 1)
  standardise(noise, pixel_mean, pixel_sd);
  const Scores uniform_noise = score(predictive_probs(model, with_ones(noise), draws), {});
  const double entropy_ood = (transposed.entropy + uniform_noise.entropy) / 2;

  fmt::print("\nposterior predictive ({} draws) on the test images:\n", draws);
  fmt::print("{:<12} {:>8}\n", "class", "accuracy");
  for (int c = 0; c < kFashionMnistClasses; ++c) {
    double n = 0, hit = 0;
    for (std::size_t i = 0; i < test.labels.size(); ++i) {
      if (test.labels[i] != c) continue;
      Index top = 0;
      probs.row(Index(i)).maxCoeff(&top);
      n += 1;
      hit += top == c;
    }
    fmt::print("{:<12} {:8.3f}\n", kFashionMnistClassNames[static_cast<std::size_t>(c)], hit / n);
  }
  fmt::print("accuracy {:.4f}  expected calibration error {:.4f}\n", test_scores.accuracy,
             test_scores.ece);
  fmt::print(
      "mean predictive entropy (nats, at most ln 10 = {:.3f}): test images {:.3f}, "
      "transposed {:.3f}, uniform noise {:.3f}\n",
      std::log(10.0), test_scores.entropy, transposed.entropy, uniform_noise.entropy);
  for (const auto& [what, sc] : {std::pair{"transposed test images", transposed},
                                 std::pair{"uniform noise", uniform_noise}}) {
    fmt::print("{}: {:.0f}% predicted as {}\n", what, 100 * sc.top_class_share,
               kFashionMnistClassNames[static_cast<std::size_t>(sc.top_class)]);
  }
  const double seconds = seconds_since(start);
  fmt::print("{:.1f} s in all; training {:.1f} s, {:.0f} us per step\n", seconds, train_seconds,
             train_seconds / double(std::max(1L, steps)) * 1e6);
  fmt::print(
      R"({{"example": "bnn_fashion_mnist", "test_accuracy": {:.4f}, "ece": {:.4f}, "entropy_test": {:.4f}, )"
      R"("entropy_ood": {:.4f}, "entropy_transposed": {:.4f}, "entropy_noise": {:.4f}, "epochs": {}, )"
      R"("train_images": {}, "hidden": {}, "batch": {}, "ranks": {}, "us_per_step": {:.0f}, "seconds": {:.1f}}})"
      "\n",
      test_scores.accuracy, test_scores.ece, test_scores.entropy, entropy_ood, transposed.entropy,
      uniform_noise.entropy, opt.epochs, N, opt.hidden, opt.batch, rank_count(dp),
      train_seconds / double(std::max(1L, steps)) * 1e6, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#if VESTA_MPI
  // With --distributed, MPI runs for the whole program; a rank's lone error ends every rank.
  if (std::find_if(argv + 1, argv + argc, [](const char* a) {
        return std::string(a) == "--distributed";
      }) != argv + argc) {
    MpiSession mpi(argc, argv);
    const Communicator world = mpi.world();
    return run_example("bnn_fashion_mnist", [&] {
      return world.guard([&] {
        const std::optional<Options> opt = parse_options(argc, argv);
        if (!opt) return 0;
        DataParallel dp(world);
        return run(*opt, &dp);
      });
    });
  }
#endif
  return run_example("bnn_fashion_mnist", [&] {
    const std::optional<Options> opt = parse_options(argc, argv);
    return opt ? run(*opt, nullptr) : 0;
  });
}
