#!/usr/bin/env bash
# Counts which test cases cite where Xen gives their answer (issue 12), in two groups:
#  - conformance: a TEST_CASE in guests/conformance/*/*.c or a TEST/TEST_F in src/xen/*_test.cpp;
#  - integration: a TEST/TEST_F (or a macro that defines them, as EVTCHN_FAMILY) in tests/*.cpp and
#    tests/cli/*.cpp, the tests that boot guests or drive the CLI.
# A case is cited when the comment right above it or its own body names a file of the Xen tree
# (xen/..., tools/..., common/..., arch/...), a public header (public/....h) or a documented ABI or
# manual (docs/misc/..., docs/man/...), or marks a deliberate difference (TEST_DIFF / DIFF(id), see
# docs/xen-differences.md). A citation in a file's opening comment only counts for cases that say
# nothing, as "file" citations. An integration case may instead say that what it expects is not
# Xen's behaviour at all, with "XKVM-OWN:" and why (xkvm's own interface, the harness itself, a
# hardware model, or values that the guest it boots checks and cites); in the file's opening comment
# that covers every case of the file that cites nothing.
#   scripts/citations.sh        per-file counts and the totals
#   scripts/citations.sh -v     also every case without a citation of its own
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
verbose=${1:-}
cd "$top"
count() {
    # shellcheck disable=SC2016 # the awk program is single-quoted on purpose
    awk -v verbose="$verbose" -v group="$1" '
function cites(text) {
    return text ~ /(xen\/[a-z0-9_\/-]+\.[ch]|tools\/[a-z0-9_\/-]+\.[ch]|(common|arch|include)\/[a-z0-9_\/-]+\.[ch]|public\/[a-z0-9_\/-]+\.h|docs\/(misc|man)\/[a-z0-9_.-]+|TEST_DIFF\(|DIFF\()/
}
function own_marked(text) { return text ~ /XKVM-OWN:/ }
function finish_case() {
    if (name == "") return
    total++; file_total++
    if (cites(case_above) || cites(body)) { cited++; file_cited++ }
    else if (own_marked(case_above) || own_marked(body)) { xkvm++; file_xkvm++ }
    else if (header_cites) { by_file++; file_by_file++; if (verbose == "-v") print "  file only: " FILENAME ": " name }
    else if (header_own) { xkvm++; file_xkvm++ }
    else if (verbose == "-v") print "  none:      " FILENAME ": " name
    name = ""
}
function finish_file() {
    finish_case()
    if (!file_total) return
    if (group == "conformance")
        printf "%-55s %3d cases, %3d cited, %3d by the file header only\n", prev, file_total, file_cited, file_by_file
    else
        printf "%-55s %3d cases, %3d cited, %3d by the file header only, %3d not Xen'\''s\n", prev, file_total, file_cited, file_by_file, file_xkvm
}
FNR == 1 {
    if (prev != "") finish_file()
    prev = FILENAME; file_total = file_cited = file_by_file = file_xkvm = 0
    in_header = 1; header_cites = 0; header_own = 0; above = ""; name = ""; depth = 0
}
{
    line = $0
    if (in_header) {
        if (line ~ /^(\/\*|\/\/| \*)/ || line ~ /\*\//) {
            if (cites(line)) header_cites = 1
            if (group == "integration" && own_marked(line)) header_own = 1
            next
        }
        in_header = 0
    }
    if (line ~ /^(TEST_CASE|TEST_F|TEST|EVTCHN_FAMILY)\(/) {
        finish_case()
        name = line; sub(/\).*/, ")", name); body = ""; depth = 0; started = 0
        case_above = above; above = ""
        # A one-line case (or a macro that makes cases) ends here; the comment above a run of them
        # speaks for the whole run.
        if (line ~ /^EVTCHN_FAMILY\(/ || line ~ /\{.*\}[ \t]*$/) { body = line; run_above = case_above; finish_case(); above = run_above; in_run = 1 }
        next
    }
    if (name != "") {
        body = body "\n" line
        n_open = gsub(/\{/, "{", line); n_close = gsub(/\}/, "}", line)
        depth += n_open - n_close
        if (n_open) started = 1
        if (started && depth <= 0) finish_case()
        next
    }
    # Between cases: a comment block sticks to the case that follows it; code or a blank line ends it.
    if (line ~ /^[ \t]*(\/\/|\/\*|\*)/) above = above "\n" line
    else if (line !~ /^[ \t]*$/ || above == "" || in_run) above = ""
    in_run = 0
}
END {
    finish_file()
    printf "RESULT %s_cases %d\n", group, total
    printf "RESULT %s_cases_cited %d (%d more by their file header only)\n", group, cited, by_file
    if (group == "integration") printf "RESULT %s_cases_not_xens %d (marked XKVM-OWN)\n", group, xkvm
    printf "RESULT %s_cases_uncited %d\n", group, total - cited - by_file - xkvm
}' "${@:2}"
}

count conformance guests/conformance/*/*.c src/xen/*_test.cpp
count integration tests/*.cpp tests/cli/*.cpp
