#pragma once
// GPT<T, B>: GPT-2's architecture. Token and learned position embeddings, n_layer pre-LayerNorm
// blocks (causal self-attention, tanh-GELU MLP of width 4·C), a final LayerNorm and an LM head
// tied to the token embedding. Parameters carry Hugging Face's GPT-2 names.
//
// Use: forward() runs the trunk and returns the final hidden states; then one head:
//   lm_loss(targets, mask)            cross-entropy over the vocabulary (SFT, PTX)
//   logprobs(out, targets, τ)         log-prob of chosen tokens under softmax(logits / τ)
// and its backward (backward_lm_loss, backward_logprobs), or backward_hidden() for a head of
// your own on the hidden states (the reward model's). Backward accumulates into gradients().
#include <cmath>
#include <string>
#include <vector>

#include "rlhf/backend/contract.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/nn/arena.hpp"
#include "rlhf/nn/block.hpp"
#include "rlhf/nn/embedding.hpp"
#include "rlhf/nn/gpt_config.hpp"
#include "rlhf/nn/kv_cache.hpp"
#include "rlhf/nn/parameters.hpp"

namespace rlhf::nn {

// Whether a model trains: a frozen one (PPO's reference, the reward model that scores) has no
// gradient buffer and no activation gradients, only what a forward pass needs.
enum class Trainable { yes, no };

// A parameter of a head built on the trunk (the reward model's score.weight): it lives in the
// model's one parameter buffer after GPT-2's tensors, so the optimizer, gradient clipping and
// checkpoints treat it like any other.
struct HeadParameter {
  std::string name;
  Shape shape;
  bool decay = false;
};

template <class T, Backend B>
class GPT {
  static_assert(check_model_backend<B, T>());  // each missing kernel family is named

 public:
  explicit GPT(const GPTConfig& config, B backend = {}, const std::vector<HeadParameter>& heads = {},
               Trainable trainable = Trainable::yes)
      : config_(config), be_(backend), trainable_(trainable == Trainable::yes) {
    config_.validate();
    build_layout();
    for (const HeadParameter& h : heads) layout_.add(h.name, h.shape, h.decay, true);
    params_ = Tensor<T, B>(Shape{layout_.size()});
    if (trainable_) grads_ = Tensor<T, B>(Shape{layout_.size()});
    bind();
  }
  GPT(const GPTConfig& config, Trainable trainable, B backend = {}) : GPT(config, backend, {}, trainable) {}
  GPT(GPT&&) = delete;  // modules hold views into the buffers this object owns

  const GPTConfig& config() const { return config_; }
  const B& backend() const { return be_; }
  bool trainable() const { return trainable_; }
  const ParameterLayout& layout() const { return layout_; }
  Tensor<T, B>& parameters() { return params_; }
  const Tensor<T, B>& parameters() const { return params_; }
  Tensor<T, B>& gradients() { return grads_; }
  View<T, B> parameter(std::string_view name) { return layout_.view(params_.view(), index_of(name)); }
  View<T, B> gradient(std::string_view name) {
    require_trainable("GPT::gradient");
    return layout_.view(grads_.view(), index_of(name));
  }
  std::int64_t activation_allocations() const { return arena_.allocations(); }

  // GPT-2's initialisation: N(0, 0.02) for matrices and embeddings (head matrices too),
  // N(0, 0.02 / √(2·n_layer)) for the projections into the residual stream, zero biases, unit
  // LayerNorm gains. Parameter i draws from Philox stream i of the seed, so the result is the
  // same on every backend.
  void init_weights(std::uint64_t seed);

  void zero_grad() {
    require_trainable("GPT::zero_grad");
    zero_bytes(be_, grads_.data(), grads_.bytes());
  }

  // The trunk. ids [B, T] int32; positions [B, T] or absent (then 0..T-1 in every row; give
  // explicit positions with left padding); key_mask [B, T] (1 real, 0 pad) or absent.
  // Returns the final hidden states [B, T, C] (after ln_f), valid until the next forward.
  View<const T, B> forward(In<std::int32_t, B> ids, In<std::int32_t, B> positions = {}, In<T, B> key_mask = {});

