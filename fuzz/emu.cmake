# emu: the x86 interpreter on random code, descriptor tables and page tables, in every mode.
xkvm_fuzz_target(emu_cpu_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/emu_cpu_fuzz.cpp LIBS xkvm_emu_cpu)
