// A variational autoencoder on Fashion-MNIST (Kingma & Welling 2014), after Pyro's VAE
// tutorial: an encoder network is the guide (amortised inference: one network gives every
// image its own approximate posterior), a decoder network is the likelihood, and the generic
// SVI loop trains both.
//
//   model(X, rows):                         how an image is made
//     plate "data" over the 60000 training images, seeing this minibatch's rows
//       z ~ Normal(0, I_L)                                               (B x L)
//       x ~ Bernoulli(logits = decoder(z)), observed: the pixel intensities  (B x 784)
//   guide(X, rows):                         q(z | x), from the encoder
//     plate "data", the same rows
//       h = softplus(fc1(X)),  z ~ Normal(fc21(h), exp(fc22(h)))
//
// The networks are Pyro's: encoder 784-400-(L, L) with softplus hidden units and an exp
// scale, decoder L-400-784 with softplus hidden units and a sigmoid output, here folded into
// the Bernoulli's logits, which is the same likelihood computed without rounding p to 0 or 1.
// Pixels are intensities in [0, 1], scored by the Bernoulli cross-entropy
// x log p + (1 - x) log(1 - p) (Bernoulli::with_soft_targets), as Pyro's tutorial does; it is
// not a normalised density of grey levels, so the ELBO in nats compares with Pyro's figures
// rather than being a bound on a likelihood of the images. Training: minibatches of 128 from
// a fresh shuffle each epoch, Adam with lr 1e-3, Trace_ELBO (the KL term estimated by Monte
// Carlo) or, with --elbo meanfield, TraceMeanField_ELBO (the KL of each image's latent in
// closed form). The plate scales each minibatch by N / B, so a step's loss estimates the
// whole training set's -ELBO; the per-image figures divide by N.
//
// After each epoch it prints the training ELBO (the average over the epoch's steps) and the
// test ELBO per image (one draw of z per test image) with images per second. At the end it
// estimates each test image's log-likelihood by importance weighting (Burda, Grosse &
// Salakhutdinov 2016) with K draws z_k ~ q(z | x):
//   log (1/K) sum_k p(x, z_k) / q(z_k | x),
// which is at least the ELBO estimated from the same draws (Jensen) and approaches
// log p(x) as K grows. Both are evaluated at the trained parameters held fixed (substitute),
// so the evaluation records nothing on the tape.
//
// It then writes, with stb_image_write (Debian's libstb-dev; without it, no images), into
// the current directory: vae_reconstructions.png (test images, four per class, each beside
// its reconstruction, the decoder's mean at the encoder's mean), vae_samples.png (64 images
// decoded from draws of the prior) and, with --latent 2, vae_latent.png (the encoder's mean
// of every test image, coloured by class).
//
// Needs the data set (`apt-get install dataset-fashion-mnist`, which scripts/setup.sh runs).
// Options: --epochs N (10), --latent N (10), --batch N (128), --seed N (0),
// --elbo trace|meanfield (trace), --train-images N (60000), --test-images N (10000),
// --iwae-samples K (64). The last line printed is one JSON object of the results.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/vesta.hpp>

#include "support/checkpoint.hpp"
#include "support/command_line.hpp"
#include "support/fashion_mnist.hpp"
#include "support/image.hpp"
#include "support/vae_networks.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  int epochs = 10;
  Index latent = 10;
  Index batch = 128;
  std::uint64_t seed = 0;
  std::string elbo = "trace";
  Index train_images = 60000;
  std::string checkpoint;  // empty: none
  long checkpoint_every = 200;
  Index test_images = 10000;
  int iwae_samples = 64;
};

