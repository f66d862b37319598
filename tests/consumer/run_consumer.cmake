# Configures, builds and runs the consumer project (project/) against rlhf; registered as ctest
# tests by CMakeLists.txt beside this file. Usage:
#   cmake -DMODE=installed|add_subdirectory -DRLHF_SOURCE_DIR=... -DRLHF_BINARY_DIR=...
#         -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         [-DMAKE_PROGRAM=... -DGENERATOR_PLATFORM=... -DGENERATOR_TOOLSET=...
#          -DCXX_COMPILER_LAUNCHER=... -DRLHF_USE_BLAS=... -DRLHF_ENABLE_CUDA=...
#          -DCONFIG=...] -P run_consumer.cmake
# MODE=installed installs the rlhf build tree RLHF_BINARY_DIR into WORK_DIR/prefix first and then
# checks that the consumer really compiled against the installed headers, not the source tree.
# WORK_DIR is kept between runs, so a second run only rebuilds what changed.
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS MODE RLHF_SOURCE_DIR RLHF_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(installed|add_subdirectory)$")
  message(FATAL_ERROR "run_consumer.cmake: MODE must be installed or add_subdirectory, not '${MODE}'")
endif()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
set(config_args)
if(NOT "${CONFIG}" STREQUAL "")
  set(config_args --config ${CONFIG})
endif()

function(step what)
  message(STATUS "consumer_${MODE}: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer_${MODE}: ${what} failed (${rc})")
  endif()
endfunction()

# A build made with another generator or compiler cannot be reused: start over.
set(signature "${GENERATOR}|${GENERATOR_PLATFORM}|${GENERATOR_TOOLSET}|${CXX_COMPILER}|${CONFIG}")
if(EXISTS ${WORK_DIR}/signature.txt)
  file(READ ${WORK_DIR}/signature.txt old_signature)
  if(NOT old_signature STREQUAL signature)
    file(REMOVE_RECURSE ${WORK_DIR})
  endif()
endif()
file(MAKE_DIRECTORY ${WORK_DIR})
file(WRITE ${WORK_DIR}/signature.txt "${signature}")

set(configure_args -S ${CONSUMER_SOURCE_DIR} -B ${build} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DRLHF_CONSUMER_MODE=${MODE})
foreach(pair IN ITEMS "-A;GENERATOR_PLATFORM" "-T;GENERATOR_TOOLSET" "-DCMAKE_MAKE_PROGRAM=;MAKE_PROGRAM"
                      "-DCMAKE_CXX_COMPILER_LAUNCHER=;CXX_COMPILER_LAUNCHER" "-DCMAKE_BUILD_TYPE=;CONFIG")
  list(GET pair 0 flag)
  list(GET pair 1 var)
  if(NOT "${${var}}" STREQUAL "")
    if(flag MATCHES "=$")
      list(APPEND configure_args "${flag}${${var}}")
    else()
      list(APPEND configure_args ${flag} ${${var}})
    endif()
  endif()
endforeach()

