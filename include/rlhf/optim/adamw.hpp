#pragma once
// AdamW over a model's parameter buffer. The moments live in two buffers laid out like the
// parameters; weight decay applies only to the tensors the layout marks (the matrices of
// Linear layers: by default not biases, LayerNorm gains or embeddings).
#include <cmath>

#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/core/field_names.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/nn/parameters.hpp"

namespace rlhf::optim {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("AdamW")) const {
    if (!(beta1 >= 0 && beta1 < 1)) fail(names(&beta1, "beta1"), " must lie in [0, 1), got ", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) fail(names(&beta2, "beta2"), " must lie in [0, 1), got ", beta2);
    require_positive(names(&eps, "eps"), eps);
    require_finite_non_negative(names(&weight_decay, "weight_decay"), weight_decay);
  }
};

template <class T, Backend B>
class AdamW {
 public:
  AdamW(const nn::ParameterLayout& layout, AdamWConfig config, B backend = {})
      : layout_(layout), config_(config), be_(backend), m_(Shape{layout.size()}), v_(Shape{layout.size()}) {
    config.validate();
  }

  // One update of every parameter with learning rate lr.
  void step(View<T, B> params, In<T, B> grads, double lr);

  const AdamWConfig& config() const { return config_; }
  std::int64_t steps() const { return t_; }
  // The optimizer state, for checkpoints: the step count and both moments.
  void set_steps(std::int64_t t) { t_ = t; }
  Tensor<T, B>& first_moment() { return m_; }
  Tensor<T, B>& second_moment() { return v_; }

 private:
  nn::ParameterLayout layout_;
  AdamWConfig config_;
  B be_;
  Tensor<T, B> m_, v_;
  std::int64_t t_ = 0;
};

// AdamW's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
void AdamW<T, B>::step(View<T, B> params, In<T, B> grads, double lr) {
  check::shape("AdamW::step", "params", params, m_.shape());
  check::shape("AdamW::step", "grads", grads, m_.shape());
  ++t_;
  AdamWStep s{lr,
              config_.beta1,
              config_.beta2,
              config_.eps,
              0.0,
              1 - std::pow(config_.beta1, double(t_)),
              1 - std::pow(config_.beta2, double(t_))};
  for (const nn::ParameterInfo& p : layout_.params()) {
    s.weight_decay = p.decay ? config_.weight_decay : 0.0;
    auto slice = [&](auto buffer) { return decltype(buffer)(buffer.data() + p.offset, p.shape); };
    adamw_update(be_, slice(params), slice(grads), slice(m_.view()), slice(v_.view()), s);
  }
}

}  // namespace rlhf::optim

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu.hpp"  // the class checks its backend's kernels
namespace rlhf::optim {
extern template class AdamW<float, cpu>;
extern template class AdamW<double, cpu>;
}  // namespace rlhf::optim
#endif
