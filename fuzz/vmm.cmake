# vmm: the exit handlers on a real (paused) machine on the emulated CPU backend, fed decoded exits.
xkvm_fuzz_target(vmm_exit_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/vmm_exit_fuzz.cpp
  ${PROJECT_SOURCE_DIR}/src/loader/test_elf_builder.cpp LIBS xkvm_vmm)
set_tests_properties(vmm_exit_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
