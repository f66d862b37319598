// The CUDA backend at the model level: the model-parity tests (tests/ops/model_parity.hpp: the
// GPT, generation, a user's component and the three trainers against the CPU backend from the
// same weights) invoked for rlhf::cuda; and what only the GPU has: in bf16 precision, the
// tensor-core model against the CPU backend's emulation of the same rounding, and its loss
// against fp32's; and a model on a user's non-blocking stream.
#include "../ops/model_parity.hpp"
#include "rlhf/backend/cuda.hpp"

namespace model_parity {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`

TEST_CASE_TEMPLATE_INVOKE(model_parity_gpt, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_component, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_generation, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_sft, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_reward, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_ppo, gpu);
TEST_CASE_TEMPLATE_INVOKE(model_parity_ppo_pipeline_shape, gpu);

// Both backends round the same operands to bfloat16 and sum exact products in fp32: fp32's
// tolerances hold between them, and the loss stays within a few bfloat16 roundoffs (2^-8) of fp32.
TEST_CASE("cuda GPT in bf16: logits, loss and gradients equal the CPU backend's bf16, and the loss is near fp32's") {
  const rlhf::MatmulPrecision bf16 = rlhf::MatmulPrecision::bf16;
  GPT<float, cpu> ref(byte_model(), cpu{bf16});
  ref.init_weights(3);
  GPT<float, gpu> model(byte_model(), gpu{nullptr, bf16}), fp32(byte_model());
  copy_weights<gpu>(ref, model);
  copy_weights<gpu>(ref, fp32);
  const Batch b;
  const auto ids_c = Batch::tensor<cpu>(b.ids), tgt_c = Batch::tensor<cpu>(b.targets);
  const auto ids_g = Batch::tensor<gpu>(b.ids), tgt_g = Batch::tensor<gpu>(b.targets);
  ref.zero_grad();
  model.zero_grad();
  const auto logits_c = ref.forward(ids_c.cview());
  const auto logits_g = model.forward(ids_g.cview());
  CHECK(compare::max_rel_error(host<float, gpu>(logits_g),
                               std::vector<float>(logits_c.data(), logits_c.data() + logits_c.numel())) <= 1e-5);
  const float loss_c = ref.lm_loss(tgt_c.cview()), loss_g = model.lm_loss(tgt_g.cview());
  CHECK(compare::max_rel_error(std::vector<float>{loss_g}, std::vector<float>{loss_c}) <= 1e-5);
  ref.backward_lm_loss();
  model.backward_lm_loss();
  CHECK(compare::max_rel_error(model.gradients().to_vector(), ref.gradients().to_vector()) <= 1e-4);
  fp32.forward(ids_g.cview());
  const float loss_fp32 = fp32.lm_loss(tgt_g.cview());
  CHECK(loss_g != loss_fp32);
  CHECK(std::abs(loss_g - loss_fp32) <= 4 * std::ldexp(1.0, -8) * std::abs(loss_fp32));
}

TEST_CASE("cuda GPT on a user's non-blocking stream: the same loss and gradients as on the default stream") {
  // Every copy and zero fill of a model's step is ordered on the backend's stream (copy_bytes,
  // zero_bytes; backend/cuda/tag.hpp): with a stream that does not synchronise with the legacy
  // default stream, a copy left there would race with the kernels.
  cudaStream_t stream = nullptr;
  RLHF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  GPT<float, cpu> ref(byte_model());
  ref.init_weights(5);
  GPT<float, gpu> on_default(byte_model()), on_stream(byte_model(), gpu{.stream = stream});
  copy_weights<gpu>(ref, on_default);
  copy_weights<gpu>(ref, on_stream);
  const Batch b;
  const auto ids = Batch::tensor<gpu>(b.ids), pos = Batch::tensor<gpu>(b.positions),
             tgt = Batch::tensor<gpu>(b.targets);
  const auto km = Batch::tensor<gpu>(b.key_mask), lm = Batch::tensor<gpu>(b.loss_mask);
  float losses[2];
  int i = 0;
  for (GPT<float, gpu>* model : {&on_default, &on_stream}) {
    model->zero_grad();
    model->forward(ids.cview(), pos.cview(), km.cview());
    losses[i++] = model->lm_loss(tgt.cview(), lm.cview());
    model->backward_lm_loss();
  }
  CHECK(losses[0] == losses[1]);
  CHECK(on_stream.gradients().to_vector() == on_default.gradients().to_vector());
  RLHF_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace model_parity
