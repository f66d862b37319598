#pragma once
// All parameters of a model live in one contiguous buffer and all gradients in another, so the
// optimizer is one loop over one array (and a future all-reduce is one call). A ParameterLayout
// names each tensor (Hugging Face's GPT-2 names, so checkpoints map one to one), gives its shape
// and its offset, and says whether weight decay applies to it.
#include <string>
#include <vector>

#include "rlhf/core/check.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf::nn {

struct ParameterInfo {
  std::string name;
  Shape shape;
  std::int64_t offset = 0;  // in elements, from the start of the buffer
  bool decay = false;       // AdamW's weight decay applies (matrices of Linear layers)
  bool head = false;        // a task head on top of GPT-2 (the reward model's score): absent from
                            // a language-model checkpoint, so loading one keeps its initial value
};

class ParameterLayout {
 public:
  // Each tensor starts on a 64-byte boundary (16 floats) so vector loads of a row stay aligned.
  static constexpr std::int64_t alignment = 16;

  std::int64_t add(std::string name, Shape shape, bool decay, bool head = false) {
    for (const ParameterInfo& p : params_)
      if (p.name == name) fail("ParameterLayout: duplicate parameter name ", name);
    const std::int64_t offset = (size_ + alignment - 1) / alignment * alignment;
    params_.push_back({std::move(name), shape, offset, decay, head});
    size_ = offset + shape.numel();
    return static_cast<std::int64_t>(params_.size()) - 1;
  }

  const std::vector<ParameterInfo>& params() const { return params_; }
  std::int64_t size() const { return size_; }  // elements in the buffer, padding included
  std::int64_t count() const {                 // parameters, padding excluded
    std::int64_t n = 0;
    for (const ParameterInfo& p : params_) n += p.shape.numel();
    return n;
  }
  const ParameterInfo* find(std::string_view name) const {
    for (const ParameterInfo& p : params_)
      if (p.name == name) return &p;
    return nullptr;
  }
  const ParameterInfo& at(std::string_view name) const {
    if (const ParameterInfo* p = find(name)) return *p;
    fail("ParameterLayout: no parameter named ", name);
  }

  // The tensor of parameter `index` inside a buffer laid out by this layout.
  template <class T, class B>
  View<T, B> view(View<T, B> buffer, std::int64_t index) const {
    check::shape("ParameterLayout::view", "buffer", buffer, Shape{size_});
    const ParameterInfo& p = params_.at(static_cast<std::size_t>(index));
    return View<T, B>(buffer.data() + p.offset, p.shape);
  }

 private:
  std::vector<ParameterInfo> params_;
  std::int64_t size_ = 0;
};

}  // namespace rlhf::nn
