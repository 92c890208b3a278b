# Shared by the benchmark scripts (bash; sourced, not run): wrk output
# parsing, medians, number formatting.

# parse_wrk FILE -> "REQS P50MS BAD P99MS" (BAD = non-2xx/3xx responses + socket errors)
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /m$/) { sub(/m$/, "", v); return v * 60000 }
            if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 }
            return v
        }
        /Requests\/sec:/ { rps = $2 }
        /^ *50% / { p50 = ms($2) }
        /^ *99% / { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { x = $i; sub(/,/, "", x); bad += x }
        }
        END { printf "%s %s %d %s\n", (rps == "" ? "0" : rps), (p50 == "" ? "0" : p50), bad, (p99 == "" ? "0" : p99) }
    ' "$1"
}

# median: of the whitespace-separated numbers on stdin.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

fmt_ms() { awk -v x="$1" 'BEGIN { printf (x < 1 ? "%.2f" : (x < 10 ? "%.1f" : "%.0f")), x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
verdict() { if "$@"; then echo PASS; else echo FAIL; fi; }
# thousands: 12345.6 -> 12,346
thousands() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'; }
