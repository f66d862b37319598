// One GPT-2 block (pre-LayerNorm attention and MLP, learned positions, LM head tied to the token
// embedding) learns to copy. Each sequence is 8 random symbols, a separator, and the same 8
// symbols again; the loss counts only the copied half (a per-token mask), which the model can
// predict only by attending back to the first half. Written directly against the kernels, so
// every forward has its backward beside it in reverse order.
//
//   train_toy_transformer [steps] [seed]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rlhf/rlhf.hpp"

using namespace rlhf;
using T = float;
using Tn = Tensor<T, cpu>;

namespace {

constexpr std::int64_t kSymbols = 10, kSep = 10, V = 11;  // vocabulary: 10 symbols + separator
constexpr std::int64_t kHalf = 8, L = 2 * kHalf + 1;      // sequence length
constexpr std::int64_t C = 32, H = 4, B = 32;             // width, heads, batch

// A parameter with its gradient and Adam moments.
struct Param {
  Tn w, g, m, v;
  explicit Param(Shape s) : w(s), g(s), m(s), v(s) {}
};

// Adam with bias correction; enough for a toy. The library's AdamW lives with the optimizers.
void adam_step(std::vector<Param*>& params, int step, T lr) {
  const T b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  const T c1 = 1 - std::pow(b1, T(step)), c2 = 1 - std::pow(b2, T(step));
  for (Param* p : params) {
    for (std::int64_t i = 0; i < p->w.numel(); ++i) {
      const T g = p->g.data()[i];
      T& m = p->m.data()[i];
      T& v = p->v.data()[i];
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      p->w.data()[i] -= lr * (m / c1) / (std::sqrt(v / c2) + eps);
    }
    cpu::fill_zero(p->g.data(), p->g.bytes());
  }
}

struct Model {
  Param wte{{V, C}}, wpe{{L, C}};
  Param ln1_w{{C}}, ln1_b{{C}}, qkv_w{{C, 3 * C}}, qkv_b{{3 * C}}, proj_w{{C, C}}, proj_b{{C}};
  Param ln2_w{{C}}, ln2_b{{C}}, fc_w{{C, 4 * C}}, fc_b{{4 * C}}, fcp_w{{4 * C, C}}, fcp_b{{C}};
  Param lnf_w{{C}}, lnf_b{{C}};

  std::vector<Param*> all() {
    return {&wte,   &wpe,   &ln1_w, &ln1_b, &qkv_w, &qkv_b, &proj_w, &proj_b,
            &ln2_w, &ln2_b, &fc_w,  &fc_b,  &fcp_w, &fcp_b, &lnf_w,  &lnf_b};
  }