  // LM head over every position of the last forward: logits [B·T, V].
  View<const T, B> logits() {
    require_forward("GPT::logits");
    lm_head_forward();
    return acts_.logits;
  }

  // The logits [B·T, V] the last head call (logits, lm_loss, logprobs) computed; no recompute.
  View<const T, B> last_logits() const { return acts_.logits; }

  // Mean cross-entropy of next-token targets [B, T] over positions where mask [B, T] is nonzero
  // (mask absent: every position). Targets at masked positions are not read.
  T lm_loss(In<std::int32_t, B> targets, In<T, B> mask = {});
  void backward_lm_loss(T dloss = T(1));

  // logp [B, T]: log-prob of targets [B, T] under softmax(logits / temperature); entropy [B, T],
  // when given: the entropy of that distribution (PPO's entropy bonus and diagnostic).
  void logprobs(View<T, B> logp, In<std::int32_t, B> targets, T temperature = T(1), View<T, B> entropy = {});
  // dlogp [B, T]: gradient of the loss with respect to the log-probs of the last logprobs();
  // dentropy [B, T], when given, with respect to its entropies (which logprobs() must have computed).
  void backward_logprobs(In<T, B> dlogp, In<T, B> dentropy = {});

  // Generation step: runs Tn new tokens per row (ids, positions [B, Tn]; key_mask_new [B, Tn]
  // says which of them are real) against the cache, appends their keys and values, and returns
  // the logits [B, V] of each row's last new token. Only that row's hidden state goes through
  // the LM head. Prefill is the first call (the whole left-padded prompt), then one token a call.
  // Rows are independent here, so a small step (one token for a few rows) runs as slices of rows
  // side by side (row_parts / run_tasks of the backend), each slice through the whole model.
  View<const T, B> forward_cached(KVCache<T, B>& cache, In<std::int32_t, B> ids, In<std::int32_t, B> positions,
                                  In<T, B> key_mask_new);

  // Backward of the trunk from a gradient at the hidden states [B, T, C] of the last forward.
  void backward_hidden(In<T, B> dhidden);

 private:
  struct Activations {
    std::vector<View<T, B>> x;  // residual stream: x[0] embeddings, x[l + 1] after block l
    std::vector<typename Block<T, B>::Cache> blocks;
    typename LayerNorm<T, B>::Cache ln_f;
    View<T, B> scratch_c;   // [B, T, C] position embeddings before they are added
    View<T, B> logits;      // [B·T, V]
    View<T, B> lse;         // [B·T] log-sum-exp per row (of logits / τ for logprobs)
    View<T, B> row_values;  // [B·T] per-token losses
  };
  // Scratch for generation, for the n rows of one slice of the batch: one block's worth, reused
  // by every layer.
  struct Inference {
    Arena<T, B> arena;
    std::int64_t rows = 0;
    View<T, B> x;  // [n, Tn, C] residual stream
    typename Block<T, B>::Cache block;
    View<T, B> last;  // [n, C] hidden state of each row's last new token
    typename LayerNorm<T, B>::Cache last_ln;
  };
  struct ActivationGrads {
    View<T, B> dresidual, dhidden, dlogits;
    typename Block<T, B>::Scratch block;
  };

  // src's values in dst (reshaped when its shape differs, so a steady-state step does not
  // allocate): what a head or backward reads after the call that passed src, owned by the model,
  // so the caller's buffers may be gone by then (llm.c keeps its inputs the same way).
  template <class E>
  View<const E, B> keep(Tensor<E, B>& dst, View<const E, B> src) const {
    if (dst.shape() != src.shape()) dst = Tensor<E, B>(src.shape());
    copy_bytes(be_, dst.data(), src.data(), src.bytes());
    return dst.cview();
  }

  static bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  }

  std::int64_t index_of(std::string_view name) const {
    const ParameterInfo& p = layout_.at(name);
    return static_cast<std::int64_t>(&p - layout_.params().data());
  }

  void build_layout();

  // Points every module at its slices of the parameter and gradient buffers.
  void bind();