// Reads the options (a ValueError names a bad or unknown one); nullopt when --help was asked
// for (and printed).
std::optional<Options> parse_options(int argc, char** argv) {
  CommandLine args(
      argc, argv,
      "Trains Pyro's tutorial variational autoencoder on Fashion-MNIST and reports its test ELBO "
      "and an importance-weighted log-likelihood.");
  Options o;
  o.epochs =
      static_cast<int>(args.integer("--epochs", o.epochs, "passes over the training images"));
  o.latent = args.integer("--latent", o.latent, "dimension of z");
  o.batch = args.integer("--batch", o.batch, "images per minibatch");
  o.seed = static_cast<std::uint64_t>(
      args.integer("--seed", static_cast<long long>(o.seed), "random seed", 0));
  o.elbo =
      args.choice("--elbo", o.elbo, {"trace", "meanfield"}, "Trace_ELBO, or the KL in closed form");
  o.train_images =
      args.integer("--train-images", o.train_images, "training images used (the first N)");
  o.test_images = args.integer("--test-images", o.test_images, "test images scored");
  o.iwae_samples = static_cast<int>(
      args.integer("--iwae-samples", o.iwae_samples, "draws per image of the IWAE bound"));
  o.checkpoint = args.text("--checkpoint", o.checkpoint,
                           "training checkpoint: written as it trains, resumed from if it exists");
  o.checkpoint_every =
      args.integer("--checkpoint-every", o.checkpoint_every, "steps between checkpoints");
  if (args.finish()) return std::nullopt;
  return o;
}

// The networks (support/vae_networks.hpp), by their short names.
using Model = VaeModel;
using Guide = VaeGuide;

// Every param at its current value as a constant: under substitute(frozen_params()) the model
// and guide compute without recording anything on the tape, as evaluation needs no gradient.
// (Reading a param can record its constraint's transform; the reset drops that again, so call
// this between steps.)
ValueMap frozen_params() {
  ValueMap values;
  for (const std::string& name : param_store().names()) values.emplace(name, param(name).detach());
  tape().reset();
  return values;
}

std::vector<Index> range(Index first, Index count) {
  std::vector<Index> r(static_cast<std::size_t>(count));
  std::iota(r.begin(), r.end(), first);
  return r;
}

// The log importance weights log p(x, z_k) - log q(z_k | x) of each image (rows) for K draws
// z_k ~ q(z | x) (columns). Per chunk of images, the guide runs once; then for each draw, the
// model runs with z conditioned on it, and its trace gives each image's log p(z) and
// log p(x | z) (unscaled: the plate's N / B only weighs the ELBO's sum).
Matrix log_weights(const Model& model, const Guide& guide, const ImageMatrix& images, int K) {
  auto frozen = substitute(frozen_params());
  const Index n = images.rows(), chunk = 500;
  Matrix w(n, K);
  for (Index first = 0; first < n; first += chunk) {
    const Index m = std::min(chunk, n - first);
    const Tensor X(Matrix(images.middleRows(first, m)));
    const std::vector<Index> rows = range(first, m);
    const Trace guide_trace = trace(guide).get_trace(X, rows);
    const Distribution& q = *guide_trace.site("z").dist;
    for (int k = 0; k < K; ++k) {
      const Tensor z = k == 0 ? guide_trace.site("z").value : q.sample(thread_rng());
      const Trace model_trace = trace(condition(model, {{"z", z}})).get_trace(X, rows);
      w.block(first, k, m, 1) =
          (model_trace.log_prob("z") + model_trace.log_prob("x") - q.log_prob(z)).matrix();
    }
  }
  return w;
}

struct Evaluation {
  double elbo;  // per image, mean over images and draws
  double iwae;  // per image, mean over images of the log of the mean weight
};

Evaluation evaluate(const Model& model, const Guide& guide, const ImageMatrix& images, int K) {
  const Matrix w = log_weights(model, guide, images, K);
  // log (1/K) sum_k exp(w_k) for each image: the log-sum-exp of its row, minus log K.
  const Matrix iwae = rowwise_logsumexp(Tensor(w)).matrix().array() - std::log(Scalar(K));
  return {double(w.mean()), double(iwae.mean())};
}

// ---- pictures -------------------------------------------------------------------------

constexpr int kScale = 2;                               // screen pixels per image pixel
constexpr int kTile = int(kFashionMnistSide) * kScale;  // 56
constexpr int kTitle = 24;                              // room for a title line

// The decoder's mean image for each row of z: sigmoid of the logits.
Matrix decode(const Model& model, const Tensor& z) { return sigmoid(model.decoder(z)).matrix(); }

