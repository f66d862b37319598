#pragma once
// The model behind tests/data/ours_tiny_gpt2/, the checkpoint that rlhf++ wrote and transformers
// loaded (tests/reference/make_hf_refs.py). write_our_checkpoint.cpp writes it; the unit tests
// rebuild it here and check that save_gpt still writes the same bytes.
//
// The sizes are deliberately not multiples of 16 (n_embd 20, 4 heads of 5, vocabulary 50), so the
// parameter buffer has padding between tensors that must not leak into the file. The LayerNorm
// gains and every bias are drawn too (GPT-2's init makes them 1 and 0, which would hide a swapped
// weight/bias or a bias that is never read). Values are rounded to multiples of 2^-12 so the
// bytes do not depend on the last bit of the C library's log and cos.
#include <cmath>
#include <cstdint>
#include <memory>

#include "rlhf/backend/cpu.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/nn/gpt.hpp"

namespace rlhf_reference {

inline rlhf::nn::GPTConfig our_tiny_config() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 50;
  c.n_positions = 12;
  c.n_embd = 20;
  c.n_layer = 2;
  c.n_head = 4;
  c.initializer_range = 0.2;  // logits of order 1, so a 1e-4 bound is tight
  return c;
}

inline constexpr std::uint64_t our_tiny_seed = 20240611;

inline std::unique_ptr<rlhf::nn::GPT<float, rlhf::cpu>> make_our_tiny_gpt2() {
  auto model = std::make_unique<rlhf::nn::GPT<float, rlhf::cpu>>(our_tiny_config());
  model->init_weights(our_tiny_seed);
  rlhf::cpu be;
  const auto& params = model->layout().params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].name;
    rlhf::View<float, rlhf::cpu> v = model->parameter(name);
    const rlhf::PhiloxStream perturb{our_tiny_seed + 1, i};
    const bool gain = name.find("ln_") != std::string::npos && name.ends_with(".weight");
    if (gain) rlhf::fill_normal(be, v, perturb, 0, 1.0f, 0.2f);
    else if (name.ends_with(".bias")) rlhf::fill_normal(be, v, perturb, 0, 0.0f, 0.1f);
    for (float& x : v.span()) x = std::round(x * 4096.0f) / 4096.0f;
  }
  return model;
}

}  // namespace rlhf_reference