  explicit Model(std::uint64_t seed) {
    std::uint64_t stream = 0;
    for (Param* p : all()) fill_normal(cpu{}, p->w.view(), PhiloxStream{seed, stream++}, 0, T(0), T(0.02));
    for (Param* p : {&ln1_w, &ln2_w, &lnf_w}) fill_constant(cpu{}, p->w.view(), T(1));
    for (Param* p : {&ln1_b, &ln2_b, &lnf_b, &qkv_b, &proj_b, &fc_b, &fcp_b}) fill_constant(cpu{}, p->w.view(), T(0));
  }
};

// Activations of one batch, allocated once and reused every step.
struct Activations {
  const std::int64_t N = B * L;
  Tn tok{{N, C}}, pos{{N, C}}, x0{{N, C}};
  Tn ln1{{N, C}}, ln1_mean{{N}}, ln1_rstd{{N}}, qkv{{B, L, 3 * C}}, att{{B, H, L, L}}, attn{{B, L, C}}, proj{{N, C}},
      x1{{N, C}};
  Tn ln2{{N, C}}, ln2_mean{{N}}, ln2_rstd{{N}}, fc{{N, 4 * C}}, gelu{{N, 4 * C}}, fcp{{N, C}}, x2{{N, C}};
  Tn lnf{{N, C}}, lnf_mean{{N}}, lnf_rstd{{N}}, logits{{N, V}}, losses{{N}}, lse{{N}};
};

// Gradients of the activations, same shapes.
struct ActivationGrads {
  const std::int64_t N = B * L;
  Tn x0{{N, C}}, ln1{{N, C}}, qkv{{B, L, 3 * C}}, att{{B, H, L, L}}, attn{{B, L, C}}, proj{{N, C}}, x1{{N, C}};
  Tn ln2{{N, C}}, fc{{N, 4 * C}}, gelu{{N, 4 * C}}, fcp{{N, C}}, x2{{N, C}}, lnf{{N, C}}, logits{{N, V}};
  void zero() {
    for (Tn* t : {&x0, &ln1, &qkv, &att, &attn, &proj, &x1, &ln2, &fc, &gelu, &fcp, &x2, &lnf, &logits})
      cpu::fill_zero(t->data(), t->bytes());
  }
};

struct Batch {
  Tensor<std::int32_t, cpu> ids{{B, L}}, positions{{B, L}}, targets{{B * L}};
  Tn mask{{B * L}};  // 1 where the next token is a copied symbol
};

void make_batch(Batch& batch, PhiloxStream rng, std::uint64_t offset) {
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < kHalf; ++t) {
      const auto s = static_cast<std::int32_t>(rng.word(offset + b * kHalf + t) % kSymbols);
      batch.ids(b, t) = batch.ids(b, t + kHalf + 1) = s;
    }
    batch.ids(b, kHalf) = kSep;
    for (std::int64_t t = 0; t < L; ++t) {
      batch.positions(b, t) = static_cast<std::int32_t>(t);
      const bool predicts_copy = t >= kHalf && t + 1 < L;
      batch.targets(b * L + t) = predicts_copy ? batch.ids(b, t + 1) : -100;
      batch.mask(b * L + t) = predicts_copy ? 1 : 0;
    }
  }
}

T forward(Model& m, Activations& a, const Batch& batch) {
  const cpu be;
  const T eps = 1e-5f;
  embedding_forward(be, a.tok.view(), m.wte.w, batch.ids);
  embedding_forward(be, a.pos.view(), m.wpe.w, batch.positions);
  residual_forward(be, a.x0.view(), a.tok, a.pos);
  layernorm_forward(be, a.ln1.view(), a.ln1_mean.view(), a.ln1_rstd.view(), a.x0, m.ln1_w.w, m.ln1_b.w, eps);
  matmul_forward(be, a.qkv.view().reshape({B * L, 3 * C}), a.ln1, m.qkv_w.w, m.qkv_b.w, WeightLayout::in_out);
  attention_forward(be, a.attn.view(), a.att.view(), a.qkv, View<const T, cpu>{}, H);
  matmul_forward(be, a.proj.view(), a.attn.cview().reshape({B * L, C}), m.proj_w.w, m.proj_b.w, WeightLayout::in_out);
  residual_forward(be, a.x1.view(), a.x0, a.proj);
  layernorm_forward(be, a.ln2.view(), a.ln2_mean.view(), a.ln2_rstd.view(), a.x1, m.ln2_w.w, m.ln2_b.w, eps);
  matmul_forward(be, a.fc.view(), a.ln2, m.fc_w.w, m.fc_b.w, WeightLayout::in_out);
  gelu_forward(be, a.gelu.view(), a.fc);
  matmul_forward(be, a.fcp.view(), a.gelu, m.fcp_w.w, m.fcp_b.w, WeightLayout::in_out);
  residual_forward(be, a.x2.view(), a.x1, a.fcp);
  layernorm_forward(be, a.lnf.view(), a.lnf_mean.view(), a.lnf_rstd.view(), a.x2, m.lnf_w.w, m.lnf_b.w, eps);
  matmul_forward(be, a.logits.view(), a.lnf, m.wte.w, View<const T, cpu>{}, WeightLayout::out_in);  // tied head
  return cross_entropy_forward(be, a.losses.view(), a.lse.view(), a.logits, batch.targets, batch.mask);
}

