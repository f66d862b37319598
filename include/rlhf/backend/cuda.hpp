#pragma once
// The CUDA backend: the rlhf::cuda tag (device memory, copies, error checks). Needs the CUDA
// runtime (the CMake target rlhf::rlhf links it when built with RLHF_ENABLE_CUDA).
#include "rlhf/backend/cuda/tag.hpp"
