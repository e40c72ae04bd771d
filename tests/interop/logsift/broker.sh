# broker.sh: a private RabbitMQ node from Debian's rabbitmq-server for the
# amqp() tests and `make demo`; source it, then
#
#   broker_launch DIR   start a node in DIR (its mnesia, logs, cookie and
#                       plugin list there; no plugins, so no management
#                       listener), named opskit-RANDOM@localhost, AMQP on a
#                       free loopback port ($BROKER_PORT), Erlang
#                       distribution and its own epmd on free ports too, so
#                       nothing is shared with another node or test
#                       ($BROKER_CONF: rabbitmq.conf lines to add)
#   broker_wait         wait until its AMQP port accepts: 0, or 1 with the
#                       reason in $BROKER_WHY
#   broker_start DIR    both
#   broker_app stop|start   stop or start the RabbitMQ application inside the
#                       running VM (rabbitmqctl stop_app/start_app): a broker
#                       restart (listener closed, connections dropped, durable
#                       queues recovered from disk) without a new VM boot
#   broker_stop         stop the node and its epmd (by pid and process group)
#
# OPSKIT_BROKER_ENV=FILE (FILE holding BROKER_PORT=... BROKER_DIR=...
# BROKER_NODE=... BROKER_DIST=... BROKER_EPMD=... as broker_start sets
# them) reuses a node that is already running, for quick re-runs.
#
# The daemon runs from /usr/lib/rabbitmq/bin, not /usr/sbin's wrapper (that
# one switches to the rabbitmq user and the system's directories).
RMQ_BIN=/usr/lib/rabbitmq/bin
BROKER_PY="/usr/bin/python3 $OPSKIT_SOURCE/tests/interop/logsift/peer.py"

broker_env() {
	export HOME="$BROKER_DIR" RABBITMQ_NODENAME="$BROKER_NODE" \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$BROKER_PORT" \
		RABBITMQ_DIST_PORT="$BROKER_DIST" ERL_EPMD_PORT="$BROKER_EPMD" \
		ERL_EPMD_ADDRESS=127.0.0.1 \
		RABBITMQ_MNESIA_BASE="$BROKER_DIR/mnesia" RABBITMQ_LOG_BASE="$BROKER_DIR/log" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$BROKER_DIR/plugins" \
		RABBITMQ_CONFIG_FILE="$BROKER_DIR/rabbitmq" \
		RABBITMQ_ADVANCED_CONFIG_FILE="$BROKER_DIR/advanced.config" \
		RABBITMQ_CONF_ENV_FILE="$BROKER_DIR/rabbitmq-env.conf" \
		RABBITMQ_PID_FILE="$BROKER_DIR/pid"
}

broker_start() {
	broker_launch "$1" && broker_wait
}

broker_launch() {
	BROKER_DIR=$1
	BROKER_WHY=
	if [ -n "${OPSKIT_BROKER_ENV:-}" ]; then
		# a developer's running node (BROKER_* lines broker_start made):
		# reused, never stopped
		. "$OPSKIT_BROKER_ENV"
		BROKER_SID=
		return 0
	fi
	if [ ! -x "$RMQ_BIN/rabbitmq-server" ] || ! /usr/bin/python3 -c 'import pika' 2>/dev/null; then
		BROKER_WHY="rabbitmq-server or python3-pika is not installed"
		return 1
	fi
	mkdir -p "$BROKER_DIR"
	BROKER_NODE="opskit-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')@localhost"
	BROKER_PORT=$($BROKER_PY freeport)
	BROKER_DIST=$($BROKER_PY freeport)
	BROKER_EPMD=$($BROKER_PY freeport)
	echo '[].' >"$BROKER_DIR/plugins"
	: >"$BROKER_DIR/rabbitmq-env.conf"
	# extra rabbitmq.conf lines the caller set (a TLS listener)
	printf '%s\n' "${BROKER_CONF:-}" >"$BROKER_DIR/rabbitmq.conf"
	# our own epmd, in the foreground (epmd -daemon, which the VM would
	# start, leaves the process group): the node registers with it
	EPMD=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n 1)
	[ -n "$EPMD" ] || EPMD=epmd
	(
		broker_env
		exec "$EPMD" -port "$BROKER_EPMD" -address 127.0.0.1
	) >"$BROKER_DIR/epmd.out" 2>&1 &
	BROKER_EPMD_PID=$!
	(
		broker_env
		# its own process group: broker_stop ends beam, epmd and the shells
		exec setsid "$RMQ_BIN/rabbitmq-server" >"$BROKER_DIR/out" 2>&1
	) &
	BROKER_SID=$!
}

broker_wait() {
	[ -z "$BROKER_WHY" ] || return 1
	[ -n "$BROKER_SID" ] || return 0 # a reused node
	# the first boot of an Erlang VM takes 10 s on a quiet machine, over a
	# minute under load: wait for the port (or the node's death)
	i=0
	while [ $i -lt 600 ]; do
		if ! kill -0 "$BROKER_SID" 2>/dev/null; then
			BROKER_WHY="rabbitmq-server exited: $(tail -n 3 "$BROKER_DIR/out" | tr '\n' ' ')"
			return 1
		fi
		/usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $BROKER_PORT), 1)" \
			2>/dev/null && return 0
		sleep 0.5
		i=$((i + 1))
	done
	BROKER_WHY="rabbitmq-server did not listen within 300 s"
	return 1
}

broker_ctl() {
	(
		broker_env
		"$RMQ_BIN/rabbitmqctl" -n "$BROKER_NODE" "$@"
	)
}

broker_app() {
	broker_ctl "$1_app" >>"$BROKER_DIR/ctl.log" 2>&1
}

broker_stop() {
	[ -n "${BROKER_SID:-}" ] || return 0
	# the session setsid made: rabbitmq-server's shell, beam, epmd
	# (dash's kill takes no "--": a negative pid right after the signal)
	kill -TERM "-$BROKER_SID" 2>/dev/null
	i=0
	while kill -0 "-$BROKER_SID" 2>/dev/null && [ $i -lt 40 ]; do
		sleep 0.25
		i=$((i + 1))
	done
	kill -KILL "-$BROKER_SID" 2>/dev/null
	kill "$BROKER_EPMD_PID" 2>/dev/null
	wait "$BROKER_EPMD_PID" 2>/dev/null
	BROKER_SID=
}