// Row r of m (a row of 784 pixels) drawn as a 28x28 tile.
void draw_image(Image& img, int x, int y, const Matrix& m, Index r) {
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> row = m.row(r);
  img.draw_gray(x, y, int(kFashionMnistSide), int(kFashionMnistSide), row.data(), kScale);
}

// Four test images of each class (the first ones), each beside its reconstruction.
std::string write_reconstructions(const Model& model, const Guide& guide, const Dataset& test) {
  constexpr int per_class = 4;
  std::vector<Index> rows;
  for (int c = 0; c < kFashionMnistClasses; ++c) {
    int found = 0;
    for (Index i = 0; i < test.size() && found < per_class; ++i) {
      if (test.labels[std::size_t(i)] == c) {
        rows.push_back(i);
        ++found;
      }
    }
  }
  auto frozen = substitute(frozen_params());
  const Matrix originals = gather_images(test, rows);
  const Matrix recon = decode(model, guide.loc(Tensor(originals)));
  const int label_width = 84, pair_gap = 12, row_gap = 4;
  const int width = label_width + per_class * (2 * kTile + pair_gap);
  Image img(width, kTitle + kFashionMnistClasses * (kTile + row_gap));
  img.draw_text(6, 6, "each test image beside its reconstruction", kBlack, 2);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const int r = int(k) / per_class, c = int(k) % per_class;
    const int x = label_width + c * (2 * kTile + pair_gap), y = kTitle + r * (kTile + row_gap);
    if (c == 0) {
      img.draw_text(6, y + kTile / 2 - 4, kFashionMnistClassNames[std::size_t(r)], kBlack);
    }
    draw_image(img, x, y, originals, Index(k));
    draw_image(img, x + kTile, y, recon, Index(k));
  }
  const std::string path = "vae_reconstructions.png";
  return write_png(img, path) ? path : "";
}

// 64 images decoded from draws of the prior N(0, I).
std::string write_samples(const Model& model, Rng& rng) {
  constexpr int side = 8, gap = 4;
  auto frozen = substitute(frozen_params());
  const Matrix images = decode(model, Tensor(rng.normal(side * side, model.latent)));
  Image img(side * (kTile + gap) + gap, kTitle + side * (kTile + gap));
  img.draw_text(6, 6, "decoded from z ~ N(0, I)", kBlack, 2);
  for (int k = 0; k < side * side; ++k) {
    draw_image(img, gap + (k % side) * (kTile + gap), kTitle + (k / side) * (kTile + gap), images,
               k);
  }
  const std::string path = "vae_samples.png";
  return write_png(img, path) ? path : "";
}

