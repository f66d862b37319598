// The consumer project's second program, built twice from this one source: on rlhf::compiled
// (bin/model_compiled) and header-only on rlhf::rlhf (bin/model_header_only). A small GPT's
// greedy continuation and loss: both builds must print the same line, to the last digit.
#include <rlhf/rlhf.hpp>

#include <cstdio>
#include <vector>

int main() {
  using rlhf::cpu;
  rlhf::nn::GPTConfig config;
  config.vocab_size = 32;
  config.n_positions = 16;
  config.n_embd = 16;
  config.n_layer = 2;
  config.n_head = 2;
  rlhf::nn::GPT<float, cpu> model(config);
  model.init_weights(7);

  rlhf::GenerationConfig g;
  g.max_new_tokens = 6;
  g.sampling = {0.0, 0, 1.0};  // greedy
  const rlhf::Generation<float> out = rlhf::generate(model, {{1, 2, 3}}, g);
  std::printf("rlhf %s consumer model: continuation", RLHF_VERSION_STRING);
  for (const std::int32_t t : out.response(0, -1)) std::printf(" %d", t);

  const rlhf::Tensor<std::int32_t, cpu> ids({1, 4}, {1, 2, 3, 4}), targets({1, 4}, {2, 3, 4, 5});
  model.forward(ids.cview());
  std::printf(", loss %.9g\n", double(model.lm_loss(targets.cview())));
  return 0;
}
