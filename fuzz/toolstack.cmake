# toolstack: what xkvmd does with frames from a subverted VMM (replies and deep JSON included).
xkvm_fuzz_target(daemon_msg_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/daemon_msg_fuzz.cpp LIBS xkvm_daemon)
set_tests_properties(daemon_msg_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
