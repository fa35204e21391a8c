#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# apply_live.sh - `exitstage apply` on every live-network consensus in
# $EXST_SHARED/live, each against a fresh history made with --bootstrap
# none (every exit candidate is new, so every one is stripped), in three
# modes: default, --no-annotate and --enforce badexit; and once against a
# fresh history with the default bootstrap rule (SPEC 3.7: every relay of
# the first consensus is grandfathered, nothing is stripped, the phase is
# "bootstrap").  For each output it checks (SPEC 4.1, 3.4, 3.5):
#   - the output differs from the decompressed input only in
#       (a) s lines of stripped relays: exactly the " Exit" token removed
#           (badexit: and " BadExit" added when missing),
#       (b) the bandwidth-weights line,
#       (c) one `exitstage` item right before the first dir-source and one
#           `exitstage-staged` item ending each stripped entry
#           (--no-annotate: none),
#       (d) with --enforce badexit, known-flags (BadExit added, sorted);
#   - the report's counts.stripped equals the number of changed s lines and
#     counts.exit_candidates (fresh history), and its consensus.sha256 is
#     that of the decompressed input;
#   - an independent re-implementation of tor's bandwidth-weights algorithm
#     (research-dirspec.md §3, here in Python) tallying the OUTPUT's s/w
#     lines reproduces the output's bandwidth-weights line; where it does
#     not reproduce the INPUT's own line, the tool must have kept the
#     original line (weights_recomputed false);
#   - stem parses the output with validate=True and keeps the annotations
#     as unrecognized lines of the document and of the stripped routers.
#     stem takes ~2 s per document, so to keep the test under two minutes
#     it runs on a subset of 10 documents (both flavours, methods 14-35)
#     for the default mode and on 2 documents for the other two modes.
#
# Exit status: 0 pass, 1 fail, 77 skip (no shared test data).
set -u

: "${EXITSTAGE:?EXITSTAGE must name the exitstage binary}"
LIVE="${EXST_SHARED:-}/live"
PY=/usr/bin/python3

if [ ! -d "$LIVE" ]; then
    echo "SKIP: $LIVE is absent"
    exit 77
fi
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY is absent"
    exit 77
fi
if ! command -v zstd >/dev/null; then
    echo "SKIP: zstd (command) is absent"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Documents checked with stem (default mode), and the two checked in every
# mode.
STEM_SUBSET="consensus-ns-2012-10-20-16-00-00
consensus-ns-2013-08-19-03-00-00-collector
consensus-ns-2016-09-20-13-00-00-collector
consensus-ns-2017-03-22-21-00-00-collector
consensus-ns-2020-02-29-10-00-00-collector
consensus-ns-2022-11-19-10-00-00
consensus-microdesc-2013-08-14-10-00-00
consensus-microdesc-2016-10-02-17-00-00-collector
consensus-microdesc-2021-07-20-19-00-00-unverified
consensus-microdesc-2026-06-27-04-00-00"
STEM_ALL_MODES="consensus-ns-2020-02-29-10-00-00-collector
consensus-microdesc-2026-06-27-04-00-00"

