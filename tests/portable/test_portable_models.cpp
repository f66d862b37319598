// Model-level parity (tests/ops/model_parity.hpp) on thrust_omp: the GPT, generation and the
// three trainers running the CUDA backend's Thrust kernels on OpenMP threads, scheduled as on the
// GPU, against the CPU backend from the same weights.
#include "../ops/model_parity.hpp"
#include "rlhf/backend/thrust_omp.hpp"

namespace model_parity {

TEST_CASE_TEMPLATE_INVOKE(model_parity_gpt, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_component, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_generation, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_sft, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_reward, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_ppo, rlhf::thrust_omp);
TEST_CASE_TEMPLATE_INVOKE(model_parity_ppo_pipeline_shape, rlhf::thrust_omp);

}  // namespace model_parity
