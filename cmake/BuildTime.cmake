# Compile time is most of a CI run (two cores build ~560 steps), so the release build spends it where
# it pays: the product at -O2 (the emulated CPU's speed depends on it), test code at -O1 (gtest
# expansions are half the cost of a test file at -O2 and gain nothing from it), and line tables
# instead of full debug info (enough for backtraces, perf and callgrind; -g doubles some files).
set(XKVM_DEBUG_INFO "-g1" CACHE STRING "Debug-info flag of RelWithDebInfo builds (-g for full)")
add_compile_options($<$<CONFIG:RelWithDebInfo>:${XKVM_DEBUG_INFO}>)

function(xkvm_test_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo>:-O1>)
endfunction()