n=0
for f in "$LIVE"/*; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .zst)
    d="$tmp/$b"
    mkdir -p "$d"
    if ! zstd -dcq "$f" >"$d/in"; then
        echo "FAIL: cannot decompress $f"
        fail=1
        continue
    fi
    for mode in flag noann badexit boot; do
        boot=(--bootstrap none)
        case $mode in
        flag) args=() ;;
        noann) args=(--no-annotate) ;;
        badexit) args=(--enforce badexit) ;;
        boot) args=() boot=() ;;
        esac
        if ! "$EXITSTAGE" db init --db "$d/$mode.db" "${boot[@]}" \
            2>"$d/err.$mode"; then
            echo "FAIL: db init for $b: $(cat "$d/err.$mode")"
            fail=1
            continue
        fi
        if ! "$EXITSTAGE" apply --db "$d/$mode.db" "${args[@]}" \
            -o "$d/out.$mode" --report "$d/rep.$mode.json" "$f" \
            2>"$d/err.$mode"; then
            echo "FAIL: apply ${args[*]} $b: $(cat "$d/err.$mode")"
            fail=1
        fi
    done
    n=$((n + 1))
done
echo "applied $n documents in 4 modes"

have_stem=1
if ! "$PY" -c 'import stem' 2>/dev/null; then
    echo "SKIP (part): python3 module stem is not installed; the stem" \
         "checks are left out"
    have_stem=0
fi

cat >"$tmp/check.py" <<'EOF'
import hashlib, json, math, os, sys

tmp, have_stem = sys.argv[1], sys.argv[2] == "1"
stem_subset = set(sys.argv[3].split())
stem_all = set(sys.argv[4].split())
failures = 0

def fail(doc, mode, msg):
    global failures
    failures += 1
    print("FAIL: %s [%s]: %s" % (doc, mode, msg))

KEYS = ["Wbd", "Wbe", "Wbg", "Wbm", "Wdb", "Web", "Wed", "Wee", "Weg", "Wem",
        "Wgb", "Wgd", "Wgg", "Wgm", "Wmb", "Wmd", "Wme", "Wmg", "Wmm"]

def cdiv(a, b):
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q

def check(w, G, M, E, D, T, S):
    Wgg, Wgd, Wmg, Wme, Wmd, Wed, Wee = (w[k] for k in
        ("Wgg", "Wgd", "Wmg", "Wme", "Wmd", "Wed", "Wee"))
    if abs(Wed + Wmd + Wgd - S) > 10: return 4
    if abs(Wmg + Wgg - S) > 10: return 2
    if abs(Wme + Wee - S) > 10: return 3
    if any(v < 0 or v > S for v in (Wgg, Wgd, Wmg, Wme, Wmd, Wed, Wee)):
        return 1
    m = cdiv(10 * T, 3)
    if abs((Wgg * G + Wgd * D) - (Wee * E + Wed * D)) > m: return 6
    if abs((Wgg * G + Wgd * D) - (M * S + Wmd * D + Wme * E + Wmg * G)) > m:
        return 5
    return 0

def compute(G, M, E, D, T, S):
    """research-dirspec.md 3.2: dict of the 7 computed weights, or None."""
    if min(G, M, E, D) <= 0:
        return None
    w = {}
    if 3 * E >= T and 3 * G >= T:                       # case 1
        w["Wgd"] = w["Wed"] = w["Wmd"] = cdiv(S, 3)
        w["Wee"] = cdiv(S * (E + G + M), 3 * E); w["Wme"] = S - w["Wee"]
        w["Wmg"] = cdiv(S * (2 * G - E - M), 3 * G); w["Wgg"] = S - w["Wmg"]
        return w if check(w, G, M, E, D, T, S) == 0 else None
    if 3 * E < T and 3 * G < T:                         # case 2
        R, Sc = min(E, G), max(E, G)
        if R + D < Sc:                                  # 2a
            w.update(Wgg=S, Wee=S, Wmg=0, Wme=0, Wmd=0)
            if E < G: w.update(Wed=S, Wgd=0)
            else: w.update(Wed=0, Wgd=S)
            return w
        w["Wee"] = cdiv(S * (E - G + M), E)             # 2b1
        w["Wed"] = cdiv(S * (D - 2 * E + 4 * G - 2 * M), 3 * D)
        w["Wme"] = cdiv(S * (G - M), E); w["Wmg"] = 0; w["Wgg"] = S
        w["Wmd"] = w["Wgd"] = cdiv(S - w["Wed"], 2)
        if check(w, G, M, E, D, T, S) == 0:
            return w
        w = dict(Wgg=S, Wee=S)                          # 2b2
        w["Wed"] = cdiv(S * (D - 2 * E + G + M), 3 * D)
        w["Wmd"] = cdiv(S * (D - 2 * M + G + E), 3 * D)
        w["Wme"] = w["Wmg"] = 0
        if w["Wmd"] < 0: w["Wmd"] = 0                    # 2b3
        w["Wgd"] = S - w["Wed"] - w["Wmd"]
        return w if check(w, G, M, E, D, T, S) in (0, 5) else None
    Sm = min(E, G)                                      # case 3
    if 3 * (Sm + D) < T:                                # 3a
        if G < E:
            w.update(Wgg=S, Wgd=S, Wmd=0, Wed=0, Wmg=0)
            w["Wme"] = 0 if E < M else cdiv(S * (E - M), 2 * E)
            w["Wee"] = S - w["Wme"]
        else:
            w.update(Wee=S, Wed=S, Wmd=0, Wgd=0, Wme=0)
            w["Wmg"] = 0 if G < M else cdiv(S * (G - M), 2 * G)
            w["Wgg"] = S - w["Wmg"]
        return w
    if G < E:                                           # 3b
        w["Wgg"] = S; w["Wgd"] = cdiv(S * (D - 2 * G + E + M), 3 * D)
        w["Wmg"] = 0; w["Wee"] = cdiv(S * (E + M), 2 * E)
        w["Wme"] = S - w["Wee"]; w["Wmd"] = w["Wed"] = cdiv(S - w["Wgd"], 2)
    else:
        w["Wee"] = S; w["Wed"] = cdiv(S * (D - 2 * E + G + M), 3 * D)
        w["Wme"] = 0; w["Wgg"] = cdiv(S * (G + M), 2 * G)
        w["Wmg"] = S - w["Wgg"]; w["Wmd"] = w["Wgd"] = cdiv(S - w["Wed"], 2)
    return w if check(w, G, M, E, D, T, S) == 0 else None

def weights_line(lines):
    """The bandwidth-weights line tor would write for these lines."""
    method, S, params = 0, 10000, []
    for ln in lines:
        if ln.startswith(b"consensus-method "):
            method = int(ln.split()[1])
        elif ln.startswith(b"params"):
            params = ln.split()[1:]
        elif ln.startswith(b"dir-source "):
            break
    toks = params if method >= 31 else params[-1:]
    for t in toks:
        k, _, v = t.partition(b"=")
        if k == b"bwweightscale":
            S = int(v)
    if S < 1 and method >= 31:
        S = 1
    if method >= 26:
        G = M = E = D = 1; T = 4
    else:
        G = M = E = D = T = 0
    flags = None
    def tally(flags, w):
        nonlocal G, M, E, D, T
        if flags is None or w is None or "Bandwidth" not in w:
            return
        bw = int(w["Bandwidth"])
        ex = b"Exit" in flags and b"BadExit" not in flags
        gd = b"Guard" in flags
        if "GuardFraction" in w:
            g = int(math.floor(bw * int(w["GuardFraction"]) / 100.0 + 0.5))
            n = bw - g
            T += g
            if ex: D += g; E += n
            else: G += g; M += n
        else:
            T += bw
            if ex and gd: D += bw
            elif ex: E += bw
            elif gd: G += bw
            else: M += bw
    w = None
    for ln in lines:
        if ln.startswith(b"r ") or ln == b"directory-footer":
            tally(flags, w)
            flags, w = None, None
            if ln == b"directory-footer":
                break
        elif ln.startswith(b"s ") or ln == b"s":
            flags = set(ln.split()[1:])
        elif ln.startswith(b"w "):
            w = {}
            for t in ln.split()[1:]:
                k, _, v = t.partition(b"=")
                w[k.decode()] = v.decode()
    r = compute(G, M, E, D, T, S)
    if r is None:
        return None
    full = dict(Wbd=r["Wmd"], Wbe=r["Wme"], Wbg=r["Wmg"], Wbm=S, Wdb=S,
                Web=S, Wed=r["Wed"], Wee=r["Wee"], Weg=r["Wed"], Wem=r["Wee"],
                Wgb=S, Wgd=r["Wgd"], Wgg=r["Wgg"], Wgm=r["Wgg"], Wmb=S,
                Wmd=r["Wmd"], Wme=r["Wme"], Wmg=r["Wmg"], Wmm=S)
    return ("bandwidth-weights " +
            " ".join("%s=%d" % (k, full[k]) for k in KEYS)).encode()

def own_line(lines):
    for ln in lines:
        if ln.startswith(b"bandwidth-weights"):
            return ln
    return None

def compare(doc, mode, inp, out, rep):
    """Walk input and output lines; return the fingerprint-less list of
    changed s line count, staged item count, exitstage item count."""
    ii = oi = 0
    changed = staged = ann = 0
    pending = False
    nin, nout = len(inp), len(out)
    while ii < nin or oi < nout:
        i = inp[ii] if ii < nin else None
        o = out[oi] if oi < nout else None
        if o is not None and o.startswith(b"exitstage "):
            if mode == "noann":
                fail(doc, mode, "exitstage item with --no-annotate")
            if not (i is not None and i.startswith(b"dir-source ") and
                    oi + 1 < nout and out[oi + 1].startswith(b"dir-source ")):
                fail(doc, mode, "exitstage item not right before the first "
                     "dir-source (output line %d)" % (oi + 1))
            want = b" stripped=%d " % rep["counts"]["stripped"]
            if want not in o:
                fail(doc, mode, "exitstage item lacks%r" % want)
            ann += 1; oi += 1
            continue
        if o is not None and o.startswith(b"exitstage-staged "):
            if mode == "noann":
                fail(doc, mode, "exitstage-staged item with --no-annotate")
            if not pending:
                fail(doc, mode, "exitstage-staged item outside a stripped "
                     "entry (output line %d)" % (oi + 1))
            if not (oi + 1 < nout and (out[oi + 1].startswith(b"r ") or
                                       out[oi + 1] == b"directory-footer")):
                fail(doc, mode, "exitstage-staged item does not end its "
                     "entry (output line %d)" % (oi + 1))
            staged += 1; pending = False; oi += 1
            continue
        ibw = i is not None and i.startswith(b"bandwidth-weights")
        obw = o is not None and o.startswith(b"bandwidth-weights")
        if obw and not ibw:
            oi += 1; continue
        if ibw and not obw:
            ii += 1; continue
        if i is None or o is None:
            fail(doc, mode, "output and input lengths differ at input line "
                 "%d / output line %d" % (ii + 1, oi + 1))
            return changed, staged, ann
        if i.startswith(b"r ") or i == b"directory-footer":
            if pending:
                fail(doc, mode, "stripped entry before input line %d has no "
                     "exitstage-staged item" % (ii + 1))
                pending = False
        if i == o:
            pass
        elif i.startswith(b"s ") and o.startswith(b"s "):
            it, ot = i.split(b" ")[1:], o.split(b" ")[1:]
            exp = [t for t in it if t != b"Exit"]
            if b"Exit" not in it or b"Exit" in ot:
                fail(doc, mode, "s line change is not an Exit removal at "
                     "input line %d" % (ii + 1))
            elif mode == "badexit":
                if b"BadExit" not in ot or \
                        [t for t in ot if t != b"BadExit"] != \
                        [t for t in exp if t != b"BadExit"]:
                    fail(doc, mode, "badexit s line wrong at input line %d: "
                         "%r -> %r" % (ii + 1, i, o))
            elif ot != exp:
                fail(doc, mode, "s line changed beyond ' Exit' at input line "
                     "%d: %r -> %r" % (ii + 1, i, o))
            changed += 1
            pending = mode != "noann"
        elif ibw and obw:
            pass
        elif mode == "badexit" and i.startswith(b"known-flags ") and \
                o.startswith(b"known-flags "):
            kin, kout = i.split()[1:], o.split()[1:]
            if kout != sorted(set(kin) | {b"BadExit"}):
                fail(doc, mode, "known-flags wrong: %r -> %r" % (i, o))
        else:
            fail(doc, mode, "unexpected change at input line %d: %r -> %r" %
                 (ii + 1, i[:80], o[:80]))
        ii += 1; oi += 1
    if pending:
        fail(doc, mode, "last stripped entry has no exitstage-staged item")
    return changed, staged, ann

def stem_check(doc, mode, path, flavor, rep):
    import stem.descriptor as sd
    kind = ("network-status-consensus-3 1.0" if flavor == "ns" else
            "network-status-microdesc-consensus-3 1.0")
    try:
        d = next(sd.parse_file(path, kind, validate=True,
                               document_handler=sd.DocumentHandler.DOCUMENT))
    except Exception as e:
        fail(doc, mode, "stem rejects the output: %s" % e)
        return
    unrec = [l for l in d.get_unrecognized_lines() if l.startswith("exitstage")]
    if mode == "noann":
        if unrec:
            fail(doc, mode, "stem sees annotations with --no-annotate")
    elif len(unrec) != 1 or not unrec[0].startswith("exitstage version="):
        fail(doc, mode, "stem: document unrecognized lines %r" % unrec)
    stripped = {s["fingerprint"]: s for s in rep["stripped"]}
    seen = 0
    for fp, r in d.routers.items():
        lines = [l for l in r.get_unrecognized_lines()
                 if l.startswith("exitstage")]
        if fp in stripped:
            seen += 1
            if "Exit" in r.flags:
                fail(doc, mode, "stem: stripped %s still has Exit" % fp)
            if mode == "badexit" and "BadExit" not in r.flags:
                fail(doc, mode, "stem: stripped %s lacks BadExit" % fp)
            s = stripped[fp]
            want = [] if mode == "noann" else [
                "exitstage-staged run-start=%s eligible-at=%s" %
                (s["run_start"], s["eligible_at"])]
            if lines != want:
                fail(doc, mode, "stem: %s unrecognized lines %r, want %r" %
                     (fp, lines, want))
        elif lines:
            fail(doc, mode, "stem: unstripped %s has %r" % (fp, lines))
    if seen != len(stripped):
        fail(doc, mode, "stem: %d of %d stripped relays found" %
             (seen, len(stripped)))

n_stem = 0
for doc in sorted(os.listdir(tmp)):
    dd = os.path.join(tmp, doc)
    if not os.path.isdir(dd):
        continue
    with open(os.path.join(dd, "in"), "rb") as f:
        raw_in = f.read()
    inp = raw_in.split(b"\n")[:-1]
    sha_in = hashlib.sha256(raw_in).hexdigest()
    py_in = weights_line(inp)
    in_matches = py_in == own_line(inp)
    for mode in ("flag", "noann", "badexit", "boot"):
        try:
            with open(os.path.join(dd, "out." + mode), "rb") as f:
                raw_out = f.read()
            with open(os.path.join(dd, "rep.%s.json" % mode)) as f:
                rep = json.load(f)
        except OSError as e:
            fail(doc, mode, "missing output: %s" % e)
            continue
        out = raw_out.split(b"\n")[:-1]
        if not raw_out.endswith(b"\n"):
            fail(doc, mode, "output does not end with a newline")
        changed, staged, ann = compare(doc, mode, inp, out, rep)
        c = rep["counts"]
        if changed != c["stripped"]:
            fail(doc, mode, "%d s lines changed, report says %d stripped" %
                 (changed, c["stripped"]))
        if mode == "boot":
            # SPEC 3.7: a fresh history never strips every exit at once.
            if c["stripped"] != 0 or \
                    c["grandfathered"] != c["exit_candidates"] or \
                    rep["history"]["phase"] != "bootstrap" or \
                    rep["history"]["bootstrap"] != "grandfather":
                fail(doc, mode, "fresh history, default bootstrap: "
                     "stripped %d, grandfathered %d of %d candidates, "
                     "phase %s" % (c["stripped"], c["grandfathered"],
                                   c["exit_candidates"],
                                   rep["history"]["phase"]))
        elif c["stripped"] != c["exit_candidates"] or c["stripped"] == 0:
            fail(doc, mode, "fresh history: stripped %d of %d candidates" %
                 (c["stripped"], c["exit_candidates"]))
        if len(rep["stripped"]) != c["stripped"]:
            fail(doc, mode, "stripped list length")
        if not rep["history"]["warming_up"]:
            fail(doc, mode, "fresh history not warming up")
        if rep["consensus"]["sha256"] != sha_in:
            fail(doc, mode, "consensus.sha256 is not the input's")
        if rep["output"]["sha256"] != hashlib.sha256(raw_out).hexdigest():
            fail(doc, mode, "output.sha256 is not the output's")
        want_ann = 0 if mode == "noann" else 1
        if ann != want_ann or staged != (changed if want_ann else 0):
            fail(doc, mode, "annotations: %d exitstage, %d staged for %d "
                 "stripped" % (ann, staged, changed))
        # Weights: the independent computation.
        out_line = own_line(out)
        recomputed = rep["bandwidth"]["weights_recomputed"]
        if in_matches:
            if not recomputed:
                fail(doc, mode, "input self-check passes here, but the tool "
                     "did not recompute")
            py_out = weights_line(out)
            if py_out != out_line:
                fail(doc, mode, "weights: output has %r, independent "
                     "computation from the output gives %r" %
                     (out_line, py_out))
        else:
            print("note: %s: the input's weights do not self-check (kept)" %
                  doc)
            if recomputed or out_line != own_line(inp):
                fail(doc, mode, "input self-check fails, but the line was "
                     "not kept as it was")
        wo = rep["bandwidth"]["weights_out"]
        if (wo is None) != (out_line is None) or (wo is not None and
                "bandwidth-weights " + " ".join(
                    "%s=%d" % (k, wo[k]) for k in KEYS) !=
                out_line.decode()):
            fail(doc, mode, "report weights_out differs from the line")
        if have_stem and ((mode == "flag" and doc in stem_subset) or
                          doc in stem_all):
            stem_check(doc, mode, os.path.join(dd, "out." + mode),
                       rep["consensus"]["flavor"], rep)
            n_stem += 1
print("checked %d outputs with stem" % n_stem)
sys.exit(1 if failures else 0)
EOF

if ! "$PY" "$tmp/check.py" "$tmp" "$have_stem" "$STEM_SUBSET" \
    "$STEM_ALL_MODES"; then
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "apply_live: FAILED"
    exit 1
fi
echo "apply_live: ok"
exit 0
