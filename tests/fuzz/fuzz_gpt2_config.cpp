// libFuzzer target: config.json text -> rlhf::files::parse_json -> rlhf::io::parse_gpt2_config,
// then GPTConfig::validate. An accepted config must also survive gpt2_config_json and a
// second parse unchanged (what save_gpt writes is what loading reads).
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_common.hpp"
#include "rlhf/io/gpt2_config.hpp"
#include "rlhf/files/json_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rlhf_fuzz::as_text(data, size);
  std::optional<rlhf::nn::GPTConfig> c;
  rlhf_fuzz::expect_only_rlhf_errors("parse_gpt2_config", [&] {
    const nlohmann::json j = rlhf::files::parse_json(text, "config.json");
    c = rlhf::io::parse_gpt2_config(j, "config.json");
    c->validate();
  });
  if (!c) return 0;
  rlhf_fuzz::expect_success("gpt2_config_json + parse_gpt2_config of an accepted config", [&] {
    const std::string written = rlhf::io::gpt2_config_json(*c).dump(2);
    const rlhf::nn::GPTConfig again =
        rlhf::io::parse_gpt2_config(rlhf::files::parse_json(written, "written config.json"), "written config.json");
    if (again.vocab_size != c->vocab_size || again.n_positions != c->n_positions || again.n_embd != c->n_embd ||
        again.n_layer != c->n_layer || again.n_head != c->n_head || again.layer_norm_epsilon != c->layer_norm_epsilon ||
        again.initializer_range != c->initializer_range)
      rlhf_fuzz::finding("gpt2_config_json + parse_gpt2_config changed the config");
  });
  return 0;
}
