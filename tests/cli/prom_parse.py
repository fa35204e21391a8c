# SPDX-License-Identifier: BSD-3-Clause
"""A strict reader of the Prometheus text exposition format (0.0.4), as
node-exporter's textfile collector reads it, for tests/cli/metrics.sh.

Not a test itself (ctest runs tests/cli/*.sh).  Usage:

    python3 prom_parse.py FILE

prints one JSON object, {"families": {NAME: {"type", "help", "samples":
[[LABELS, VALUE], ...]}}}, or "error: LINE: why" on standard error and exits
1.  Rules enforced (the format's, and the textfile collector's):

- UTF-8, lines end with LF, the file ends with one; no CR, no NUL;
- "# HELP NAME TEXT" (escapes \\\\ and \\n only) and "# TYPE NAME TYPE"
  at most once per name, before that name's samples; other "#" lines are
  comments; blank lines are allowed;
- a sample is NAME[{LABEL="VALUE",...}] VALUE with no timestamp (the
  textfile collector refuses timestamps), single spaces between;
- names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
  (not starting "__"), label values use the escapes \\\\ \\" \\n only;
- values are Go floats (ParseFloat syntax: decimal, exponent, NaN,
  +Inf/-Inf); no hex, no underscores;
- one family's lines are contiguous; no series appears twice; a label
  name appears once per sample.
"""

import json
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
FLOAT = re.compile(r'^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
                   r'(?:[eE][+-]?[0-9]+)?|Inf|NaN)$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


class Bad(Exception):
    pass


def unescape(s, allowed):
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == '\\':
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise Bad('bad escape in %r' % s)
            out.append('\n' if s[i + 1] == 'n' else s[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def parse_labels(s):
    """s is the text between { and } ; returns a dict."""
    labels = {}
    i = 0
    while i < len(s):
        m = re.match(LABEL, s[i:])
        if not m:
            raise Bad('bad label name at %r' % s[i:])
        name = m.group(0)
        if name.startswith('__'):
            raise Bad('reserved label name %r' % name)
        i += len(name)
        if s[i:i + 2] != '="':
            raise Bad('expected =" after label %r' % name)
        i += 2
        j = i
        while j < len(s) and s[j] != '"':
            j += 2 if s[j] == '\\' else 1
        if j >= len(s):
            raise Bad('unterminated label value')
        if name in labels:
            raise Bad('label %r twice' % name)
        labels[name] = unescape(s[i:j], '\\"n')
        i = j + 1
        if i < len(s):
            if s[i] != ',':
                raise Bad('expected , between labels')
            i += 1
    return labels


def family_of(name, types):
    """The family a sample name belongs to (histogram/summary suffixes)."""
    for suf in ('_bucket', '_sum', '_count'):
        base = name[:-len(suf)]
        if name.endswith(suf) and types.get(base) in ('histogram',
                                                      'summary'):
            return base
    return name


def parse(data):
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise Bad('0: not UTF-8')
    if '\r' in text or '\0' in text:
        raise Bad('0: CR or NUL in the file')
    if text and not text.endswith('\n'):
        raise Bad('0: no final newline')
    fams = {}
    types = {}
    order = []        # families in the order they were first seen
    series = set()
    current = None
    for no, line in enumerate(text.split('\n')[:-1], 1):
        try:
            if line.strip() == '':
                continue
            if line.startswith('#'):
                parts = line.split(' ', 3)
                if len(parts) >= 2 and parts[0] == '#' and \
                        parts[1] in ('HELP', 'TYPE'):
                    if len(parts) < 3 or not re.fullmatch(NAME, parts[2]):
                        raise Bad('%s without a valid name' % parts[1])
                    name = parts[2]
                    f = fams.setdefault(name, {'type': None, 'help': None,
                                               'samples': []})
                    if name not in order:
                        order.append(name)
                    elif current != name:
                        raise Bad('%s lines not contiguous' % name)
                    current = name
                    if parts[1] == 'HELP':
                        if f['help'] is not None:
                            raise Bad('second HELP for %s' % name)
                        f['help'] = unescape(parts[3] if len(parts) > 3
                                             else '', '\\n')
                    else:
                        if f['type'] is not None:
                            raise Bad('second TYPE for %s' % name)
                        if f['samples']:
                            raise Bad('TYPE after samples of %s' % name)
                        if len(parts) != 4 or parts[3] not in TYPES:
                            raise Bad('bad TYPE line')
                        f['type'] = parts[3]
                        types[name] = parts[3]
                continue
            m = re.match(r'(%s)(\{(.*)\})? (\S+)( (\S+))?$' % NAME, line)
            if not m:
                raise Bad('not a sample: %r' % line)
            name, labels_s, value, ts = m.group(1), m.group(3), \
                m.group(4), m.group(6)
            if ts is not None:
                raise Bad('timestamp on %s (the textfile collector '
                          'refuses them)' % name)
            if not FLOAT.match(value):
                raise Bad('bad value %r' % value)
            labels = parse_labels(labels_s) if labels_s else {}
            fam = family_of(name, types)
            f = fams.setdefault(fam, {'type': None, 'help': None,
                                      'samples': []})
            if fam not in order:
                order.append(fam)
            elif current != fam:
                raise Bad('%s lines not contiguous' % fam)
            current = fam
            key = (name, tuple(sorted(labels.items())))
            if key in series:
                raise Bad('series %s%s twice' % (name, labels))
            series.add(key)
            f['samples'].append([labels, float(value)])
        except Bad as e:
            raise Bad('%d: %s' % (no, e))
    return {'families': fams, 'order': order}


def main():
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
    try:
        out = parse(data)
    except Bad as e:
        print('error: %s' % e, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
