# shellcheck shell=bash
# Redis (Debian's redis-server) for BullMQ. A Redis already answering on 127.0.0.1:6379 is used as
# it is and never stopped; one started here runs without persistence and is stopped by `down`.

REDIS_PORT=$((6379 + PORT_OFFSET))
register_component redis "$REDIS_PORT" "Redis (BullMQ queues)"

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

install_redis() {
  command -v redis-server >/dev/null || apt_install redis-server || die "could not install redis-server"
  require_command redis-cli redis-tools
}

external_redis() { ! is_ours_running redis && redis_ping; }

start_redis() {
  mkdir -p "$RUN/redis"
  launch redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$RUN/redis" --daemonize no
}

check_redis() { redis_ping; }

env_redis() { printf 'export MWINGEST_REDIS_URL=redis://127.0.0.1:%s\n' "$REDIS_PORT"; }
