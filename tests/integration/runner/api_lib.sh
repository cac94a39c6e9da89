# Shared by api.sh and api_lifecycle.sh: a carapace serving Firecracker's API on $S, and one
# request with its expected status and reply. Needs lib.sh first, $C set.
S=$TMP/api.sock
PID=

start() { # start [extra options]: a carapace serving the API on $S
	rm -f "$S"
	"$C" run --api-sock "$S" --id it0 "$@" >"$TMP/out" 2>&1 &
	PID=$!
	# Until the socket exists or carapace has ended (meson's time-out bounds the wait).
	while ! [ -S "$S" ]; do
		kill -0 "$PID" 2>/dev/null || { echo "FAIL carapace ended before creating $S"; cat "$TMP/out"; exit 1; }
		sleep 0.05
	done
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
trap 'stop; rm -rf "$TMP"' EXIT

# api NAME METHOD PATH BODY WANT_STATUS NEEDLE: one request; the reply must have the status and
# contain NEEDLE (for a 400: in its fault_message).
api() {
	local name=$1 m=$2 p=$3 body=$4 want=$5 needle=$6 out code
	if [ -n "$body" ]; then
		out=$(curl -s --unix-socket "$S" -X "$m" "http://localhost$p" -H 'Content-Type: application/json' \
			--data-binary "$body" -w '\n%{http_code}')
	else
		out=$(curl -s --unix-socket "$S" -X "$m" "http://localhost$p" -w '\n%{http_code}')
	fi
	code=${out##*$'\n'}; out=${out%$'\n'*}
	if [ "$code" != "$want" ]; then
		echo "FAIL $name: $m $p: status $code, expected $want: $out"; fails=$((fails + 1)); return
	fi
	if [ "$want" = 400 ] && ! grep -q '^{"fault_message":"' <<<"$out"; then
		echo "FAIL $name: a 400 without a fault_message: $out"; fails=$((fails + 1)); return
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
		echo "FAIL $name: reply lacks '$needle': $out"; fails=$((fails + 1)); return
	fi
	echo "ok   $name"; passes=$((passes + 1))
}

