#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""html_check.py - checks of an HTML report for tests/cli/html_*.sh.

  html_check.py page PAGE          a strict XML parser accepts PAGE, and it
                                   refers to nothing outside itself
  html_check.py svgs PAGE DIR      write each <svg> of PAGE to DIR/N.svg and
                                   print "DIR/N.svg WIDTH HEIGHT" per line
  html_check.py png PNG W H        PNG is W x H pixels and not blank: at
                                   least 12 colours, and at least 0.5% of
                                   its pixels differ from the commonest

Exit status 0 when the check holds, 1 (with the reason) when not.  PNGs
are decoded here with zlib (8-bit grey, RGB, grey+alpha or RGBA, not
interlaced: what rsvg-convert and Chromium write), as PIL is not
installed.
"""
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("html_check: " + msg)
    sys.exit(1)


def check_page(path):
    text = open(path, encoding="utf-8").read()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        fail("%s: not well-formed XML: %s" % (path, e))
    if root.tag != XHTML + "html":
        fail("%s: root element is %s, not XHTML html" % (path, root.tag))
    if not text.startswith("<!DOCTYPE html>\n"):
        fail("%s: does not start with <!DOCTYPE html>" % path)
    # Nothing from elsewhere: no script, no src, links only to #fragments,
    # url() only to #ids, no @import.
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("script", "iframe", "object", "embed", "link", "img",
                   "image", "use", "audio", "video", "source", "base"):
            fail("%s: has a <%s> element" % (path, tag))
        for name, value in el.attrib.items():
            local = name.split("}")[-1]
            if local == "src":
                fail("%s: src=%r" % (path, value))
            if local == "href" and not value.startswith("#"):
                fail("%s: href=%r" % (path, value))
            if local.startswith("on"):
                fail("%s: event handler %s" % (path, local))
    for m in re.finditer(r"url\(\s*([^)]*)\)", text):
        if not m.group(1).strip("'\"").startswith("#"):
            fail("%s: url(%s)" % (path, m.group(1)))
    for bad in ("<script", "@import", "javascript:", "http://", "https://"):
        # The two namespaces are names, not links.
        rest = text.replace('xmlns="http://www.w3.org/1999/xhtml"', "")
        rest = rest.replace('xmlns="http://www.w3.org/2000/svg"', "")
        if bad in rest:
            fail("%s: contains %r" % (path, bad))
    svgs = list(root.iter(SVG + "svg"))
    print("%s: well-formed, self-contained, %d svg, %d tables, %d bytes"
          % (path, len(svgs), len(list(root.iter(XHTML + "table"))),
             len(text.encode("utf-8"))))


def extract_svgs(path, outdir):
    text = open(path, encoding="utf-8").read()
    found = re.findall(r"<svg [^>]*>.*?</svg>", text, flags=re.S)
    if not found:
        fail("%s: no <svg>" % path)
    for i, svg in enumerate(found):
        head = svg[:svg.index(">")]
        w = re.search(r' width="(\d+)"', head)
        h = re.search(r' height="(\d+)"', head)
        if not w or not h:
            fail("%s: svg %d has no integral width and height" % (path, i))
        out = "%s/%d.svg" % (outdir, i)
        with open(out, "w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n")
        print(out, w.group(1), h.group(1))


def decode_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG" % path)
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    if ihdr is None:
        fail("%s: no IHDR" % path)
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
        fail("%s: unsupported PNG (depth %d, colour type %d, interlace %d)"
             % (path, depth, ctype, interlace))
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        fail("%s: image data is %d bytes, expected %d"
             % (path, len(raw), h * (stride + 1)))
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        base = y * (stride + 1)
        f = raw[base]
        line = bytearray(raw[base + 1:base + 1 + stride])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        elif f != 0:
            fail("%s: bad filter type %d in row %d" % (path, f, y))
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_png(path, want_w, want_h):
    w, h, bpp, rows = decode_png(path)
    if (w, h) != (want_w, want_h):
        fail("%s: %dx%d pixels, expected %dx%d" % (path, w, h, want_w, want_h))
    counts = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            px = row[x:x + bpp]
            counts[px] = counts.get(px, 0) + 1
    total = w * h
    common = max(counts.values())
    others = total - common
    if len(counts) < 12 or others < total * 0.005:
        fail("%s: looks blank: %d colours, %d of %d pixels differ from the "
             "commonest" % (path, len(counts), others, total))
    print("%s: %dx%d, %d colours, %.1f%% of pixels not the background"
          % (path, w, h, len(counts), 100.0 * others / total))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "page":
        check_page(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "svgs":
        extract_svgs(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "png":
        check_png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
