// The object that builds the precompiled header the fuzz targets share (CMakeLists.txt,
// rlhf_fuzz_pch). It has no code of its own.
