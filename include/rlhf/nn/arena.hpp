#pragma once
// An arena of activations: one allocation carved into named views. A model plans its
// activations for a (batch, length) once; later steps with the same or a smaller shape reuse the
// same memory, so a training step allocates nothing after the first.
//
// Planning runs the same carving code twice: once against a measuring arena (no memory) to learn
// the size, then against the real one.
#include "rlhf/core/tensor.hpp"

namespace rlhf::nn {

template <class T, class B>
class Arena {
 public:
  static constexpr std::int64_t alignment = 16;  // elements: 64 bytes for float

  // Runs plan(arena) to size the arena, grows the buffer if it is too small, then runs plan again
  // to hand out views. Returns true when memory was (re)allocated.
  template <class Plan>
  bool plan(Plan&& plan_views) {
    used_ = 0;
    measuring_ = true;
    plan_views(*this);
    const std::int64_t need = used_;
    bool grew = false;
    if (need > buffer_.numel()) {
      buffer_ = Tensor<T, B>(Shape{need});
      ++allocations_;
      grew = true;
    }
    used_ = 0;
    measuring_ = false;
    plan_views(*this);
    return grew;
  }

  // The next view of the given shape (null while measuring).
  View<T, B> take(Shape shape) {
    const std::int64_t offset = (used_ + alignment - 1) / alignment * alignment;
    used_ = offset + shape.numel();
    return View<T, B>(measuring_ ? nullptr : buffer_.data() + offset, shape);
  }

  std::int64_t capacity() const { return buffer_.numel(); }
  std::int64_t allocations() const { return allocations_; }  // how often the buffer was (re)allocated

 private:
  Tensor<T, B> buffer_;
  std::int64_t used_ = 0;
  std::int64_t allocations_ = 0;
  bool measuring_ = false;
};

}  // namespace rlhf::nn
