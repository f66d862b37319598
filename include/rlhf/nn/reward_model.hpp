#pragma once
// RewardModel<T, B>: a GPT-2 trunk and a scalar head, r = w · h, on the final hidden state h of
// one position per sequence: the last real token (the EOS when the sequence has one). The head
// is transformers' GPT2ForSequenceClassification head with one label: `score.weight` [1, n_embd],
// no bias (a Bradley-Terry loss sees only differences of rewards, so a bias would get no
// gradient). It lives in the GPT's parameter buffer (nn::HeadParameter), so AdamW, clipping and
// checkpoints need nothing extra.
//
//   rewards(ids, positions, key_mask, read_at)   raw rewards [B] at positions read_at[b]
//   backward(drewards)                            gradient into gradients() (accumulating)
//   values(ids, positions, key_mask)              the head at every position [B, T] (PPO's value
//   backward_values(dvalues)                      model is a reward model read per token)
//   scores(...)                                   normalised rewards gain · r + bias, on the host
//
// Normalisation (lm-human-preferences): after training, gain and bias are set so that the
// rewards of a reference set have mean 0 and standard deviation 1 (set_normalization); scores()
// applies them, rewards() does not (training sees raw rewards).
//
// The position to read is explicit (reward_positions() finds it from the ids and the key mask),
// so left and right padding both work: the mask, not a pad id, says where the real tokens are.
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/nn/arena.hpp"
#include "rlhf/nn/gpt.hpp"