  // arena.plan(carve), naming the batch when its activations do not fit in memory.
  template <class Carve>
  static void plan_arena(Arena<T, B>& arena, const Carve& carve, std::int64_t Bn, std::int64_t Tn) {
    try {
      arena.plan(carve);
    } catch (const error& e) {
      fail("GPT: the activations of ", Bn, " sequences of ", Tn, " tokens do not fit (", e.what(),
           "); use a smaller batch or micro-batch");
    }
  }

  // Carves every activation and activation gradient for a batch of Bn rows of Tn tokens.
  void plan(std::int64_t Bn, std::int64_t Tn);

  void plan_inference(std::int64_t Bn, std::int64_t Tn, std::int64_t parts);

  // forward_cached for rows [r0, r0 + s.rows) of the batch: views of those rows of the inputs,
  // of every layer's cache and of the logits.
  void decode_rows(KVCache<T, B>& cache, In<std::int32_t, B> ids, In<std::int32_t, B> positions, std::int64_t r0,
                   Inference& s);

  void default_positions(std::int64_t Bn, std::int64_t Tn);

  std::int64_t rows() const { return ids_.numel(); }
  void require_forward(std::string_view op) const {
    if (!ids_.present()) fail(op, ": call forward() first");
  }
  void require_trainable(std::string_view op) const {
    if (!trainable_) fail(op, ": the model is frozen (built with Trainable::no): it has no gradients");
  }

  // The tied head: logits = hidden · wteᵀ.
  void lm_head_forward() {
    matmul_forward(be_, acts_.logits, acts_.ln_f.out.reshape({rows(), config_.n_embd}), wte_.table, View<const T, B>{},
                   WeightLayout::out_in);
  }
  void backward_from_logits() {
    View<T, B> dh = grads_acts_.dhidden;
    zero_bytes(be_, dh.data(), dh.bytes());
    matmul_backward(be_, dh.reshape({rows(), config_.n_embd}), wte_.dtable, View<T, B>{}, grads_acts_.dlogits,
                    acts_.ln_f.out.reshape({rows(), config_.n_embd}), wte_.table, WeightLayout::out_in);
    backward_hidden(dh);
  }

  GPTConfig config_;
  B be_;
  bool trainable_ = true;
  ParameterLayout layout_;
  Tensor<T, B> params_, grads_;
  Embedding<T, B> wte_, wpe_;
  std::vector<Block<T, B>> blocks_;
  LayerNorm<T, B> ln_f_;

  Arena<T, B> arena_;
  Activations acts_;
  ActivationGrads grads_acts_;
  std::int64_t planned_b_ = -1, planned_t_ = -1;
  std::vector<Inference> infer_;   // one per slice of the batch (row_parts)
  Tensor<T, B> inference_logits_;  // [B, V]
  std::int64_t inference_b_ = -1, inference_t_ = -1;
  Tensor<std::int32_t, B> default_positions_;
  // What the heads and backward read after the call that gave it: views of the model's own
  // copies (keep), or of default_positions_; absent before the first forward / head call.
  Tensor<std::int32_t, B> ids_kept_, positions_kept_, targets_kept_;
  Tensor<T, B> loss_mask_kept_, entropy_kept_;
  View<const std::int32_t, B> ids_, positions_, targets_;
  View<const T, B> loss_mask_;
  View<const T, B> entropy_;
  T temperature_ = T(1);
};

// GPT's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
void GPT<T, B>::init_weights(std::uint64_t seed) {
  const T std_dev = T(config_.initializer_range);
  const T proj_std = T(config_.initializer_range / std::sqrt(2.0 * double(config_.n_layer)));
  const auto& params = layout_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].name;
    View<T, B> v = layout_.view(params_.view(), static_cast<std::int64_t>(i));
    if (ends_with(name, ".bias")) fill_constant(be_, v, T(0));
    else if (name.find("ln_") != std::string::npos) fill_constant(be_, v, T(1));
    else fill_normal(be_, v, PhiloxStream{seed, i}, 0, T(0), ends_with(name, "c_proj.weight") ? proj_std : std_dev);
  }
}

