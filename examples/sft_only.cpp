// SFT only (InstructGPT step 1): a small byte-level GPT fine-tuned on demonstrations, then asked
// to complete a few prompts. The data is TRL's {"prompt", "completion"} JSONL (the loss counts the
// completion tokens only), by default the project's fortunes (data/fortunes/train.jsonl). The
// model is saved as a Hugging Face GPT-2 checkpoint that `rlhf generate`, the reward-model
// example and transformers can load.
//
//   sft_only [DATA.jsonl [STEPS [OUT_DIR]]]        (defaults: the fortunes, 600, sft_model)
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "rlhf/rlhf.hpp"

using rlhf::cpu;
using T = float;

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  try {
    const std::string data_file = argc > 1 ? argv[1] : RLHF_DATA_DIR "/fortunes/train.jsonl";
    const std::int64_t steps = argc > 2 ? std::atoll(argv[2]) : 600;
    const std::string out = argc > 3 ? argv[3] : "sft_model";
    const rlhf::data::ByteTokenizer tok;

    // A 2-layer, 64-wide GPT-2 over bytes, with GPT-2's initialisation.
    rlhf::nn::GPTConfig config;
    config.vocab_size = tok.vocab_size();
    config.n_positions = 96;
    config.n_embd = 64;
    config.n_layer = 2;
    config.n_head = 2;
    rlhf::nn::GPT<T, cpu> model(config);
    model.init_weights(1);

    // Demonstrations, cut to 64 tokens; 5 % held out.
    const rlhf::data::SftDataset data = rlhf::data::load_sft_jsonl(data_file, tok, 64);
    std::printf("%s: %s\n", data_file.c_str(), data.summary().c_str());
    const rlhf::data::DataSplit split =
        rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::fraction(0.05), 1);

    rlhf::train::SFTConfig cfg;
    cfg.max_steps = steps;
    cfg.batch_size = 16;
    cfg.learning_rate = 3e-3;
    cfg.warmup_steps = 30;
    cfg.eval_every = 0;  // validate at the end
    cfg.eval_max_batches = 8;
    cfg.log_every = 100;
    rlhf::train::SFTTrainer<T, cpu> trainer(model, data, split, cfg);
    rlhf::train::MetricsLog no_log;  // progress lines only
    const rlhf::train::SFTEvaluation final_eval = trainer.train(no_log, [&](std::int64_t) {
      rlhf::io::SaveOptions options;
      options.config.eos_token_id = options.config.bos_token_id = tok.eos_id();
      rlhf::io::save_gpt(out, model, options);
    });
    std::printf("validation loss %.3f nats/byte, token accuracy %.3f; saved %s\n", final_eval.loss,
                final_eval.token_accuracy, out.c_str());

    // Completions of a few prompts with the KV-cached sampler.
    std::vector<std::vector<std::int32_t>> prompts;
    for (const char* p : {"A friend is", "Never trust", "The best way"}) prompts.push_back(tok.encode(p));
    rlhf::GenerationConfig g;
    g.max_new_tokens = 48;
    g.sampling = {0.7, 0, 1.0};
    g.eos_id = tok.eos_id();
    g.seed = 3;
    const rlhf::Generation<T> gen = rlhf::generate(model, prompts, g);
    for (std::size_t b = 0; b < prompts.size(); ++b)
      std::printf("%s|%s\n", tok.decode(prompts[b]).c_str(),
                  tok.decode(gen.response(std::int64_t(b), tok.eos_id())).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sft_only: %s\n", e.what());
    return 1;
  }
  return 0;
}
