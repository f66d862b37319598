#pragma once
// A component of your own, written once for every backend: a value head with a hidden layer,
//   v = GELU(LayerNorm(h) · W1 + b1) · w2 + b2,      h [N, C] -> v [N],
// built from the library's modules (nn::LayerNorm, nn::Linear) and kernels (gelu_forward and
// gelu_backward), forward and backward side by side. Nothing here names a backend: the kernels
// are found by argument-dependent lookup on B, so this header compiles for rlhf::cpu (g++) and
// for rlhf::cuda (nvcc, with <rlhf/backend/cuda.hpp> included first). Parameters live in one
// buffer and gradients in another, as in the library's models; activations are sized once.
// mlp_value_head.cpp checks its gradients on the CPU; tests/cuda/test_cuda_models.cu runs it on
// a GPU against the CPU.
#include <cmath>
#include <cstdint>

#include <rlhf/core/error.hpp>
#include <rlhf/core/philox.hpp>
#include <rlhf/core/tensor.hpp>
#include <rlhf/nn/layernorm.hpp>
#include <rlhf/nn/linear.hpp>

template <class T, rlhf::Backend B>
class MLPValueHead {
 public:
  // C: the trunk's width; H: the hidden width; N: rows (tokens) per call.
  MLPValueHead(std::int64_t C, std::int64_t H, std::int64_t N, B be = {})
      : be_(be),
        C_(C),
        H_(H),
        N_(N),
        params_(rlhf::Shape{2 * C + C * H + 2 * H + 1}),
        grads_(params_.shape()),
        ln_out_(rlhf::Shape{N, C}),
        mean_(rlhf::Shape{N}),
        rstd_(rlhf::Shape{N}),
        pre_(rlhf::Shape{N, H}),
        act_(rlhf::Shape{N, H}),
        values_(rlhf::Shape{N, 1}),
        dact_(pre_.shape()),
        dpre_(pre_.shape()),
        dln_(ln_out_.shape()) {
    bind(ln_.weight, ln_.dweight, rlhf::Shape{C});
    bind(ln_.bias, ln_.dbias, rlhf::Shape{C});
    bind(fc_.weight, fc_.dweight, rlhf::Shape{C, H});
    bind(fc_.bias, fc_.dbias, rlhf::Shape{H});
    bind(out_.weight, out_.dweight, rlhf::Shape{H, 1});
    bind(out_.bias, out_.dbias, rlhf::Shape{1});
    zero_grad();
  }

  // Unit LayerNorm gain, zero biases, N(0, 0.02) matrices; each from its own Philox stream. The
  // fills, like every kernel, are found by argument-dependent lookup on B: left unqualified.
  void init_weights(std::uint64_t seed) {
    fill_constant(be_, ln_.weight, T(1));
    fill_constant(be_, ln_.bias, T(0));
    fill_normal(be_, fc_.weight, rlhf::PhiloxStream{seed, 0}, 0, T(0), T(0.02));
    fill_constant(be_, fc_.bias, T(0));
    fill_normal(be_, out_.weight, rlhf::PhiloxStream{seed, 1}, 0, T(0), T(0.02));
    fill_constant(be_, out_.bias, T(0));
  }

  rlhf::Tensor<T, B>& parameters() { return params_; }
  rlhf::Tensor<T, B>& gradients() { return grads_; }
  void zero_grad() { B::fill_zero(grads_.data(), grads_.bytes()); }

  // The values of N rows of hidden states; kept (with what backward needs) until the next call.
  rlhf::View<const T, B> forward(rlhf::In<T, B> hidden) {
    if (hidden.shape() != rlhf::Shape{N_, C_})
      rlhf::fail("MLPValueHead::forward: hidden has shape ", hidden.shape(), ", expected ", rlhf::Shape{N_, C_});
    ln_.forward(be_, {ln_out_.view(), mean_.view(), rstd_.view()}, hidden);
    fc_.forward(be_, pre_.view(), ln_out_.cview());
    gelu_forward(be_, act_.view(), pre_.cview());
    out_.forward(be_, values_.view(), act_.cview());
    return values_.cview().reshape({N_});
  }

  // dL/dv [N] -> the parameters' gradients (accumulated) and dL/dhidden, added into dhidden.
  void backward(rlhf::In<T, B> dvalues, rlhf::View<T, B> dhidden, rlhf::In<T, B> hidden) {
    B::fill_zero(dact_.data(), dact_.bytes());
    B::fill_zero(dpre_.data(), dpre_.bytes());
    B::fill_zero(dln_.data(), dln_.bytes());
    out_.backward(be_, dact_.view(), dvalues.reshape({N_, 1}), act_.cview());
    gelu_backward(be_, dpre_.view(), dact_.cview(), pre_.cview());
    fc_.backward(be_, dln_.view(), dpre_.cview(), ln_out_.cview());
    ln_.backward(be_, dhidden, dln_.cview(), {ln_out_.view(), mean_.view(), rstd_.view()}, hidden);
  }

 private:
  // The next parameter and its gradient: consecutive slices of the two buffers.
  void bind(rlhf::View<T, B>& param, rlhf::View<T, B>& grad, rlhf::Shape shape) {
    param = rlhf::View<T, B>(params_.data() + used_, shape);
    grad = rlhf::View<T, B>(grads_.data() + used_, shape);
    used_ += shape.numel();
  }

  B be_;
  std::int64_t C_, H_, N_, used_ = 0;
  rlhf::Tensor<T, B> params_, grads_;
  rlhf::nn::LayerNorm<T, B> ln_;
  rlhf::nn::Linear<T, B> fc_, out_;
  rlhf::Tensor<T, B> ln_out_, mean_, rstd_, pre_, act_, values_, dact_, dpre_, dln_;
};
