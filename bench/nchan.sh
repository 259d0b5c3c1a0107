# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# bench/nchan.sh - nginx + nchan, the pub/sub server rtkd's poll fan-out is measured against.
# Sourced (not run) by bench/run.sh and by bench/test_loadgen_nchan.sh, so the benchmark and
# the load generator's nchan test use the same server, configured in one place.
#
#   nchan_module               prints the path of Debian's ngx_nchan_module.so (package
#                              libnginx-mod-nchan), or nothing when it is not installed
#   nchan_start DIR PORT PEERS starts nginx (one worker) with nchan on 127.0.0.1:PORT, its
#                              files in DIR; sets NCHAN_PID (master) and NCHAN_WORKER (the
#                              one worker, which does all the work); returns non-zero (with
#                              DIR/logs/error.log) when it did not come up
#   nchan_stop                 stops it (waits for the master)
#
# The server: one worker, like rtkd's one loop thread. `location = /sub` is a WebSocket
# subscriber and `location = /pub` an HTTP publisher, both on the one channel "bench"
# (nchan 1.3.6: a publish answers 201 when the channel has subscribers, 202 when it has none).
# worker_connections and worker_rlimit_nofile come from the process's open-file limit, so
# 15,000 subscribers plus the publisher and margin fit when the limit is 20,000.

nchan_module() {
  local m
  for m in /usr/lib/nginx/modules/ngx_nchan_module.so \
           /usr/share/nginx/modules/ngx_nchan_module.so; do
    if [ -f "$m" ]; then
      echo "$m"
      return 0
    fi
  done
  return 0
}

nchan_conf() { # DIR PORT PEERS: writes DIR/nginx.conf
  local dir=$1 port=$2 peers=$3 fds conns
  fds=$(ulimit -n)
  [ "$fds" = unlimited ] && fds=1048576
  # One descriptor per subscriber, one for the publisher, a few for logs and the listener;
  # ask for what the process may have, and at least PEERS + 1,000.
  conns=$((fds - 64))
  if [ "$conns" -lt $((peers + 1000)) ]; then
    conns=$((peers + 1000))
  fi
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
load_module $(nchan_module);
worker_processes 1;
worker_rlimit_nofile $fds;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections $conns; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    # Keep one message, for 60 s (rtkd keeps none in memory).
    nchan_message_buffer_length 1;
    nchan_message_timeout 60s;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /sub {
            nchan_subscriber websocket;
            # Only what is published after the subscriber came: nchan's default first message
            # is the *oldest* one kept, which would hand a later run's subscribers the earlier
            # runs' messages (timed as if they arrived before they were sent).
            nchan_subscriber_first_message newest;
            nchan_channel_id bench;
        }
        location = /pub {
            nchan_publisher http;
            nchan_channel_id bench;
        }
    }
}
EOF
}

nchan_start() { # DIR PORT PEERS
  local dir=$1 port=$2 peers=$3 nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  NCHAN_PID='' NCHAN_WORKER=''
  [ -n "$(nchan_module)" ] || { echo "nchan: libnginx-mod-nchan is not installed" >&2; return 1; }
  nchan_conf "$dir" "$port" "$peers"
  "$nginx" -p "$dir" -c "$dir/nginx.conf" 2>"$dir/logs/stderr" &
  NCHAN_PID=$!
  local _i code
  for _i in $(seq 100); do
    # An empty publish to a channel nobody listens on: 202 once nchan answers.
    code=$(curl -s -o /dev/null -w '%{http_code}' -X GET "http://127.0.0.1:$port/pub" || true)
    if [ "$code" = 200 ] || [ "$code" = 404 ]; then
      break
    fi
    kill -0 "$NCHAN_PID" 2>/dev/null || break
    sleep 0.1
  done
  NCHAN_WORKER=$(pgrep -P "$NCHAN_PID" | head -n 1 || true)
  if [ -z "$NCHAN_WORKER" ] || { [ "$code" != 200 ] && [ "$code" != 404 ]; }; then
    echo "nchan: nginx did not start: $(cat "$dir/logs/stderr" "$dir/logs/error.log" 2>/dev/null)" >&2
    nchan_stop
    return 1
  fi
  return 0
}

nchan_stop() {
  if [ -n "${NCHAN_PID:-}" ]; then
    kill -QUIT "$NCHAN_PID" 2>/dev/null || true
    wait "$NCHAN_PID" 2>/dev/null || true
  fi
  NCHAN_PID='' NCHAN_WORKER=''
}
