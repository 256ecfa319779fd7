# Shared settings for the ops scripts (sourced, not run). Every value can be set from the environment.
BULLPEN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BULLPEN_ROOT
: "${BULLPEN_DATA:=$BULLPEN_ROOT/.data}"
: "${BULLPEN_AMQP_PORT:=5672}"
: "${BULLPEN_AMQP_DIST_PORT:=$((BULLPEN_AMQP_PORT + 20000))}"
: "${BULLPEN_AMQPS_PORT:=$((BULLPEN_AMQP_PORT - 1))}"  # the broker's TLS listener
: "${BULLPEN_PG_PORT:=5432}"
: "${BULLPEN_HTTP_PORT:=8080}"
: "${BULLPEN_METRICS_PORT:=9090}"
export BULLPEN_DATA BULLPEN_AMQP_PORT BULLPEN_AMQP_DIST_PORT BULLPEN_AMQPS_PORT BULLPEN_PG_PORT BULLPEN_HTTP_PORT BULLPEN_METRICS_PORT
export BULLPEN_AMQP_URL=${BULLPEN_AMQP_URL:-amqp://bullpen:bullpen@127.0.0.1:$BULLPEN_AMQP_PORT/bullpen}
export BULLPEN_DATABASE_URL=${BULLPEN_DATABASE_URL:-postgresql://bullpen:bullpen@127.0.0.1:$BULLPEN_PG_PORT/bullpen}
export BULLPEN_QUEUES_DIR=${BULLPEN_QUEUES_DIR:-$BULLPEN_ROOT/Queues}
export BULLPEN_SCHEDULE=${BULLPEN_SCHEDULE:-$BULLPEN_ROOT/Config/schedule.json}

# The OpenClaw gateway: the sandbox's (`bullpen sandbox gateway`) unless set. The secrets that agent runs'
# callback tokens derive from, and that the gateway's lifecycle hook signs with, are made once per data folder.
: "${BULLPEN_GATEWAY_PORT:=18789}"
export BULLPEN_GATEWAY_PORT
export BULLPEN_GATEWAY_URL=${BULLPEN_GATEWAY_URL:-ws://127.0.0.1:$BULLPEN_GATEWAY_PORT}
export BULLPEN_GATEWAY_TOKEN=${BULLPEN_GATEWAY_TOKEN:-sandbox-gateway-token}
# The sandbox pairs silently; the device asks for operator.admin so that Scale configurations may name models.
export BULLPEN_GATEWAY_ADMIN=${BULLPEN_GATEWAY_ADMIN:-1}
export BULLPEN_DEVICE_KEY=${BULLPEN_DEVICE_KEY:-$BULLPEN_DATA/device.key}
# Email and chat: the sandbox's Resend, Slack and Discord stand-ins (`bullpen sandbox outbound`) unless set.
: "${BULLPEN_OUTBOUND_PORT:=18790}"
export BULLPEN_OUTBOUND_PORT
export BULLPEN_RESEND_URL=${BULLPEN_RESEND_URL:-http://127.0.0.1:$BULLPEN_OUTBOUND_PORT}
# The operators' own Slack and Discord, for the alerts Config/alerts.json routes there: the sandbox's.
export BULLPEN_OPERATOR_SLACK_WEBHOOK=${BULLPEN_OPERATOR_SLACK_WEBHOOK:-http://127.0.0.1:$BULLPEN_OUTBOUND_PORT/slack/operators}
export BULLPEN_OPERATOR_DISCORD_WEBHOOK=${BULLPEN_OPERATOR_DISCORD_WEBHOOK:-http://127.0.0.1:$BULLPEN_OUTBOUND_PORT/discord/1/operators}
# Discord inbound: a worker listens on the Discord Gateway stand-in of the outbound sandbox with this bot token.
export BULLPEN_DISCORD_BOT_TOKEN=${BULLPEN_DISCORD_BOT_TOKEN:-sandbox-discord-bot-token}
export BULLPEN_DISCORD_GATEWAY_URL=${BULLPEN_DISCORD_GATEWAY_URL:-ws://127.0.0.1:$BULLPEN_OUTBOUND_PORT/discord/gateway?v=10&encoding=json}
export BULLPEN_RESEND_API_KEY=${BULLPEN_RESEND_API_KEY:-re_sandbox_key}
export BULLPEN_OPERATOR_EMAIL=${BULLPEN_OPERATOR_EMAIL:-operators@bullpen.test}
export BULLPEN_TEMPLATES_DIR=${BULLPEN_TEMPLATES_DIR:-$BULLPEN_ROOT/Config/templates}
export BULLPEN_WEB_DIR=${BULLPEN_WEB_DIR:-$BULLPEN_ROOT/Web}
export BULLPEN_PLANS=${BULLPEN_PLANS:-$BULLPEN_ROOT/Config/plans.json}
# Links in clients' emails (an intake confirmation's page is ingest's own).
export BULLPEN_PORTAL_URL=${BULLPEN_PORTAL_URL:-http://127.0.0.1:$BULLPEN_HTTP_PORT}
# Clerk: the sandbox's stand-in on loopback, with the operator's Clerk user (a real deployment sets the
# instance's Frontend API URL and its operators' user ids).
: "${BULLPEN_CLERK_PORT:=18791}"
export BULLPEN_CLERK_PORT
export BULLPEN_CLERK_ISSUER=${BULLPEN_CLERK_ISSUER:-http://127.0.0.1:$BULLPEN_CLERK_PORT}
export BULLPEN_OPERATOR_CLERK_IDS=${BULLPEN_OPERATOR_CLERK_IDS:-user_sandboxoperator}
# Stripe: the sandbox's stand-in on loopback (a real deployment sets the URL and its own secret key).
: "${BULLPEN_STRIPE_PORT:=12111}"
export BULLPEN_STRIPE_PORT
export BULLPEN_STRIPE_URL=${BULLPEN_STRIPE_URL:-http://127.0.0.1:$BULLPEN_STRIPE_PORT}
export BULLPEN_STRIPE_SECRET_KEY=${BULLPEN_STRIPE_SECRET_KEY:-sk_test_sandbox}
data_secret() { # name: prints the secret kept in $BULLPEN_DATA/<name>, made on first use
    if [ ! -s "$BULLPEN_DATA/$1" ]; then
        mkdir -p "$BULLPEN_DATA"
        (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$BULLPEN_DATA/$1")
    fi
    cat "$BULLPEN_DATA/$1"
}
BULLPEN_CALLBACK_SECRET=${BULLPEN_CALLBACK_SECRET:-$(data_secret callback-secret)}
BULLPEN_HOOK_SECRET=${BULLPEN_HOOK_SECRET:-$(data_secret hook-secret)}
BULLPEN_LINK_SECRET=${BULLPEN_LINK_SECRET:-$(data_secret link-secret)}
BULLPEN_STRIPE_WEBHOOK_SECRET=${BULLPEN_STRIPE_WEBHOOK_SECRET:-whsec_$(data_secret stripe-webhook-secret)}
BULLPEN_SLACK_SIGNING_SECRET=${BULLPEN_SLACK_SIGNING_SECRET:-$(data_secret slack-signing-secret)}
export BULLPEN_FILES_DIR=${BULLPEN_FILES_DIR:-$BULLPEN_DATA/files}
export BULLPEN_CALLBACK_SECRET BULLPEN_HOOK_SECRET BULLPEN_LINK_SECRET BULLPEN_STRIPE_WEBHOOK_SECRET \
    BULLPEN_SLACK_SIGNING_SECRET

RABBIT_NODE="bullpen-$BULLPEN_AMQP_PORT@localhost"
RABBIT_DIR="$BULLPEN_DATA/rabbitmq-$BULLPEN_AMQP_PORT"
PG_DIR="$BULLPEN_DATA/postgres-$BULLPEN_PG_PORT"

log() { printf '[ops] %s\n' "$*" >&2; }
die() { printf '[ops] error: %s\n' "$*" >&2; exit 1; }

# The environment rabbitmq-server and rabbitmqctl need to find this node and nothing else.
rabbit_env() {
    export HOME="$RABBIT_DIR" RABBITMQ_NODENAME="$RABBIT_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$BULLPEN_AMQP_PORT"
    export RABBITMQ_DIST_PORT="$BULLPEN_AMQP_DIST_PORT" ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
    export RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
    export RABBITMQ_CONF_ENV_FILE="$RABBIT_DIR/none" RABBITMQ_PID_FILE="$RABBIT_DIR/node.pid"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
}

rabbitmqctl_() { ( rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@" ); }

as_postgres() { runuser -u postgres -- "$@"; }
PG_BIN=/usr/lib/postgresql/15/bin
