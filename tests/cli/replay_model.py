#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""replay_model.py - an independent model of SPEC 3.2, 3.3 and 3.7.

Reads plain consensus files (a directory, searched recursively), parses only
what the rules need (valid-after, flavour, r identities, s flags) with its
own code, processes the documents in valid-after order, ns before microdesc,
and compares the result hour by hour with `exitstage replay --timeline`
output.  Standard library only; nothing is shared with libexitstage.

usage: replay_model.py DIR --run P W RETENTION CLOCK TIMELINE [--run ...]
       [--expect-restarts] [--expect-bridges] [--expect-prunes]
       [--summary FILE]

P, W and RETENTION are in seconds; CLOCK is exit or relay.  Each --run is
one replay of DIR into a fresh history with those values.  Exit status 0
when every run matches, 1 on a mismatch or a failed expectation, 2 on a
usage error.
"""

import base64
import calendar
import json
import os
import sys
import time


def parse_time(text):
    return calendar.timegm(time.strptime(text, '%Y-%m-%d %H:%M:%S'))


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


def parse_doc(path):
    """Return (valid_after, flavour, [(id_hex, is_exit)]) of one file."""
    with open(path, 'rb') as f:
        data = f.read()
    va = None
    flavor = None
    relays = []
    cur = None
    for line in data.split(b'\n'):
        if line.startswith(b'r '):
            parts = line.split(b' ')
            ident = parts[2]
            raw = base64.b64decode(ident + b'=' * (-len(ident) % 4))
            if len(raw) != 20:
                raise ValueError('%s: bad identity %r' % (path, ident))
            cur = [raw.hex().upper(), False]
            relays.append(cur)
        elif line.startswith(b's') and (line == b's' or
                                        line.startswith(b's ')):
            if cur is None:
                raise ValueError('%s: s line before any r line' % path)
            cur[1] = b'Exit' in line.split(b' ')[1:]
        elif flavor is None and line.startswith(b'network-status-version 3'):
            flavor = 'microdesc' if line.endswith(b' microdesc') else 'ns'
        elif va is None and line.startswith(b'valid-after '):
            va = parse_time(line[len(b'valid-after '):].decode())
        elif line.startswith(b'directory-footer'):
            break
    if va is None or flavor is None:
        raise ValueError('%s: no valid-after or version line' % path)
    return va, flavor, [(r[0], r[1]) for r in relays]


def load(directory):
    docs = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            docs.append(parse_doc(os.path.join(root, name)))
    docs.sort(key=lambda d: (d[0], 0 if d[1] == 'ns' else 1))
    return docs


class Model:
    def __init__(self, P, W, retention, clock):
        self.P, self.W, self.R, self.clock = P, W, retention, clock
        self.rec = {}          # id -> [run_start, absence_start, last_seen]
        self.since = None
        self.newest = None
        self.flavors = set()
        self.bridges = 0       # returns after an observed absence < W
        self.prunes = 0
        self.near_w_bridges = 0  # bridged with W - 3h <= t - a < W

    def process(self, t, flavor, relays):
        if self.newest is not None and t < self.newest:
            raise ValueError('model: documents out of order')
        if t == self.newest and flavor in self.flavors:
            return None          # a duplicate: no record
        if self.newest is None or t > self.newest:
            self.newest, self.flavors = t, set()
        self.flavors.add(flavor)
        if self.since is None:
            self.since = t
        if self.clock == 'exit':
            present = {i for i, ex in relays if ex}
        else:
            present = {i for i, _ex in relays}
        new = restarted = 0
        for i, r in self.rec.items():
            # Seen present at t by the other flavour: not absent (3.7).
            if i not in present and r[1] is None and r[2] != t:
                r[1] = t
        for i in present:
            r = self.rec.get(i)
            if r is None:
                self.rec[i] = [t, None, t]
                new += 1
                continue
            if r[2] == t:
                continue         # already seen present at t: keeps state
            a = r[1]
            # a == t: only the other flavour of this hour lacked it.
            if a is not None and a != t:
                if t - a >= self.W:
                    r[0] = t
                    restarted += 1
                else:
                    self.bridges += 1
                    if t - a >= self.W - 3 * 3600:
                        self.near_w_bridges += 1
            r[1] = None
            r[2] = t
        if self.R > 0:
            drop = [i for i, r in self.rec.items()
                    if r[1] is not None and t - r[1] > self.R]
            for i in drop:
                del self.rec[i]
            self.prunes += len(drop)
        staging = []
        cand = 0
        for i, ex in relays:
            if not ex:
                continue
            cand += 1
            s = self.rec[i][0]   # present, so it has a record
            if self.P > 0 and t - s < self.P:
                staging.append(i)
        staging.sort()
        return {
            'valid_after': iso(t),
            'flavor': flavor,
            'counts': {
                'exit_candidates': cand,
                'in_staging': len(staging),
                'stripped': len(staging),
                'graduated': cand - len(staging),
                'new_runs': new,
                'restarted_runs': restarted,
            },
            'stripped': staging,
            'warming_up': t - self.since < self.P,
        }


def compare(docs, P, W, R, clock, timeline_path, out):
    m = Model(P, W, R, clock)
    want = []
    for t, flavor, relays in docs:
        rec = m.process(t, flavor, relays)
        if rec is not None:
            want.append(rec)
    with open(timeline_path) as f:
        got = [json.loads(line) for line in f if line.strip()]
    bad = 0
    if len(got) != len(want):
        print('MISMATCH: timeline has %d records, model %d'
              % (len(got), len(want)))
        bad += 1
    tot = {'restarted_runs': 0, 'new_runs': 0, 'stripped': 0,
           'graduated': 0}
    for k, (g, w) in enumerate(zip(got, want)):
        problems = []
        for key in ('valid_after', 'flavor', 'warming_up'):
            if g.get(key) != w[key]:
                problems.append('%s %r != model %r' % (key, g.get(key),
                                                       w[key]))
        gc = g.get('counts', {})
        for key, val in w['counts'].items():
            if gc.get(key) != val:
                problems.append('counts.%s %r != model %r'
                                % (key, gc.get(key), val))
        gs = g.get('stripped')
        if not isinstance(gs, list) or sorted(gs) != w['stripped']:
            gs = gs if isinstance(gs, list) else []
            extra = sorted(set(gs) - set(w['stripped']))[:3]
            miss = sorted(set(w['stripped']) - set(gs))[:3]
            problems.append('stripped list differs (%d vs model %d; '
                            'extra %s, missing %s)'
                            % (len(gs), len(w['stripped']), extra, miss))
        elif gs != sorted(gs):
            problems.append('stripped list not sorted by fingerprint')
        if problems:
            bad += 1
            if bad <= 10:
                print('MISMATCH record %d (%s %s): %s'
                      % (k, w['valid_after'], w['flavor'],
                         '; '.join(problems)))
        for key in tot:
            tot[key] += w['counts'][key]
    stats = {
        'records': len(want),
        'restarted_runs': tot['restarted_runs'],
        'new_runs': tot['new_runs'],
        'stripped': tot['stripped'],
        'graduated': tot['graduated'],
        'bridges': m.bridges,
        'near_w_bridges': m.near_w_bridges,
        'prunes': m.prunes,
        'mismatches': bad,
    }
    out.append(stats)
    print('model P=%d W=%d R=%d clock=%s vs %s: %s'
          % (P, W, R, clock, os.path.basename(timeline_path),
             json.dumps(stats, sort_keys=True)))
    return bad == 0, stats


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    directory = argv[1]
    runs = []
    expect = set()
    summary = None
    k = 2
    while k < len(argv):
        a = argv[k]
        if a == '--run' and k + 5 < len(argv):
            P, W, R = (int(x) for x in argv[k + 1:k + 4])
            runs.append((P, W, R, argv[k + 4], argv[k + 5]))
            k += 6
        elif a in ('--expect-restarts', '--expect-bridges',
                   '--expect-prunes'):
            expect.add(a[len('--expect-'):])
            k += 1
        elif a == '--summary' and k + 1 < len(argv):
            summary = argv[k + 1]
            k += 2
        else:
            print('usage error at %r' % a)
            return 2
    docs = load(directory)
    print('model: %d documents parsed from %s' % (len(docs), directory))
    ok = True
    out = []
    for P, W, R, clock, tl in runs:
        good, st = compare(docs, P, W, R, clock, tl, out)
        ok = ok and good
        if 'restarts' in expect and st['restarted_runs'] == 0:
            print('EXPECTATION FAILED: no restarted run in the data')
            ok = False
        if 'bridges' in expect and st['bridges'] == 0:
            print('EXPECTATION FAILED: no bridged absence in the data')
            ok = False
        if 'prunes' in expect and st['prunes'] == 0:
            print('EXPECTATION FAILED: no pruned record in the data')
            ok = False
    if summary:
        with open(summary, 'w') as f:
            json.dump(out, f, sort_keys=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