void backward(Model& m, Activations& a, ActivationGrads& d, const Batch& batch) {
  const cpu be;
  d.zero();
  cross_entropy_backward(be, d.logits.view(), a.logits, a.lse, batch.targets, batch.mask, T(1));
  matmul_backward(be, d.lnf.view(), m.wte.g.view(), View<T, cpu>{}, d.logits, a.lnf, m.wte.w, WeightLayout::out_in);
  layernorm_backward(be, d.x2.view(), m.lnf_w.g.view(), m.lnf_b.g.view(), d.lnf, a.x2, m.lnf_w.w, a.lnf_mean,
                     a.lnf_rstd);
  residual_backward(be, d.x1.view(), d.fcp.view(), d.x2);
  matmul_backward(be, d.gelu.view(), m.fcp_w.g.view(), m.fcp_b.g.view(), d.fcp, a.gelu, m.fcp_w.w,
                  WeightLayout::in_out);
  gelu_backward(be, d.fc.view(), d.gelu, a.fc);
  matmul_backward(be, d.ln2.view(), m.fc_w.g.view(), m.fc_b.g.view(), d.fc, a.ln2, m.fc_w.w, WeightLayout::in_out);
  layernorm_backward(be, d.x1.view(), m.ln2_w.g.view(), m.ln2_b.g.view(), d.ln2, a.x1, m.ln2_w.w, a.ln2_mean,
                     a.ln2_rstd);
  residual_backward(be, d.x0.view(), d.proj.view(), d.x1);
  matmul_backward(be, d.attn.view().reshape({B * L, C}), m.proj_w.g.view(), m.proj_b.g.view(), d.proj,
                  a.attn.cview().reshape({B * L, C}), m.proj_w.w, WeightLayout::in_out);
  attention_backward(be, d.qkv.view(), d.att.view(), d.attn, a.qkv, a.att, H);
  matmul_backward(be, d.ln1.view(), m.qkv_w.g.view(), m.qkv_b.g.view(), d.qkv.cview().reshape({B * L, 3 * C}), a.ln1,
                  m.qkv_w.w, WeightLayout::in_out);
  layernorm_backward(be, d.x0.view(), m.ln1_w.g.view(), m.ln1_b.g.view(), d.ln1, a.x0, m.ln1_w.w, a.ln1_mean,
                     a.ln1_rstd);
  // x0 = tok + pos: both embeddings receive dx0.
  embedding_backward(be, m.wte.g.view(), d.x0, batch.ids);
  embedding_backward(be, m.wpe.g.view(), d.x0, batch.positions);
}

// Share of copied symbols whose most likely next token is right.
double copy_accuracy(const Activations& a, const Batch& batch) {
  std::int64_t right = 0, total = 0;
  for (std::int64_t n = 0; n < B * L; ++n) {
    if (batch.mask(n) == 0) continue;
    std::int64_t best = 0;
    for (std::int64_t v = 1; v < V; ++v)
      if (a.logits(n, v) > a.logits(n, best)) best = v;
    right += best == batch.targets(n);
    ++total;
  }
  return double(right) / double(total);
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  try {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 600;
    const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1234;
    if (steps <= 0) fail("steps must be positive, got ", argv[1]);

    Model model(seed);
    auto params = model.all();
    Activations acts;
    ActivationGrads grads;
    Batch batch;
    const PhiloxStream data_rng{seed, 1000};

    std::printf("copy task: %lld symbols, length %lld, one block of width %lld with %lld heads, batch %lld\n",
                (long long)kSymbols, (long long)L, (long long)C, (long long)H, (long long)B);
    std::printf("chance level: loss %.3f, accuracy %.2f\n", std::log(double(kSymbols)), 1.0 / kSymbols);
    const std::uint64_t draws_per_batch = B * kHalf;
    for (int step = 1; step <= steps; ++step) {
      make_batch(batch, data_rng, std::uint64_t(step) * draws_per_batch);
      const T loss = forward(model, acts, batch);
      if (!std::isfinite(loss)) fail("loss is ", loss, " at step ", step);
      backward(model, acts, grads, batch);
      const T lr = 3e-3f * std::min(1.0f, step / 50.0f);  // short warmup
      adam_step(params, step, lr);
      if (step == 1 || step % 50 == 0 || step == steps)
        std::printf("step %4d  loss %.4f  copy accuracy %.2f\n", step, loss, copy_accuracy(acts, batch));
    }
    // A batch the model has not seen.
    make_batch(batch, data_rng, 0);
    const T loss = forward(model, acts, batch);
    std::printf("held-out batch: loss %.4f  copy accuracy %.2f\n", loss, copy_accuracy(acts, batch));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_toy_transformer: %s\n", e.what());
    return 1;
  }
}
