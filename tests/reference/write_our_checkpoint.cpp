// Writes the checkpoint of our_tiny_gpt2.hpp with rlhf::io::save_gpt, for make_hf_refs.py to load
// with transformers:   rlhf_write_our_checkpoint tests/data/ours_tiny_gpt2
#include <cstdio>
#include <exception>

#include "our_tiny_gpt2.hpp"
#include "rlhf/io/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    rlhf::io::save_gpt(argv[1], *rlhf_reference::make_our_tiny_gpt2());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlhf_write_our_checkpoint: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s\n", argv[1]);
  return 0;
}
