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

# ---------------------------------------------------------------- a private Apache
# For scripts that set REPO and KEEP and define say/die (bench/*, reliability/*).

# cgi_identity: RUN_USER/RUN_GROUP (who Apache's children, so roost, run as)
# and as_cgi_user CMD... (runs CMD as them).
cgi_identity() {
    if [ "$(id -u)" = 0 ]; then
        RUN_USER=www-data
        RUN_GROUP=$(id -gn "$RUN_USER")
        as_cgi_user() { setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --clear-groups -- "$@"; }
    else
        RUN_USER=$(id -un)
        RUN_GROUP=$(id -gn)
        as_cgi_user() { "$@"; }
    fi
}

# new_instance PREFIX: ROOT (a new directory in /tmp, removed on exit unless
# KEEP=1, with Apache stopped first), PORT, DOCROOT, BASE, and ROOT/httpd.conf
# from tests/apache/httpd.conf.in. Call cgi_identity first.
new_instance() {
    ROOT=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$ROOT"
    APACHE_PID=
    trap stop_instance EXIT
    trap 'exit 130' INT TERM
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    DOCROOT=$ROOT/htdocs
    BASE=http://127.0.0.1:$PORT
    mkdir -p "$DOCROOT" "$ROOT/data" "$ROOT/conf.d" "$ROOT/build"
    chmod 755 "$DOCROOT" "$ROOT/data" "$ROOT/conf.d"
    sed -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$PORT|g" -e "s|@DOCROOT@|$DOCROOT|g" \
        -e "s|@USER@|$RUN_USER|g" -e "s|@GROUP@|$RUN_GROUP|g" \
        "$REPO/tests/apache/httpd.conf.in" > "$ROOT/httpd.conf"
}

stop_instance() {
    local rc=$?
    stop_apache
    if [ "$KEEP" = 1 ]; then say "kept the instance in $ROOT"; else rm -rf "$ROOT"; fi
    exit "$rc"
}

# stop_apache: stops the instance's Apache, if running, and waits for it.
stop_apache() {
    if [ -n "$APACHE_PID" ] && kill -0 "$APACHE_PID" 2>/dev/null; then
        kill -TERM "$APACHE_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$APACHE_PID" 2>/dev/null || break; sleep 0.1; done
        wait "$APACHE_PID" 2>/dev/null || true
    fi
    APACHE_PID=
}

# start_apache PROBE_PATH [ARG...]: starts the instance's Apache (APACHE_PID)
# with ARGs (-DROOST_PREFORK: prefork + mod_cgi) and waits until PROBE_PATH
# answers.
start_apache() {
    local probe=$1
    shift
    # In a session of its own: prefork's shutdown signals its whole process
    # group, which would otherwise include this script.
    setsid /usr/sbin/apache2 -f "$ROOT/httpd.conf" -DFOREGROUND "$@" < /dev/null > "$ROOT/stderr.log" 2>&1 &
    APACHE_PID=$!
    for _ in $(seq 200); do
        curl -s -o /dev/null "$BASE$probe" && return 0
        kill -0 "$APACHE_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "Apache did not start: $(cat "$ROOT/stderr.log" "$ROOT/error.log" 2>/dev/null)"
}

# roost_site NAME KIND DATA: roost at /NAME/ with sample.htaccess's block as
# `install` writes it (the lines from "# BEGIN roost" to "# END roost"): KIND
# cgi finds DATA by SetEnv ROOST_HOME, fcgid (the fcgid variant) by roost.conf.
roost_block() { sed -n '/^# BEGIN roost$/,/^# END roost$/p' "$REPO/sample.htaccess"; }
roost_site() {
    local dir=$DOCROOT/$1
    mkdir "$dir"
    chmod 755 "$dir"
    cp "$ROOST_BIN" "$dir/roost.cgi.tmp"
    chmod 755 "$dir/roost.cgi.tmp"
    mv "$dir/roost.cgi.tmp" "$dir/roost.cgi"
    case "$2" in
        cgi) { roost_block; printf 'SetEnv ROOST_HOME "%s"\n' "$3"; } > "$dir/.htaccess" ;;
        fcgid)
            roost_block | sed -e '/^# BEGIN cgi variant/,/^# END cgi variant/d' -e 's/^#FCGID# //' > "$dir/.htaccess"
            printf 'home = %s\n' "$3" > "$dir/roost.conf"
            chmod 644 "$dir/roost.conf" ;;
    esac
    chmod 644 "$dir/.htaccess"
}

# musl_release_bin: the path `cargo build --release --target
# x86_64-unknown-linux-musl` writes roost to ($CARGO_TARGET_DIR, relative to
# REPO when relative, else REPO/target).
musl_release_bin() {
    local dir=${CARGO_TARGET_DIR:-$REPO/target}
    case "$dir" in /*) ;; *) dir=$REPO/$dir ;; esac
    echo "$dir/x86_64-unknown-linux-musl/release/roost"
}