template <class T, Backend B>
View<const T, B> GPT<T, B>::forward(In<std::int32_t, B> ids, In<std::int32_t, B> positions, In<T, B> key_mask) {
  constexpr std::string_view op = "GPT::forward";
  check::rank(op, "ids", ids, 2);
  const std::int64_t Bn = ids.size(0), Tn = ids.size(1);
  check::nonempty(op, "batch: ids has no rows", Bn);
  check::nonempty(op, "sequence: ids has no columns", Tn);
  if (Tn > config_.n_positions)
    fail(op, ": sequence of ", Tn, " tokens (ids ", ids.shape(), ") is longer than the context of ",
         config_.n_positions);
  check::optional_shape(op, "positions", positions, ids.shape());
  check::optional_shape(op, "key_mask", key_mask, ids.shape());
  ids_ = {};  // until this forward succeeds, there is nothing to run a head or backward on
  plan(Bn, Tn);
  if (!positions.present()) {
    default_positions(Bn, Tn);
    positions = default_positions_.cview();
  }

  // x_0 = wte[ids] + wpe[positions]
  wte_.forward(be_, acts_.x[0], ids);
  wpe_.forward(be_, acts_.scratch_c, positions);
  residual_forward(be_, acts_.x[0], acts_.x[0], acts_.scratch_c);
  for (std::size_t l = 0; l < blocks_.size(); ++l)
    blocks_[l].forward(be_, acts_.x[l + 1], acts_.blocks[l], acts_.x[l], key_mask);
  ln_f_.forward(be_, acts_.ln_f, acts_.x.back());
  ids_ = keep(ids_kept_, ids);
  positions_ = positions.data() == default_positions_.data() ? positions : keep(positions_kept_, positions);
  return acts_.ln_f.out;
}

template <class T, Backend B>
T GPT<T, B>::lm_loss(In<std::int32_t, B> targets, In<T, B> mask) {
  require_forward("GPT::lm_loss");
  check::shape("GPT::lm_loss", "targets", targets, ids_.shape());
  check::optional_shape("GPT::lm_loss", "mask", mask, ids_.shape());
  lm_head_forward();
  targets_ = keep(targets_kept_, targets);
  loss_mask_ = mask.present() ? keep(loss_mask_kept_, mask) : View<const T, B>{};
  const std::int64_t N = rows();
  return cross_entropy_forward(be_, acts_.row_values, acts_.lse, acts_.logits, targets.reshape({N}),
                               mask.present() ? mask.reshape({N}) : mask);
}

template <class T, Backend B>
void GPT<T, B>::backward_lm_loss(T dloss) {
  require_trainable("GPT::backward_lm_loss");
  const std::int64_t N = rows();
  zero_bytes(be_, grads_acts_.dlogits.data(), grads_acts_.dlogits.bytes());
  cross_entropy_backward(be_, grads_acts_.dlogits, acts_.logits, acts_.lse, targets_.reshape({N}),
                         loss_mask_.present() ? loss_mask_.reshape({N}) : loss_mask_, dloss);
  backward_from_logits();
}

template <class T, Backend B>
void GPT<T, B>::logprobs(View<T, B> logp, In<std::int32_t, B> targets, T temperature, View<T, B> entropy) {
  require_forward("GPT::logprobs");
  check::shape("GPT::logprobs", "targets", targets, ids_.shape());
  check::shape("GPT::logprobs", "logp", logp, ids_.shape());
  check::optional_shape("GPT::logprobs", "entropy", entropy, ids_.shape());
  lm_head_forward();
  targets_ = keep(targets_kept_, targets);
  temperature_ = temperature;
  const std::int64_t N = rows();
  logprob_forward(be_, logp.reshape({N}), acts_.lse, acts_.logits, targets.reshape({N}), temperature);
  entropy_ = {};
  if (entropy.present()) {  // same lse: both are of logits / temperature
    entropy_forward(be_, entropy.reshape({N}), acts_.lse, acts_.logits, temperature);
    entropy_ = keep(entropy_kept_, View<const T, B>(entropy));
  }
}

