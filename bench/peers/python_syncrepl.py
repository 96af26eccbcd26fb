#!/usr/bin/python3
"""
Peer for bench/refresh.ts: a minimal python-ldap syncrepl consumer (ldap.syncrepl.SyncreplConsumer)
that runs one refreshOnly search and keeps the content in a dict keyed on entryUUID, the way
python-ldap's own syncrepl demo does.

    /usr/bin/python3 bench/peers/python_syncrepl.py URL BIND_DN PASSWORD_FILE BASE

Prints one JSON line on stdout: {"ms": ..., "entries": ..., "peakRssMB": ...}, the same report the
syncrepl() child prints, so the harness treats both alike. `ms` runs from before the connection is
opened to the end of the search (SearchResultDone + Sync Done). Needs Debian's python3-ldap,
python3-pyasn1 and python3-pyasn1-modules (ldap.syncrepl imports pyasn1).
"""

import json
import resource
import sys
import time

import ldap
from ldap.ldapobject import SimpleLDAPObject
from ldap.syncrepl import SyncreplConsumer


class DictConsumer(SimpleLDAPObject, SyncreplConsumer):
    """Mirrors the searched content in memory: entryUUID -> (dn, attrs)."""

    def __init__(self, uri):
        SimpleLDAPObject.__init__(self, uri)
        self.entries = {}
        self.present = set()
        self.cookie = None

    def syncrepl_get_cookie(self):
        return self.cookie

    def syncrepl_set_cookie(self, cookie):
        self.cookie = cookie

    def syncrepl_entry(self, dn, attrs, uuid):
        self.entries[uuid] = (dn, attrs)

    def syncrepl_delete(self, uuids):
        for uuid in uuids:
            self.entries.pop(uuid, None)

    def syncrepl_present(self, uuids, refreshDeletes=False):
        if uuids is not None:
            self.present.update(uuids)
            return
        # End of a present phase (RFC 4533 3.4.1): what was not presented is gone.
        if not refreshDeletes:
            for uuid in [u for u in self.entries if u not in self.present]:
                del self.entries[uuid]
        self.present = set()

    def syncrepl_refreshdone(self):
        pass


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    url, bind_dn, password_file, base = argv[1:]
    with open(password_file, encoding="utf-8") as f:
        password = f.read().rstrip("\n")

    started = time.perf_counter()
    consumer = DictConsumer(url)
    consumer.protocol_version = 3
    consumer.simple_bind_s(bind_dn, password)
    msgid = consumer.syncrepl_search(base, ldap.SCOPE_SUBTREE, mode="refreshOnly")
    while consumer.syncrepl_poll(msgid=msgid, all=1):
        pass
    ms = (time.perf_counter() - started) * 1000
    consumer.unbind_s()

    # ru_maxrss is in kilobytes on Linux
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms": round(ms, 1), "entries": len(consumer.entries), "peakRssMB": round(peak_kb / 1024, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
