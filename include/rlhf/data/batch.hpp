#pragma once
// Batching token sequences for next-token training: B sequences of different lengths become
// right-padded host tensors [B, T], T the longest sequence of the batch (or a fixed length).
//
//   ids[b, t]        token t of row b; pad_id after the row's end
//   targets[b, t]    ids[b, t + 1] where loss_mask[b, t] = 1, else -100 (ignore_index)
//   loss_mask[b, t]  the loss mask of token t + 1: position t is trained to predict the next
//                    token exactly when that token is one to learn. 0 at the last real token
//                    (nothing follows it) and on padding. Token 0 of a row is never a target.
//   key_mask[b, t]   1 for a real token, 0 for padding (attention's key-padding mask)
//   lengths[b]       real tokens in row b (the last real token is lengths[b] - 1)
//
// A Batcher owns the buffers and hands out views of shape [B, T] into them, so after the first
// batch of the largest B * T nothing is allocated (with a fixed length: never again).
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/error.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf::data {

// One sequence to batch: its token ids and, per token, 1 if it is a token to learn (empty: none).
struct TokenSequence {
  std::span<const std::int32_t> tokens;
  std::span<const std::uint8_t> loss_mask;
};

// M is the element type of the masks, the model's T (float, or double in gradient checks).
template <class M = float>
struct TokenBatch {
  View<const std::int32_t, cpu> ids;      // [B, T]
  View<const std::int32_t, cpu> targets;  // [B, T]
  View<const M, cpu> loss_mask;           // [B, T]
  View<const M, cpu> key_mask;            // [B, T]
  std::span<const std::int64_t> lengths;  // [B]
  std::int64_t loss_tokens = 0;           // positions with loss_mask 1: the loss's denominator

  std::int64_t rows() const { return ids.size(0); }
  std::int64_t length() const { return ids.size(1); }
};

template <class M = float>
class Batcher {
 public:
  static constexpr std::int32_t ignore_index = -100;  // PyTorch's and Hugging Face's

  // fixed_length 0: each batch is as long as its longest row; otherwise every batch has that
  // length and a longer row is an error. pad_id fills ids after a row's end (any valid id: padded
  // positions are masked out of attention and loss).
  explicit Batcher(std::int64_t fixed_length = 0, std::int32_t pad_id = 0)
      : fixed_length_(fixed_length), pad_id_(pad_id) {
    if (fixed_length < 0) fail("Batcher: negative fixed length ", fixed_length);
  }

  // Builds the batch of `rows` sequences, row b being row_at(b) (a TokenSequence). The views
  // stay valid until the next fill.
  template <class RowAt>
  const TokenBatch<M>& fill(std::int64_t rows, RowAt&& row_at) {
    if (rows <= 0) fail("Batcher: empty batch");
    std::int64_t T = fixed_length_;
    lengths_.resize(static_cast<std::size_t>(rows));
    for (std::int64_t b = 0; b < rows; ++b) {
      const TokenSequence row = row_at(b);
      const auto n = static_cast<std::int64_t>(row.tokens.size());
      if (n == 0) fail("Batcher: row ", b, " has no tokens");
      if (!row.loss_mask.empty() && row.loss_mask.size() != row.tokens.size())
        fail("Batcher: row ", b, " has ", row.tokens.size(), " tokens but ", row.loss_mask.size(),
             " loss-mask entries");
      if (fixed_length_ > 0 && n > fixed_length_)
        fail("Batcher: row ", b, " has ", n, " tokens, more than the fixed length ", fixed_length_);
      lengths_[b] = n;
      if (fixed_length_ == 0) T = std::max(T, n);
    }
    reserve(rows * T);

    std::int32_t* ids = ids_.data();
    std::int32_t* targets = targets_.data();
    M* loss_mask = loss_mask_.data();
    M* key_mask = key_mask_.data();
    std::int64_t loss_tokens = 0;
    for (std::int64_t b = 0; b < rows; ++b) {
      const TokenSequence row = row_at(b);
      const std::int64_t n = lengths_[b];
      const std::int64_t o = b * T;
      for (std::int64_t t = 0; t < T; ++t) {
        const bool real = t < n;
        const bool learn = t + 1 < n && !row.loss_mask.empty() && row.loss_mask[t + 1] != 0;
        ids[o + t] = real ? row.tokens[t] : pad_id_;
        targets[o + t] = learn ? row.tokens[t + 1] : ignore_index;
        loss_mask[o + t] = learn ? M(1) : M(0);
        key_mask[o + t] = real ? M(1) : M(0);
        loss_tokens += learn;
      }
    }
    const Shape shape{rows, T};
    batch_.ids = View<const std::int32_t, cpu>(ids, shape);
    batch_.targets = View<const std::int32_t, cpu>(targets, shape);
    batch_.loss_mask = View<const M, cpu>(loss_mask, shape);
    batch_.key_mask = View<const M, cpu>(key_mask, shape);
    batch_.lengths = lengths_;
    batch_.loss_tokens = loss_tokens;
    return batch_;
  }

  const TokenBatch<M>& fill(std::span<const TokenSequence> rows) {
    return fill(static_cast<std::int64_t>(rows.size()), [&](std::int64_t b) { return rows[b]; });
  }

  const TokenBatch<M>& batch() const { return batch_; }
  std::int64_t fixed_length() const { return fixed_length_; }

 private:
  // Grows the buffers to hold n elements; never shrinks them.
  void reserve(std::int64_t n) {
    if (n <= ids_.numel()) return;
    ids_ = Tensor<std::int32_t, cpu>(Shape{n});
    targets_ = Tensor<std::int32_t, cpu>(Shape{n});
    loss_mask_ = Tensor<M, cpu>(Shape{n});
    key_mask_ = Tensor<M, cpu>(Shape{n});
  }

  std::int64_t fixed_length_;
  std::int32_t pad_id_;
  Tensor<std::int32_t, cpu> ids_, targets_;
  Tensor<M, cpu> loss_mask_, key_mask_;
  std::vector<std::int64_t> lengths_;
  TokenBatch<M> batch_;
};

}  // namespace rlhf::data
