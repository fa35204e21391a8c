#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""replay_model.py - an independent model of SPEC 3.2, 3.3, 3.7 and 9.

Reads plain consensus files (a directory, searched recursively), parses only
what the rules need (valid-after, flavour, r identities and nicknames, s
flags, w bandwidths) with its own code, processes the documents in
valid-after order, ns before microdesc, in every lane (each staging period
with each reset window), and compares with what `exitstage replay` wrote:
the timeline record of every document and lane, the --summary figures of
every lane and of the watched relays, and the --trace-out events.
Standard library only; nothing is shared with libexitstage.

usage: replay_model.py DIR --periods P,... --resets W,... [--retention R]
       [--clock exit|relay] [--bootstrap grandfather|none]
       --timeline FILE [--summary FILE] [--watchlist FILE] [--watch-badexit]
       [--trace SEL --trace-out FILE] [--expect-restarts] [--expect-bridges]
       [--expect-grandfathered] [--expect-watched] [--stats FILE]

Durations are seconds.  Exit status 0 when everything matches, 1 on a
mismatch or a failed expectation, 2 on a usage error.
"""

import base64
import calendar
import json
import os
import sys
import time

HOUR = 3600
UNKNOWN = 'grandfathered'


def parse_time(text):
    return calendar.timegm(time.strptime(text, '%Y-%m-%d %H:%M:%S'))


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


def parse_iso(text):
    return calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ'))


def parse_doc(path):
    """(valid_after, flavour, [relay]) with relay = dict(id, nick, exit,
    bad, bw)."""
    with open(path, 'rb') as f:
        data = f.read()
    va = flavor = None
    relays = []
    cur = None
    for line in data.split(b'\n'):
        if line.startswith(b'r '):
            parts = line.split(b' ')
            ident = parts[2]
            raw = base64.b64decode(ident + b'=' * (-len(ident) % 4))
            if len(raw) != 20:
                raise ValueError('%s: bad identity %r' % (path, ident))
            cur = {'id': raw.hex().upper(), 'nick': parts[1].decode(),
                   'exit': False, 'bad': False, 'bw': 0}
            relays.append(cur)
        elif line == b's' or line.startswith(b's '):
            flags = line.split(b' ')[1:]
            cur['exit'] = b'Exit' in flags
            cur['bad'] = b'BadExit' in flags
        elif line.startswith(b'w ') and cur is not None:
            for kv in line.split(b' ')[1:]:
                if kv.startswith(b'Bandwidth='):
                    cur['bw'] = int(kv[len(b'Bandwidth='):])
        elif flavor is None and line.startswith(b'network-status-version 3'):
            flavor = 'microdesc' if line.endswith(b' microdesc') else 'ns'
        elif va is None and line.startswith(b'valid-after '):
            va = parse_time(line[len(b'valid-after '):].decode())
        elif line.startswith(b'directory-footer'):
            break
    if va is None or flavor is None:
        raise ValueError('%s: no valid-after or version line' % path)
    return va, flavor, relays


def load(directory):
    docs = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            docs.append(parse_doc(os.path.join(root, name)))
    docs.sort(key=lambda d: (d[0], 0 if d[1] == 'ns' else 1))
    return docs


class History:
    """SPEC 3.2 and 3.7 for one reset window."""

    def __init__(self, W, R, clock, bootstrap):
        self.W, self.R, self.clock, self.bootstrap = W, R, clock, bootstrap
        self.rec = {}            # id -> [run_start, absence_start, last_seen]
        self.since = self.newest = None
        self.flavors = set()
        self.bridges = self.prunes = self.near_w_bridges = 0

    def phase(self, t, P):
        o = self.since if self.since is not None else t
        if self.bootstrap == 'none':
            return 'ramp' if t - o < P else 'steady'
        if t - o < self.W:
            return 'bootstrap'
        return 'ramp' if t - o < self.W + P else 'steady'

    def update(self, t, relays):
        """Returns {id: event} for present relays (new, restarted,
        grandfathered, continued)."""
        if self.newest is None or t > self.newest:
            self.newest, self.flavors = t, set()
        if self.since is None:
            self.since = t
        if self.clock == 'exit':
            present = {r['id'] for r in relays if r['exit']}
        else:
            present = {r['id'] for r in relays}
        for i, r in self.rec.items():
            if i not in present and r[1] is None and r[2] != t:
                r[1] = t
        window = self.bootstrap == 'grandfather' and t - self.since < self.W
        events = {}
        for i in present:
            r = self.rec.get(i)
            if r is None:
                if window:
                    self.rec[i] = [UNKNOWN, None, t]
                    events[i] = 'grandfathered'
                else:
                    self.rec[i] = [t, None, t]
                    events[i] = 'new'
                continue
            events[i] = 'continued'
            if r[2] == t:
                continue
            a = r[1]
            if a is not None and a != t:
                if t - a >= self.W:
                    r[0] = t
                    events[i] = 'restarted'
                else:
                    self.bridges += 1
                    if t - a >= self.W - 3 * HOUR:
                        self.near_w_bridges += 1
            r[1] = None
            r[2] = t
        if self.R > 0:
            drop = [i for i, r in self.rec.items()
                    if r[1] is not None and t - r[1] > self.R]
            for i in drop:
                del self.rec[i]
            self.prunes += len(drop)
        return events


class Lane:
    def __init__(self, P, W, primary):
        self.P, self.W, self.primary = P, W, primary
        self.consensuses = 0
        self.frac_sum = 0.0
        self.peak = None
        self.peak_at = None
        self.stripped_sum = 0
        self.staged = set()
        self.denied = self.exit_good = 0
        self.spans = {}
        self.gaps = []
        self.last_t = None


def r6(x):
    return round(x * 1e6) / 1e6


class Model:
    def __init__(self, periods, resets, R, clock, bootstrap):
        self.groups = {W: History(W, max(R, W), clock, bootstrap)
                       for W in resets}
        self.lanes = [Lane(P, W, k == 0) for k, (P, W) in
                      enumerate((P, W) for P in periods for W in resets)]
        self.last_counted = None
        self.hours = 0
        self.watch = {}          # id -> [caught, source, nick, {lane: [x, d]}]
        self.watch_badexit = False
        self.tracing = set()     # ids
        self.trace_nicks = set()
        self.tr = {}             # id -> state
        self.events = []
        self.records = []

    def watch_listed(self, fp, caught):
        w = self.watch.setdefault(fp, [None, None, None, {}, set()])
        w[4].add('watchlist')
        if caught is not None and (w[0] is None or caught < w[0]):
            w[0], w[1] = caught, 'watchlist'

    def process(self, t, flavor, relays):
        g0 = self.groups[self.lanes[0].W]
        if g0.newest is not None and t == g0.newest and flavor in g0.flavors:
            return                      # a duplicate: no record
        pre = {}
        if self.tracing or self.trace_nicks:
            for r in relays:
                if r['nick'] in self.trace_nicks:
                    self.tracing.add(r['id'])
            pre = {i: list(g0.rec[i]) if i in g0.rec else None
                   for i in self.tracing}
        ev = {W: h.update(t, relays) for W, h in self.groups.items()}
        for h in self.groups.values():
            h.flavors.add(flavor)
        counted = self.last_counted is None or t > self.last_counted
        if counted:
            self.last_counted = t
            self.hours += 1
        results = []
        for lane in self.lanes:
            h = self.groups[lane.W]
            phase = h.phase(t, lane.P)
            counts = dict.fromkeys(
                ('exit_candidates', 'in_staging', 'stripped', 'graduated',
                 'new_runs', 'restarted_runs', 'grandfathered',
                 'badexit_candidates', 'stripped_badexit'), 0)
            for e in ev[lane.W].values():
                key = {'new': 'new_runs', 'restarted': 'restarted_runs',
                       'grandfathered': 'grandfathered'}.get(e)
                if key:
                    counts[key] += 1
            staging = []
            exit_bw = strip_bw = 0
            for r in relays:
                if not r['exit']:
                    continue
                counts['exit_candidates'] += 1
                if r['bad']:
                    counts['badexit_candidates'] += 1
                else:
                    exit_bw += r['bw']
                s = h.rec[r['id']][0]
                if s != UNKNOWN and lane.P > 0 and t - s < lane.P:
                    staging.append(r)
                    if r['bad']:
                        counts['stripped_badexit'] += 1
                    else:
                        strip_bw += r['bw']
            counts['in_staging'] = counts['stripped'] = len(staging)
            counts['graduated'] = counts['exit_candidates'] - len(staging)
            frac = strip_bw / exit_bw if exit_bw else 0.0
            ids = sorted(r['id'] for r in staging)
            self.records.append({
                'valid_after': iso(t), 'flavor': flavor, 'phase': phase,
                'warming_up': phase != 'steady',
                'staging_period_s': lane.P, 'reset_after_s': lane.W,
                'counts': counts, 'stripped': ids,
                'stripped_fraction': r6(frac),
            })
            results.append((phase, set(ids)))
            if counted:
                self.analyse(lane, t, phase, frac, counts, ids)
        if self.watch_badexit or self.watch:
            self.watched(t, counted, relays, results)
        if self.tracing:
            self.trace(t, relays, pre, ev[self.lanes[0].W], results[0][1])

    def analyse(self, lane, t, phase, frac, counts, ids):
        if lane.last_t is not None and t - lane.last_t > HOUR and \
                t - lane.last_t - HOUR >= lane.W:
            lane.gaps.append({'from': iso(lane.last_t + HOUR),
                              'to': iso(t - HOUR),
                              'missing_hours': (t - lane.last_t) // HOUR - 1})
        lane.last_t = t
        sp = lane.spans.setdefault(phase, [t, t, 0])
        sp[1] = t
        sp[2] += 1
        if phase != 'steady':
            return
        lane.consensuses += 1
        lane.frac_sum += frac
        if lane.peak is None or frac > lane.peak:
            lane.peak, lane.peak_at = frac, t
        lane.stripped_sum += counts['stripped']
        lane.staged.update(ids)
        lane.denied += counts['stripped'] - counts['stripped_badexit']
        lane.exit_good += counts['exit_candidates'] - \
            counts['badexit_candidates']

    def watched(self, t, counted, relays, results):
        for r in relays:
            if not (r['exit'] or r['bad']):
                continue
            w = self.watch.get(r['id'])
            if w is None and self.watch_badexit:
                w = self.watch[r['id']] = [None, None, None, {}, set()]
            if w is None:
                continue
            w[2] = r['nick']
            if r['bad'] and self.watch_badexit:
                w[4].add('badexit')
                if w[0] is None or t < w[0]:
                    w[0], w[1] = t, 'badexit'
            if not counted or r['bad'] or not r['exit'] or \
                    (w[0] is not None and t >= w[0]):
                continue
            for k, (phase, ids) in enumerate(results):
                if phase != 'steady':
                    continue
                c = w[3].setdefault(k, [0, 0])
                c[0] += 1
                if r['id'] in ids:
                    c[1] += 1

    def trace(self, t, relays, pre, events, staged_ids):
        g0 = self.groups[self.lanes[0].W]
        byid = {r['id']: r for r in relays}
        P = self.lanes[0].P
        for i in sorted(self.tracing):
            st = self.tr.setdefault(i, {'seen': False, 'bad': False,
                                        'staged_run': None, 'grad_run': None})
            r = byid.get(i)
            nick = r['nick'] if r else None

            def emit(event, **extra):
                e = {'valid_after': iso(t), 'fingerprint': i,
                     'nickname': nick, 'event': event}
                e.update(extra)
                self.events.append(e)
            post = g0.rec.get(i)
            p = pre.get(i)
            if r is not None and not st['seen']:
                st['seen'] = True
                emit('first_seen')
            e = events.get(i)
            if e == 'grandfathered':
                emit('grandfathered')
            if p is not None and post is not None and p[1] is None and \
                    post[1] is not None:
                emit('absent')
            if p is not None and post is not None and p[1] is not None and \
                    post[1] is None and post[2] == t:
                emit('returned', absent_s=t - p[1])
            if e == 'restarted':
                emit('restart')
            if e in ('new', 'restarted'):
                emit('run_start', run_start=iso(t))
            if r is None:
                continue
            if r['bad'] and not st['bad']:
                st['bad'] = True
                emit('badexit')
            rs = g0.rec[i][0] if (r['exit'] or g0.clock == 'relay') and \
                i in g0.rec else None
            if i in staged_ids and st['staged_run'] != rs:
                st['staged_run'] = rs
                emit('staged', eligible_at=iso(rs + P))
            elif r['exit'] and i not in staged_ids and rs not in (None,
                                                                  UNKNOWN) \
                    and st['staged_run'] == rs and st['grad_run'] != rs:
                st['grad_run'] = rs
                emit('graduated')

    def summary(self):
        lanes = []
        for k, lane in enumerate(self.lanes):
            watched = fully = sx = sd = 0
            for w in self.watch.values():
                if not ('watchlist' in w[4] or w[1] == 'badexit'):
                    continue
                x, d = w[3].get(k, [0, 0])
                if x > 0:
                    watched += 1
                    fully += d == x
                    sx += x
                    sd += d
            n = lane.consensuses

            def span(ph):
                s = lane.spans.get(ph)
                return None if s is None else {
                    'from': iso(s[0]), 'to': iso(s[1]), 'consensuses': s[2]}
            lanes.append({
                'staging_period_s': lane.P, 'reset_after_s': lane.W,
                'primary': lane.primary, 'consensuses': n,
                'mean_stripped_fraction': r6(lane.frac_sum / n) if n else None,
                'peak_stripped_fraction': r6(lane.peak) if n else None,
                'peak_at': iso(lane.peak_at) if n else None,
                'mean_stripped': r6(lane.stripped_sum / n) if n else None,
                'relays_staged': len(lane.staged),
                'denied_share': r6(lane.denied / lane.exit_good)
                if lane.exit_good else None,
                'watched': watched, 'fully_denied': fully,
                'watched_denied_share': r6(sd / sx) if sx else None,
                'spans': {ph: span(ph) for ph in ('bootstrap', 'ramp',
                                                  'steady')},
                'gaps': lane.gaps,
            })
        watched = []
        for i in sorted(self.watch):
            w = self.watch[i]
            if not ('watchlist' in w[4] or w[1] == 'badexit'):
                continue
            watched.append({
                'fingerprint': i, 'nickname': w[2],
                'caught_at': iso(w[0]) if w[0] is not None else None,
                'source': w[1] or 'watchlist',
                'lanes': [{'exit_consensuses': w[3].get(k, [0, 0])[0],
                           'denied': w[3].get(k, [0, 0])[1]}
                          for k in range(len(self.lanes))]})
        return lanes, watched


def compare_timeline(m, path, problems):
    with open(path) as f:
        got = [json.loads(line) for line in f if line.strip()]
    want = m.records
    if len(got) != len(want):
        problems.append('timeline has %d records, model %d'
                        % (len(got), len(want)))
    for k, (g, w) in enumerate(zip(got, want)):
        diffs = []
        for key in ('valid_after', 'flavor', 'phase', 'warming_up',
                    'staging_period_s', 'reset_after_s', 'stripped_fraction'):
            if g.get(key) != w[key]:
                diffs.append('%s %r != model %r' % (key, g.get(key), w[key]))
        for key, val in w['counts'].items():
            if g.get('counts', {}).get(key) != val:
                diffs.append('counts.%s %r != model %r'
                             % (key, g.get('counts', {}).get(key), val))
        if g.get('stripped') != w['stripped']:
            diffs.append('stripped list differs (%d vs model %d)'
                         % (len(g.get('stripped') or []), len(w['stripped'])))
        if diffs and len(problems) < 12:
            problems.append('record %d (%s %s P=%d W=%d): %s'
                            % (k, w['valid_after'], w['flavor'],
                               w['staging_period_s'], w['reset_after_s'],
                               '; '.join(diffs)))


def compare_summary(m, path, problems):
    with open(path) as f:
        s = json.load(f)
    lanes, watched = m.summary()
    if len(s['lanes']) != len(lanes):
        problems.append('summary has %d lanes, model %d'
                        % (len(s['lanes']), len(lanes)))
    for g, w in zip(s['lanes'], lanes):
        for key, val in w.items():
            if g.get(key) != val:
                problems.append('lane P=%d W=%d: %s %r != model %r'
                                % (w['staging_period_s'], w['reset_after_s'],
                                   key, g.get(key), val))
    if s['archive']['hours'] != m.hours:
        problems.append('archive.hours %r != model %r'
                        % (s['archive']['hours'], m.hours))
    if watched or 'watched' in s:
        if s.get('watched') != watched:
            gw = s.get('watched') or []
            problems.append('watched relays differ: %d vs model %d; first '
                            'difference: %r vs %r'
                            % (len(gw), len(watched),
                               next((a for a, b in zip(gw, watched)
                                     if a != b), None),
                               next((b for a, b in zip(gw, watched)
                                     if a != b), None)))
    return watched


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    opts = {'--periods': None, '--resets': None, '--retention': '2592000',
            '--clock': 'exit', '--bootstrap': 'grandfather',
            '--timeline': None, '--summary': None, '--watchlist': None,
            '--trace-out': None, '--stats': None}
    flags = set()
    traces = []
    k = 2
    while k < len(argv):
        a = argv[k]
        if a in opts and k + 1 < len(argv):
            opts[a] = argv[k + 1]
            k += 2
        elif a == '--trace' and k + 1 < len(argv):
            traces.append(argv[k + 1])
            k += 2
        elif a in ('--watch-badexit', '--expect-restarts',
                   '--expect-bridges', '--expect-grandfathered',
                   '--expect-watched'):
            flags.add(a)
            k += 1
        else:
            print('usage error at %r' % a)
            return 2
    if not opts['--periods'] or not opts['--resets'] or \
            not opts['--timeline']:
        print('usage error: --periods, --resets and --timeline are needed')
        return 2
    periods = list(dict.fromkeys(int(x) for x in opts['--periods'].split(',')))
    resets = list(dict.fromkeys(int(x) for x in opts['--resets'].split(',')))
    m = Model(periods, resets, int(opts['--retention']), opts['--clock'],
              opts['--bootstrap'])
    m.watch_badexit = '--watch-badexit' in flags
    if opts['--watchlist']:
        with open(opts['--watchlist']) as f:
            for line in f:
                line = line.split('#')[0].split()
                if line:
                    m.watch_listed(line[0].upper().lstrip('$'),
                                   parse_iso(line[1]) if len(line) > 1
                                   else None)
    for sel in traces:
        if len(sel) == 40 and all(c in '0123456789abcdefABCDEF' for c in sel):
            m.tracing.add(sel.upper())
        else:
            m.trace_nicks.add(sel)
    docs = load(argv[1])
    for t, flavor, relays in docs:
        m.process(t, flavor, relays)
    problems = []
    compare_timeline(m, opts['--timeline'], problems)
    watched = []
    if opts['--summary']:
        watched = compare_summary(m, opts['--summary'], problems)
    if opts['--trace-out']:
        with open(opts['--trace-out']) as f:
            got = [json.loads(line) for line in f if line.strip()]
        if got != m.events:
            problems.append('trace events differ: %d vs model %d; first: %r '
                            'vs %r' % (len(got), len(m.events),
                                       next((a for a, b in zip(got, m.events)
                                             if a != b), None),
                                       next((b for a, b in zip(got, m.events)
                                             if a != b), None)))
    g0 = m.groups[resets[0]]
    stats = {
        'records': len(m.records), 'hours': m.hours,
        'restarted_runs': sum(r['counts']['restarted_runs']
                              for r in m.records),
        'grandfathered': sum(r['counts']['grandfathered'] for r in m.records),
        'stripped': sum(r['counts']['stripped'] for r in m.records),
        'bridges': g0.bridges, 'near_w_bridges': g0.near_w_bridges,
        'prunes': g0.prunes, 'watched': len(watched),
        'trace_events': len(m.events), 'mismatches': len(problems),
    }
    print('model P=%s W=%s clock=%s bootstrap=%s vs %s: %s'
          % (opts['--periods'], opts['--resets'], opts['--clock'],
             opts['--bootstrap'], os.path.basename(opts['--timeline']),
             json.dumps(stats, sort_keys=True)))
    for p in problems:
        print('MISMATCH: ' + p)
    ok = not problems
    expect = {'--expect-restarts': stats['restarted_runs'],
              '--expect-bridges': stats['bridges'],
              '--expect-grandfathered': stats['grandfathered'],
              '--expect-watched': stats['watched']}
    for flag, val in expect.items():
        if flag in flags and val == 0:
            print('EXPECTATION FAILED: %s' % flag)
            ok = False
    if opts['--stats']:
        with open(opts['--stats'], 'w') as f:
            json.dump(stats, f, sort_keys=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
