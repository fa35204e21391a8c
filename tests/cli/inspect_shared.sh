#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# exitstage inspect on the shared documents, through the command line:
# every invalid document, vote, certificate and diff is rejected with exit
# status 3 and an error naming FILE:LINE:COL; every small sample parses,
# with its relay count, flavour and method, and weights_match false exactly
# for the truncated and cropped ones (relays were cut out of them).  Every
# live document gives weights_match true.
set -u
. "$(dirname "$0")/common.bash"
need_exe EXITSTAGE
need_cmd jq
D=${EXST_SHARED:-}
if [ -z "$D" ] || [ ! -d "$D" ]; then
    echo "SKIP: ../shared/testdata is absent"
    exit 77
fi

# file  line:col of the error
while read -r f pos; do
    "$EXITSTAGE" inspect "$D/$f" >/dev/null 2>"${TMPDIR:-/tmp}/exst-insp.$$"
    st=$?
    first=$(head -1 "${TMPDIR:-/tmp}/exst-insp.$$")
    rm -f "${TMPDIR:-/tmp}/exst-insp.$$"
    want="exitstage: $D/$f:$pos: "
    if [ $st -ne 3 ]; then
        fail "$f: status $st, expected 3"
    elif [ "${first#"$want"}" = "$first" ]; then
        fail "$f: '$first' does not start with '$want'"
    else
        ok "$f rejected at $pos"
    fi
done <<'EOT'
invalid/arti-invalid-mdconsensus-bad-flags 27:18
invalid/arti-invalid-mdconsensus-bad-md-digest 40:3
invalid/arti-invalid-mdconsensus-bad-params 15:8
invalid/arti-invalid-mdconsensus-bad-weight 67:141
invalid/arti-invalid-mdconsensus-bad-weights 51:13
invalid/arti-invalid-mdconsensus-wrong-order 52:12
invalid/arti-invalid-mdconsensus-wrong-start 1:1
invalid/arti-invalid-mdconsensus-wrong-version 1:24
samples/metricslib-vote-2017-07-17-17-00-00-dannenberg-truncated 3:13
samples/stem-metrics_vote-2012-07-12-00-00-00-truncated 3:13
samples/stem-vote-2012-07-12-00-00-00-truncated 2:13
samples/vote-2016-09-20-13-00-00-maatuska-collector.zst 3:13
samples/arti-testnet-authcerts2-2020-08-07 1:1
samples/authority-certs-2022-11-safe_tor 1:30
samples/authority-certs-2024-05-Tor-VPN 1:30
samples/stem-testnet-cached-certs-2017-05-25 1:1
samples/arti-testnet-consdiff-diff1-consensus1-to-consensus2 1:1
samples/stem-cached-microdesc-consensus-2015-09-15-18-00-00-crlf-truncated 1:35
EOT

# file  relays weights_match flavor method
while read -r f want; do
    got=$("$EXITSTAGE" inspect "$D/$f" |
          jq -r '[.relays, .weights_match, .flavor, .consensus_method] | @tsv' |
          tr '\t' ' ')
    if [ "$got" = "$want" ]; then
        ok "$f: $got"
    else
        fail "$f: got '$got', expected '$want'"
    fi
done <<'EOT'
samples/arti-testnet-consdiff-consensus1-2020-12-14 8 true microdesc 30
samples/arti-testnet-consdiff-consensus2-2020-12-16 3 true microdesc 30
samples/arti-testnet-mdconsensus1-2020-08-07 6 true microdesc 28
samples/arti-testnet-nsconsensus1-2021-03-26 8 true ns 31
samples/metricslib-consensus-microdesc-2017-07-17-17-00-00-truncated 3 false microdesc 26
samples/metricslib-consensus-ns-2017-07-17-17-00-00-truncated 5 false ns 26
samples/sbws-testnet-cached-consensus-2019-03-25 15 true ns 28
samples/sbws-testnet-cached-consensus-2019-05-11 15 true ns 28
samples/stem-cached-consensus-2012-07-12-10-00-00-truncated 9 false ns 12
samples/stem-collector-consensus-ns-2018-06-01-00-00-00-cropped 208 false ns 28
samples/stem-collector-consensus-ns-2018-06-01-01-00-00-cropped 35 false ns 28
samples/stem-metrics_consensus-2012-07-12-10-00-00-truncated 7 false ns 12
samples/stem-testnet-cached-consensus-2017-05-25 3 true ns 26
samples/testnet-consensus-ns-2023-05-03-Tor_Circuit 6 true ns 26
EOT

n=0
for f in "$D"/live/*; do
    m=$("$EXITSTAGE" inspect "$f" | jq -r .weights_match)
    [ "$m" = true ] || fail "$(basename "$f"): weights_match $m"
    n=$((n + 1))
done
[ $n -ge 38 ] || fail "only $n live documents"
ok "weights_match true on all $n live documents"
finish
