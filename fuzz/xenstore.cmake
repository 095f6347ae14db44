# xenstore: the guest-facing ring framing and the protocol engine.
xkvm_fuzz_target(xenstore_ring_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/xenstore_ring_fuzz.cpp LIBS xkvm_xenstore)
xkvm_fuzz_target(xenstore_msg_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/xenstore_msg_fuzz.cpp LIBS xkvm_xenstore)
# Both assert issue 11's bounds on memory and log volume.
set_tests_properties(xenstore_ring_fuzz_corpus xenstore_msg_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
# The VMM's glue between the guest's ring and xkvmd, against a real store (bounds on memory and logs).
xkvm_fuzz_target(xenstore_link_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/xenstore_link_fuzz.cpp LIBS xkvm_vmm_links)
set_tests_properties(xenstore_link_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
