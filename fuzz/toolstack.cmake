# toolstack: a real xkvmd (through DaemonTestPeer) against subverted VMMs and hostile clients.
xkvm_fuzz_target(daemon_msg_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/daemon_msg_fuzz.cpp
  ${CMAKE_CURRENT_LIST_DIR}/daemon_msg_frames.cpp ${CMAKE_CURRENT_LIST_DIR}/daemon_msg_peers.cpp LIBS xkvm_daemon_testing)
set_tests_properties(daemon_msg_fuzz_corpus PROPERTIES LABELS "fuzz;hardening")
if(TEST daemon_msg_fuzz_mutate)
  set_tests_properties(daemon_msg_fuzz_mutate PROPERTIES LABELS "fuzz;hardening")
endif()
# Writes daemon_msg_fuzz's seeds (its input format): daemon_msg_seeds <corpus dir>.
add_executable(daemon_msg_seeds ${CMAKE_CURRENT_LIST_DIR}/daemon_msg_seeds.cpp)
target_link_libraries(daemon_msg_seeds PRIVATE xkvm_ipc)
xkvm_warnings(daemon_msg_seeds)
