#!/usr/bin/env bash
# Counts which conformance cases cite where Xen gives their answer (issue 12). A case is a TEST_CASE
# in guests/conformance/*/*.c or a TEST/TEST_F in src/xen/*_test.cpp; it is cited when the comment
# right above it or its own body names a file of the Xen tree (xen/..., tools/..., common/..., arch/...), a public
# header (public/....h) or a documented ABI (docs/misc/...), or marks a deliberate difference
# (TEST_DIFF / DIFF(id), see docs/xen-differences.md). A citation in a file's opening comment only
# counts for cases that say nothing, as "file" citations.
#   scripts/citations.sh        per-file counts and the totals
#   scripts/citations.sh -v     also every case without a citation of its own
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
verbose=${1:-}
cd "$top"
# shellcheck disable=SC2016 # the awk program is single-quoted on purpose
awk -v verbose="$verbose" '
function cites(text) {
    return text ~ /(xen\/[a-z0-9_\/-]+\.[ch]|tools\/[a-z0-9_\/-]+\.[ch]|(common|arch|include)\/[a-z0-9_\/-]+\.[ch]|public\/[a-z0-9_\/-]+\.h|docs\/misc\/[a-z0-9_.-]+|TEST_DIFF\(|DIFF\()/
}
function finish_case() {
    if (name == "") return
    total++; file_total++
    if (cites(case_above) || cites(body)) { own++; file_own++ }
    else if (header_cites) { by_file++; file_by_file++; if (verbose == "-v") print "  file only: " FILENAME ": " name }
    else if (verbose == "-v") print "  none:      " FILENAME ": " name
    name = ""
}
function finish_file() {
    finish_case()
    if (file_total) printf "%-55s %3d cases, %3d cited, %3d by the file header only\n", prev, file_total, file_own, file_by_file
}
FNR == 1 {
    if (prev != "") finish_file()
    prev = FILENAME; file_total = file_own = file_by_file = 0
    in_header = 1; header_cites = 0; above = ""; name = ""; depth = 0
}
{
    line = $0
    if (in_header) {
        if (line ~ /^(\/\*|\/\/| \*)/ || line ~ /\*\//) { if (cites(line)) header_cites = 1; next }
        in_header = 0
    }
    if (line ~ /^(TEST_CASE|TEST_F|TEST)\(/) {
        finish_case()
        name = line; sub(/\).*/, ")", name); body = ""; depth = 0; started = 0
        case_above = above; above = ""
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
    else if (line !~ /^[ \t]*$/ || above == "") above = ""
}
END {
    finish_file()
    printf "RESULT conformance_cases %d\n", total
    printf "RESULT conformance_cases_cited %d (%d more by their file header only)\n", own, by_file
    printf "RESULT conformance_cases_uncited %d\n", total - own - by_file
}' guests/conformance/*/*.c src/xen/*_test.cpp