template <class T, Backend B>
void GPT<T, B>::backward_logprobs(In<T, B> dlogp, In<T, B> dentropy) {
  require_trainable("GPT::backward_logprobs");
  check::shape("GPT::backward_logprobs", "dlogp", dlogp, ids_.shape());
  check::optional_shape("GPT::backward_logprobs", "dentropy", dentropy, ids_.shape());
  if (dentropy.present() && !entropy_.present())
    fail("GPT::backward_logprobs: dentropy given, but the last logprobs() computed no entropy");
  const std::int64_t N = rows();
  zero_bytes(be_, grads_acts_.dlogits.data(), grads_acts_.dlogits.bytes());
  logprob_backward(be_, grads_acts_.dlogits, dlogp.reshape({N}), acts_.logits, acts_.lse, targets_.reshape({N}),
                   temperature_);
  if (dentropy.present())
    entropy_backward(be_, grads_acts_.dlogits, dentropy.reshape({N}), acts_.logits, acts_.lse, entropy_.reshape({N}),
                     temperature_);
  backward_from_logits();
}

template <class T, Backend B>
View<const T, B> GPT<T, B>::forward_cached(KVCache<T, B>& cache, In<std::int32_t, B> ids, In<std::int32_t, B> positions,
                                           In<T, B> key_mask_new) {
  constexpr std::string_view op = "GPT::forward_cached";
  check::rank(op, "ids", ids, 2);
  const std::int64_t Bn = ids.size(0), Tn = ids.size(1), C = config_.n_embd, past = cache.length;
  check::nonempty(op, "step: ids has no columns", Tn);
  check::shape(op, "positions", positions, ids.shape());
  check::shape(op, "key_mask_new", key_mask_new, ids.shape());
  if (cache.batch() != Bn || cache.k.size() != blocks_.size())
    fail(op, ": ids ", ids.shape(), " do not fit a cache of batch ", cache.batch(), " and ", cache.k.size(), " layers");
  if (past + Tn > cache.capacity())
    fail(op, ": ", past, " cached and ", Tn, " new tokens exceed the cache of ", cache.capacity(), " positions");
  const std::int64_t parts = row_parts(be_, Bn, Bn * Tn * 12 * C * C);
  plan_inference(Bn, Tn, parts);
  for (std::int64_t b = 0; b < Bn; ++b)  // the new positions' mask joins the cache's
    copy_bytes(be_, cache.key_mask.data() + b * cache.capacity() + past, key_mask_new.data() + b * Tn, Tn * sizeof(T));
  run_tasks(be_, parts, parts,
            [&](std::int64_t p) { decode_rows(cache, ids, positions, Bn * p / parts, infer_[std::size_t(p)]); });
  cache.length = past + Tn;
  return inference_logits_.cview();
}

template <class T, Backend B>
void GPT<T, B>::backward_hidden(In<T, B> dhidden) {
  require_trainable("GPT::backward_hidden");
  check::same("GPT::backward_hidden", "dhidden", dhidden, "hidden", acts_.ln_f.out);
  View<T, B> dres = grads_acts_.dresidual;
  zero_bytes(be_, dres.data(), dres.bytes());
  ln_f_.backward(be_, dres, dhidden, acts_.ln_f, acts_.x.back());
  for (std::size_t l = blocks_.size(); l-- > 0;)
    blocks_[l].backward(be_, dres, acts_.blocks[l], grads_acts_.block, acts_.x[l]);
  wte_.backward(be_, dres, ids_);
  wpe_.backward(be_, dres, positions_);
}

