#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""analysis_gen.py - write a synthetic analysis document (exitstage(1)
"ANALYSIS DOCUMENT", schema_version 1) for the HTML report tests: hourly
consensuses from 2026-01-01, lanes P x W (P outer, W inner, the first lane
primary), a bootstrap day, a ramp of P, archive gaps, and watched relays
that are exits for a short while before they are caught.  Deterministic
for a given seed.  The figures are made to look like a replay's, not
computed by the rules of SPEC 9.

usage: analysis_gen.py [--lanes N] [--hours H] [--watched K] [--seed S]
                       [--gaps] [--compact] > analysis.json
"""
import argparse
import datetime
import json
import random
import sys

PERIODS = [4, 1, 2, 7]        # days
RESETS = [24, 12, 48]         # hours
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def iso(hour):
    t = START + datetime.timedelta(hours=hour)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lanes", type=int, default=1)
    ap.add_argument("--hours", type=int, default=14 * 24)
    ap.add_argument("--watched", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gaps", action="store_true",
                    help="leave out a 29-hour and a 3-hour stretch")
    ap.add_argument("--compact", action="store_true")
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    missing = set()
    gaps = []
    if a.gaps and a.hours > 200:
        for start, n in ((a.hours * 3 // 10, 29), (a.hours * 7 // 10, 3)):
            missing.update(range(start, start + n))
            gaps.append((start - 1, start + n, n))
    hours = [h for h in range(a.hours) if h not in missing]

    # New exits arrive at random hours; each stays a random number of
    # hours.  A relay is in staging for P hours after it arrives.
    arrivals = []
    for h in range(a.hours):
        for _ in range(sum(1 for _ in range(4) if rnd.random() < 0.16)):
            arrivals.append((h, rnd.randint(6, 24 * 40),
                             rnd.uniform(0.00015, 0.0009)))
    lanes = []
    for i in range(a.lanes):
        p = PERIODS[i // len(RESETS) % len(PERIODS)] * 24
        if i >= len(PERIODS) * len(RESETS):
            p += 24 * (i // (len(PERIODS) * len(RESETS)))
        w = RESETS[i % len(RESETS)]
        boot_end = min(24, a.hours)
        ramp_end = min(boot_end + p, a.hours)
        # Relays in staging and their bandwidth, as difference arrays.
        dn = [0] * (a.hours + 1)
        dbw = [0.0] * (a.hours + 1)
        for h0, life, bw in arrivals:
            if h0 >= 24:
                h1 = min(a.hours, h0 + min(p, life))
                dn[h0] += 1
                dn[h1] -= 1
                dbw[h0] += bw
                dbw[h1] -= bw
        cn, cbw = [], []
        n = bw = 0
        for h in range(a.hours):
            n += dn[h]
            bw += dbw[h]
            cn.append(n)
            cbw.append(max(0.0, bw))
        va, phase, frac, staging, stripped = [], [], [], [], []
        for h in hours:
            n = cn[h]
            f = min(1.0, cbw[h] * (1 + rnd.uniform(-.1, .1)))
            va.append(iso(h))
            phase.append("bootstrap" if h < boot_end else
                         "ramp" if h < ramp_end else "steady")
            frac.append(round(f, 6))
            staging.append(n)
            stripped.append(max(0, n - (1 if n and rnd.random() < .3 else 0)))
        steady = [k for k, ph in enumerate(phase) if ph == "steady"]

        def span(lo, hi):
            hs = [x for x in hours if lo <= x < hi]
            if not hs:
                return None
            return {"from": iso(hs[0]), "to": iso(hs[-1]),
                    "consensuses": len(hs)}
        lane = {
            "staging_period_s": p * 3600, "reset_after_s": w * 3600,
            "primary": i == 0,
            "spans": {"bootstrap": span(0, boot_end),
                      "ramp": span(boot_end, ramp_end),
                      "steady": span(ramp_end, a.hours)},
            "gaps": [{"from": iso(f), "to": iso(t), "missing_hours": n}
                     for f, t, n in gaps if n >= w],
            "consensuses": len(steady),
        }
        if steady:
            sf = [frac[k] for k in steady]
            peak = max(sf)
            lane.update({
                "mean_stripped_fraction": round(sum(sf) / len(sf), 6),
                "peak_stripped_fraction": peak,
                "peak_at": va[steady[sf.index(peak)]],
                "mean_stripped": round(sum(stripped[k] for k in steady) /
                                       len(steady), 4),
                "relays_staged": len([x for x in arrivals
                                      if x[0] + p > hours[steady[0]]
                                      and x[0] >= 24]),
                "denied_share": round(sum(sf) / len(sf) * 0.93, 6),
            })
        else:
            lane.update({"mean_stripped_fraction": None,
                         "peak_stripped_fraction": None, "peak_at": None,
                         "mean_stripped": None, "relays_staged": 0,
                         "denied_share": None})
        lane["series"] = {"valid_after": va, "phase": phase,
                          "stripped_fraction": frac, "in_staging": staging,
                          "stripped": stripped}
        lanes.append(lane)

    watched = []
    for k in range(a.watched):
        first = rnd.randint(30, max(31, a.hours - 40))
        life = rnd.randint(8, 24 * 5)
        per_lane = []
        for lane in lanes:
            p = lane["staging_period_s"] // 3600
            exits = max(0, min(life, a.hours - first))
            per_lane.append({"exit_consensuses": exits,
                             "denied": min(exits, p)})
        watched.append({
            "fingerprint": "%040X" % rnd.getrandbits(160),
            "nickname": "throwaway%d" % k,
            "caught_at": iso(first + life) if k % 4 != 3 else None,
            "source": "badexit" if k % 2 else "watchlist",
            "lanes": per_lane,
        })
    for i, lane in enumerate(lanes):
        ex = sum(w["lanes"][i]["exit_consensuses"] for w in watched)
        de = sum(w["lanes"][i]["denied"] for w in watched)
        lane["watched"] = sum(1 for w in watched
                              if w["lanes"][i]["exit_consensuses"] > 0)
        lane["fully_denied"] = sum(
            1 for w in watched if w["lanes"][i]["exit_consensuses"] > 0 and
            w["lanes"][i]["denied"] == w["lanes"][i]["exit_consensuses"])
        lane["watched_denied_share"] = round(de / ex, 6) if ex else None

    doc = {
        "schema_version": 1,
        "tool": {"name": "exitstage", "version": "0.2.0"},
        "policy": {"clock": "exit", "enforce": "flag",
                   "bootstrap": "grandfather", "max_strip_fraction": None},
        "archive": {
            "first": iso(hours[0]) if hours else None,
            "last": iso(hours[-1]) if hours else None,
            "documents": 2 * len(hours), "hours": len(hours),
            "by_flavor": {"microdesc": len(hours), "ns": len(hours)},
            "skipped": {"bad": 0, "duplicates": 0, "not_consensus": 0,
                        "resumed": 0},
        },
        "lanes": lanes,
        "watched": watched,
    }
    if a.compact:
        json.dump(doc, sys.stdout, sort_keys=True, separators=(",", ":"))
    else:
        json.dump(doc, sys.stdout, sort_keys=True, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
