# Shared by the smoke scripts (sourced, not run): progress lines, failing with the
# logs that explain it, polling, and a virtual display with a system tray.
# The sourcing script sets OUT (where logs go) and PIDS (an array of processes that
# its cleanup stops), and lists its log names in SMOKE_LOGS.

step() { printf '\n== %s\n' "$*"; }

fail() {
    echo "FAIL: $*" >&2
    for log in "${SMOKE_LOGS[@]}"; do
        [ -f "$OUT/$log.log" ] && { echo "--- $log.log (last 30 lines)" >&2; tail -n 30 "$OUT/$log.log" >&2; }
    done
    exit 1
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && fail "$what (waited ${seconds}s)"
        sleep 0.2
    done
}

# start_display_and_tray: Xvfb on a free display number (exported as DISPLAY), and
# trayer docked at its top right.
start_display_and_tray() {
    local number=$((90 + RANDOM % 400))
    while [ -e "/tmp/.X11-unix/X$number" ]; do number=$((number + 1)); done
    export DISPLAY=":$number"
    Xvfb "$DISPLAY" -screen 0 640x480x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
    PIDS+=($!)
    wait_until 10 "Xvfb did not start" xdpyinfo
    trayer --edge top --align right --widthtype request --height 32 \
        --SetDockType true --transparent false >"$OUT/trayer.log" 2>&1 &
    PIDS+=($!)
}

# start_simulator COMMAND... [-- SIM ARGS...]: `COMMAND... sim` on a free loopback
# port (or SIM_PORT when set: the same one again), its address in SIM_URL and its
# process in SIM_PID. It accepts the key "smoke-key".
start_simulator() {
    local command=() extra=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do command+=("$1"); shift; done
    [ "${1:-}" = "--" ] && { shift; extra=("$@"); }
    : >"$OUT/sim.log"
    "${command[@]}" sim --port "${SIM_PORT:-0}" --api-key smoke-key --pending-secs 0.2 \
        --processing-secs 1 "${extra[@]}" >>"$OUT/sim.log" 2>&1 &
    SIM_PID=$!
    PIDS+=($SIM_PID)
    wait_until 30 "the simulator did not start" grep -q "listening on" "$OUT/sim.log"
    SIM_URL=$(grep -o 'http://127.0.0.1:[0-9]*/v1' "$OUT/sim.log" | head -n1)
}

# screen_region_has_colour X Y WIDTH HEIGHT RRGGBB: whether that part of the screen
# shows the colour (a screenshot lands in $OUT/screen.png).
screen_region_has_colour() {
    import -window root "$OUT/screen.png"
    convert "$OUT/screen.png" -crop "${3}x${4}+${1}+${2}" -format %c histogram:info: | grep -qi "#$5"
}

# drop_shoot INBOX NAME COUNT: a shoot folder of COUNT small JPEGs.
drop_shoot() {
    mkdir "$1/$2"
    for n in $(seq "$3"); do
        convert -size 96x64 "gradient:skyblue-darkgreen" "$1/$2/Photo $n.jpg"
    done
}

# The colours of the tray icon's faces (src/ui/icons.rs).
IDLE=1F9E89 PAUSED=D98E04 OFFLINE=7C7C82 PROBLEM=D6362F