template <class T, Backend B>
void GPT<T, B>::build_layout() {
  const std::int64_t C = config_.n_embd;
  layout_.add("wte.weight", {config_.vocab_size, C}, false);
  layout_.add("wpe.weight", {config_.n_positions, C}, false);
  for (std::int64_t l = 0; l < config_.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    layout_.add(h + "ln_1.weight", {C}, false);
    layout_.add(h + "ln_1.bias", {C}, false);
    layout_.add(h + "attn.c_attn.weight", {C, 3 * C}, true);
    layout_.add(h + "attn.c_attn.bias", {3 * C}, false);
    layout_.add(h + "attn.c_proj.weight", {C, C}, true);
    layout_.add(h + "attn.c_proj.bias", {C}, false);
    layout_.add(h + "ln_2.weight", {C}, false);
    layout_.add(h + "ln_2.bias", {C}, false);
    layout_.add(h + "mlp.c_fc.weight", {C, 4 * C}, true);
    layout_.add(h + "mlp.c_fc.bias", {4 * C}, false);
    layout_.add(h + "mlp.c_proj.weight", {4 * C, C}, true);
    layout_.add(h + "mlp.c_proj.bias", {C}, false);
  }
  layout_.add("ln_f.weight", {C}, false);
  layout_.add("ln_f.bias", {C}, false);
}

template <class T, Backend B>
void GPT<T, B>::bind() {
  auto p = [&](const std::string& name) { return parameter(name); };
  auto g = [&](const std::string& name) { return trainable_ ? gradient(name) : View<T, B>{}; };
  auto linear = [&](const std::string& n) {
    return Linear<T, B>{p(n + ".weight"), p(n + ".bias"), g(n + ".weight"), g(n + ".bias")};
  };
  const T eps = T(config_.layer_norm_epsilon);
  auto layernorm = [&](const std::string& n) {
    return LayerNorm<T, B>{p(n + ".weight"), p(n + ".bias"), g(n + ".weight"), g(n + ".bias"), eps};
  };
  wte_ = {p("wte.weight"), g("wte.weight")};
  wpe_ = {p("wpe.weight"), g("wpe.weight")};
  for (std::int64_t l = 0; l < config_.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    blocks_.push_back(Block<T, B>{layernorm(h + "ln_1"),
                                  layernorm(h + "ln_2"),
                                  {linear(h + "attn.c_attn"), linear(h + "attn.c_proj"), config_.n_head},
                                  {linear(h + "mlp.c_fc"), linear(h + "mlp.c_proj")}});
  }
  ln_f_ = layernorm("ln_f");
}

template <class T, Backend B>
void GPT<T, B>::plan(std::int64_t Bn, std::int64_t Tn) {
  if (Bn == planned_b_ && Tn == planned_t_) return;
  const std::int64_t C = config_.n_embd, H = config_.n_head, V = config_.vocab_size, L = config_.n_layer;
  const auto carve = [&](Arena<T, B>& a) {
    auto btc = [&](std::int64_t k) { return a.take({Bn, Tn, k * C}); };
    Activations& s = acts_;
    s.x.clear();
    s.blocks.clear();
    for (std::int64_t l = 0; l <= L; ++l) s.x.push_back(btc(1));
    for (std::int64_t l = 0; l < L; ++l) {
      typename Block<T, B>::Cache c;
      c.ln_1 = {btc(1), a.take({Bn * Tn}), a.take({Bn * Tn})};
      c.attn = {btc(3), a.take({Bn, H, Tn, Tn}), btc(1)};
      c.x_mid = btc(1);
      c.ln_2 = {btc(1), a.take({Bn * Tn}), a.take({Bn * Tn})};
      c.mlp = {btc(4), btc(4)};
      s.blocks.push_back(c);
    }
    s.ln_f = {btc(1), a.take({Bn * Tn}), a.take({Bn * Tn})};
    s.scratch_c = btc(1);
    s.logits = a.take({Bn * Tn, V});
    s.lse = a.take({Bn * Tn});
    s.row_values = a.take({Bn * Tn});
    if (!trainable_) return;  // a frozen model runs forward only
    ActivationGrads& d = grads_acts_;
    d.dresidual = btc(1);
    d.dhidden = btc(1);
    d.dlogits = a.take({Bn * Tn, V});
    d.block.dln = btc(1);
    d.block.attn = {btc(3), a.take({Bn, H, Tn, Tn}), btc(1)};
    d.block.mlp = {btc(4), btc(4)};
  };
  plan_arena(arena_, carve, Bn, Tn);
  planned_b_ = Bn;
  planned_t_ = Tn;
}

