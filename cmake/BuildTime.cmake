# Compile time is most of a CI run (two cores build ~560 steps), so both builds spend it where it
# pays: the product at -O2 (the emulated CPU's speed depends on it; -O1 in the sanitizer build), test
# code at -Og in both (gtest expansions gain nothing from optimisation: one ASan+UBSan test batch took
# 20 CPU-s at -O1 and 13 at -Og), and line tables instead of full debug info (enough for backtraces,
# perf and callgrind; -g doubles some files).
set(XKVM_DEBUG_INFO "-g1" CACHE STRING "Debug-info flag of RelWithDebInfo builds (-g for full)")
add_compile_options($<$<CONFIG:RelWithDebInfo>:${XKVM_DEBUG_INFO}>)

function(xkvm_test_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Debug>:-Og>)
  if(XKVM_TEST_PCH)
    xkvm_test_pch()
    target_precompile_headers(${target} REUSE_FROM xkvm_test_pch)
  endif()
endfunction()

# Every batch of test code parses gtest, gmock and much of the standard library again, a fifth of its
# compile time; test targets share one precompiled header of them instead. It is built with the test
# code's flags and definitions, and holds no header whose macros differ between test targets (fmt's
# FMT_SHARED, say): gcc refuses a header precompiled under other macros (-Winvalid-pch, an error).
option(XKVM_TEST_PCH "Test targets share one precompiled header" ON)
function(xkvm_test_pch)
  if(TARGET xkvm_test_pch)
    return()
  endif()
  add_library(xkvm_test_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/test_pch.cpp)
  target_link_libraries(xkvm_test_pch PRIVATE GTest::gtest GTest::gmock)
  target_compile_options(xkvm_test_pch PRIVATE $<$<CONFIG:RelWithDebInfo,Debug>:-Og>)
  xkvm_warnings(xkvm_test_pch)
  target_precompile_headers(xkvm_test_pch PRIVATE
    <gtest/gtest.h> <gmock/gmock.h>
    <algorithm> <array> <atomic> <chrono> <condition_variable> <cstdint> <cstring> <filesystem>
    <functional> <map> <memory> <mutex> <optional> <set> <span> <string> <string_view> <thread>
    <unordered_map> <variant> <vector>)
endfunction()

# Most of a translation unit's compile time here is the headers (the standard library, gtest, fmt),
# so a unity build, which compiles a target's sources in batches as one unit, halves both CI builds
# (measured: 5 event-channel test files 50 s of CPU apart, 26 s as one; 12 Xen ABI sources 52 s
# apart, 27 s as one). Sources must therefore not clash within a target: helpers in anonymous
# namespaces get distinct names. Turn it off for quicker rebuilds of a single edited file.
option(XKVM_UNITY_BUILD "Compile each target's sources in batches (faster clean builds)" ON)
if(XKVM_UNITY_BUILD)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
  # gtest fixtures in anonymous namespaces are fine in a file of their own; included into a batch,
  # g++ warns that the generated test classes have internal-linkage bases.
  add_compile_options($<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
endif()
