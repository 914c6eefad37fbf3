#!/usr/bin/env bash
# A local Orthanc PACS for development and tests: authentication on, remote access off, storage in DIR, no systemd.
#
#   scripts/orthanc.sh start  DIR [HTTP_PORT DICOM_PORT]   start (free high ports are picked when not given)
#   scripts/orthanc.sh stop   DIR                          stop (SIGTERM, then SIGKILL after 20 s)
#   scripts/orthanc.sh status DIR                          exit 0 when it answers HTTP, 1 otherwise
#
# DIR gets: orthanc.json (config, readable by the Orthanc user only), credentials (user:password, mode 600),
# orthanc.env (ORTHANC_URL, ORTHANC_DICOMWEB, ORTHANC_DICOM_URL, ports: source it), orthanc.pid, orthanc.log, data/.
# The password and the ports are kept across restarts of the same DIR (the stored instances are kept too).
# Orthanc has no bind option: it listens on 0.0.0.0, but RemoteAccessAllowed=false refuses non-loopback HTTP.
# When run as root, Orthanc runs as nobody:nogroup (setpriv); DIR's parents must be traversable by nobody.
set -euo pipefail

ORTHANC_BIN=${ORTHANC_BIN:-/usr/sbin/Orthanc}
DICOMWEB_PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
TEMPLATE="$(cd "$(dirname "$0")" && pwd)/orthanc.json.in"
RUN_USER=nobody
RUN_GROUP=nogroup

die() { echo "orthanc.sh: $*" >&2; exit 1; }

free_port() {  # an unused TCP port from the kernel's ephemeral range
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_orthanc_user() {  # run a command as the unprivileged Orthanc user (or as ourselves when not root)
  if [ "$(id -u)" = 0 ]; then setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --clear-groups "$@"; else "$@"; fi
}

is_running() {
  [ -f "$DIR/orthanc.pid" ] && kill -0 "$(cat "$DIR/orthanc.pid")" 2>/dev/null
}

answers_http() {  # authenticated GET /system on loopback
  [ -f "$DIR/orthanc.env" ] || return 1
  # shellcheck disable=SC1091
  . "$DIR/orthanc.env"
  curl -sf -o /dev/null --max-time 2 -u "$(cat "$DIR/credentials")" "$ORTHANC_URL/system"
}

start() {
  [ -x "$ORTHANC_BIN" ] || die "$ORTHANC_BIN not found: run scripts/install.sh dev (Debian packages orthanc, orthanc-dicomweb)"
  [ -f "$DICOMWEB_PLUGIN" ] || die "$DICOMWEB_PLUGIN not found: install the Debian package orthanc-dicomweb"
  if is_running; then echo "orthanc.sh: already running (pid $(cat "$DIR/orthanc.pid"))"; return 0; fi
  local http_port=${1:-} dicom_port=${2:-}
  if [ -z "$http_port" ] && [ -f "$DIR/orthanc.env" ]; then  # a restart keeps its ports (and its password)
    http_port=$(sed -n 's/^ORTHANC_HTTP_PORT=//p' "$DIR/orthanc.env"); dicom_port=$(sed -n 's/^ORTHANC_DICOM_PORT=//p' "$DIR/orthanc.env")
  fi
  http_port=${http_port:-$(free_port)}; dicom_port=${dicom_port:-$(free_port)}
  mkdir -p "$DIR/data"
  DIR=$(cd "$DIR" && pwd)
  if [ ! -s "$DIR/credentials" ]; then
    (umask 077; printf 'medanon:%s\n' "$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)" \
      > "$DIR/credentials")
  fi
  local user password
  user=$(cut -d: -f1 "$DIR/credentials")
  password=$(cut -d: -f2- "$DIR/credentials" | tr -d '\n')
  (umask 077; sed -e "s|@DATA_DIR@|$DIR/data|" -e "s|@HTTP_PORT@|$http_port|" -e "s|@DICOM_PORT@|$dicom_port|" \
      -e "s|@USER@|$user|" -e "s|@PASSWORD@|$password|" "$TEMPLATE" > "$DIR/orthanc.json")
  cat > "$DIR/orthanc.env" <<EOF
ORTHANC_HTTP_PORT=$http_port
ORTHANC_DICOM_PORT=$dicom_port
ORTHANC_URL=http://127.0.0.1:$http_port
ORTHANC_DICOMWEB=http://127.0.0.1:$http_port/dicom-web
ORTHANC_DICOM_URL=dicom://ORTHANC@127.0.0.1:$dicom_port
EOF
  if [ "$(id -u)" = 0 ]; then
    chown -R "$RUN_USER:$RUN_GROUP" "$DIR/data" "$DIR/orthanc.json"
    chmod 700 "$DIR/data"
    chmod o+x "$DIR"
    as_orthanc_user test -w "$DIR/data" \
      || die "user $RUN_USER cannot write $DIR/data: every parent folder of DIR must be traversable (o+x)"
  fi
  : > "$DIR/orthanc.log"
  local prefix=()  # setpriv execs Orthanc, so $! is Orthanc's own pid
  [ "$(id -u)" = 0 ] && prefix=(setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --clear-groups)
  "${prefix[@]}" "$ORTHANC_BIN" "$DIR/orthanc.json" >>"$DIR/orthanc.log" 2>&1 </dev/null &
  echo $! > "$DIR/orthanc.pid"
  for _ in $(seq 1 150); do
    if answers_http; then echo "orthanc.sh: running, pid $(cat "$DIR/orthanc.pid"), $(grep URL= "$DIR/orthanc.env" | head -1)"; return 0; fi
    is_running || { tail -n 20 "$DIR/orthanc.log" >&2; die "Orthanc exited at start (log: $DIR/orthanc.log)"; }
    sleep 0.2
  done
  stop
  die "Orthanc did not answer within 30 s (log: $DIR/orthanc.log)"
}

stop() {
  if ! is_running; then rm -f "$DIR/orthanc.pid"; echo "orthanc.sh: not running"; return 0; fi
  local pid; pid=$(cat "$DIR/orthanc.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; sleep 0.2; fi
  rm -f "$DIR/orthanc.pid"
  echo "orthanc.sh: stopped"
}

status() {
  if is_running && answers_http; then echo "orthanc.sh: running, pid $(cat "$DIR/orthanc.pid")"; return 0; fi
  echo "orthanc.sh: not running"; return 1
}

[ $# -ge 2 ] || die "usage: $0 start|stop|status DIR [HTTP_PORT DICOM_PORT]"
CMD=$1; DIR=$2; shift 2
case "$CMD" in
  start) start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status DIR [HTTP_PORT DICOM_PORT]" ;;
esac
