# cmake -DBUILD_DIR=... -DCOMPILED=obj -DHEADER_ONLY=obj -P check_symbols.cmake: builds the two
# objects of uses_models.cpp, then checks with nm that the header-only one defines the functions
# it names and the compiled-mode one (RLHF_COMPILED, extern templates) defines none of them.
cmake_minimum_required(VERSION 3.25)  # quoted arguments of if() are strings, not variable names
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target rlhf_extern_compiled rlhf_extern_header_only
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building uses_models.cpp failed (${rc})")
endif()
set(functions
  "rlhf::nn::GPT<float, rlhf::cpu>::init_weights("
  "rlhf::nn::RewardModel<double, rlhf::cpu>::init_weights("
  "rlhf::train::SFTTrainer<float, rlhf::cpu>::step_count("
  "rlhf::train::PPOTrainer<float, rlhf::cpu>::kl_coef("
  "rlhf::train::Pipeline<float, rlhf::cpu>::config("
  "rlhf::io::load_gpt<float, rlhf::cpu>(")
foreach(mode IN ITEMS compiled header_only)
  if(mode STREQUAL "compiled")
    set(object ${COMPILED})
  else()
    set(object ${HEADER_ONLY})
  endif()
  execute_process(COMMAND nm -C --defined-only ${object} OUTPUT_VARIABLE defined RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${object} failed (${rc})")
  endif()
  foreach(f IN LISTS functions)
    string(FIND "${defined}" "${f}" at)
    if(mode STREQUAL "compiled" AND NOT at EQUAL -1)
      message(FATAL_ERROR "compiled mode: ${object} defines ${f}...: the extern template declaration did not hold")
    elseif(mode STREQUAL "header_only" AND at EQUAL -1)
      message(FATAL_ERROR "header-only: ${object} does not define ${f}...: the check would prove nothing")
    endif()
  endforeach()
endforeach()
list(LENGTH functions n)
message(STATUS "compiled mode: none of the ${n} functions is instantiated again; header-only defines all ${n}")
