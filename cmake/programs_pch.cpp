// The object that builds the precompiled <rlhf/rlhf.hpp> shared by the programs in examples/ and
// bench/ (CMakeLists.txt, rlhf_programs_pch). It has no code of its own.
