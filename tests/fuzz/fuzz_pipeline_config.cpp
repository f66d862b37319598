// libFuzzer target: a pipeline config file (run.json) -> rlhf::files::parse_json ->
// rlhf::train::pipeline_config_from_json, relative paths against /base. An accepted config must
// read back unchanged from what to_json writes (a run directory records that as its config).
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_common.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/train/pipeline_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rlhf_fuzz::as_text(data, size);
  std::optional<rlhf::train::PipelineConfig> c;
  rlhf_fuzz::expect_only_rlhf_errors("pipeline_config_from_json", [&] {
    c = rlhf::train::pipeline_config_from_json(rlhf::files::parse_json(text, "run.json"), "run.json", "/base");
  });
  if (!c) return 0;
  rlhf_fuzz::expect_success("to_json + pipeline_config_from_json of an accepted config", [&] {
    const std::string written = rlhf::train::to_json(*c).dump(2);
    const rlhf::train::PipelineConfig again = rlhf::train::pipeline_config_from_json(
        rlhf::files::parse_json(written, "written run.json"), "written run.json", "/base");
    if (rlhf::train::to_json(again).dump(2) != written)
      rlhf_fuzz::finding("to_json + pipeline_config_from_json changed the config");
  });
  return 0;
}
