"""tests/multihost runs under tests/multihost/run, which builds the hosts
(network namespaces: a database host, two hosts each with lighttpd,
chat-fcgi and two push daemons) and sets, in the clients' namespace:
  CHAT_URL, CHAT_WS_URL  the first host's web server (REST, WebSocket)
  CHAT_MH_URLS           "http://ADDR:8000 ...": each host's web server
  CHAT_MH_SWITCH         the switch's namespace, where each host's port is
  CHAT_MH_PORTS          "p-h1 p-h2": the switch ports, in the same order
  CHAT_MH_NODE_TIMEOUT   presence.node_timeout_seconds of the hosts
  CHAT_MH_STATE          the hosts' state: DIR/h1/run holds host h1's
                         sockets (its PgBouncer's among them)
The end-to-end suite's helpers (tests/e2e) serve here too."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
