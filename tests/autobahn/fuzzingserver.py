# Python 2.7: Autobahn|Testsuite's fuzzing server, listening on 127.0.0.1 only (wstest
# itself listens on every interface). Usage: python2.7 fuzzingserver.py SPEC.json
import sys

import autobahn.twisted.websocket as websocket
import autobahntestsuite.fuzzing as fuzzing
from autobahntestsuite import wstest

_listen = websocket.listenWS


def _loopback(factory, contextFactory=None, backlog=50, interface="127.0.0.1"):
    return _listen(factory, contextFactory, backlog, "127.0.0.1")


fuzzing.listenWS = _loopback
sys.argv = ["wstest", "-m", "fuzzingserver", "-s", sys.argv[1], "--webport", "0"]  # no report web server
sys.exit(wstest.run())