template <class T, Backend B>
void GPT<T, B>::plan_inference(std::int64_t Bn, std::int64_t Tn, std::int64_t parts) {
  if (Bn == inference_b_ && Tn == inference_t_ && parts == std::int64_t(infer_.size())) return;
  const std::int64_t C = config_.n_embd, H = config_.n_head;
  infer_.resize(std::size_t(parts));
  for (std::int64_t p = 0; p < parts; ++p) {
    Inference& s = infer_[std::size_t(p)];
    const std::int64_t n = Bn * (p + 1) / parts - Bn * p / parts;
    s.rows = n;
    const auto carve = [&](Arena<T, B>& a) {
      auto ntc = [&](std::int64_t k) { return a.take({n, Tn, k * C}); };
      s.x = ntc(1);
      s.block.ln_1 = {ntc(1), a.take({n * Tn}), a.take({n * Tn})};
      s.block.attn = {ntc(3), a.take({n, H, 0, 0}), ntc(1)};  // no attention matrix: the cache holds K, V
      s.block.x_mid = ntc(1);
      s.block.ln_2 = s.block.ln_1;
      s.block.mlp = {ntc(4), ntc(4)};
      s.last = a.take({n, C});
      s.last_ln = {a.take({n, C}), a.take({n}), a.take({n})};
    };
    plan_arena(s.arena, carve, n, Tn);
  }
  if (inference_logits_.shape() != Shape{Bn, config_.vocab_size})
    inference_logits_ = Tensor<T, B>(Shape{Bn, config_.vocab_size});
  inference_b_ = Bn;
  inference_t_ = Tn;
}

template <class T, Backend B>
void GPT<T, B>::decode_rows(KVCache<T, B>& cache, In<std::int32_t, B> ids, In<std::int32_t, B> positions,
                            std::int64_t r0, Inference& s) {
  const std::int64_t n = s.rows, Tn = ids.size(1), C = config_.n_embd, past = cache.length;
  auto rows = [&](auto view, std::int64_t row_size) {  // rows [r0, r0 + n) of a view whose dim 0 is the batch
    return decltype(view)(view.data() + r0 * row_size, view.shape().with_front(n));
  };
  const In<std::int32_t, B> my_ids = rows(ids, Tn), my_positions = rows(positions, Tn);
  const In<T, B> key_mask = rows(cache.key_mask.cview(), cache.capacity());
  wte_.forward(be_, s.x, my_ids);
  wpe_.forward(be_, s.block.x_mid, my_positions);
  residual_forward(be_, s.x, s.x, s.block.x_mid);
  const std::int64_t cache_row = cache.k[0].numel() / cache.batch();
  for (std::size_t l = 0; l < blocks_.size(); ++l)  // x is each block's input and output
    blocks_[l].forward_cached(be_, s.x, s.block, s.x, rows(cache.k[l].view(), cache_row),
                              rows(cache.v[l].view(), cache_row), key_mask, past);
  for (std::int64_t b = 0; b < n; ++b)
    copy_bytes(be_, s.last.data() + b * C, s.x.data() + (b * Tn + Tn - 1) * C, C * sizeof(T));
  ln_f_.forward(be_, s.last_ln, s.last);
  matmul_forward(be_, rows(inference_logits_.view(), config_.vocab_size), s.last_ln.out, wte_.table, View<const T, B>{},
                 WeightLayout::out_in);
}

template <class T, Backend B>
void GPT<T, B>::default_positions(std::int64_t Bn, std::int64_t Tn) {
  if (default_positions_.shape() == Shape{Bn, Tn}) return;
  std::vector<std::int32_t> pos(static_cast<std::size_t>(Bn * Tn));
  for (std::int64_t i = 0; i < Bn * Tn; ++i) pos[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % Tn);
  default_positions_ = Tensor<std::int32_t, B>(Shape{Bn, Tn}, std::span<const std::int32_t>(pos));
}

}  // namespace rlhf::nn

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu.hpp"  // the class checks its backend's kernels
namespace rlhf::nn {
extern template class GPT<float, cpu>;
extern template class GPT<double, cpu>;
}  // namespace rlhf::nn
#endif