// The encoder's mean of each test image in a 2-D latent space, coloured by class, with a
// legend. The axes span the 0.5% to 99.5% quantiles of each coordinate, padded by 5%.
std::string write_latent(const Guide& guide, const Dataset& test) {
  // The ten "tab10" colours, one per class.
  static constexpr std::array<Rgb, kFashionMnistClasses> colours = {{{31, 119, 180},
                                                                     {255, 127, 14},
                                                                     {44, 160, 44},
                                                                     {214, 39, 40},
                                                                     {148, 103, 189},  //
                                                                     {140, 86, 75},
                                                                     {227, 119, 194},
                                                                     {127, 127, 127},
                                                                     {188, 189, 34},
                                                                     {23, 190, 207}}};
  auto frozen = substitute(frozen_params());
  const Matrix loc = guide.loc(Tensor(Matrix(test.images))).matrix();
  double lo[2], hi[2];
  for (int d = 0; d < 2; ++d) {
    std::vector<Scalar> v(loc.col(d).data(), loc.col(d).data() + loc.rows());
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return double(v[std::size_t(q * double(v.size() - 1))]); };
    const double pad = 0.05 * (at(0.995) - at(0.005));
    lo[d] = at(0.005) - pad;
    hi[d] = at(0.995) + pad;
  }
  const int plot = 600, margin = 40, legend = 150;
  Image img(margin + plot + legend, kTitle + plot + margin);
  img.draw_text(6, 6, "encoder means of the test images", kBlack, 2);
  const Rgb grey = {200, 200, 200};
  const auto px = [&](double v) { return margin + int((v - lo[0]) / (hi[0] - lo[0]) * plot); };
  const auto py = [&](double v) {
    return kTitle + plot - int((v - lo[1]) / (hi[1] - lo[1]) * plot);
  };
  if (lo[0] < 0 && hi[0] > 0) img.fill_rect(px(0), kTitle, 1, plot, grey);
  if (lo[1] < 0 && hi[1] > 0) img.fill_rect(margin, py(0), plot, 1, grey);
  for (Index i = 0; i < loc.rows(); ++i) {
    const int x = px(loc(i, 0)), y = py(loc(i, 1));
    if (x < margin || x >= margin + plot || y < kTitle || y >= kTitle + plot) continue;
    const Rgb c = colours[std::size_t(test.labels[std::size_t(i)])];
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) img.blend(x + dx, y + dy, c, 0.5f);
    }
  }
  // The frame, the axis ranges and the legend.
  img.fill_rect(margin, kTitle, plot, 1, kBlack);
  img.fill_rect(margin, kTitle + plot, plot, 1, kBlack);
  img.fill_rect(margin, kTitle, 1, plot, kBlack);
  img.fill_rect(margin + plot, kTitle, 1, plot + 1, kBlack);
  img.draw_text(margin, kTitle + plot + 6, fmt::format("z1 from {:.2f} to {:.2f}", lo[0], hi[0]),
                kBlack);
  img.draw_text(margin, kTitle + plot + 18, fmt::format("z2 from {:.2f} to {:.2f}", lo[1], hi[1]),
                kBlack);
  for (int c = 0; c < kFashionMnistClasses; ++c) {
    const int y = kTitle + 10 + 20 * c;
    img.fill_rect(margin + plot + 14, y, 10, 10, colours[std::size_t(c)]);
    img.draw_text(margin + plot + 30, y + 2, kFashionMnistClassNames[std::size_t(c)], kBlack);
  }
  const std::string path = "vae_latent.png";
  return write_png(img, path) ? path : "";
}

// ---- training -------------------------------------------------------------------------

