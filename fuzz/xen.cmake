# xen: hypercall dispatch, the guest's main way into the VMM, on a fake platform (no KVM).
# hypercall_seeds writes fuzz/corpus/hypercall_fuzz/ from the same input format (hypercall_input.h).
# It runs the VMM's own alarms (vmm_core) and interdomain broker (vmm_links) around the domain.
xkvm_fuzz_target(hypercall_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/hypercall_fuzz.cpp LIBS xkvm_xen xkvm_vmm_links)
add_executable(hypercall_seeds ${CMAKE_CURRENT_LIST_DIR}/hypercall_seeds.cpp)
target_link_libraries(hypercall_seeds PRIVATE xkvm_xen_abi)
xkvm_warnings(hypercall_seeds)
# Issue 11: the real alarms, broker and racing vCPUs make its replay one of the hardening tests.
set_tests_properties(hypercall_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