namespace rlhf::nn {

// Per row of a batch: the first EOS at or after position from[b] among the row's real tokens
// (key_mask nonzero), else the row's last real token. from empty: 0 for every row. A row with no
// real token is an error.
template <class M>
std::vector<std::int32_t> reward_positions(View<const std::int32_t, cpu> ids, View<const M, cpu> key_mask,
                                           std::int32_t eos_id, std::span<const std::int64_t> from = {}) {
  constexpr std::string_view op = "reward_positions";
  check::rank(op, "ids", ids, 2);
  check::shape(op, "key_mask", key_mask, ids.shape());
  const std::int64_t Bn = ids.size(0), Tn = ids.size(1);
  if (!from.empty() && static_cast<std::int64_t>(from.size()) != Bn)
    fail(op, ": ", from.size(), " response starts for ", Bn, " rows (ids ", ids.shape(), ")");
  std::vector<std::int32_t> at(static_cast<std::size_t>(Bn));
  for (std::int64_t b = 0; b < Bn; ++b) {
    const std::int32_t* row = ids.data() + b * Tn;
    const M* real = key_mask.data() + b * Tn;
    std::int64_t last = -1, eos = -1;
    for (std::int64_t t = 0; t < Tn; ++t) {
      if (real[t] == M(0)) continue;
      last = t;
      if (eos < 0 && row[t] == eos_id && t >= (from.empty() ? 0 : from[b])) eos = t;
    }
    if (last < 0) fail(op, ": row ", b, " of ids ", ids.shape(), " has no real token (its key_mask is all 0)");
    at[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(eos >= 0 ? eos : last);
  }
  return at;
}

template <class T, Backend B>
class RewardModel {
 public:
  static constexpr std::string_view score_weight_name = "score.weight";

  explicit RewardModel(const GPTConfig& config, B backend = {}, Trainable trainable = Trainable::yes)
      : gpt_(config, backend, {HeadParameter{std::string(score_weight_name), Shape{1, config.n_embd}, true}},
             trainable),
        w_(gpt_.parameter(score_weight_name)),
        dw_(gpt_.trainable() ? gpt_.gradient(score_weight_name) : View<T, B>{}) {}
  RewardModel(const GPTConfig& config, Trainable trainable, B backend = {}) : RewardModel(config, backend, trainable) {}
  RewardModel(RewardModel&&) = delete;  // w_ and dw_ point into gpt_

  GPT<T, B>& gpt() { return gpt_; }
  const GPT<T, B>& gpt() const { return gpt_; }
  const GPTConfig& config() const { return gpt_.config(); }
  const B& backend() const { return gpt_.backend(); }
  void init_weights(std::uint64_t seed) { gpt_.init_weights(seed); }
  void zero_grad() { gpt_.zero_grad(); }

  // Sequences run through the trunk so far (each row of each rewards()/values() call once).
  std::int64_t sequences_forwarded() const { return forwarded_; }

  // Raw rewards [B] of a batch: the head on the hidden state at position read_at[b] of row b.
  // ids, positions, key_mask as GPT::forward. Valid until the next call.
  View<const T, B> rewards(In<std::int32_t, B> ids, In<std::int32_t, B> positions, In<T, B> key_mask,
                           std::span<const std::int32_t> read_at);

  // drewards [B]: dloss/dr of the last rewards() call. Accumulates into gpt().gradients().
  void backward(In<T, B> drewards);

  // The head at every position: values [B, T] (PPO's value model). Valid until the next call.
  View<const T, B> values(In<std::int32_t, B> ids, In<std::int32_t, B> positions = {}, In<T, B> key_mask = {});

  // dvalues [B, T]: dloss/dvalue of the last values() call. Accumulates into gpt().gradients().
  void backward_values(In<T, B> dvalues);

  // Normalised rewards gain · r + bias of a batch, on the host.
  std::vector<T> scores(In<std::int32_t, B> ids, In<std::int32_t, B> positions, In<T, B> key_mask,
                        std::span<const std::int32_t> read_at) {
    const View<const T, B> r = rewards(ids, positions, key_mask, read_at);
    std::vector<T> host(static_cast<std::size_t>(r.numel()));
    bytes_to_host(backend(), host.data(), r.data(), r.bytes());
    for (T& x : host) x = normalized(x);
    return host;
  }
  // A raw reward r normalised as scores() normalises it: gain · r + bias, rounded to T.
  T normalized(T raw) const { return T(gain_ * double(raw) + bias_); }

  double gain() const { return gain_; }
  double bias() const { return bias_; }
  void set_normalization(double gain, double bias);
  // Gain and bias that map raw rewards with this mean and (population) standard deviation to
  // mean 0 and std 1.
  void normalize_to(double mean, double std_dev);

 private:
  enum class Mode { none, rewards, values };
  struct Scratch {
    View<T, B> picked;   // [B, C] hidden states at the read positions
    View<T, B> out;      // [B] rewards
    View<T, B> values;   // [B, T]
    View<T, B> dpicked;  // [B, C]
    View<T, B> dhidden;  // [B, T, C]
  };

  void plan(std::int64_t Bn, std::int64_t Tn);

  GPT<T, B> gpt_;
  View<T, B> w_, dw_;  // score.weight [1, C] and its gradient
  double gain_ = 1, bias_ = 0;
  Arena<T, B> arena_;
  Scratch s_;
  Tensor<std::int32_t, B> rows_;  // [B] flat rows b·T + read_at[b] of the hidden states
  std::vector<std::int32_t> rows_host_;
  View<const T, B> hidden_;
  std::int64_t planned_b_ = -1, planned_t_ = -1;
  std::int64_t forwarded_ = 0;
  Mode mode_ = Mode::none;
};

// RewardModel's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
View<const T, B> RewardModel<T, B>::rewards(In<std::int32_t, B> ids, In<std::int32_t, B> positions, In<T, B> key_mask,
                                            std::span<const std::int32_t> read_at) {
  constexpr std::string_view op = "RewardModel::rewards";
  check::rank(op, "ids", ids, 2);
  const std::int64_t Bn = ids.size(0), Tn = ids.size(1), C = config().n_embd;
  if (static_cast<std::int64_t>(read_at.size()) != Bn)
    fail(op, ": ", read_at.size(), " read positions for ", Bn, " rows (ids ", ids.shape(), ")");
  rows_host_.resize(read_at.size());
  for (std::int64_t b = 0; b < Bn; ++b) {
    const std::int32_t t = read_at[static_cast<std::size_t>(b)];
    if (t < 0 || t >= Tn)
      fail(op, ": read position ", t, " of row ", b, " is outside the ", Tn, " columns of ids ", ids.shape());
    rows_host_[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(b * Tn + t);
  }
  const View<const T, B> hidden = gpt_.forward(ids, positions, key_mask);
  forwarded_ += Bn;
  plan(Bn, Tn);
  bytes_from_host(backend(), rows_.data(), rows_host_.data(), rows_host_.size() * sizeof(std::int32_t));
  // The rows to read are a gather, which is what an embedding lookup is: table = hidden.
  embedding_forward(backend(), s_.picked, hidden.reshape({Bn * Tn, C}), View<const std::int32_t, B>(rows_.cview()));
  matmul_forward(backend(), s_.out.reshape({Bn, 1}), s_.picked, w_, View<const T, B>{}, WeightLayout::out_in);
  mode_ = Mode::rewards;
  return s_.out;
}

template <class T, Backend B>
void RewardModel<T, B>::backward(In<T, B> drewards) {
  if (mode_ != Mode::rewards) fail("RewardModel::backward: call rewards() first");
  check::shape("RewardModel::backward", "drewards", drewards, s_.out.shape());
  const std::int64_t Bn = planned_b_, Tn = planned_t_, C = config().n_embd;
  zero_bytes(backend(), s_.dpicked.data(), s_.dpicked.bytes());
  matmul_backward(backend(), s_.dpicked, dw_, View<T, B>{}, drewards.reshape({Bn, 1}), s_.picked, w_,
                  WeightLayout::out_in);
  zero_bytes(backend(), s_.dhidden.data(), s_.dhidden.bytes());
  embedding_backward(backend(), s_.dhidden.reshape({Bn * Tn, C}), s_.dpicked,
                     View<const std::int32_t, B>(rows_.cview()));
  gpt_.backward_hidden(s_.dhidden);
}

template <class T, Backend B>
View<const T, B> RewardModel<T, B>::values(In<std::int32_t, B> ids, In<std::int32_t, B> positions, In<T, B> key_mask) {
  check::rank("RewardModel::values", "ids", ids, 2);
  const std::int64_t Bn = ids.size(0), Tn = ids.size(1), C = config().n_embd;
  hidden_ = gpt_.forward(ids, positions, key_mask);
  forwarded_ += Bn;
  plan(Bn, Tn);
  matmul_forward(backend(), s_.values.reshape({Bn * Tn, 1}), hidden_.reshape({Bn * Tn, C}), w_, View<const T, B>{},
                 WeightLayout::out_in);
  mode_ = Mode::values;
  return s_.values;
}

template <class T, Backend B>
void RewardModel<T, B>::backward_values(In<T, B> dvalues) {
  if (mode_ != Mode::values) fail("RewardModel::backward_values: call values() first");
  check::shape("RewardModel::backward_values", "dvalues", dvalues, s_.values.shape());
  const std::int64_t N = planned_b_ * planned_t_, C = config().n_embd;
  zero_bytes(backend(), s_.dhidden.data(), s_.dhidden.bytes());
  matmul_backward(backend(), s_.dhidden.reshape({N, C}), dw_, View<T, B>{}, dvalues.reshape({N, 1}),
                  hidden_.reshape({N, C}), w_, WeightLayout::out_in);
  gpt_.backward_hidden(s_.dhidden);
}

template <class T, Backend B>
void RewardModel<T, B>::set_normalization(double gain, double bias) {
  if (!std::isfinite(gain) || !std::isfinite(bias) || gain == 0)
    fail("RewardModel::set_normalization: gain ", gain, " and bias ", bias, " must be finite, gain nonzero");
  gain_ = gain;
  bias_ = bias;
}

template <class T, Backend B>
void RewardModel<T, B>::normalize_to(double mean, double std_dev) {
  if (!(std_dev > 0) || !std::isfinite(std_dev) || !std::isfinite(mean))
    fail("RewardModel::normalize_to: the reference rewards have mean ", mean, " and std ", std_dev,
         " (need a finite mean and a positive std: more than one distinct reward)");
  set_normalization(1 / std_dev, -mean / std_dev);
}

template <class T, Backend B>
void RewardModel<T, B>::plan(std::int64_t Bn, std::int64_t Tn) {
  if (Bn == planned_b_ && Tn == planned_t_) return;
  const std::int64_t C = config().n_embd;
  arena_.plan([&](Arena<T, B>& a) {
    s_.picked = a.take({Bn, C});
    s_.out = a.take({Bn});
    s_.values = a.take({Bn, Tn});
    if (!gpt_.trainable()) return;  // frozen: forward only
    s_.dpicked = a.take({Bn, C});
    s_.dhidden = a.take({Bn, Tn, C});
  });
  if (rows_.numel() != Bn) rows_ = Tensor<std::int32_t, B>(Shape{Bn});
  planned_b_ = Bn;
  planned_t_ = Tn;
}

}  // namespace rlhf::nn

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu.hpp"  // the class checks its backend's kernels
namespace rlhf::nn {
extern template class RewardModel<float, cpu>;
extern template class RewardModel<double, cpu>;
}  // namespace rlhf::nn
#endif
