"""svg_chart.data_uri: line charts stacked into one standalone SVG document for an <img>."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
from stackcast.reports.svg_chart import SVG_NS, Line, data_uri, line_chart


def test_charts_stack_into_one_valid_svg_document() -> None:
    x = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    a = line_chart([Line(x, np.array([1.0, 2.0, 3.0]), "#000", "a <&> b")], title="T&<1>")
    b = line_chart([Line(x, np.array([0.0, -1.0, 0.5]), "#111")], height=140)
    uri = data_uri([a, None, b])
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    doc = base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")
    root = ET.fromstring(doc)  # well-formed XML: every text escaped
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert (root.get("width"), root.get("height")) == ("760", str(240 + 140))
    texts = [t.text for t in root.iter(f"{{{SVG_NS}}}text")]
    assert "T&<1>" in texts and "a <&> b" in texts
    assert data_uri([None]) is None


def test_pixel_pairs_are_whole_pixels_looked_up_or_formatted() -> None:
    from stackcast.reports.svg_chart import pixel_pairs

    x = np.array([56.4, 57.5, 700.49, -3.6])
    y = np.array([24.0, 180.51, 99.5, 12.2])
    want = " ".join(f"{int(np.rint(a))},{int(np.rint(b))}" for a, b in zip(x, y, strict=True))
    assert pixel_pairs(x, y) == want == "56,24 58,181 700,100 -4,12"
    far = np.array([1e7, 3.0])  # off the table: formatted
    assert pixel_pairs(far, far) == "10000000,10000000 3,3"
    assert pixel_pairs(np.zeros(0), np.zeros(0)) == ""