if(MODE STREQUAL "installed")
  step("install ${RLHF_BINARY_DIR} into ${prefix}"
    ${CMAKE_COMMAND} --install ${RLHF_BINARY_DIR} --prefix ${prefix} ${config_args})
  # Files left in the prefix by an earlier install (a header since deleted) must not be found.
  file(STRINGS ${RLHF_BINARY_DIR}/install_manifest.txt installed_files)
  file(GLOB_RECURSE present_files LIST_DIRECTORIES false ${prefix}/*)
  foreach(f IN LISTS present_files)
    if(NOT f IN_LIST installed_files)
      message(STATUS "consumer_${MODE}: removing stale ${f}")
      file(REMOVE ${f})
    endif()
  endforeach()
  list(APPEND configure_args -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
else()
  list(APPEND configure_args -DRLHF_SOURCE_DIR=${RLHF_SOURCE_DIR})
  foreach(option IN ITEMS RLHF_USE_BLAS RLHF_ENABLE_CUDA)  # the parent build's choices
    if(NOT "${${option}}" STREQUAL "")
      list(APPEND configure_args -D${option}=${${option}})
    endif()
  endforeach()
endif()

# Programs of an earlier run (another mode of the library) must not be taken for this run's.
file(REMOVE_RECURSE ${build}/bin)
step("configure" ${CMAKE_COMMAND} ${configure_args})
step("build" ${CMAKE_COMMAND} --build ${build} ${config_args})

# Where did rlhf come from? The package config must be the prefix's, and (Ninja records every
# header a translation unit read) the compiler must have read rlhf's headers from there too.
set(want_include ${prefix}/include/rlhf)
set(shun_include ${RLHF_SOURCE_DIR}/include/rlhf)
if(MODE STREQUAL "add_subdirectory")
  set(want_include ${RLHF_SOURCE_DIR}/include/rlhf)
  set(shun_include ${prefix}/include/rlhf)
else()
  file(STRINGS ${build}/CMakeCache.txt rlhf_dir_line REGEX "^rlhf_DIR:")
  string(REGEX REPLACE "^rlhf_DIR:[A-Z]+=" "" rlhf_dir "${rlhf_dir_line}")
  cmake_path(IS_PREFIX prefix "${rlhf_dir}" NORMALIZE dir_in_prefix)
  if(NOT dir_in_prefix)
    message(FATAL_ERROR "consumer_${MODE}: find_package(rlhf) used '${rlhf_dir}', not the package in ${prefix}")
  endif()
endif()
if(GENERATOR MATCHES "Ninja")
  set(ninja ninja)
  if(NOT "${MAKE_PROGRAM}" STREQUAL "")
    set(ninja ${MAKE_PROGRAM})
  endif()
  execute_process(COMMAND ${ninja} -C ${build} -t deps OUTPUT_VARIABLE deps RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer_${MODE}: '${ninja} -t deps' failed (${rc})")
  endif()
  string(REPLACE "\n" ";" deps "${deps}")
  list(FILTER deps INCLUDE REGEX "/include/rlhf/")  # rlhf's headers, wherever they were
  list(TRANSFORM deps STRIP)
  string(FIND "${deps}" "${want_include}/rlhf.hpp" found_want)
  string(FIND "${deps}" "${shun_include}/" found_shun)
  if(found_want EQUAL -1 OR NOT found_shun EQUAL -1)
    list(JOIN deps "\n  " deps)
    message(FATAL_ERROR "consumer_${MODE}: the programs must read rlhf's headers from ${want_include} "
                        "and none from ${shun_include}; it read:\n  ${deps}")
  endif()
  message(STATUS "consumer_${MODE}: rlhf's headers were read from ${want_include}")
else()
  message(STATUS "consumer_${MODE}: generator ${GENERATOR} keeps no dependency log; header origin not checked")
endif()

file(STRINGS ${RLHF_SOURCE_DIR}/include/rlhf/version.hpp version_line REGEX "define RLHF_VERSION_STRING")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" version "${version_line}")
if(EXISTS ${build}/bin/model_compiled OR EXISTS ${build}/bin/model_compiled.exe)
  # Both modes of the library (installed with rlhf::compiled): the same program, the same output.
  foreach(mode IN ITEMS compiled header_only)
    execute_process(COMMAND ${build}/bin/model_${mode} RESULT_VARIABLE rc OUTPUT_VARIABLE model_${mode} ERROR_VARIABLE model_${mode})
    if(NOT rc EQUAL 0 OR NOT model_${mode} MATCHES "^rlhf ${version} consumer model: continuation( [0-9]+)+, loss [0-9.e+-]+\n$")
      message(FATAL_ERROR "consumer_${MODE}: model_${mode} failed (exit ${rc}) or printed: ${model_${mode}}")
    endif()
  endforeach()
  if(NOT model_compiled STREQUAL model_header_only)
    message(FATAL_ERROR "consumer_${MODE}: compiled mode and header-only differ:\n  ${model_compiled}  ${model_header_only}")
  endif()
  message(STATUS "consumer_${MODE}: compiled and header-only both say: ${model_compiled}")
else()
  execute_process(COMMAND ${build}/bin/app RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "consumer_${MODE}: app says: ${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^rlhf ${version} consumer: .* ok\n")
    message(FATAL_ERROR "consumer_${MODE}: the app failed (exit ${rc}) or printed something unexpected")
  endif()
  if(MODE STREQUAL "installed")
    file(GLOB compiled_lib ${prefix}/lib*/librlhf_compiled.a)
    if(compiled_lib)
      message(FATAL_ERROR "consumer_${MODE}: ${compiled_lib} is installed but the consumer did not build on rlhf::compiled")
    endif()
  endif()
endif()
message(STATUS "consumer_${MODE}: passed")
