#pragma once
// The random orders of a dataset: which examples are held out for validation, and the order of
// the training examples in each epoch. Each is a pure function of (seed, what it is for), so a
// run is reproducible, and a run resumed from a data position (epoch, index in epoch) sees the
// same examples in the same order as one that was never interrupted.
//
// Layout (Philox streams of the seed, core/philox.hpp; every implementation must follow it):
//   random_permutation(rng, n): Fisher-Yates from the back. Step s = 0 .. n-2 swaps position
//     i = n-1-s with position j = floor(u * (i+1) / 2^64), u = word(2s) | word(2s+1) << 32
//     (64 bits per draw, so the bias towards small j is below (i+1) / 2^64).
//   validation split of n examples, k held out: p = random_permutation({seed, split_stream}, n);
//     p[0..k) are the validation examples, the rest the training ones, each side in file order.
//   epoch e over the m training examples: order = random_permutation({seed, epoch_stream + e}, m);
//     position (e, i) is training example order[i].
// The streams carry a tag in their upper 32 bits, clear of the small stream numbers that model
// initialisation (stream = parameter index) and sampling use with the same seed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/random_streams.hpp"

namespace rlhf::data {

// split_stream and epoch_stream: core/random_streams.hpp.

namespace detail {
// The upper 64 bits of the 128-bit product a * b (portable: no __int128).
constexpr std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, lo_hi = a_lo * b_hi, hi_lo = a_hi * b_lo, hi_hi = a_hi * b_hi;
  const std::uint64_t middle = (lo_lo >> 32) + (lo_hi & 0xffffffffu) + (hi_lo & 0xffffffffu);
  return hi_hi + (lo_hi >> 32) + (hi_lo >> 32) + (middle >> 32);
}
}  // namespace detail

// A uniformly random permutation of 0 .. n-1 (layout above).
inline std::vector<std::int64_t> random_permutation(const PhiloxStream& rng, std::int64_t n) {
  if (n < 0) fail("random_permutation: negative size ", n);
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) p[i] = i;
  for (std::int64_t s = 0; s + 1 < n; ++s) {
    const Philox::Counter block = rng.block(static_cast<std::uint64_t>(s) / 2);  // words 2s, 2s+1
    const std::uint32_t* w = block.data() + 2 * (s % 2);
    const std::uint64_t u = std::uint64_t{w[0]} | std::uint64_t{w[1]} << 32;
    const std::int64_t i = n - 1 - s;
    const auto j = static_cast<std::int64_t>(detail::mul_high(u, static_cast<std::uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return p;
}

// The order of the m training examples in epoch e.
inline std::vector<std::int64_t> epoch_order(std::uint64_t seed, std::int64_t epoch, std::int64_t m) {
  if (epoch < 0) fail("epoch_order: negative epoch ", epoch);
  return random_permutation(PhiloxStream{seed, epoch_stream + static_cast<std::uint64_t>(epoch)}, m);
}

// How many examples to hold out: a fraction of the dataset or a count.
class ValidationSize {
 public:
  // round(f * n) examples, at least one when f > 0; f in [0, 1).
  static ValidationSize fraction(double f) {
    if (!(f >= 0.0 && f < 1.0)) fail("validation split: fraction ", f, " is outside [0, 1)");
    return ValidationSize(f, -1);
  }
  static ValidationSize count(std::int64_t k) {
    if (k < 0) fail("validation split: negative count ", k);
    return ValidationSize(0.0, k);
  }
  static ValidationSize none() { return count(0); }

  // The number of the n examples held out; at least one must be left for training.
  std::int64_t of(std::int64_t n) const {
    std::int64_t k = count_;
    if (k < 0) k = fraction_ > 0.0 ? std::max<std::int64_t>(1, std::llround(fraction_ * static_cast<double>(n))) : 0;
    if (n <= 0) fail("validation split: the dataset has no examples");
    if (k >= n) fail("validation split: holding out ", k, " of ", n, " examples leaves none for training");
    return k;
  }

 private:
  ValidationSize(double f, std::int64_t k) : fraction_(f), count_(k) {}
  double fraction_;
  std::int64_t count_;  // -1: use the fraction
};

// Indices into the dataset, each side ascending (file order).
struct DataSplit {
  std::vector<std::int64_t> train;
  std::vector<std::int64_t> validation;
};

inline DataSplit split_train_validation(std::int64_t n, ValidationSize size, std::uint64_t seed) {
  const std::int64_t k = size.of(n);
  std::vector<std::int64_t> p = random_permutation(PhiloxStream{seed, split_stream}, n);
  DataSplit split;
  split.validation.assign(p.begin(), p.begin() + k);
  split.train.assign(p.begin() + k, p.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

// Where a run is in its data: the next example is position `index` of epoch `epoch`'s order.
// Saved with a checkpoint; resuming from it continues the same sequence of examples.
struct DataPosition {
  std::int64_t epoch = 0;
  std::int64_t index = 0;
  friend bool operator==(const DataPosition&, const DataPosition&) = default;
};

// Walks the training examples epoch after epoch, each epoch in its own order (epoch_order).
// Batches may straddle an epoch boundary: the walk is one endless sequence of examples.
class EpochSampler {
 public:
  // examples: the dataset indices to walk (DataSplit::train).
  EpochSampler(std::vector<std::int64_t> examples, std::uint64_t seed, DataPosition start = {})
      : examples_(std::move(examples)), seed_(seed), position_(start) {
    const auto m = static_cast<std::int64_t>(examples_.size());
    if (m == 0) fail("EpochSampler: no training examples");
    if (start.epoch < 0 || start.index < 0 || start.index >= m)
      fail("EpochSampler: data position (epoch ", start.epoch, ", index ", start.index, ") is outside an epoch of ", m,
           " examples");
  }

  // The dataset index at the current position; then moves to the next position.
  std::int64_t next() {
    if (order_epoch_ != position_.epoch) {
      order_ = epoch_order(seed_, position_.epoch, epoch_size());
      order_epoch_ = position_.epoch;
    }
    const std::int64_t example = examples_[order_[position_.index]];
    if (++position_.index == epoch_size()) position_ = {position_.epoch + 1, 0};
    return example;
  }
  // The next count dataset indices, into out (cleared first; its capacity is reused).
  void next(std::int64_t count, std::vector<std::int64_t>& out) {
    out.clear();
    for (std::int64_t i = 0; i < count; ++i) out.push_back(next());
  }

  // The position of the example next() returns next.
  DataPosition position() const { return position_; }
  std::int64_t epoch_size() const { return static_cast<std::int64_t>(examples_.size()); }

 private:
  std::vector<std::int64_t> examples_;
  std::uint64_t seed_;
  DataPosition position_;
  std::vector<std::int64_t> order_;
  std::int64_t order_epoch_ = -1;
};

}  // namespace rlhf::data
