// libFuzzer target: trainer_state.json text -> rlhf::train::parse_trainer_state, first with the
// fields the brief names ({"step"}, seed 0, 100 examples), then with the ones resuming an SFT or
// reward run needs, whose values are then read as resume_step_state reads them.
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
// optim/adamw.hpp (included by trainer_state.hpp) uses AdamWStep without including its header.
#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/train/trainer_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rlhf_fuzz::as_text(data, size);
  rlhf_fuzz::expect_only_rlhf_errors("parse_trainer_state {step}", [&] {
    const nlohmann::json state = rlhf::train::parse_trainer_state(text, "trainer_state.json", {"step"}, 0, 100);
    if (!state.is_object() || !state.at("step").is_number_integer())
      rlhf_fuzz::finding("accepted state lacks \"step\"");
  });
  rlhf_fuzz::expect_only_rlhf_errors("parse_trainer_state {step, optimizer_steps, data_epoch, data_index}", [&] {
    const nlohmann::json state = rlhf::train::parse_trainer_state(
        text, "trainer_state.json", {"step", "optimizer_steps", "data_epoch", "data_index"}, 0, 100);
    std::int64_t sum = 0;
    for (const char* field : {"step", "optimizer_steps", "data_epoch", "data_index"})
      sum ^= state.at(field).get<std::int64_t>();
    (void)sum;
  });
  return 0;
}
