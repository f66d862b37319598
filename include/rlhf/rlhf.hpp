#pragma once
// rlhf++: the whole library.
#include "rlhf/version.hpp"
#include "rlhf/core/error.hpp"
#include "rlhf/core/shape.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/backend/backend.hpp"
#include "rlhf/backend/cpu.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/optim/adamw.hpp"
#include "rlhf/optim/clip.hpp"
#include "rlhf/optim/schedule.hpp"