template <class Loss>
int run(const Options& opt, Loss loss) {
  const auto start = Clock::now();
  const Dataset train = load_fashion_mnist("train", default_fashion_mnist_dir(), opt.train_images);
  const Dataset test = load_fashion_mnist("test", default_fashion_mnist_dir(), opt.test_images);
  const Index N = train.size();
  fmt::print(
      "Fashion-MNIST: {} training and {} test images; VAE 784-{}-({}, {}) / {}-{}-784, batch {}, "
      "{} epochs, {} ({:.1f} s to load)\n",
      N, test.size(), kVaeHidden, opt.latent, opt.latent, opt.latent, kVaeHidden, opt.batch,
      opt.epochs, opt.elbo == "trace" ? "Trace_ELBO" : "TraceMeanField_ELBO", seconds_since(start));

  set_rng_seed(opt.seed);
  Rng rng(opt.seed);
  const Model model(N, opt.latent);
  const Guide guide(N, opt.latent);
  const Model test_model(test.size(), opt.latent);  // the same params, a plate over the test set
  const Guide test_guide(test.size(), opt.latent);
  Adam adam(Scalar(1e-3));
  SVI svi(model, guide, adam, std::move(loss));

  std::vector<Index> order = range(0, N);
  const Index steps_per_epoch = (N + opt.batch - 1) / opt.batch;  // the last batch may be smaller
  // A checkpoint brings back the params, Adam's state, the steps done and the generator the
  // steps draw from; the epochs' shuffles are replayed from the seed, so the run goes on as if
  // it had never stopped.
  const TrainingCheckpoint checkpoint(opt.checkpoint, opt.checkpoint_every);
  long steps_done = checkpoint.resume(adam);
  const int first_epoch = static_cast<int>(steps_done / steps_per_epoch) + 1;
  for (int epoch = 1; epoch < first_epoch; ++epoch) std::shuffle(order.begin(), order.end(), rng);
  double train_seconds = 0, train_elbo = 0;
  for (int epoch = first_epoch; epoch <= opt.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto epoch_start = Clock::now();
    const Index skip = epoch == first_epoch ? steps_done % steps_per_epoch : 0;
    ProgressMeter meter(steps_per_epoch - skip);
    const ProgressCallback line = progress_line();  // shown if the epoch takes over a second
    double loss_sum = 0;
    for (Index first = skip * opt.batch; first < N; first += opt.batch) {
      const std::vector<Index> rows(order.begin() + first,
                                    order.begin() + std::min(first + opt.batch, N));
      const double step_loss = svi.step(Tensor(gather_images(train, rows)), rows);
      loss_sum += step_loss;
      line(meter.update(step_loss / double(N)));
      if (checkpoint.due(++steps_done)) checkpoint.save(steps_done, adam);
    }
    const double seconds = seconds_since(epoch_start);
    train_seconds += seconds;
    train_elbo = -loss_sum / double(steps_per_epoch - skip) / double(N);
    // The evaluation's draws leave the training's generator where it was, so that a run
    // resumed from a checkpoint written at the end of this epoch goes on as this one does.
    const Rng training_rng = thread_rng();
    const double test_elbo = evaluate(test_model, test_guide, test.images, 1).elbo;
    thread_rng() = training_rng;
    fmt::print(
        "epoch {:2d}  train ELBO {:8.2f}  test ELBO {:8.2f} per image  "
        "{:6.0f} images/s  {:.1f} s\n",
        epoch, train_elbo, test_elbo, double(steps_per_epoch - skip) * double(opt.batch) / seconds,
        seconds);
  }

  const int K = opt.iwae_samples;
  const auto eval_start = Clock::now();
  const Evaluation final_scores = evaluate(test_model, test_guide, test.images, K);
  fmt::print(
      "test set, {} draws of z per image: ELBO {:.2f}, importance-weighted log-likelihood {:.2f} "
      "nats per image ({:.1f} s)\n",
      K, final_scores.elbo, final_scores.iwae, seconds_since(eval_start));

  std::vector<std::string> images;
  if (png_supported()) {
    Rng picture_rng = rng.fork(1);
    for (const std::string& path :
         {write_reconstructions(model, guide, test), write_samples(model, picture_rng),
          opt.latent == 2 ? write_latent(test_guide, test) : std::string()}) {
      if (!path.empty()) images.push_back(path);
    }
    fmt::print("wrote {}\n", images.empty() ? std::string("no images (writing failed)")
                                            : fmt::format("{}", fmt::join(images, ", ")));
  } else {
    fmt::print(
        "images skipped: stb_image_write.h was not found when this example was built "
        "(apt-get install libstb-dev, then configure again)\n");
  }
  std::vector<std::string> quoted;
  for (const std::string& p : images) quoted.push_back("\"" + p + "\"");
  const double seconds = seconds_since(start);
  fmt::print("{:.1f} s in all; training {:.1f} s, {:.0f} us per step\n", seconds, train_seconds,
             train_seconds / double(steps_per_epoch * opt.epochs) * 1e6);
  fmt::print(
      R"({{"example": "vae", "test_elbo": {:.3f}, "test_iwae": {:.3f}, "iwae_samples": {}, "train_elbo": {:.3f}, )"
      R"("epochs": {}, "latent": {}, "batch": {}, "elbo": "{}", "train_images": {}, "test_images": {}, )"
      R"("us_per_step": {:.0f}, "seconds": {:.1f}, "images": [{}]}})"
      "\n",
      final_scores.elbo, final_scores.iwae, K, train_elbo, opt.epochs, opt.latent, opt.batch,
      opt.elbo, N, test.size(), train_seconds / double(steps_per_epoch * opt.epochs) * 1e6, seconds,
      fmt::join(quoted, ", "));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_example("vae", [&] {
    const std::optional<Options> opt = parse_options(argc, argv);
    if (!opt) return 0;
    return opt->elbo == "trace" ? run(*opt, Trace_ELBO()) : run(*opt, TraceMeanField_ELBO());
  });
}
